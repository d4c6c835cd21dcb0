"""The Gaussian kernel's path choices at their thresholds: the inner radius (within it no pair
needs a check) and the corner of stragglers recomputed whole (``DIRECT_CORNER``).

The inner radius is tested against its own derivation (an inequality that would fail for a
larger radius), and the values on each side of both thresholds against the exact values in
extended precision (numpy's longdouble), to the stated accuracy VALUE_RTOL eps (1 + e) k.
"""

from __future__ import annotations

import numpy as np
import pytest
from extended_precision import EPS, assert_gauss_accurate, assert_sums_accurate, exact_gauss
from hypothesis import given, settings
from hypothesis import strategies as st

from kernelflows import GaussianKernel
from kernelflows.kernels.exponents import VALUE_RTOL, exactly_one, inner_sigma, outer_indices
from kernelflows.kernels.gaussian import DIRECT_CORNER, OUTER_SHARE
from kernelflows.kernels.geometry import expansion_error


def worst_margin(sigma_i: float, d: int) -> float:
    """min over the other point's sigma_j of VALUE_RTOL eps (1 + (a - b)^2) - g s, a^2 = sigma_i,
    b^2 = sigma_j, s = a^2 + b^2: the target accuracy of the pair's value, its exponent e at its
    least, (a - b)^2 (both points on one ray from the reference), less the error bound g s of the
    computed exponent (g = expansion_error (d)); the value meets the target without a check when
    it is >= 0 (an exponent's error r is an error r k of the value)."""
    g = expansion_error(d)
    a = np.sqrt(sigma_i)
    # b over a fine grid around the minimiser a / (1 - B) and far beyond it
    b = np.concatenate([np.linspace(0.0, 4.0 * a + 10.0, 200_001), np.geomspace(1.0, 1e8, 2001)])
    return float(np.min(VALUE_RTOL * EPS * (1.0 + (a - b) ** 2) - g * (a * a + b * b)))


def symmetric_cloud(rng, n: int, d: int, radius: float):
    """2 n points, each with its mirror image -p: the mean is 0 up to rounding. Uniform in a
    ball of ``radius`` (in units of the bandwidth 1)."""
    P = rng.normal(size=(n, d))
    P *= (radius * rng.uniform(size=(n, 1)) ** (1 / d)) / np.linalg.norm(P, axis=1, keepdims=True)
    return np.vstack([P, -P])


@settings(max_examples=40, deadline=None)
@given(
    d=st.integers(1, 4),
    side=st.sampled_from([0.98, 0.999, 1.001, 1.02]),
    seed=st.integers(0, 2**32 - 1),
)
def test_values_accurate_on_both_sides_of_the_inner_radius(d, side, seed):
    # a cloud whose farthest points sit just inside or just outside the inner radius of the
    # mean (sigma = side * inner), each with neighbours a few tenths of a bandwidth inward: the
    # pairs whose check the path skips (inside) or makes (outside)
    rng = np.random.default_rng(seed)
    r = np.sqrt(2.0 * inner_sigma(d) * side)  # sigma = |p|^2 / 2 at bandwidth 1
    body = symmetric_cloud(rng, 40, d, 0.9 * r)
    u = rng.normal(size=(3, d))
    u /= np.linalg.norm(u, axis=1, keepdims=True)
    t = np.concatenate([rng.uniform(0.0, 0.3, 3)] * 2)[:, None] / r
    rim = np.vstack([u * r, -u * r])
    X = np.vstack([body, rim, rim * (1.0 - t)])  # mirrored: the mean stays at 0
    C = np.vstack([X, X * (1.0 - 0.2 / r)])  # neighbours inward, 0.2 bandwidths at most
    k = GaussianKernel(1.0)
    left, right = k.exponent_factors(X, C)
    ri, cj = outer_indices(-left[:, d], -right[d + 1], d)
    assert (len(ri) > 0) == (side > 1)  # the side of the threshold under test
    ref, e = exact_gauss(X, C, 1.0)
    assert_gauss_accurate(k.flow_gram(X, C), ref, e)
    K = k(X, C)
    assert_gauss_accurate(K, ref, e)
    assert np.all(np.diag(K) == 1.0)
    W = rng.normal(size=(len(C), 1))
    S, _ = k.sums_and_grad(X, C, W, z_is_head=True)
    assert_sums_accurate(S, ref, e, W)


