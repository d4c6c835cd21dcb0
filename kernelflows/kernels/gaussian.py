"""The Gaussian kernel and its fast paths: one exponential per pair, in cache-sized tiles.

k(x, y) = exp(-||x - y||^2 / (2 s^2)). Its gradient is a function of its value,
grad_z k(z, c) = -(z - c) / s^2 k(z, c), so one exponential gives both: the fused flow sums of
:meth:`GaussianKernel.sums_and_grad` (tiled, on the kernels' thread pool) and
:meth:`GaussianKernel.grad_from_gram`.

**Accuracy.** Every kernel value is within :data:`VALUE_RTOL` eps (1 + e) k of the exact value for
the given floats, e = ||x - y||^2 / (2 s^2) its exponent (the factor 1 + e is the conditioning of
exp: a relative error r of the exponent is an error r e of the value), however wide the cloud
(up to the coordinate limit) and wherever it sits; so every value is within VALUE_RTOL eps of
the exact one (values below 1e-307 come out as 0: :data:`FLUSH`). Coincident points give exactly
1 in ``__call__`` and ``weighted_sum`` (found by sorting the points), and a particle with itself
in the fused sums and ``total``.

**Speed.** The exponents come from one matrix product on coordinates centred on a reference
point (:meth:`GaussianKernel.exponent_factors`), whose error is at most g (sigma_z + sigma_c),
sigma = ||. - reference||^2 / (2 s^2), g = :func:`~.geometry.expansion_error` (d). A point
within the inner radius of the reference (:func:`inner_sigma`: 5 bandwidths in d = 2) is in no
pair that can miss the target, so a cloud within 5 bandwidths of its mean costs one product
and one exponential per pair, as before any check existed. A wider cloud is tiled by the cells
of a grid (:func:`~.cells.grid_cells`, about 7 bandwidths a side): a tile's rows are the points
of one cell, and its exponents are computed on coordinates centred on that cell's centre, so no
pair of it needs a check either; the points of sparse cells (fewer than
:data:`~.cells.CELL_ROWS`) go to tiles centred on the mean, whose doubtful pairs (both points
beyond the inner radius, the exponent above the reach of its error bound) are recomputed from
direct differences (:func:`~.geometry.direct_sq_distances`). A cloud of sparse cells only is
done in one product with those checks. The exponentials of a tile are taken while it is in
cache. A small wide cloud (one tile: the DrMMD three-rings runs, 300 points 14 bandwidths long)
keeps the one product on the mean and recomputes its corner beyond the inner radius whole
(:data:`SMALL_CORNER`) or by cells (:func:`~.cells.outer_cells`), its rows not permuted. A fitted
flow's cloud with a few stragglers beyond the inner radius (the three-rings runs: a handful of
particles 6 to 8 bandwidths from the mean) takes the one product; the stragglers' own corner
of pairs, at most :data:`DIRECT_CORNER` coordinates, is recomputed whole from direct
differences, which costs a few small array operations instead of a search.
"""

from __future__ import annotations

import math

import numpy as np

from .._validation import length_scale
from ._parallel import PARALLEL_MIN_ELEMENTS, n_threads, run_chunks, split_by_cost
from .cells import cell_factors, cell_rights, grid_cells, outer_cells
from .exponents import (
    VALUE_RTOL,
    can_flush,
    exactly_one,
    flushed_exp,
    inner_sigma,
    near_zero,
    needs_direct,
    outer_indices,
    products,
    within,
)
from .geometry import EPS, centred, corner_sq_distances, direct_sq_distances
from .radial import RadialKernel

__all__ = ["VELOCITY_BLOCK_ELEMENTS", "GaussianKernel"]

#: Kernel values in one tile of the fused sum-and-gradient fast path (1 MB of float64: a tile and
#: its products stay near one core on current x86 machines; smaller tiles spend more of their
#: time in the interpreter, which two threads share).
VELOCITY_BLOCK_ELEMENTS = 2**17
#: The share of pairs with both points beyond the inner radius of the mean (where a pair may need
#: a check) from which a cloud is tiled by cells (:meth:`GaussianKernel._plan`); below, the one
#: product and the checks of that small corner cost less than permuting the rows.
OUTER_SHARE = 0.01
#: The most coordinates (pairs x d) of a corner of pairs beyond the inner radius that is
#: recomputed whole from direct differences (:meth:`GaussianKernel._refine`): a few stragglers of
#: a flow (a fitted cloud with a handful of points beyond 5 bandwidths of its mean) cost a few
#: small array operations instead of a search for the pairs that need it.
DIRECT_CORNER = 4096
#: The same for a wide cloud of one tile (:meth:`GaussianKernel._outer_rows`); beyond it, by
#: cells (one coordinate costs about 4 ns, the cells' grouping and products over 100 us).
SMALL_CORNER = 2**16


