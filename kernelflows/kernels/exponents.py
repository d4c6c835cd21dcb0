"""When a Gaussian kernel value computed from the expanded exponent can be trusted, and the
exact answers where it cannot (:mod:`.gaussian` computes the values; this module says which to
recompute): the value target :data:`VALUE_RTOL`, the error reach of an exponent, the inner
radius within which no pair needs a check, the pairs to recompute from direct differences, the
coincident points (exactly 1), and the exponential with values below 1e-307 flushed to 0.
"""

from __future__ import annotations

import functools
import math

import numpy as np

from .geometry import EPS, expansion_error

__all__ = [
    "FLUSH",
    "VALUE_RTOL",
    "can_flush",
    "exactly_one",
    "flushed_exp",
    "inner_sigma",
    "near_zero",
    "needs_direct",
    "outer_indices",
    "products",
    "reach",
    "within",
]

#: The accuracy of every Gaussian kernel value, in eps: |k_computed - k| <= VALUE_RTOL eps
#: (1 + e) k, e the exponent (:mod:`.gaussian`). 128 puts the inner radius (no pair within it
#: needs a check) at 5 bandwidths in d = 2, so that a standard normal cloud at bandwidth 1 and
#: the cells of wider clouds (7 bandwidths a side) need no check at all.
VALUE_RTOL = 128.0
#: Exponents below -FLUSH give kernel values below 1e-307 (exp(-707) = 9e-308): they come out as
#: exactly 0 (an absolute error below 1e-307; their relative accuracy does not matter). numpy's
#: vectorised exp leaves its fast path for arguments below about -708 (subnormal or zero results)
#: and costs 15 to 300 times more per value there: in a cloud wider than about 38 bandwidths,
#: where many pairs underflow, that was most of the time of a kernel sum.
FLUSH = 707.0


def reach(s, d: int):
    """How far below 0 the computed exponent of a pair whose scaled squared norms add up to s
    must lie for its value to be within the target without a check: its error is at most g s
    (g = :func:`~.geometry.expansion_error` (d)), which is within VALUE_RTOL eps (1 + e) once
    e >= B s - 1 (B = g / (VALUE_RTOL eps)), or its value is flushed to 0 (e > FLUSH)."""
    g = expansion_error(d)
    return np.minimum(np.maximum(g / (VALUE_RTOL * EPS) * s - 1.0, 0.0), FLUSH) + g * s


@functools.lru_cache(maxsize=64)
def inner_sigma(d: int) -> float:
    """The scaled squared norm sigma below which a point takes part in no pair that needs a
    check, whatever the other point.

    With a = sqrt(sigma_i), b = sqrt(sigma_j) (distances to the centre, in units of sqrt(2) s),
    the exact exponent is at least (a - b)^2 and the computed one at least (a - b)^2 - g s; the
    pair needs no check when that is at least :func:`reach` (s), s = a^2 + b^2, which holds for
    every b when (a - b)^2 >= B' (a^2 + b^2) - 1, B' = B + 2 g: minimised over b at
    b = a / (1 - B'), that is a^2 <= (1 - B') / (B' (2 - B')) (12.5 in d = 2: points within 5
    bandwidths of the centre). 0.99 of it, for the rounding of sigma itself; -1 (every point)
    when B' >= 1 (d > 240)."""
    g = expansion_error(d)
    b = g / (VALUE_RTOL * EPS) + 2.0 * g
    return 0.99 * (1.0 - b) / (b * (2.0 - b)) if b < 1.0 else -1.0


def outer_indices(sigma_rows, sigma_cols, d: int):
    """(rows, columns): the indices of the scaled squared norms beyond :func:`inner_sigma` (d),
    the only points that can take part in a pair that needs a check (both empty when either is:
    no pair does). One maximum each, and a search only where it finds some."""
    inner = inner_sigma(d)
    none = np.empty(0, np.intp)
    if not len(sigma_rows) or not len(sigma_cols):
        return none, none
    if float(sigma_rows.max()) <= inner or float(sigma_cols.max()) <= inner:
        return none, none
    return np.flatnonzero(sigma_rows > inner), np.flatnonzero(sigma_cols > inner)


def within(indices, a: int, b: int):
    """The sorted ``indices`` in [a, b), less a (the rows or columns of a tile from a to b)."""
    if not len(indices) or (a <= indices[0] and indices[-1] < b):  # all of them (one tile)
        return indices - a if a else indices
    return indices[np.searchsorted(indices, a) : np.searchsorted(indices, b)] - a


