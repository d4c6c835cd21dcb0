"""The distance-induced (energy) kernel k(x, y) = ||x|| + ||y|| - ||x - y||.

Its MMD^2 is the energy distance; its sliced MMD is computed by sorting projections
(:mod:`kernelflows.divergences.sliced`).
"""

from __future__ import annotations

import numpy as np

from .base import Kernel
from .geometry import DISTANCE_RTOL, EPS, sq_distances, weighted_differences

__all__ = ["EnergyKernel"]


class EnergyKernel(Kernel):
    """Distance-induced kernel k(x, y) = ||x|| + ||y|| - ||x - y|| (positive definite).

    Its MMD^2 is the energy distance: MMD^2 = 2 E||X - Y|| - E||X - X'|| - E||Y - Y'||. Unbounded,
    so it falls outside Assumption A of the MMD flow paper. The gradient of ||z - x|| at z = x, and
    of ||z|| at z = 0, is taken as 0.
    """

    no_second_derivatives = (
        "it is not differentiable where x = y (the term -||x - y|| has a kink there), so "
        "tr(grad_x grad_y k) does not exist on the diagonal, which every Stein sum includes"
    )

    def __repr__(self) -> str:
        return "EnergyKernel()"

    def _gram(self, Z, X):
        R = np.sqrt(sq_distances(Z, X))
        nz = np.linalg.norm(Z, axis=1)
        nx = np.linalg.norm(X, axis=1)
        return nz[:, None] + nx[None, :] - R

    def _paired(self, X, Y):
        return np.linalg.norm(X, axis=1) + np.linalg.norm(Y, axis=1) - np.linalg.norm(X - Y, axis=1)

    def value_error(self, X, Y) -> float:
        """||x|| and ||y|| within (d + 2) eps / 2, ||x - y|| within (DISTANCE_RTOL / 2 + 1) eps
        (its square within DISTANCE_RTOL eps), and two additions: at most
        (DISTANCE_RTOL / 2 + d + 4) eps (max ||x|| + max ||y||)."""
        d = X.shape[1]
        top = float(np.linalg.norm(X, axis=1).max()) + float(np.linalg.norm(Y, axis=1).max())
        return (DISTANCE_RTOL / 2.0 + d + 4.0) * EPS * top

    def _grad_block(self, Z, X, w):
        R = np.sqrt(sq_distances(Z, X))
        inv_r = np.zeros_like(R)
        np.divide(1.0, R, out=inv_r, where=R > 0)
        inv_r *= w[None, :]
        nz = np.linalg.norm(Z, axis=1)
        unit = np.zeros_like(Z)
        np.divide(Z, nz[:, None], out=unit, where=nz[:, None] > 0)
        # grad_z k = z/||z|| - (z - x)/||z - x||
        return unit * w.sum() - weighted_differences(Z, X, inv_r)
