"""The geometry under every kernel: row blocks, centring, squared distances.

Samples are arrays of shape (n, d). Kernel sums are computed over blocks of rows, so that no more
than about :data:`BLOCK_ELEMENTS` kernel values exist at a time; differences z - x are taken on
coordinates centred on one reference point, so that nothing is lost when the points sit far from
the origin.
"""

from __future__ import annotations

import numpy as np

__all__ = ["BLOCK_ELEMENTS", "centred", "row_blocks", "sq_distances", "weighted_differences"]

#: Number of kernel values held at once by the blocked primitives (8 MB of float64).
BLOCK_ELEMENTS = 2**20


def row_blocks(n_rows: int, n_cols: int, block_elements: int | None = None):
    """Yield row slices of ``range(n_rows)``, each with at most ``block_elements`` values."""
    block_elements = BLOCK_ELEMENTS if block_elements is None else block_elements
    step = max(1, block_elements // max(1, n_cols))
    for start in range(0, n_rows, step):
        yield slice(start, min(n_rows, start + step))


def centred(Z: np.ndarray, X: np.ndarray):
    """Z and X shifted by one reference point, the mean of X: every difference z - x is unchanged,
    and expansions such as ||z||^2 + ||x||^2 - 2 z.x or z sum_j g_j - sum_j g_j x_j lose no
    accuracy when the points sit far from the origin. O((n + m) d)."""
    ref = X.mean(axis=0)
    return Z - ref, X - ref


def weighted_differences(Z: np.ndarray, X: np.ndarray, G: np.ndarray) -> np.ndarray:
    """sum_j G_ij (z_i - x_j) for each row z_i of Z, shape (n, d), on centred coordinates."""
    Zc, Xc = centred(Z, X)
    return Zc * G.sum(axis=1)[:, None] - G @ Xc


def sq_distances(Z: np.ndarray, X: np.ndarray) -> np.ndarray:
    """Squared Euclidean distances ||z_i - x_j||^2 as an (n, m) array, accurate under translation.

    Both arrays are first centred on one reference point (the mean of X: O((n + m) d)), so the
    result does not depend on where the cloud sits; then ||z||^2 + ||x||^2 - 2 z.x (one matrix
    product). That expansion has an absolute error of about 1e-16 (||z||^2 + ||x||^2), so the
    few pairs whose distance is below ``1e-5`` of that scale (coincident or very close points) are
    recomputed directly as sum (z - x)^2 (all pairs below 1e-5 of the largest such scale are
    candidates: a few per point): coincident points give exactly 0 and small distances keep
    their relative accuracy. Nothing is clipped.
    """
    Zc, Xc = centred(Z, X)
    zz = np.einsum("ij,ij->i", Zc, Zc)
    xx = np.einsum("ij,ij->i", Xc, Xc)
    D = Zc @ Xc.T
    D *= -2.0
    D += zz[:, None]
    D += xx[None, :]
    # candidates under one scalar threshold (>= each pair's own: no (n, m) temporary)
    i, j = np.nonzero(D <= 1e-5 * (zz.max(initial=0.0) + xx.max(initial=0.0)))
    if len(i):
        diff = Zc[i] - Xc[j]
        D[i, j] = np.einsum("ij,ij->i", diff, diff)
    return D
