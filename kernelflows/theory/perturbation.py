"""A measure and a signed perturbation of it, on one set of points: what the first-variation
checks of :mod:`.mmd` and :mod:`.kale` differentiate along."""

from __future__ import annotations

import numpy as np

from .._validation import as_samples, same_dimension

__all__ = ["perturbed_measure"]


def perturbed_measure(X, xi_points, xi_weights):
    """nu = (1/n) sum_i delta_{x_i} and xi = sum_j c_j delta_{z_j} as weights on P = [X; Z].

    Returns ``(P, base, direction, Z, c)``: nu + eps xi has the weights ``base + eps *
    direction`` on the rows of P. ``xi_weights`` (c) must be finite and sum to zero (up to
    1e-12 of their size), so that nu + eps xi keeps mass one.
    """
    X = as_samples(X, "X")
    Z = as_samples(xi_points, "xi_points")
    same_dimension(X, Z, "X", "xi_points")
    c = np.asarray(xi_weights, dtype=float)
    if c.shape != (len(Z),) or not np.all(np.isfinite(c)):
        raise ValueError(f"xi_weights must be a finite vector of shape ({len(Z)},)")
    if abs(c.sum()) > 1e-12 * max(1.0, np.abs(c).sum()):
        raise ValueError("xi_weights must sum to zero (a perturbation of a probability measure)")
    P = np.concatenate([X, Z])
    base = np.concatenate([np.full(len(X), 1.0 / len(X)), np.zeros(len(Z))])
    direction = np.concatenate([np.zeros(len(X)), c])
    return P, base, direction, Z, c
