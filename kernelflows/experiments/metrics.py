"""Measures of fit used by the experiments: one yardstick for every flow."""

from __future__ import annotations

import math

import numpy as np
from scipy.spatial import cKDTree

from .._validation import as_samples, same_dimension
from ..divergences.mmd import mmd2, mmd_energy
from ..flows import FlowResult
from ..kernels import EnergyKernel, Kernel, check_kernel
from .datasets import THREE_RINGS_CENTRES

__all__ = [
    "STRAGGLER_DISTANCE",
    "energy_distance",
    "first_below",
    "max_distance_to_target",
    "mmd_to_target",
    "mode_fractions",
    "nearest_mode_counts",
    "ring_fit",
]

#: A particle farther than this from every target point is a straggler: about five times the
#: spacing of a ring's points (2 pi 0.3 / 100 = 0.019), a tenth of the gap between rings.
STRAGGLER_DISTANCE = 0.1


def energy_distance(X, Y) -> float:
    """The energy distance of X and Y: the unbiased MMD^2 of the energy kernel."""
    return mmd2(X, Y, EnergyKernel(), estimator="unbiased")


def first_below(steps, curve, level) -> int | None:
    """The first recorded step (of ``steps``) at which ``curve`` is at most ``level``; None if
    it never is."""
    hits = np.flatnonzero(np.asarray(curve) <= level)
    return int(steps[hits[0]]) if len(hits) else None


def ring_fit(X, Y, kernel, mmd2_start: float | None = None) -> dict:
    """Final MMD^2 (plug-in), energy distance, stragglers, particles per ring of particles X
    against the ring target Y, and ``lost``: particles farther from every target point than the
    target's diameter (out of reach of a kernel of the rings' scale)."""
    dist, _ = cKDTree(Y).query(X)
    diameter = float(np.max(np.linalg.norm(Y - Y.mean(axis=0), axis=1))) * 2.0
    centres = np.asarray(THREE_RINGS_CENTRES)
    ring = np.argmin(((X[:, None] - centres[None]) ** 2).sum(-1), axis=1)
    return {
        "mmd2": 2.0 * mmd_energy(X, Y, kernel),
        "energy_distance": float(energy_distance(X, Y)),
        "stragglers": int(np.sum(dist > STRAGGLER_DISTANCE)),
        "max_distance": float(dist.max()),
        "lost": int(np.sum(dist > diameter)),
        "per_ring": np.bincount(ring, minlength=len(centres)).tolist(),
    }


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
