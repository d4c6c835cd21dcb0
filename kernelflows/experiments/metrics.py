"""Measures of fit used by the experiments: one yardstick for every flow."""

from __future__ import annotations

import math

import numpy as np
from scipy.spatial import cKDTree

from .._validation import as_samples, same_dimension
from ..divergences.mmd import mmd_energy
from ..flows import FlowResult
from ..kernels import Kernel, check_kernel

__all__ = ["max_distance_to_target", "mmd_to_target", "mode_fractions", "nearest_mode_counts"]


def max_distance_to_target(X, Y) -> float:
    """max_i min_j ||x_i - y_j||: how far the farthest particle is from the target's support."""
    X = as_samples(X, "X")
    Y = as_samples(Y, "Y")
    same_dimension(X, Y)
    dist, _ = cKDTree(Y).query(X)
    return float(dist.max())


def mmd_to_target(result: FlowResult, Y, kernel: Kernel) -> np.ndarray:
    """MMD(nu_k, nu*) (plug-in, not squared) at each snapshot of any flow."""
    Y = as_samples(Y, "Y")
    check_kernel(kernel)
    syy = kernel.total(Y)
    return np.array(
        [
            math.sqrt(max(2.0 * mmd_energy(X, Y, kernel, target_total=syy), 0.0))
            for X in result.trajectory
        ]
    )


def nearest_mode_counts(X, means) -> np.ndarray:
    """How many rows of X are nearest to each mean (squared Euclidean distance), shape (K,)."""
    means = np.asarray(means, dtype=np.float64)
    X = np.asarray(X, dtype=np.float64)
    nearest = np.argmin(((X[:, None, :] - means[None, :, :]) ** 2).sum(-1), axis=1)
    return np.bincount(nearest, minlength=len(means))


def mode_fractions(X, means) -> np.ndarray:
    """The fraction of the rows of X nearest to each mean, shape (K,)."""
    return nearest_mode_counts(X, means) / len(X)
