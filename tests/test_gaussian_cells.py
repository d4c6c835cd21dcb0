"""The Gaussian kernel's grid cells: the grid itself (against a brute-force grouping of the
points by their cell keys) and the one-tile path of small wide clouds (the mean's product kept,
the rows beyond the inner radius recomputed by cells or checked), whose values and fused sums
are held to the stated accuracy VALUE_RTOL eps (1 + e) k against the exact values in extended
precision (numpy's longdouble), as the other paths are; and the tiled cell path of k(X, Y) on a
cloud too large for one tile.
"""

from __future__ import annotations

import math

import numpy as np
import pytest
from extended_precision import (
    EPS,
    LD,
    assert_gauss_accurate,
    assert_sums_accurate,
    exact_gauss,
    exact_sq,
)
from hypothesis import given, settings
from hypothesis import strategies as st

from kernelflows import GaussianKernel
from kernelflows.kernels._parallel import PARALLEL_MIN_ELEMENTS
from kernelflows.kernels.cells import CELL_ROWS, cell_groups, grid_cells, outer_cells
from kernelflows.kernels.exponents import inner_sigma, outer_indices
from kernelflows.kernels.gaussian import VELOCITY_BLOCK_ELEMENTS
from kernelflows.kernels.geometry import corner_sq_distances


