"""The polynomial kernel k(x, y) = (x.y + c)^degree (its explicit features: :mod:`.features`)."""

from __future__ import annotations

import numpy as np

from .._validation import positive_int, real_number
from .base import Kernel
from .geometry import EPS

__all__ = ["PolynomialKernel"]


class PolynomialKernel(Kernel):
    """Polynomial kernel k(x, y) = (x.y + c)^degree with an integer degree >= 1 and c >= 0.

    Its RKHS is the polynomials of degree <= ``degree`` (for c > 0): with degree 2 it holds
    log dP/dQ of two Gaussians, which the KALE lectures use for the KL limit.
    """

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
