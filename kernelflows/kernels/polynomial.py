"""The polynomial kernel k(x, y) = (x.y + c)^degree (its explicit features: :mod:`.features`)."""

from __future__ import annotations

import numpy as np

from .._validation import as_samples, positive_int, real_number, same_dimension
from .base import Kernel
from .geometry import EPS

__all__ = ["PolynomialKernel"]


class PolynomialKernel(Kernel):
    """Polynomial kernel k(x, y) = (x.y + c)^degree with an integer degree >= 1 and c >= 0.

    Its RKHS is the polynomials of degree <= ``degree`` (for c > 0): with degree 2 it holds
    log dP/dQ of two Gaussians, which the KALE lectures use for the KL limit.
    """

    #: Smooth: the Stein kernel needs only its first and mixed second derivatives
    #: (:meth:`stein_parts`). Not radial, so not KSD descent's kernel (its velocity uses the
    #: third derivative of a radial profile). Its Stein discrepancy sees only moments: KSD = 0
    #: whenever E_nu [s(x) q(x) + grad q(x)] = 0 for the polynomials q of degree <= degree, so
    #: it does not detect non-convergence (Gorham and Mackey, ICML 2017, on kernels that do).
    no_second_derivatives = None

    def __init__(self, degree: int = 2, c: float = 1.0):
        self.degree = positive_int(degree, "degree")
        c = real_number(c, "c")
        if not np.isfinite(c) or c < 0:
            raise ValueError(f"c must be non-negative and finite, got {c!r}")
        self.c = c

    def __repr__(self) -> str:
        return f"PolynomialKernel(degree={self.degree}, c={self.c:.6g})"

    def _gram(self, Z, X):
        return (Z @ X.T + self.c) ** self.degree

    def _paired(self, X, Y):
        return (np.einsum("ij,ij->i", X, Y) + self.c) ** self.degree

    def value_error(self, X, Y) -> float:
        """x.y + c is computed within (d + 1) eps / 2 (|x| |y| + c); the power multiplies that
        relative error by p and adds p roundings: p (d + 2) eps / 2 (max |x| max |y| + c)^p."""
        d = X.shape[1]
        top = float(np.linalg.norm(X, axis=1).max()) * float(np.linalg.norm(Y, axis=1).max())
        return 0.5 * self.degree * (d + 2) * EPS * (top + self.c) ** self.degree

    def _grad_block(self, Z, X, w):
        # grad_z (z.x + c)^p = p (z.x + c)^(p - 1) x
        G = self.degree * (Z @ X.T + self.c) ** (self.degree - 1)
        G *= w[None, :]
        return G @ X

    # With t = x.y + c and p the degree: grad_x k = p t^(p-1) y, grad_y k = p t^(p-1) x,
    # d^2 k / dx_a dy_b = p (p-1) t^(p-2) y_a x_b + p t^(p-1) delta_ab,
    # tr(grad_x grad_y k) = p (p-1) t^(p-2) x.y + d p t^(p-1).
    def _derivative_parts(self, X, Y):
        X = as_samples(X, "X")
        Y = as_samples(Y, "Y")
        same_dimension(X, Y)
        p = self.degree
        dot = X @ Y.T
        t = dot + self.c
        d1 = p * t ** (p - 1)
        d2 = p * (p - 1) * t ** (p - 2) if p >= 2 else np.zeros_like(t)
        return X, Y, t, dot, d1, d2

    def stein_parts(self, X, Y):
        """k, grad_x k, grad_y k and tr(grad_x grad_y k) for each pair (see the comment above)."""
        X, Y, t, dot, d1, d2 = self._derivative_parts(X, Y)
        grad_x = d1[:, :, None] * Y[None, :, :]
        grad_y = d1[:, :, None] * X[:, None, :]
        trace = d2 * dot + X.shape[1] * d1
        return t**self.degree, grad_x, grad_y, trace

    def grad_xy(self, X, Y):
        X, Y, t, dot, d1, d2 = self._derivative_parts(X, Y)
        H = d2[:, :, None, None] * Y[None, :, :, None] * X[:, None, None, :]
        H += d1[:, :, None, None] * np.eye(X.shape[1])
        return H
