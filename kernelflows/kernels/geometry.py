"""The geometry under every kernel: row blocks, centring, squared distances.

Samples are arrays of shape (n, d). Kernel sums are computed over blocks of rows, so that no more
than about :data:`BLOCK_ELEMENTS` kernel values exist at a time.

**Squared distances, accurately and fast.** The fast formulation is the expansion
||z - x||^2 = ||z||^2 + ||x||^2 - 2 z.x (one matrix product), on coordinates centred on one
reference point (the mean of X), so that the cloud's position does not matter. Its rounding error
is about :func:`expansion_error` (||z||^2 + ||x||^2): relative to the distance, large for pairs
that are close compared with their distance to the reference (a point and its neighbour in a
cloud much wider than they are apart; a point and itself). Those pairs, and only those, are
recomputed as sum (z - x)^2 from the original coordinates (:func:`direct_sq_distances`: a
relative error of a few eps, exactly 0 for coincident points). Which pairs need it is decided by
one comparison per value against a per-row threshold (:func:`needs_direct`), so the cost is one
pass over the block plus the few pairs recomputed.
"""

from __future__ import annotations

import numpy as np

from .._validation import block_size

__all__ = [
    "BLOCK_ELEMENTS",
    "DISTANCE_RTOL",
    "EPS",
    "centred",
    "corner_sq_distances",
    "direct_sq_distances",
    "expansion_error",
    "needs_direct",
    "row_blocks",
    "sq_distances",
    "weighted_differences",
]

#: Number of kernel values held at once by the blocked primitives (8 MB of float64).
BLOCK_ELEMENTS = 2**20
#: float64's machine epsilon.
EPS = float(np.finfo(np.float64).eps)
#: The relative accuracy of :func:`sq_distances`, in eps: every squared distance it returns is
#: within DISTANCE_RTOL eps of the exact squared distance of the given floats (and coincident
#: points are exactly 0 apart).
DISTANCE_RTOL = 32.0


def row_blocks(n_rows: int, n_cols: int, block_elements: int | None = None):
    """Row slices of ``range(n_rows)``, each with at most ``block_elements`` values (an
    iterator; ``block_elements`` is checked when it is called: None or a positive integer)."""
    block = block_size(block_elements)
    step = max(1, (BLOCK_ELEMENTS if block is None else block) // max(1, n_cols))
    return (slice(start, min(n_rows, start + step)) for start in range(0, n_rows, step))


def centred(Z: np.ndarray, X: np.ndarray):
    """Z and X shifted by one reference point, the mean of X: every difference z - x is unchanged
    up to the rounding of the shift, and expansions such as ||z||^2 + ||x||^2 - 2 z.x or
    z sum_j g_j - sum_j g_j x_j lose no accuracy to where the cloud sits. O((n + m) d)."""
    # the mean by einsum: a sequential sum, a third of the time of mean(axis=0) on a few hundred
    # points in a flow's step (any reference will do: only the rounding of the shift counts)
    ref = np.einsum("ij->j", X) / len(X) if len(X) else X.mean(axis=0)
    return Z - ref, X - ref


def expansion_error(d: int) -> float:
    """A bound on the rounding error of ||z||^2 + ||x||^2 - 2 z.x computed on centred coordinates
    (one product of d + 2 terms), per unit of ||z||^2 + ||x||^2, for points in dimension d.

    The d + 2 products and their partial sums are each rounded once (unit roundoff eps / 2, each
    partial sum at most ||z||^2 + ||x||^2), and so are the squared norms and the centring: at most
    (d + 8) eps / 2 to first order, whatever order the matrix product sums in. (The errors
    measured on random clouds in d <= 10 are below 2 eps per unit.)
    """
    return (0.5 * d + 4.0) * EPS


def corner_sq_distances(Z: np.ndarray, X: np.ndarray, i: np.ndarray, j: np.ndarray) -> np.ndarray:
    """||z_a - x_b||^2 for every a in ``i`` and b in ``j``, shape (len(i), len(j)), from direct
    differences as :func:`direct_sq_distances` (the same accuracy): one outer difference per
    coordinate, squared and added in coordinate order (a few passes over contiguous arrays; a
    broadcast (len(i), len(j), d) difference summed over its short last axis took four times
    longer)."""
    Zi, Xj = Z[i], X[j]
    D = np.subtract.outer(Zi[:, 0], Xj[:, 0])
    D *= D
    for k in range(1, Z.shape[1]):
        T = np.subtract.outer(Zi[:, k], Xj[:, k])
        T *= T
        D += T
    return D


def direct_sq_distances(Z: np.ndarray, X: np.ndarray, i: np.ndarray, j: np.ndarray) -> np.ndarray:
    """||z_i - x_j||^2 for the index pairs (i, j), as sum (z - x)^2 of the original coordinates:
    each difference is rounded once (exact for nearby floats), so the result has a relative error
    of at most (d + 2) eps / 2, and coincident points give exactly 0."""
    diff = Z[i] - X[j]
    return np.einsum("ij,ij->i", diff, diff)


def needs_direct(values: np.ndarray, reach: np.ndarray, *, sign: float = 1.0):
    """The index pairs (i, j) with sign * values[i, j] > -reach[i] (``sign`` is +1 or -1).

    One comparison per value against one scalar, the loosest threshold (a comparison against a
    per-row threshold broadcast over the columns costs several times more in numpy), then the
    few candidates filtered by their own row's threshold: the cost of a pass over the values
    plus O(candidates).
    """
    loose = float(reach.max(initial=-np.inf))
    if sign > 0:
        flat = np.flatnonzero(values > -loose)
    else:
        flat = np.flatnonzero(values < loose)
    i, j = np.divmod(flat, values.shape[1])
    keep = sign * values[i, j] > -reach[i]
    return i[keep], j[keep]


def sq_distances(Z: np.ndarray, X: np.ndarray) -> np.ndarray:
    """Squared Euclidean distances ||z_i - x_j||^2 as an (n, m) array, each within
    :data:`DISTANCE_RTOL` eps (relative) of the exact squared distance of the given floats,
    wherever the points sit and however wide the cloud.

    The expansion (module docstring) on centred coordinates, then a direct recomputation
    (:func:`direct_sq_distances`) of the pairs whose expansion error bound,
    :func:`expansion_error` (||z_i||^2 + max_j ||x_j||^2), could exceed DISTANCE_RTOL eps of the
    computed distance (coincident points among them: they come out exactly 0). O(n m d), plus
    O(d) per recomputed pair.
    """
    Zc, Xc = centred(Z, X)
    zz = np.einsum("ij,ij->i", Zc, Zc)
    xx = np.einsum("ij,ij->i", Xc, Xc)
    D = Zc @ Xc.T
    D *= -2.0
    D += zz[:, None]
    D += xx[None, :]
    # row i errs by at most delta_i = g (zz_i + max xx): keep D when delta_i <= rtol (D - delta_i)
    delta = expansion_error(Z.shape[1]) * (zz + xx.max(initial=0.0))
    reach = delta * (1.0 + 1.0 / (DISTANCE_RTOL * EPS))
    i, j = needs_direct(D, reach, sign=-1.0)
    if len(i):
        D[i, j] = direct_sq_distances(Z, X, i, j)
    return D


def weighted_differences(Z: np.ndarray, X: np.ndarray, G: np.ndarray) -> np.ndarray:
    """sum_j G_ij (z_i - x_j) for each row z_i of Z, shape (n, d), on centred coordinates."""
    Zc, Xc = centred(Z, X)
    return Zc * G.sum(axis=1)[:, None] - G @ Xc