class GaussianKernel(RadialKernel):
    """Gaussian kernel k(x, y) = exp(-||x - y||^2 / (2 bandwidth^2)).

    ``bandwidth`` is the standard deviation sigma. (The KALE flow code of Glaser, Arbel, Gretton,
    NeurIPS 2021 writes exp(-||x - y||^2 / s): s = 2 sigma^2.)
    """

    no_second_derivatives = None

    def __init__(self, bandwidth: float = 1.0):
        self.bandwidth = length_scale(bandwidth, "bandwidth")

    def __repr__(self) -> str:
        return f"GaussianKernel(bandwidth={self.bandwidth:.6g})"

    # One matrix product on augmented coordinates gives the exponent of every pair:
    # -||z - c||^2 / (2 s^2) = [z / s^2, -|z|^2 / (2 s^2), 1] . [c, 1, -|c|^2 / (2 s^2)].
    # This is the one place where that identity is written; the fast paths below all use it.
    def exponent_factors(self, Z, C):
        """(left, right) of shapes (n, d + 2), (d + 2, N): left @ right = -||z - c||^2 / (2 s^2).

        Z and C are centred on one reference point (the mean of C) first, so the exponents, and
        the kernel values, do not lose accuracy to where the cloud sits. Their rounding error is
        at most g (sigma_z + sigma_c), sigma_z = -left[:, d], sigma_c = -right[d + 1] (the
        scaled squared norms), g = :func:`~.geometry.expansion_error` (d): :meth:`_refine` uses
        it to recompute the pairs that need it.
        """
        return self._centred_factors(*centred(Z, C))

    def _centred_factors(self, Z, C):
        inv = 1.0 / self.bandwidth**2
        d = Z.shape[1]
        left = np.empty((len(Z), d + 2))
        left[:, :d] = Z * inv
        left[:, d] = -0.5 * inv * np.einsum("ij,ij->i", Z, Z)
        left[:, d + 1] = 1.0
        right = np.empty((d + 2, len(C)))
        right[:d] = C.T
        right[d] = 1.0
        right[d + 1] = -0.5 * inv * np.einsum("ij,ij->i", C, C)
        return left, right

    def _refine(self, E, Z, C, sigma_rows, sigma_cols, r0=0, c0=0, outer=None, whole=False):
        """Recompute, from direct differences of the original points Z and C, the exponents of
        E (rows of Z from r0 on, columns of C from c0 on) whose error bound could exceed the
        target (:func:`needs_direct`).

        ``sigma_rows`` and ``sigma_cols`` are the scaled squared norms of E's rows and columns
        (``-left[:, d]``, ``-right[d + 1]``). Only rows and columns beyond :func:`inner_sigma`
        can take part in a pair that needs it (``outer``: their indices, when known), so the
        search looks at those alone: on clouds a few bandwidths wide, a small corner of the
        tile. A corner of at most :data:`DIRECT_CORNER` coordinates (any, when ``whole``) is
        recomputed whole (a few stragglers of a flow: cheaper than finding its pairs)."""
        d = Z.shape[1]
        ri, cj = outer_indices(sigma_rows, sigma_cols, d) if outer is None else outer
        if not len(ri) or not len(cj):
            return
        if whole or len(ri) * len(cj) * d <= DIRECT_CORNER:
            rows = E[ri]  # the rows, then their columns: a third faster than a 2-d scatter
            rows[:, cj] = corner_sq_distances(Z, C, ri + r0, cj + c0) * (-0.5 / self.bandwidth**2)
            E[ri] = rows
            return
        if 2 * len(ri) * len(cj) < E.size:  # a corner: gather it
            i, j = needs_direct(E[np.ix_(ri, cj)], sigma_rows[ri], sigma_cols[cj], d)
            i, j = ri[i], cj[j]
        else:
            i, j = needs_direct(E, sigma_rows, sigma_cols, d)
        if len(i):
            E[i, j] = direct_sq_distances(Z, C, i + r0, j + c0) * (-0.5 / self.bandwidth**2)

    def _values(self, Z, C, *, exact: bool = True) -> np.ndarray:
        """The kernel values k(Z, C), to the target accuracy; when ``exact``, at most 1 and
        exactly 1 for coincident pairs (one product: the pairs within the error bound of 0
        recomputed from direct differences; by cells: the exponents clamped at 0 and the
        coincident pairs found by sorting, :func:`exactly_one`); else within the target, as
        every pair.

        One product on coordinates centred on the mean of C, its few doubtful exponents
        recomputed; in a cloud wide enough for many (:meth:`_plan`), the rows are taken by the
        plan's tiles instead, a cell's on coordinates centred on its own centre (no pair of it
        needs a check), in tiles of about :data:`VELOCITY_BLOCK_ELEMENTS` values whose
        exponential is taken while they are in cache; at most that many values in all, the one
        product stays, its rows beyond the inner radius recomputed (:meth:`_outer_rows`)."""
        left, right = self.exponent_factors(Z, C)
        n, N, d = len(Z), len(C), Z.shape[1]
        sigma_rows, sigma_cols = -left[:, d], -right[d + 1]
        may_flush = can_flush(sigma_rows, sigma_cols)
        outer = outer_indices(sigma_rows, sigma_cols, d)
        if n * N <= VELOCITY_BLOCK_ELEMENTS and self._wide(outer, n, N):
            E = left @ right
            self._outer_rows(E, Z, C, sigma_rows, sigma_cols, outer, self._cells(Z, outer))
            if exact:
                np.minimum(E, 0.0, out=E)
            K = flushed_exp(E, may_flush)
            return exactly_one(K, Z, C) if exact else K
        plan = self._plan_outer(Z, outer, max(1, VELOCITY_BLOCK_ELEMENTS // max(1, N)), N)
        if plan is None:
            E = left @ right
            self._refine(E, Z, C, sigma_rows, sigma_cols, outer=outer)
            if exact:  # the (near-)coincident pairs from direct differences: exactly 0 when equal
                i, j = near_zero(E, sigma_rows, sigma_cols, d)
                if len(i):
                    E[i, j] = direct_sq_distances(Z, C, i, j) * (-0.5 / self.bandwidth**2)
            return flushed_exp(E, may_flush)
        order, tiles, centres = plan
        Zo = Z[order]
        cell_left, rights = cell_factors(self, Zo, C, tiles, centres)
        K = np.empty((n, N))
        buffer = np.empty(max(b - a for a, b, _ in tiles) * N)
        last = cell_right = None
        for a, b, k in tiles:
            block = buffer[: (b - a) * N].reshape(b - a, N)
            if k is None:  # a loose tile: centred on the mean of C, checked
                lt, rt = left[order[a:b]], right
            else:
                if k is not last:  # a cell's tiles are consecutive
                    cell_right, last = rights(k), k
                lt, rt = cell_left[a:b], cell_right
            np.matmul(lt, rt, out=block)
            self._refine(block, Zo[a:b], C, -lt[:, d], -rt[d + 1])
            if exact:
                np.minimum(block, 0.0, out=block)
            K[order[a:b]] = flushed_exp(block, may_flush)
        return exactly_one(K, Z, C) if exact else K

    def _plan(self, Z, sigma_rows, sigma_cols, max_rows: int):
        """None (one product, centred on the mean of C, and checks), or the cells of
        :func:`~.cells.grid_cells` when at least :data:`OUTER_SHARE` of the pairs have both
        points beyond the inner radius (so that checking would cost more than the product)."""
        outer = outer_indices(sigma_rows, sigma_cols, Z.shape[1])
        return self._plan_outer(Z, outer, max_rows, len(sigma_cols))

    def _plan_outer(self, Z, outer, max_rows: int, n_cols: int):
        """:meth:`_plan` from the indices of the rows and columns beyond the inner radius."""
        if not self._wide(outer, len(Z), n_cols):
            return None
        return grid_cells(Z, self.bandwidth, max_rows)

    def _cells(self, Z, outer):
        """() (the corner beyond the inner radius is recomputed whole: :data:`SMALL_CORNER`),
        or the rows beyond it by cells (:func:`~.cells.outer_cells`)."""
        small = len(outer[0]) * len(outer[1]) * Z.shape[1] <= SMALL_CORNER
        return () if small else outer_cells(self, Z, outer[0])

    @staticmethod
    def _wide(outer, n: int, n_cols: int) -> bool:
        """Whether :data:`OUTER_SHARE` of the pairs (and one) are beyond the inner radius."""
        ri, cj = outer
        return len(ri) * len(cj) >= max(1.0, OUTER_SHARE * n * n_cols)

    def _outer_rows(self, E, Z, C, sigma_rows, sigma_cols, outer, cells, c0: int = 0):
        """Recompute in place the exponents E (rows of Z, columns of C from c0 on; ``sigma_cols``
        E's own) of the rows beyond the inner radius of the mean (``outer``): with ``cells`` ()
        their corner whole, else those of dense cells (:func:`~.cells.outer_cells`) on their
        cell's centre (no check needed), the others by :meth:`_refine`."""
        c1 = c0 + E.shape[1]
        cols = within(outer[1], c0, c1)
        if not cells:  # a small corner: recomputed whole
            return self._refine(E, Z, C, sigma_rows, sigma_cols, 0, c0, (outer[0], cols), True)
        rows, bounds, lefts, centres, loose = cells
        if len(rows):
            rights = cell_rights(C[c0:c1], centres, self.bandwidth)
            block = np.empty((len(rows), c1 - c0))
            for k, (a, b) in enumerate(bounds):
                np.matmul(lefts[a:b], rights[k], out=block[a:b])
            E[rows] = block
        if len(loose):
            self._refine(E, Z, C, sigma_rows, sigma_cols, 0, c0, outer=(loose, cols))

    def _gram(self, Z, X):
        return self._values(Z, X)

    def flow_gram(self, Z, C):
        """k(Z, C) for a flow's sums: coincident pairs need not give exactly 1 (but are within
        the target accuracy, as every pair), so that clouds a few bandwidths wide, the flows'
        usual case, pay for one product and one exponential."""
        return self._values(Z, C, exact=False)

    def value_error(self, X, Y) -> float:
        """(VALUE_RTOL + 1) eps: each value is within VALUE_RTOL eps (1 + e) k of the exact one
        and (1 + e) exp(-e) <= 1 (plus the final rounding of exp)."""
        return (VALUE_RTOL + 1.0) * EPS

    def _grad_block(self, Z, X, w):
        K = self._gram(Z, X)
        return GaussianKernel.grad_from_gram(self, Z, X, K, w)  # not a subclass's override

    def grad_from_gram(self, Z, C, K, w):
        """sum_j w_j grad_z k(z_i, c_j) from the kernel values K = k(Z, C): one product with
        [w c, w], as grad_z k(z, c) = -(z - c) / s^2 k(z, c)."""
        # sum_j w_j grad = ((K w c)(z) - z (K w)(z)) / s^2
        d = C.shape[1]
        Z, C = centred(Z, C)  # (K w c)(z) - z (K w)(z) cancels less
        sums = np.empty((d + 1, len(C)))
        sums[:d] = C.T * w[None, :]
        sums[d] = w
        acc = products(K, sums)
        return (acc[:, :d] - Z * acc[:, d:]) / self.bandwidth**2

    def sums_and_grad(self, Z, C, W, *, z_is_head: bool = False, block_elements=None, threads=None):
        """Gaussian fast path of :meth:`Kernel.sums_and_grad`: one exponential per pair.

        The pairs are cut into tiles of about ``block_elements`` kernel values (default
        :data:`VELOCITY_BLOCK_ELEMENTS`: 1 MB, so that the exponent, its exponential and the
        products of a tile stay in a core's cache). A tile of rows I and columns J is
        exp(left_I @ right_J); one product with [W[:, 0] c, W]_J gives both the weighted sums and
        sum_j w_j (z - c_j) k(z, c_j) of rows I at once. With ``z_is_head`` (the particles
        themselves, no noise injection) k(x_i, x_j) = k(x_j, x_i) saves half of the
        particle-particle exponentials: row tile I takes the columns from its first row on, and
        the transposed product of a tile hands the same values to the rows of J.

        The row tiles run on the kernels' thread pool (``threads`` as in
        :meth:`Kernel.sums_and_grad`), cut into chunks of equal cost that do not depend on the
        number of threads. A chunk adds its own rows and the transposed values it hands on into
        a partial sum of its own (rows from its first on); the partial sums are added in chunk
        order at the end, so the result is bit for bit the same on any number of threads.

        Kernel values are within the target accuracy (module docstring): a cloud wider than
        the inner radius of its mean is taken in the order of its grid cells (rows permuted;
        with ``z_is_head`` the particles among the columns too, so the symmetry still holds),
        each cell's tiles on coordinates centred on the cell's centre; the doubtful pairs of
        the other tiles are recomputed; a cloud of one row tile (one thread) keeps its order, its
        rows beyond the inner radius recomputed by cells. With ``z_is_head`` a particle's value with
        itself is exactly 1; other coincident pairs are within the target, not exactly 1.
        """
        n, d = len(Z), C.shape[1]
        tile = VELOCITY_BLOCK_ELEMENTS if block_elements is None else block_elements
        tile_rows = max(1, min(n, math.isqrt(tile)))
        Zc, Cc = centred(Z, C)  # once, for the exponents and for sum_j w_j (z - c_j) k
        left, right = self._centred_factors(Zc, Cc)
        sigma_rows, sigma_cols = -left[:, d], -right[d + 1]
        outer = outer_indices(sigma_rows, sigma_cols, d)
        # one row tile, on one thread: the mean's product, its rows beyond the inner radius by cells
        one_tile = n <= tile_rows and n * len(C) < PARALLEL_MIN_ELEMENTS
        if one_tile and self._wide(outer, n, len(C)):
            args = (Z, C, Zc, Cc, W, left, right, [(0, n, None)], z_is_head, tile, tile_rows)
            return self._tiled_sums(*args, threads, outer=outer, small=self._cells(Z, outer))
        plan = self._plan_outer(Z, outer, tile_rows, len(C))
        if plan is None:
            tiles = [(a, min(n, a + tile_rows), None) for a in range(0, n, tile_rows)]
            args = (Z, C, Zc, Cc, W, left, right, tiles)
            return self._tiled_sums(*args, z_is_head, tile, tile_rows, threads, outer=outer)
        # a wide cloud: the particles in the order of the plan's cells, each tile centred on
        # its cell's centre (the reference of the sums of w (z - c) k stays the mean of C)
        order, tiles, centres = plan
        if z_is_head:
            C, Cc, W = (np.concatenate([A[order], A[n:]]) for A in (C, Cc, W))
            right = np.concatenate([right[:, order], right[:, n:]], axis=1)
        Z = Z[order]
        cells = cell_factors(self, Z, C, tiles, centres)
        args = (Z, C, Zc[order], Cc, W, left[order], right, tiles)
        S, G = self._tiled_sums(*args, z_is_head, tile, tile_rows, threads, cells)
        S[order], G[order] = S.copy(), G.copy()
        return S, G

    def _tiled_sums(
        self,
        Z0,
        C0,
        Z,
        C,
        W,
        left,
        right,
        tiles,
        z_is_head,
        tile,
        tile_rows,
        threads,
        cells=None,
        outer=None,
        small=None,
    ):
        """The tiled sums of :meth:`sums_and_grad` over row tiles (i0, i1, k): a tile of cell k
        takes its exponents from ``cells`` (:func:`~.cells.cell_factors`: coordinates centred on the
        cell's centre; its rows are all within the inner radius of it: nothing to check), one
        with k None from ``left`` and ``right`` (centred on the mean of C; its pairs checked
        when the cloud is wide; ``outer``: the rows and columns beyond the inner radius, when
        known; ``small``: the one tile's rows beyond it by cells, :meth:`_outer_rows`). Z, C: Z0,
        C0 centred on the mean of C; W, left and right in the same order as Z0 and C0."""
        n, N, d, r = len(Z), len(C), C.shape[1], W.shape[1]
        inner = inner_sigma(d)
        sums = np.empty((N, d + r))  # columns: [w c, W]
        sums[:, :d] = C * W[:, :1]
        sums[:, d:] = W
        first = [a if z_is_head else 0 for a, _, _ in tiles]
        chunks = split_by_cost(
            [(b - a) * (N - f) for (a, b, _), f in zip(tiles, first, strict=True)]
        )
        acc = np.empty((n, d + r))
        may_flush = can_flush(-left[:, d], -right[d + 1])
        sigma_rows = -left[:, d]

        def task(c):
            lo = tiles[chunks[c][0]][0] if tiles else 0
            part = np.zeros((n - lo, d + r)) if z_is_head else None
            buffer = np.empty(tile)
            last = cell_right = None
            for t in range(*chunks[c]):
                i0, i1, k = tiles[t]
                # as many columns as make a tile (of tile_rows rows when not a cell's)
                tile_cols = max(1, tile // ((i1 - i0) if k is not None else tile_rows))
                if k is None:
                    lt, rt = left[i0:i1], right
                    if outer is None:
                        check = float(sigma_rows[i0:i1].max()) > inner
                    else:
                        ri = within(outer[0], i0, i1)
                        check = len(ri) > 0
                else:
                    if k is not last:  # a cell's tiles are consecutive
                        cell_right, last = cells[1](k), k
                    lt, rt = cells[0][i0:i1], cell_right
                    check = float(-lt[:, d].min()) > inner  # cannot happen but for rounding
                own = np.zeros((i1 - i0, d + r))
                for j0 in range(first[t], N, tile_cols):
                    j1 = min(N, j0 + tile_cols)
                    E = buffer[: (i1 - i0) * (j1 - j0)].reshape(i1 - i0, j1 - j0)
                    np.matmul(lt, rt[:, j0:j1], out=E)
                    if check:
                        sr, sc = -lt[:, d], -rt[d + 1, j0:j1]
                        if small is not None:  # the one tile (i0 = 0)
                            self._outer_rows(E, Z0, C0, sr, sc, outer, small, j0)
                        elif outer is not None:
                            tile_outer = (ri, within(outer[1], j0, j1))
                            self._refine(E, Z0, C0, sr, sc, i0, j0, outer=tile_outer)
                        elif float(sc.max()) > inner:
                            self._refine(E, Z0, C0, sr, sc, i0, j0)
                    if z_is_head and j0 == i0:
                        np.fill_diagonal(E, 0.0)  # k(x, x) = 1 exactly
                    flushed_exp(E, may_flush)
                    own += E @ sums[j0:j1]
                    a, b = max(j0, i1), min(j1, n)  # particles after this row tile
                    if z_is_head and a < b:
                        part[a - lo : b - lo] += E[:, a - j0 : b - j0].T @ sums[i0:i1]
                if z_is_head:
                    part[i0 - lo : i1 - lo] += own
                else:
                    acc[i0:i1] = own
            return lo, part

        parts = run_chunks(task, len(chunks), n_threads(n * N, threads))
        if z_is_head:
            acc[:] = 0.0
            for lo, part in parts:  # in chunk order: the same sums on any number of threads
                acc[lo:] += part
        S = acc[:, d:]
        G = (acc[:, :d] - Z * S[:, :1]) / self.bandwidth**2
        return S, G

    def total(self, X, Y=None, *, exclude_diagonal: bool = False) -> float:
        """Gaussian fast path of :meth:`Kernel.total`: the row sums of :meth:`sums_and_grad` with
        unit weights (tiles in cache, no Gram matrix; with ``Y=None`` the symmetric half, and
        k(x, x) = 1 exactly), added up. The same value on any number of threads."""
        X, Y, same, exclude_diagonal = self._total_inputs(X, Y, exclude_diagonal)
        S, _ = self.sums_and_grad(X, Y, np.ones((len(Y), 1)), z_is_head=same)
        return float(S.sum()) - (len(X) if exclude_diagonal else 0.0)

    def _psi(self, r2):
        return np.exp(-r2 / (2.0 * self.bandwidth**2))

    def _dpsi(self, r2):
        return -self._psi(r2) / (2.0 * self.bandwidth**2)

    def radial_derivatives(self, r2, order: int = 3):
        """psi^(j)(r2) = (-1 / (2 bandwidth^2))^j psi(r2), j = 0, ..., order."""
        psi = self._psi(np.asarray(r2, dtype=np.float64))
        c = -1.0 / (2.0 * self.bandwidth**2)
        return [psi * c**j for j in range(order + 1)]