def stragglers_cloud(rng, d: int, pairs: int, far: float):
    """A fitted flow's cloud: 600 particles within 3 bandwidths of the origin and 2 x ``pairs``
    stragglers ``far`` bandwidths out (each with a neighbour half a bandwidth away, and mirrored
    so that the mean stays at the origin); the columns: the particles and 600 more points in
    the body. Outer rows and columns: the stragglers alone."""
    body = symmetric_cloud(rng, 300, d, 3.0)
    u = rng.normal(size=(pairs, d))
    u *= far / np.linalg.norm(u, axis=1, keepdims=True)
    v = u + 0.5 * rng.normal(size=u.shape) / np.sqrt(d)
    X = np.vstack([body, u, -u, v, -v])
    C = np.vstack([X, symmetric_cloud(rng, 300, d, 3.0)])
    return X, C


@pytest.mark.parametrize("d", [2, 3])
@pytest.mark.parametrize("far", [8.0, 1e3, 1e6])
@pytest.mark.parametrize("above", [False, True])
def test_straggler_corner_accurate_at_the_direct_corner_size(d, far, above):
    # the corner of stragglers x stragglers has (4 q)^2 d coordinates: q the largest with at
    # most DIRECT_CORNER (recomputed whole) or the smallest with more (searched for the pairs
    # that need it)
    q = int(np.sqrt(DIRECT_CORNER / d) // 4) + above
    rng = np.random.default_rng(q + d)
    X, C = stragglers_cloud(rng, d, q, far)
    k = GaussianKernel(1.0)
    left, right = k.exponent_factors(X, C)
    ri, cj = outer_indices(-left[:, d], -right[d + 1], d)
    assert len(ri) == len(cj) == 4 * q  # the stragglers, and only they
    assert (len(ri) * len(cj) * d <= DIRECT_CORNER) != above
    assert len(ri) * len(cj) < OUTER_SHARE * len(X) * len(C)  # the plain path, not the cells
    ref, e = exact_gauss(X, C, 1.0)
    assert_gauss_accurate(k.flow_gram(X, C), ref, e)
    K = k(X, C)
    assert_gauss_accurate(K, ref, e)
    assert np.all(np.diag(K) == 1.0)
    W = rng.normal(size=(len(C), 1))
    for head, tile in ((True, None), (False, 2000)):
        S, _ = k.sums_and_grad(X, C, W, z_is_head=head, block_elements=tile)
        assert_sums_accurate(S, ref, e, W)


@settings(max_examples=60, deadline=None)
@given(
    n=st.integers(1, 30),
    m=st.integers(1, 30),
    d=st.integers(1, 6),
    shared=st.integers(0, 10),
    seed=st.integers(0, 2**32 - 1),
)
def test_exactly_one_finds_every_coincident_pair_and_no_other(n, m, d, shared, seed):
    # coincident points (the same coordinates, -0.0 and 0.0 alike) against a brute-force
    # comparison of every pair; few distinct values, so that many points coincide in some
    # coordinates but not all (the hash's candidates that the bits must drop)
    rng = np.random.default_rng(seed)
    Z = rng.integers(-2, 3, size=(n, d)).astype(float) * 0.5
    C = rng.integers(-2, 3, size=(m, d)).astype(float) * 0.5
    k = min(shared, n, m)
    C[:k] = Z[rng.permutation(n)[:k]]
    Z[Z == 0.0] *= np.where(rng.uniform(size=np.count_nonzero(Z == 0.0)) < 0.5, -1.0, 1.0)
    K = exactly_one(np.zeros((n, m)), Z, C)
    same = np.all(Z[:, None, :] == C[None, :, :], axis=2)  # -0.0 == 0.0 in a comparison
    assert np.array_equal(K == 1.0, same)
    assert np.all(K[~same] == 0.0)
