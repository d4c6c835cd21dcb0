"""The grid cells that tile a wide cloud for the Gaussian kernel's fast paths (:mod:`.gaussian`):
each cell's points within the inner radius (:func:`~.exponents.inner_sigma`) of its centre, so
that exponents computed on coordinates centred on it need no check; and the factors of those
exponents, for many cells at once.

The grid is built with one sort of integer cell keys (:func:`cell_groups`), no loop over cells.
A large cloud is tiled by its cells (:func:`grid_cells`, :func:`cell_factors`); a small one (one
tile) keeps its one product centred on the mean and recomputes only its rows beyond the inner
radius, a cell at a time (:func:`outer_cells`), which costs a few small products instead of a
permutation of every row.
"""

from __future__ import annotations

import math
from typing import NamedTuple

import numpy as np

from .exponents import inner_sigma

__all__ = [
    "CELL_ROWS",
    "OuterCells",
    "cell_factors",
    "cell_groups",
    "cell_rights",
    "grid_cells",
    "outer_cells",
]

#: The fewest points of a grid cell for it to be a tile of its own (:func:`grid_cells`);
#: sparser cells' points go to tiles centred on the mean, with checks (a product per handful of
#: points would cost more in the interpreter than the checks of sparse points).
CELL_ROWS = 16


def cell_groups(P, bandwidth: float):
    """(order, ends, centres): the points P (original coordinates) sorted by grid cell, the
    cells of at least :data:`CELL_ROWS` points first (in key order): dense cell k holds
    P[order[ends[k - 1]:ends[k]]] (ends[-1]: where the sparse cells' points begin), every one
    within 0.9 :func:`inner_sigma` of centres[k]. None when the keys would not fit in int64 or
    when most points are in sparse cells (a cloud so sparse that checks cost less).

    Cells of a grid of side h anchored at the least coordinates of P, h sqrt(d) / 2 =
    0.95 sqrt(2 inner) s (so that every point of a cell is within 0.9 inner of its centre, in
    units of the scaled squared norm, s the ``bandwidth``). One stable sort of the cells' integer
    keys; the cells are the runs of equal keys."""
    n, d = P.shape
    inner = inner_sigma(d)
    if inner <= 0.0 or not n:
        return None
    h = 0.95 * 2.0 * bandwidth * math.sqrt(2.0 * inner / d)
    lo = P.min(axis=0)
    if float(np.prod((P.max(axis=0) - lo) / h + 1.0)) > 2.0**60:  # keys beyond int64
        return None
    cell = np.floor((P - lo) / h).astype(np.int64)
    key = np.ravel_multi_index(tuple(cell.T), tuple(cell.max(axis=0) + 1))
    order = np.argsort(key, kind="stable")
    key = key[order]
    starts = np.flatnonzero(np.concatenate(([True], key[1:] != key[:-1])))
    counts = np.diff(starts, append=n)
    dense = counts >= CELL_ROWS
    sizes = counts[dense]
    if 2 * int(sizes.sum()) < n:  # mostly sparse cells: no gain
        return None
    if len(sizes) < len(counts):  # the sparse cells' points last
        keep = np.repeat(dense, counts)
        order = np.concatenate([order[keep], order[~keep]])
    ends = np.cumsum(sizes)
    centres = lo + (cell[order[ends - sizes]] + 0.5) * h
    return order, ends, centres


def grid_cells(P, bandwidth: float, max_rows: int):
    """A plan of row tiles of the points P (original coordinates): (order, tiles, centres),
    tile (a, b, k) the rows P[order[a:b]], all within :func:`inner_sigma` of centres[k];
    the rows of cells with fewer than :data:`CELL_ROWS` points come last, in tiles with no
    centre (k None: centred on the mean, checked). None as :func:`cell_groups`. A cell with
    more than ``max_rows`` rows is cut into tiles of that many."""
    groups = cell_groups(P, bandwidth)
    if groups is None:
        return None
    order, ends, centres = groups
    n = len(P)
    tiles, a = [], 0
    for k, b in enumerate(ends.tolist()):
        tiles += [(i, min(b, i + max_rows), k) for i in range(a, b, max_rows)]
        a = b
    tiles += [(c, min(n, c + max_rows), None) for c in range(a, n, max_rows)]
    return order, tiles, centres


