"""Radial kernels k(x, y) = psi(||x - y||^2): the Laplace and IMQ kernels, and what they share.

A radial kernel's gradient is 2 psi'(r^2) (z - x), and its second derivatives (what a Stein
kernel needs: :meth:`RadialKernel.stein_parts`, :meth:`RadialKernel.grad_xy`) follow from psi' and
psi''. The Gaussian kernel is radial too; it lives in :mod:`.gaussian` with its fast paths.
"""

from __future__ import annotations

import numpy as np

from .._validation import as_samples, length_scale, real_number, same_dimension
from .base import Kernel
from .geometry import DISTANCE_RTOL, EPS, sq_distances, weighted_differences

__all__ = ["IMQKernel", "LaplaceKernel", "RadialKernel"]


class RadialKernel(Kernel):
    """k(x, y) = psi(||x - y||^2): a subclass gives psi (``_psi``) and psi' (``_dpsi``) in r2,
    and ``radial_derivatives`` when it is smooth enough for Stein discrepancies."""

    def _psi(self, r2: np.ndarray) -> np.ndarray:  # pragma: no cover - abstract
        raise NotImplementedError

    def _dpsi(self, r2: np.ndarray) -> np.ndarray:  # pragma: no cover - abstract
        raise NotImplementedError

    def _gram(self, Z, X):
        return self._psi(sq_distances(Z, X))

    def _paired(self, X, Y):
        return self._psi(np.sum((X - Y) ** 2, axis=1))

    def _grad_block(self, Z, X, w):
        G = self._dpsi(sq_distances(Z, X))
        G *= w[None, :]
        return 2.0 * weighted_differences(Z, X, G)

    # With u = x - y, r2 = ||u||^2 and psi', psi'' at r2:
    #   grad_x k = 2 psi' u = -grad_y k,
    #   d^2 k / dx_a dy_b = -4 psi'' u_a u_b - 2 psi' delta_ab,
    #   tr(grad_x grad_y k) = -4 psi'' r2 - 2 d psi'.
    def _pairs(self, X, Y):
        X = as_samples(X, "X")
        Y = as_samples(Y, "Y")
        same_dimension(X, Y)
        U = X[:, None, :] - Y[None, :, :]
        return U, np.einsum("ijd,ijd->ij", U, U)

    def stein_parts(self, X, Y):
        U, r2 = self._pairs(X, Y)
        psi, d1, d2 = self.radial_derivatives(r2, 2)
        grad_x = 2.0 * d1[:, :, None] * U
        trace = -4.0 * d2 * r2 - 2.0 * U.shape[2] * d1
        return psi, grad_x, -grad_x, trace

    def grad_xy(self, X, Y):
        U, r2 = self._pairs(X, Y)
        _, d1, d2 = self.radial_derivatives(r2, 2)
        H = -4.0 * d2[:, :, None, None] * U[:, :, :, None] * U[:, :, None, :]
        H -= 2.0 * d1[:, :, None, None] * np.eye(U.shape[2])
        return H


class LaplaceKernel(RadialKernel):
    """Laplace kernel k(x, y) = exp(-||x - y|| / bandwidth).

    Not differentiable at x = y; the gradient there is taken as 0 (the symmetric subgradient).
    """

    no_second_derivatives = (
        "it is not differentiable where x = y (exp(-||x - y|| / s) has a kink there), so "
        "tr(grad_x grad_y k) does not exist on the diagonal, which every Stein sum includes"
    )

    def __init__(self, bandwidth: float = 1.0):
        self.bandwidth = length_scale(bandwidth, "bandwidth")

    def __repr__(self) -> str:
        return f"LaplaceKernel(bandwidth={self.bandwidth:.6g})"

    def _psi(self, r2):
        return np.exp(-np.sqrt(r2) / self.bandwidth)

    def _dpsi(self, r2):
        r = np.sqrt(r2)
        out = np.zeros_like(r)
        nz = r > 0
        out[nz] = -np.exp(-r[nz] / self.bandwidth) / (2.0 * self.bandwidth * r[nz])
        return out

    def value_error(self, X, Y) -> float:
        """Squared distances within DISTANCE_RTOL eps (relative) move the exponent r / s by
        (r / s) (DISTANCE_RTOL / 2 + 1) eps, and (r / s) exp(-r / s) <= 1 / e."""
        return ((DISTANCE_RTOL / 2.0 + 1.0) / np.e + 2.0) * EPS


class IMQKernel(RadialKernel):
    """Inverse multiquadric kernel k(x, y) = (c^2 + ||x - y||^2)^beta with c > 0, -1 < beta < 0."""

    no_second_derivatives = None

    def __init__(self, c: float = 1.0, beta: float = -0.5):
        self.c = length_scale(c, "c")
        beta = real_number(beta, "beta")
        if not -1.0 < beta < 0.0:
            raise ValueError(f"beta must lie in (-1, 0), got {beta!r}")
        self.beta = beta

    def __repr__(self) -> str:
        return f"IMQKernel(c={self.c:.6g}, beta={self.beta:.6g})"

    def _psi(self, r2):
        return (self.c**2 + r2) ** self.beta

    def _dpsi(self, r2):
        return self.beta * (self.c**2 + r2) ** (self.beta - 1.0)

    def value_error(self, X, Y) -> float:
        """A relative error rho of r2 changes (c^2 + r2)^beta by at most |beta| rho of its value,
        and the value is at most c^(2 beta)."""
        return (abs(self.beta) * DISTANCE_RTOL + 3.0) * EPS * self.c ** (2.0 * self.beta)

    def radial_derivatives(self, r2, order: int = 3):
        """psi^(j)(r2) = beta (beta - 1) ... (beta - j + 1) (c^2 + r2)^(beta - j), j <= order."""
        base = self.c**2 + np.asarray(r2, dtype=np.float64)
        out, coef = [], 1.0
        for j in range(order + 1):
            out.append(coef * base ** (self.beta - j))
            coef *= self.beta - j
        return out
