"""Population quantities of 1-D densities by quadrature: mean embeddings, witness, MMD.

Talk, slides "MMD as an integral probability metric" to "Computing the MMD": the population
mean embedding mu_P(z) = E_P k(X, z) = int k(x, z) p(x) dx. On a grid of nodes x_1 < ... < x_N
with trapezoid weights h_i, it is the RKHS function

    mu_P(z) ~ sum_i h_i p(x_i) k(x_i, z),

an :class:`~kernelflows.embeddings.RKHSFunction` with centres x_i and weights h_i p(x_i). So
the population witness mu_P - mu_Q, its RKHS norm MMD(P, Q) and E_P f = <f, mu_P> all come
from the same code as the sample versions, with quadrature weights in place of 1/n.
"""

from __future__ import annotations

import numpy as np

from ._validation import as_weights
from .embeddings import RKHSFunction, _check_kernel
from .kernels import Kernel

__all__ = ["trapezoid_weights", "quadrature_embedding", "quadrature_mean"]


def trapezoid_weights(nodes) -> np.ndarray:
    """Trapezoid-rule weights h_i with sum_i h_i g(x_i) ~ int_{x_1}^{x_N} g(x) dx.

    ``nodes`` is a strictly increasing 1-D array of at least two finite points.
    """
    x = np.asarray(nodes, dtype=float)
    if x.ndim != 1 or len(x) < 2:
        raise ValueError(f"nodes must be a 1-D array of at least two points, got shape {x.shape}")
    if not np.all(np.isfinite(x)):
        raise ValueError("nodes contains NaN or inf")
    dx = np.diff(x)
    if not np.all(dx > 0):
        raise ValueError("nodes must be strictly increasing")
    h = np.zeros_like(x)
    h[:-1] += dx / 2
    h[1:] += dx / 2
    return h


def _density_weights(nodes, density, normalize: bool) -> tuple[np.ndarray, np.ndarray]:
    x = np.asarray(nodes, dtype=float)
    h = trapezoid_weights(x)
    p = density(x) if callable(density) else density
    p = as_weights(p, len(x), "density")
    if np.any(p < 0):
        raise ValueError("density must be non-negative at every node")
    w = h * p
    if normalize:
        total = w.sum()
        if not total > 0:
            raise ValueError("density integrates to zero on these nodes")
        w = w / total
    return x, w


def quadrature_embedding(nodes, density, kernel: Kernel, normalize: bool = True) -> RKHSFunction:
    """The population mean embedding mu_P(z) = int k(x, z) p(x) dx of a 1-D density, by quadrature.

    Parameters
    ----------
    nodes : strictly increasing 1-D array; should cover the mass of p (e.g. mean +- 10 std).
    density : callable x -> p(x) (vectorised) or the array of values p(nodes).
    kernel : a kernelflows Kernel on R.
    normalize : rescale the weights to sum to one, so that the quadrature measure is a
        probability measure (removes the truncation error of the mass; default True).

    Returns
    -------
    RKHSFunction with centres ``nodes`` and weights h_i p(x_i) (trapezoid rule), so that
    ``f(z)`` is mu_P(z), ``f.norm() ** 2`` is E k(X, X') and, for P and Q on the same nodes,
    ``(f_P - f_Q).norm() ** 2`` is the population MMD^2(P, Q) (talk, slide "Computing the MMD").
    The trapezoid rule converges as O(h^2) for densities with kinks at nodes (e.g. a Laplace
    density with a node at its centre) and much faster for smooth, rapidly decaying ones.
    """
    _check_kernel(kernel)
    x, w = _density_weights(nodes, density, normalize)
    return RKHSFunction(x[:, None], w, kernel)


def quadrature_mean(f, nodes, density, normalize: bool = True) -> float:
    """E_P f(X) = int f(x) p(x) dx by the trapezoid rule on ``nodes`` (``f`` is vectorised).

    ``f`` is called on the nodes as an array of shape (N, 1) (the package's sample shape) and
    must return N values; an :class:`RKHSFunction` on R qualifies. This is the left-hand side
    of E_P f = <f, mu_P>_H (talk, slide "MMD as an integral probability metric").
    """
    x, w = _density_weights(nodes, density, normalize)
    values = np.asarray(f(x[:, None]), dtype=float).reshape(-1)
    if values.shape != (len(x),):
        raise ValueError(f"f must return {len(x)} values, got shape {values.shape}")
    return float(w @ values)
