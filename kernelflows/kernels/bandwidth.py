"""The median heuristic: a bandwidth for the Gaussian kernel from the data."""

from __future__ import annotations

import numpy as np
from scipy.spatial.distance import pdist

from .._validation import SCALE_RANGE, as_samples, positive_int, same_dimension

__all__ = ["median_heuristic"]


def median_heuristic(X, Y=None, *, max_samples: int = 2000) -> float:
    """Bandwidth from the median heuristic: the median of the pairwise Euclidean distances.

    Convention: ``sigma = median{ ||z_i - z_j|| : i < j }`` over the pooled sample Z = [X; Y],
    to be used as ``GaussianKernel(sigma)``, i.e. k = exp(-||x - y||^2 / (2 sigma^2)) (Gretton,
    Borgwardt, Rasch, Schoelkopf, Smola, JMLR 2012). Other texts use the median of the squared
    distances, or sqrt(median / 2): these differ by a constant factor.

    With more than ``max_samples`` pooled points an evenly spaced deterministic subset of that
    size is used. Raises ``ValueError`` if the median distance is zero (all, or at least half of
    the pairs of, points coincide), where a zero bandwidth would be meaningless.
    """
    X = as_samples(X, "X")
    Z = X
    if Y is not None:
        Y = as_samples(Y, "Y")
        same_dimension(X, Y)
        Z = np.vstack([X, Y])
    max_samples = positive_int(max_samples, "max_samples")
    if max_samples < 2:
        raise ValueError("max_samples must be at least 2 (a distance needs two points), got 1")
    if len(Z) < 2:
        raise ValueError("median_heuristic needs at least two points in X (and Y) together")
    if len(Z) > max_samples:
        Z = Z[np.linspace(0, len(Z) - 1, max_samples).astype(int)]
    sigma = float(np.median(pdist(Z)))
    unit = float(np.abs(Z - Z.mean(axis=0)).max())
    if not 1e-100 < unit < 1e100:
        # squares of distances near 1e-200 (or 1e150) underflow (overflow): the distances of
        # the centred points in units of their largest coordinate, scaled back
        sigma = float(np.median(pdist((Z - Z.mean(axis=0)) / unit))) * unit if unit > 0 else 0.0
    if not sigma > 0:
        raise ValueError(
            "median_heuristic: the median pairwise distance is zero (at least half of the "
            "pairs of points coincide), so it gives no bandwidth; pass a bandwidth explicitly"
        )
    lo, hi = SCALE_RANGE
    if not lo <= sigma <= hi:
        raise ValueError(
            f"median_heuristic: the median pairwise distance {sigma:.3g} lies outside the "
            f"bandwidths a kernel accepts, [{lo:.0e}, {hi:.0e}]: rescale the data"
        )
    return sigma