def cell_rights(C, centres, bandwidth: float):
    """The right factors of the points C on coordinates centred on each of ``centres``, shape
    (cells, d + 2, N): [c - m, 1, -|c - m|^2 / (2 s^2)] (the Gaussian kernel's
    ``exponent_factors``, for every centre m at once; c - m rounded once from the original
    coordinates)."""
    d = C.shape[1]
    U = C[None, :, :] - centres[:, None, :]  # (cells, N, d)
    rights = np.empty((len(centres), d + 2, len(C)))
    rights[:, :d] = U.transpose(0, 2, 1)
    rights[:, d] = 1.0
    rights[:, d + 1] = (-0.5 / bandwidth**2) * np.einsum("kjd,kjd->kj", U, U)
    return rights


def cell_factors(kernel, Zo, C, tiles, centres):
    """(cell_left, rights) of a plan of :func:`grid_cells`: the left factors of the rows Zo (in
    the plan's order), each centred on its tile's cell centre (rows of loose tiles: zeros,
    unused), and a function of k giving the right factors of the columns C centred on
    centres[k] (all computed at once when they take at most 2^20 values per coordinate, else
    on demand). ``kernel``: the Gaussian kernel (its bandwidth and factors)."""
    row_centre = np.zeros_like(Zo)
    for a, b, k in tiles:
        if k is not None:
            row_centre[a:b] = centres[k]
    cell_left, _ = kernel._centred_factors(Zo - row_centre, C[:0])
    if len(centres) * len(C) > 2**20:
        return cell_left, lambda k: kernel._centred_factors(C[:0], C - centres[k])[1]
    return cell_left, cell_rights(C, centres, kernel.bandwidth).__getitem__


class OuterCells(NamedTuple):
    """The rows of a small cloud beyond the inner radius of the mean (:func:`outer_cells`)."""

    #: indices of the rows in dense cells, cell by cell
    rows: np.ndarray
    #: (a, b) of each dense cell in ``rows``
    bounds: list
    #: their left factors, each row centred on its cell's centre, shape (len(rows), d + 2)
    lefts: np.ndarray | None
    #: the cells' centres, shape (cells, d)
    centres: np.ndarray | None
    #: indices of the other rows beyond the inner radius (sparse cells): checked
    loose: np.ndarray


def outer_cells(kernel, Z, ri):
    """The rows ``ri`` of Z (those beyond the inner radius of the mean) grouped by the grid
    cells of :func:`cell_groups`: the rows of dense cells with their left factors centred on
    their cell's centre (no pair of theirs needs a check), the rest ``loose``. All of them loose
    when the grid does not pay (:func:`cell_groups` None) or when rounding put a row beyond the
    inner radius of its centre (coordinates near float64's resolution of a bandwidth)."""
    none = OuterCells(ri[:0], [], None, None, ri)
    groups = cell_groups(Z[ri], kernel.bandwidth)
    if groups is None:
        return none
    order, ends, centres = groups
    sizes = np.diff(ends, prepend=0)
    rows = ri[order[: ends[-1]]]
    lefts, _ = kernel._centred_factors(Z[rows] - np.repeat(centres, sizes, axis=0), Z[:0])
    if float(-lefts[:, Z.shape[1]].min()) > inner_sigma(Z.shape[1]):
        return none
    bounds = list(zip((ends - sizes).tolist(), ends.tolist(), strict=True))
    return OuterCells(rows, bounds, lefts, centres, ri[order[ends[-1] :]])
