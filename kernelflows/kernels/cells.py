"""The grid cells that tile a wide cloud for the Gaussian kernel's fast paths (:mod:`.gaussian`):
each cell's points within the inner radius (:func:`~.exponents.inner_sigma`) of its centre, so
that exponents computed on coordinates centred on it need no check.
"""

from __future__ import annotations

import math

import numpy as np

from .exponents import inner_sigma

__all__ = ["CELL_ROWS", "grid_cells"]

#: The fewest points of a grid cell for it to be a tile of its own (:func:`grid_cells`);
#: sparser cells' points go to tiles centred on the mean, with checks (a product per handful of
#: points would cost more in the interpreter than the checks of sparse points).
CELL_ROWS = 16


def grid_cells(P, bandwidth: float, max_rows: int):
    """A plan of row tiles of the points P (original coordinates): (order, tiles, centres),
    tile (a, b, k) the rows P[order[a:b]], all within :func:`inner_sigma` of centres[k];
    the rows of cells with fewer than :data:`CELL_ROWS` points come last, in tiles with no
    centre (k None: centred on the mean, checked). None when most points are in such
    cells (a cloud so sparse that the one product with its few checks is cheaper than a
    product per tile).

    Cells of a grid of side h, h sqrt(d) / 2 = 0.95 sqrt(2 inner) s (so that every point of
    a cell is within 0.9 inner of its centre, in units of the scaled squared norm, s the
    ``bandwidth``), sorted
    by cell; a cell with more than ``max_rows`` rows is cut into tiles of that many."""
    n, d = P.shape
    inner = inner_sigma(d)
    if inner <= 0.0:
        return None
    h = 0.95 * 2.0 * bandwidth * math.sqrt(2.0 * inner / d)
    lo = P.min(axis=0)
    if float(np.prod((P.max(axis=0) - lo) / h + 1.0)) > 2.0**60:  # keys beyond int64
        return None
    cell = np.floor((P - lo) / h).astype(np.int64)
    key = np.ravel_multi_index(tuple(cell.T), tuple(cell.max(axis=0) + 1))
    order = np.argsort(key, kind="stable")
    key = key[order]
    cuts = np.flatnonzero(np.diff(key)) + 1
    starts, ends = np.r_[0, cuts].tolist(), np.r_[cuts, n].tolist()
    dense = [c for c, (a, b) in enumerate(zip(starts, ends, strict=True)) if b - a >= CELL_ROWS]
    if 2 * sum(ends[c] - starts[c] for c in dense) < n:  # mostly sparse cells: no gain
        return None
    centres = lo + (cell[order[[starts[c] for c in dense]]] + 0.5) * h
    # the dense cells' rows first, a tile per max_rows of a cell; the sparse cells' rows
    # last, in loose tiles (centred on the mean, checked)
    sparse = np.ones(n, bool)
    tiles, parts, at = [], [], 0
    for k, c in enumerate(dense):
        a, b = starts[c], ends[c]
        sparse[a:b] = False
        parts.append(order[a:b])
        tiles += [(at + i, at + min(b - a, i + max_rows), k) for i in range(0, b - a, max_rows)]
        at += b - a
    rows = np.concatenate(parts + [order[sparse]])
    tiles += [(c, min(n, c + max_rows), None) for c in range(at, n, max_rows)]
    return rows, tiles, centres