def clusters(rng, n: int, d: int, far: float, loose: int, bandwidth: float):
    """n points in four clusters about one bandwidth wide, ``far`` bandwidths from the origin
    in opposite pairs (every cluster beyond the inner radius of the mean, or most), and
    ``loose`` lone points 2.5 ``far`` out (sparse cells: checked, not by cells); the fitted
    three-rings clouds in miniature. Each point has a neighbour a tenth of a bandwidth away
    (pairs whose exponent the mean's product cannot give to the target)."""
    u = rng.normal(size=(2 + loose, d))
    u *= far / np.linalg.norm(u, axis=1, keepdims=True)
    centres = np.vstack([u[:2], -u[:2]])
    P = centres[np.arange(n // 2) % 4] + rng.normal(size=(n // 2, d))
    P[:loose] = 2.5 * u[2:]
    P = np.vstack([P, P + 0.1 * rng.normal(size=P.shape)])
    return P * bandwidth


one_tile = dict(
    n=st.integers(80, 180),
    d=st.integers(1, 3),
    far=st.sampled_from([8.0, 12.0, 40.0, 1e3, 1e6]),
    loose=st.integers(0, 6),
    shift=st.sampled_from([0.0, 1e8]),
    bandwidth=st.sampled_from([0.15, 1.0, 3.0]),
    seed=st.integers(0, 2**32 - 1),
)


@settings(max_examples=40, deadline=None)
@given(**one_tile)
def test_one_tile_path_accurate_for_small_wide_clouds(n, d, far, loose, shift, bandwidth, seed):
    rng = np.random.default_rng(seed)
    X = clusters(rng, n, d, far, loose, bandwidth) + shift * bandwidth
    Y = X[::2] + 0.3 * bandwidth * rng.normal(size=X[::2].shape)
    C = np.vstack([X, Y])
    n, N = len(X), len(C)
    k = GaussianKernel(bandwidth)
    left, right = k.exponent_factors(X, C)
    outer = outer_indices(-left[:, d], -right[d + 1], d)
    # the path under test: one tile (of values, and of rows of the fused sums), wide
    assert n * N <= VELOCITY_BLOCK_ELEMENTS and n <= math.isqrt(VELOCITY_BLOCK_ELEMENTS)
    assert n * N < PARALLEL_MIN_ELEMENTS
    assert k._wide(outer, n, N)
    ref, e = exact_gauss(X, C, bandwidth)
    assert_gauss_accurate(k.flow_gram(X, C), ref, e)
    K = k(X, C)
    assert_gauss_accurate(K, ref, e)
    assert np.all(np.diag(K) == 1.0) and np.all(K <= 1.0)
    W = rng.normal(size=(N, 2))
    # the default tile (one column block) and tiles of a few columns (several blocks, the
    # cells' products on each): still one row tile
    for head, tile in ((True, None), (False, None), (True, n * (n + 5)), (False, n * (n + 5))):
        S, _ = k.sums_and_grad(X, C, W, z_is_head=head, block_elements=tile)
        assert_sums_accurate(S, ref, e, W)


@settings(max_examples=30, deadline=None)
@given(**one_tile)
def test_outer_cells_partition_the_outer_rows_each_within_its_cell(
    n, d, far, loose, shift, bandwidth, seed
):
    rng = np.random.default_rng(seed)
    X = clusters(rng, n, d, far, loose, bandwidth) + shift * bandwidth
    k = GaussianKernel(bandwidth)
    left, right = k.exponent_factors(X, X)
    ri, _ = outer_indices(-left[:, d], -right[d + 1], d)
    cells = outer_cells(k, X, ri)
    # every outer row once, in a cell or loose; the cells one after another in ``rows``
    assert np.array_equal(np.sort(np.concatenate([cells.rows, cells.loose])), ri)
    ends = [0] + [b for _, b in cells.bounds]
    assert [a for a, _ in cells.bounds] == ends[:-1] and ends[-1] == len(cells.rows)
    inner = inner_sigma(d)
    centres = [] if cells.centres is None else cells.centres
    for (a, b), m in zip(cells.bounds, centres, strict=True):
        assert b - a >= CELL_ROWS
        # each row within the inner radius of its cell's centre, by direct differences in
        # extended precision (what makes its exponents need no check)
        diff = np.asarray(X[cells.rows[a:b]], LD) - np.asarray(m, LD)
        assert np.all((diff**2).sum(1) / (2 * LD(bandwidth) ** 2) <= inner)
        # and the left factors are those coordinates' (centred on m), scaled
        sigma = -cells.lefts[a:b, d]
        np.testing.assert_allclose(sigma, (diff**2).sum(1) / (2 * bandwidth**2), rtol=1e-12)


@settings(max_examples=60, deadline=None)
@given(
    n=st.integers(1, 400),
    d=st.integers(1, 4),
    spread=st.sampled_from([1.0, 10.0, 30.0, 300.0]),
    clumps=st.integers(1, 6),
    seed=st.integers(0, 2**32 - 1),
)
def test_cell_groups_are_the_runs_of_equal_cell_keys(n, d, spread, clumps, seed):
    # against a brute-force grouping: a dict from each point's tuple of cell indices (the same
    # grid: side h, anchored at the least coordinates) to its points
    rng = np.random.default_rng(seed)
    P = rng.uniform(-spread, spread, (clumps, d))[rng.integers(clumps, size=n)]
    P += rng.normal(size=P.shape)
    groups = cell_groups(P, 1.0)
    h = 0.95 * 2.0 * math.sqrt(2.0 * inner_sigma(d) / d)
    cell = np.floor((P - P.min(axis=0)) / h).astype(np.int64)
    by_key: dict = {}
    for i, key in enumerate(map(tuple, cell)):
        by_key.setdefault(key, []).append(i)
    dense = {key: rows for key, rows in by_key.items() if len(rows) >= CELL_ROWS}
    if 2 * sum(map(len, dense.values())) < n:
        assert groups is None
        return
    order, ends, centres = groups
    assert np.array_equal(np.sort(order), np.arange(n))  # a permutation
    assert len(ends) == len(dense) == len(centres)
    starts = np.concatenate([[0], ends[:-1]])
    keys = sorted(dense, key=lambda key: np.ravel_multi_index(key, cell.max(axis=0) + 1))
    for a, b, key, m in zip(starts, ends, keys, centres, strict=True):
        assert order[a:b].tolist() == dense[key]  # in the points' order within a cell
        np.testing.assert_allclose(m, P.min(axis=0) + (np.array(key) + 0.5) * h, rtol=1e-15)
    rest = sorted(i for key, idx in by_key.items() if key not in dense for i in idx)
    assert sorted(order[ends[-1] :].tolist()) == rest
    # grid_cells: the same order, each dense cell cut into tiles of at most max_rows
    plan = grid_cells(P, 1.0, 7)
    assert np.array_equal(plan[0], order)
    for a, b, c in plan[1]:
        assert 0 < b - a <= 7
        if c is not None:
            assert starts[c] <= a and b <= ends[c]
        else:
            assert a >= ends[-1]


@pytest.mark.parametrize("d", [1, 2, 3])
def test_one_tile_path_takes_both_branches_on_a_fitted_cloud(d):
    # a cloud like the fitted three-rings runs' (clusters beyond the inner radius) with a few
    # lone points: its outer rows go both to cells (dense) and to checks (loose), and the
    # values of both are accurate (the property test above draws such clouds at random)
    rng = np.random.default_rng(d)
    X = clusters(rng, 300, d, 12.0, 4, 0.15)
    k = GaussianKernel(0.15)
    left, right = k.exponent_factors(X, X)
    outer = outer_indices(-left[:, d], -right[d + 1], d)
    assert k._wide(outer, len(X), len(X))
    cells = outer_cells(k, X, outer[0])
    assert len(cells.rows) > 0 and len(cells.loose) > 0
    ref, e = exact_gauss(X, X, 0.15)
    assert_gauss_accurate(k.flow_gram(X, X), ref, e)
    W = rng.normal(size=(len(X), 1))
    assert_sums_accurate(k.sums_and_grad(X, X, W, z_is_head=True)[0], ref, e, W)


@pytest.mark.parametrize("shift", [0.0, 1e8])
def test_tiled_cell_values_accurate_beyond_one_tile(shift):
    # 400 x 400 values: more than one tile, so k(X, Y) and flow_gram take the tiled cells
    # (rows permuted, every cell on its own centre) rather than the one-tile path
    rng = np.random.default_rng(7)
    bandwidth = 0.15
    X = clusters(rng, 400, 2, 12.0, 3, bandwidth) + shift * bandwidth
    k = GaussianKernel(bandwidth)
    assert len(X) ** 2 > VELOCITY_BLOCK_ELEMENTS
    left, right = k.exponent_factors(X, X)
    assert k._plan(X, -left[:, 2], -right[3], VELOCITY_BLOCK_ELEMENTS // len(X)) is not None
    ref, e = exact_gauss(X, X, bandwidth)
    K = k(X, X)
    assert_gauss_accurate(K, ref, e)
    assert np.all(np.diag(K) == 1.0) and np.all(K <= 1.0)
    assert_gauss_accurate(k.flow_gram(X, X), ref, e)


@pytest.mark.parametrize("d", [1, 2, 3])
def test_one_tile_path_recomputes_a_small_corner_whole(d):
    # a small fitted cloud: its corner beyond the inner radius within SMALL_CORNER coordinates,
    # recomputed whole from direct differences (no cells); the values and sums accurate
    rng = np.random.default_rng(10 + d)
    X = clusters(rng, 80, d, 12.0, 2, 0.15) + 1e8 * 0.15
    C = np.vstack([X, X[::2] + 0.05 * rng.normal(size=X[::2].shape)])
    k = GaussianKernel(0.15)
    left, right = k.exponent_factors(X, C)
    outer = outer_indices(-left[:, d], -right[d + 1], d)
    assert k._wide(outer, len(X), len(C)) and k._cells(X, outer) == ()
    ref, e = exact_gauss(X, C, 0.15)
    assert_gauss_accurate(k.flow_gram(X, C), ref, e)
    W = rng.normal(size=(len(C), 1))
    assert_sums_accurate(k.sums_and_grad(X, C, W, z_is_head=True)[0], ref, e, W)


@settings(max_examples=40, deadline=None)
@given(
    n=st.integers(1, 20),
    m=st.integers(1, 20),
    d=st.integers(1, 5),
    shift=st.sampled_from([0.0, 1e8, -1e15]),
    seed=st.integers(0, 2**32 - 1),
)
def test_corner_sq_distances_match_the_direct_differences(n, m, d, shift, seed):
    # every pair of a corner against the exact squared distance of the given floats (extended
    # precision): within (d + 2) eps / 2 relative, as direct_sq_distances; coincident points 0
    rng = np.random.default_rng(seed)
    Z = rng.normal(size=(n + 3, d)) + shift
    X = np.vstack([Z[:2], rng.normal(size=(m, d)) + shift])
    i = np.sort(rng.choice(len(Z), size=min(n, len(Z)), replace=False))
    j = np.sort(rng.choice(len(X), size=min(m, len(X)), replace=False))
    D = corner_sq_distances(Z, X, i, j)
    exact = exact_sq(Z[i], X[j])
    assert D.shape == (len(i), len(j))
    assert np.all(np.abs(D - exact) <= (d + 2) * EPS / 2 * exact)
