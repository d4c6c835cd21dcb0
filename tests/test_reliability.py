"""Reliability: translation accuracy, inputs that used to slip through, nothing lost on disk."""

from __future__ import annotations

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from kernelflows.divergences import mmd2
from kernelflows.kernels import EnergyKernel, GaussianKernel, IMQKernel, LaplaceKernel
from kernelflows.kernels.base import sq_distances

EPS = np.finfo(float).eps
KERNELS = [GaussianKernel(1.0), LaplaceKernel(1.0), IMQKernel(1.0), EnergyKernel()]


# -- 1. translation-accurate distances ---------------------------------------------------------
def test_sq_distances_survive_a_large_shift():
    # Before: |z|^2 + |x|^2 - 2 z.x at 1e6 loses every distance below ~2 (clipped to 0).
    X = np.array([[0.0, 0.0], [0.1, 0.0], [0.0, 1.0]])
    exact = sq_distances(X, X)
    shifted = sq_distances(X + 1e6, X + 1e6)
    np.testing.assert_allclose(shifted, exact, rtol=1e-9, atol=0)
    assert np.all(np.diag(shifted) == 0.0)  # coincident points: exactly 0


def test_gaussian_fast_path_is_translation_accurate():
    rng = np.random.default_rng(1)
    Z, C = rng.standard_normal((7, 2)), rng.standard_normal((9, 2))
    W = rng.standard_normal((9, 2))
    k = GaussianKernel(1.0)
    S0, G0 = k.sums_and_grad(Z, C, W)
    S1, G1 = k.sums_and_grad(Z + 1e6, C + 1e6, W)
    # kernel values <= 1 and |z - c| <~ 10: absolute 1e-10 is ~1e6 x the rounding of one value
    np.testing.assert_allclose(S1, S0, atol=1e-10)
    np.testing.assert_allclose(G1, G0, atol=1e-10)


samples = st.integers(2, 20)


@settings(max_examples=60, deadline=None)
@given(
    n=samples,
    m=samples,
    d=st.integers(1, 3),
    seed=st.integers(0, 2**32 - 1),
    shift=st.floats(-1e6, 1e6, allow_nan=False),
    which=st.integers(0, len(KERNELS) - 1),
)
def test_mmd2_is_translation_invariant(n, m, d, seed, shift, which):
    rng = np.random.default_rng(seed)
    X, Y = rng.standard_normal((n, d)), rng.standard_normal((m, d)) + 0.5
    s = shift * rng.uniform(-1, 1, d)
    k = KERNELS[which]
    a, b = mmd2(X, Y, k), mmd2(X + s, Y + s, k)
    # Floor: bounded kernels (values <= 1, spread <~ 10 after centring) carry a rounding of
    # ~1e-16 * 100 per value: 1e-12 is far above it. The energy kernel's ||z|| + ||x|| terms are
    # not translation invariant: they cancel in MMD only up to their rounding, ~eps * ||x + s||
    # per value; 64 eps * (1 + max ||x + s||) bounds it.
    scale = 1.0 + max(np.linalg.norm(X + s, axis=1).max(), np.linalg.norm(Y + s, axis=1).max())
    floor = 64 * EPS * scale if isinstance(k, EnergyKernel) else 1e-12
    assert abs(a - b) <= 1e-8 * abs(a) + floor