def needs_direct(E, sigma_rows, sigma_cols, d: int):
    """The index pairs (i, j) of the exponents E whose value could miss the target
    (E[i, j] > -reach(sigma_i + sigma_j)). One comparison per value against the loosest
    threshold, then the candidates against their own: a pass over E plus O(candidates)."""
    if not E.size:
        return np.empty(0, np.intp), np.empty(0, np.intp)
    flat = np.flatnonzero(E > -float(reach(float(sigma_rows.max() + sigma_cols.max()), d)))
    i, j = np.divmod(flat, E.shape[1])
    keep = E.ravel()[flat] > -reach(sigma_rows[i] + sigma_cols[j], d)
    return i[keep], j[keep]


def near_zero(E, sigma_rows, sigma_cols, d: int):
    """The index pairs (i, j) whose computed exponent is within its error bound g s of 0 (the
    coincident pairs among them): one comparison per value against the loosest bound, then the
    candidates against their own."""
    if not E.size:
        return np.empty(0, np.intp), np.empty(0, np.intp)
    g = expansion_error(d)
    flat = np.flatnonzero(E > -g * float(sigma_rows.max() + sigma_cols.max()))
    i, j = np.divmod(flat, E.shape[1])
    keep = E.ravel()[flat] > -g * (sigma_rows[i] + sigma_cols[j])
    return i[keep], j[keep]


def exactly_one(K, Z, C):
    """K with k(z_i, c_j) = 1 exactly where z_i and c_j are the same point (every coordinate
    equal; their computed value is within the target, 1 + O(g s)). The pairs are found by
    sorting a hash of each point's bits (O((n + N) log N), not a pass over K): points with equal
    hashes are the candidates, kept where all their bits agree."""
    n, d = Z.shape
    if not n or not len(C):
        return K
    points = np.concatenate([Z, C]) + 0.0  # -0.0 -> 0.0: the same point, the same bits
    bits = points.view(np.uint64)
    key = bits[:, 0] * _MIX[0]  # uint64 arithmetic wraps: a hash, equal for equal points
    for k in range(1, d):
        key ^= bits[:, k] * _MIX[k % len(_MIX)] + np.uint64(k)
    kz, kc = key[:n], key[n:]
    by_key = np.argsort(kc)
    sorted_kc = kc[by_key]
    lo = np.searchsorted(sorted_kc, kz, "left")
    counts = np.searchsorted(sorted_kc, kz, "right") - lo
    total = int(counts.sum())
    if total:
        i = np.repeat(np.arange(n), counts)
        ends = np.cumsum(counts)
        j = by_key[np.repeat(lo, counts) + np.arange(total) - np.repeat(ends - counts, counts)]
        same = np.all(bits[i] == bits[n + j], axis=1)  # the candidates whose every bit agrees
        K[i[same], j[same]] = 1.0
    return K


#: Odd 64-bit multipliers of the point hash of :func:`exactly_one` (any odd numbers would do:
#: a collision only adds a candidate, which the comparison of the bits drops).
_MIX = np.array(
    [0x9E3779B97F4A7C15, 0xC2B2AE3D27D4EB4F, 0x165667B19E3779F9, 0xD6E8FEB86659FD93],
    dtype=np.uint64,
)


def can_flush(sigma_rows, sigma_cols) -> bool:
    """Whether some exponent could lie below -FLUSH: e <= (sqrt(sigma_i) + sqrt(sigma_j))^2 for
    any centre (plus a margin for rounding)."""
    if not len(sigma_rows) or not len(sigma_cols):
        return False
    top = math.sqrt(max(0.0, float(sigma_rows.max()))) + math.sqrt(
        max(0.0, float(sigma_cols.max()))
    )
    return top * top * (1.0 + 1e-6) + 1.0 > FLUSH


def flushed_exp(E, may_flush: bool = True):
    """exp(E) in place, exponents below -FLUSH to exactly 0 (see :data:`FLUSH`; ``may_flush``
    False when none can be, to save the check)."""
    if may_flush and E.size and float(E.min()) < -FLUSH:
        low = E < -FLUSH
        np.maximum(E, -FLUSH, out=E)
        np.exp(E, out=E)
        np.copyto(E, 0.0, where=low)
        return E
    return np.exp(E, out=E)


#: Values of E from which :func:`products` takes a few matrix-vector products instead of one
#: thin matrix product (8 MB: E out of cache, where the products stream it at memory speed; in
#: cache, the one product is about twice as fast: 24 against 43 us for 240 x 480 and 3 sums).
PRODUCTS_STREAMED = 2**20


def products(E, sums):
    """E @ sums.T: a few matrix-vector products beat one thin matrix product for small d when E
    is larger than the cache (:data:`PRODUCTS_STREAMED`), not when it is in it."""
    if len(sums) <= 4 and E.size > PRODUCTS_STREAMED:
        return np.stack([E @ s for s in sums], axis=1)
    return E @ sums.T
