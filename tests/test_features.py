"""Explicit feature maps reproduce their kernels (kernelflows.features)."""

from math import comb

import numpy as np
import pytest

from kernelflows.kernels import (
    GaussianKernel,
    PolynomialKernel,
    RandomFourierFeatures,
    polynomial_features,
)


@pytest.mark.parametrize("d,degree,c", [(1, 1, 1.0), (1, 3, 0.5), (2, 2, 1.0), (3, 3, 2.0)])
def test_polynomial_features_reproduce_the_kernel(d, degree, c):
    rng = np.random.default_rng(1)
    X, Y = rng.normal(size=(7, d)), rng.normal(size=(5, d))
    phi_x, phi_y = polynomial_features(X, degree, c), polynomial_features(Y, degree, c)
    assert phi_x.shape == (7, comb(d + degree, degree))
    K = PolynomialKernel(degree, c)(X, Y)
    # Same polynomial evaluated two ways: only rounding differs, relative to the largest
    # entry (entries near zero come from cancellation).
    np.testing.assert_allclose(phi_x @ phi_y.T, K, rtol=0, atol=1e-12 * np.max(np.abs(K)))


def test_polynomial_features_of_degree_two_in_one_dimension_are_the_textbook_ones():
    # (xy + c)^2 = c^2 + 2c xy + x^2 y^2: features (c, sqrt(2c) x, x^2), written out by hand.
    x = np.array([-1.5, 0.0, 2.0])
    c = 3.0
    expected = np.stack([np.full(3, c), np.sqrt(2 * c) * x, x**2], axis=1)
    np.testing.assert_allclose(polynomial_features(x, 2, c), expected, rtol=1e-12)


def test_random_fourier_features_approach_the_gaussian_kernel():
    rng = np.random.default_rng(2)
    X = rng.normal(size=(8, 2))
    K = GaussianKernel(0.8)(X, X)
    D = 20_000
    phi = RandomFourierFeatures(0.8, D, dim=2, rng=3)(X)
    assert phi.shape == (8, 2 * D)
    # Each entry is a mean of D bounded terms with variance <= 1/2: 6 standard errors over
    # 64 entries leaves a failure probability far below 1e-6.
    assert np.max(np.abs(phi @ phi.T - K)) < 6 * np.sqrt(0.5 / D)
    # The diagonal is exact: cos^2 + sin^2 = 1 = k(x, x).
    np.testing.assert_allclose(np.sum(phi**2, axis=1), 1.0, rtol=1e-12)


def test_random_fourier_error_shrinks_like_one_over_sqrt_d():
    rng = np.random.default_rng(4)
    X = rng.normal(size=(10, 1))
    K = GaussianKernel(1.0)(X, X)

    def rms(D, seed):
        phi = RandomFourierFeatures(1.0, D, rng=seed)(X)
        return np.sqrt(np.mean((phi @ phi.T - K) ** 2))

    small = np.mean([rms(100, s) for s in range(20)])
    large = np.mean([rms(10_000, s) for s in range(20)])
    # 100x more features: the error falls by sqrt(100) = 10; averaged over 20 seeds the ratio
    # lies well within a factor 2 of that.
    assert 5 < small / large < 20


def test_bad_input_names_the_argument():
    with pytest.raises(ValueError, match="degree"):
        polynomial_features(np.ones(3), 0)
    with pytest.raises(ValueError, match="c must"):
        polynomial_features(np.ones(3), 2, c=-1.0)
    with pytest.raises(ValueError, match="X"):
        polynomial_features(np.array([1.0, np.nan]), 2)
    with pytest.raises(ValueError, match="bandwidth"):
        RandomFourierFeatures(0.0, 10)
    with pytest.raises(ValueError, match="n_features"):
        RandomFourierFeatures(1.0, 0)
    with pytest.raises(ValueError, match="dimension"):
        RandomFourierFeatures(1.0, 10, dim=2)(np.ones((3, 1)))
