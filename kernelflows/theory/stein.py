"""The kernel's role in the kernel Stein discrepancy: a sample that drifts away can have a
vanishing Gaussian-kernel KSD (Gorham and Mackey, ICML 2017, Section 3.2), and the IMQ kernel with
beta in (-1, 0) sees it (their Section 3.3).

The mechanism, for the target N(0, I_d) (score s(x) = -x) and a kernel that decays fast: put the
n points of a sample at mutual distances that grow with n. Every pair's Stein kernel u_p(x_i, x_j)
then vanishes but the pair of a point with itself, so KSD^2 tends to the **diagonal**

    (1 / n^2) sum_i u_p(x_i, x_i) = (1 / n^2) sum_i (||x_i||^2 + d / sigma^2)   (Gaussian kernel),

which goes to 0 as long as the mean of ||x_i||^2 grows more slowly than n. On a grid of m^d points
with spacing h, that mean is d h^2 (m^2 - 1) / 12, and n = m^d: the diagonal falls like m^(2 - d),
to 0 exactly when d >= 3. The sample's second moment grows without bound, so it converges to no
distribution at all, let alone to N(0, I_d). The IMQ kernel decays slowly enough that the pairs'
terms s(x_i).s(x_j) k(x_i, x_j) = (x_i.x_j) k(x_i, x_j) do not vanish: its KSD^2 stays away from 0.
"""

from __future__ import annotations

import numpy as np

from .._validation import positive, positive_int
from ..densities import GaussianMixture
from ..divergences.stein import ksd2, stein_kernel

__all__ = [
    "drifting_sequence",
    "gaussian_stein_diagonal",
    "separated_grid",
    "standard_gaussian",
    "stein_diagonal",
]


def separated_grid(m: int, d: int, spacing: float) -> np.ndarray:
    """The m^d points of a cubic grid of side m and the given spacing, centred at 0: shape
    (m^d, d), nearest neighbours ``spacing`` apart."""
    m, d, spacing = positive_int(m, "m"), positive_int(d, "d"), positive(spacing, "spacing")
    axis = (np.arange(m) - (m - 1) / 2) * spacing
    return np.stack(np.meshgrid(*[axis] * d, indexing="ij"), axis=-1).reshape(-1, d)


def standard_gaussian(d: int) -> GaussianMixture:
    """N(0, I_d) as a target (score -x)."""
    return GaussianMixture(np.zeros((1, positive_int(d, "d"))), 1.0)


def stein_diagonal(X, target, kernel) -> float:
    """(1 / n^2) sum_i u_p(x_i, x_i): the V-statistic's diagonal, what KSD^2 of X would be if
    its points were infinitely far apart from each other (and the kernel vanished at infinity).
    Each term from :func:`~kernelflows.divergences.stein_kernel` of one point with itself."""
    X = np.asarray(X, dtype=float)
    return float(sum(stein_kernel(x[None], x[None], target, kernel)[0, 0] for x in X)) / len(X) ** 2


def gaussian_stein_diagonal(m: int, d: int, spacing: float, bandwidth: float = 1.0) -> float:
    """The diagonal of the Gaussian kernel's KSD^2 of :func:`separated_grid` (m, d, spacing) to
    N(0, I_d), in closed form: (d spacing^2 (m^2 - 1) / 12 + d / bandwidth^2) / m^d (the mean of
    ||x||^2 over the grid is d times the variance spacing^2 (m^2 - 1) / 12 of one axis)."""
    m, d = positive_int(m, "m"), positive_int(d, "d")
    spacing, bandwidth = positive(spacing, "spacing"), positive(bandwidth, "bandwidth")
    return (d * spacing**2 * (m * m - 1) / 12.0 + d / bandwidth**2) / float(m) ** d


def drifting_sequence(ms, d: int, spacing: float, kernels: dict) -> list[dict]:
    """For each m of ``ms``: the sample Q_m = :func:`separated_grid` (m, d, spacing) and, for
    each named kernel of ``kernels``, its KSD^2 to N(0, I_d) (:func:`~kernelflows.ksd2`, the
    V-statistic). Rows {"m", "n", "second_moment" (mean ||x||^2; the target's is d),
    "ksd2": {name: value}}."""
    target = standard_gaussian(d)
    rows = []
    for m in ms:
        X = separated_grid(m, d, spacing)
        rows.append(
            {
                "m": int(m),
                "n": len(X),
                "second_moment": float(np.mean(np.sum(X**2, axis=1))),
                "ksd2": {name: ksd2(X, target, k) for name, k in kernels.items()},
            }
        )
    return rows
