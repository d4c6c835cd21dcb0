"""Kolmogorov and Wasserstein-1 distances of 1-D samples and their witnesses (kernelflows.ipm)."""

import numpy as np
import pytest
from scipy.stats import ks_2samp, wasserstein_distance

from kernelflows.divergences import empirical_cdf, kolmogorov_1d, wasserstein1_1d


@pytest.fixture
def samples():
    rng = np.random.default_rng(5)
    return rng.normal(size=300), rng.laplace(scale=1 / np.sqrt(2), size=250) + 0.3


def test_kolmogorov_equals_the_ks_statistic_and_its_witness_attains_it(samples):
    x, y = samples
    res = kolmogorov_1d(x, y)
    # scipy computes the same supremum independently; only rounding differs.
    assert res.value == pytest.approx(ks_2samp(x, y).statistic, abs=1e-12)
    gap = np.mean(res.witness(x)) - np.mean(res.witness(y))
    assert gap == pytest.approx(res.value, abs=1e-12)  # exact rational arithmetic up to rounding
    assert set(np.unique(np.abs(res.witness(np.linspace(-5, 5, 101))))) <= {0.0, 1.0}


def test_wasserstein1_equals_scipy_and_its_witness_attains_it(samples):
    x, y = samples
    res = wasserstein1_1d(x, y)
    assert res.value == pytest.approx(wasserstein_distance(x, y), rel=1e-10)  # rounding
    gap = np.mean(res.witness(x)) - np.mean(res.witness(y))
    assert gap == pytest.approx(res.value, rel=1e-10)  # rounding in the cumulative sums
    t = np.sort(np.random.default_rng(6).uniform(-6, 6, size=500))
    slopes = np.abs(np.diff(res.witness(t)) / np.diff(t))
    assert np.all(slopes <= 1 + 1e-9)  # 1-Lipschitz, up to rounding


def test_wasserstein1_of_a_shift_is_the_shift():
    x = np.random.default_rng(7).normal(size=50)
    assert wasserstein1_1d(x, x + 0.7).value == pytest.approx(0.7, rel=1e-12)


def test_empirical_cdf_is_right_continuous():
    x = np.array([0.0, 1.0, 1.0, 3.0])
    np.testing.assert_allclose(
        empirical_cdf(x, [-1, 0, 0.5, 1, 2.9, 3]), [0, 0.25, 0.25, 0.75, 0.75, 1]
    )


def test_bad_input_names_the_argument():
    with pytest.raises(ValueError, match="Y must be 1-D"):
        kolmogorov_1d(np.ones(3), np.ones((3, 2)))
    with pytest.raises(ValueError, match="X contains NaN"):
        wasserstein1_1d(np.array([0.0, np.inf]), np.ones(3))
