"""Kernels: definitions, positive semi-definiteness, gradients, blocking, median heuristic."""

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from hypothesis.extra.numpy import arrays

from kernelflows import (
    EnergyKernel,
    GaussianKernel,
    IMQKernel,
    LaplaceKernel,
    PolynomialKernel,
    median_heuristic,
)

KERNELS = [
    GaussianKernel(0.7),
    LaplaceKernel(1.3),
    IMQKernel(c=0.8, beta=-0.5),
    EnergyKernel(),
    PolynomialKernel(degree=3, c=0.5),
]
IDS = [repr(k) for k in KERNELS]


def naive(kernel, x, y):
    """The kernel formula written out for one pair, independently of the package's code."""
    r = np.linalg.norm(x - y)
    if isinstance(kernel, GaussianKernel):
        return np.exp(-(r**2) / (2 * kernel.bandwidth**2))
    if isinstance(kernel, LaplaceKernel):
        return np.exp(-r / kernel.bandwidth)
    if isinstance(kernel, IMQKernel):
        return (kernel.c**2 + r**2) ** kernel.beta
    if isinstance(kernel, EnergyKernel):
        return np.linalg.norm(x) + np.linalg.norm(y) - r
    if isinstance(kernel, PolynomialKernel):
        return (x @ y + kernel.c) ** kernel.degree
    raise AssertionError(kernel)


@pytest.mark.parametrize("kernel", KERNELS, ids=IDS)
def test_gram_matches_formula(kernel, rng):
    X, Y = rng.normal(size=(7, 3)), rng.normal(size=(5, 3))
    expected = np.array([[naive(kernel, x, y) for y in Y] for x in X])
    # 1e-12 relative: the package uses ||x||^2 + ||y||^2 - 2 x.y, rounding of order 1e-16 * |x|^2
    np.testing.assert_allclose(kernel(X, Y), expected, rtol=1e-10, atol=1e-12)
    np.testing.assert_allclose(kernel.paired(X[:5], Y), np.diag(expected[:5]), rtol=1e-10)
    np.testing.assert_allclose(kernel.diag(X), [naive(kernel, x, x) for x in X], rtol=1e-10)


@pytest.mark.parametrize("kernel", KERNELS, ids=IDS)
def test_gram_symmetric_positive_semidefinite(kernel, rng):
    X = rng.normal(size=(60, 2))
    K = kernel(X)
    np.testing.assert_allclose(K, K.T, rtol=1e-12, atol=1e-12)
    eig = np.linalg.eigvalsh(K)
    # eigenvalues of a PSD matrix computed in floating point: -n * eps * ||K|| at worst
    assert eig.min() >= -60 * 1e-13 * max(1.0, eig.max())


@pytest.mark.parametrize("kernel", KERNELS, ids=IDS)
def test_weighted_grad_matches_finite_differences(kernel, rng):
    Z, X = rng.normal(size=(6, 3)), rng.normal(size=(9, 3))
    w = rng.normal(size=9)
    grad = kernel.weighted_grad(Z, X, w)
    eps = 1e-6
    fd = np.zeros_like(Z)
    for a in range(3):
        e = np.zeros(3)
        e[a] = eps
        fd[:, a] = (kernel.weighted_sum(Z + e, X, w) - kernel.weighted_sum(Z - e, X, w)) / (2 * eps)
    # central differences: truncation O(eps^2) plus rounding O(1e-16 / eps) = about 1e-10
    np.testing.assert_allclose(grad, fd, rtol=1e-6, atol=1e-7)


@pytest.mark.parametrize("kernel", KERNELS, ids=IDS)
def test_blocked_sums_equal_unblocked(kernel, rng):
    Z, X = rng.normal(size=(23, 2)), rng.normal(size=(17, 2))
    w = rng.normal(size=17)
    K = kernel(Z, X)
    np.testing.assert_allclose(kernel.weighted_sum(Z, X, w, block_elements=20), K @ w, rtol=1e-12)
    np.testing.assert_allclose(
        kernel.weighted_grad(Z, X, w, block_elements=20), kernel.weighted_grad(Z, X, w), rtol=1e-12
    )
    np.testing.assert_allclose(kernel.total(Z, X), K.sum(), rtol=1e-12)
    KZ = kernel(Z)
    np.testing.assert_allclose(kernel.total(Z), KZ.sum(), rtol=1e-12)
    np.testing.assert_allclose(
        kernel.total(Z, exclude_diagonal=True), KZ.sum() - np.trace(KZ), rtol=1e-12
    )


def test_gaussian_gradient_closed_form(rng):
    k = GaussianKernel(0.5)
    z, x = rng.normal(size=(1, 2)), rng.normal(size=(1, 2))
    expected = -(z - x) / 0.25 * np.exp(-np.sum((z - x) ** 2) / 0.5)
    np.testing.assert_allclose(k.weighted_grad(z, x), expected, rtol=1e-12)


@pytest.mark.parametrize("kernel", [LaplaceKernel(1.0), EnergyKernel()], ids=["laplace", "energy"])
def test_nonsmooth_distance_term_has_zero_gradient_at_coincident_points(kernel, rng):
    x = rng.normal(size=(1, 2))
    g = kernel.weighted_grad(x, x)
    # Laplace: the whole gradient is 0 at x = y. Energy: only ||x|| is left, with gradient x/|x|.
    expected = x / np.linalg.norm(x) if isinstance(kernel, EnergyKernel) else np.zeros_like(x)
    np.testing.assert_allclose(g, expected, atol=1e-12)


def test_energy_kernel_mmd_is_energy_distance(rng):
    """MMD^2 under k = |x| + |y| - |x - y| equals 2 E|X-Y| - E|X-X'| - E|Y-Y'| (V-statistics)."""
    from scipy.spatial.distance import cdist

    from kernelflows import mmd2

    X, Y = rng.normal(size=(30, 2)), rng.normal(size=(25, 2)) + 0.5
    energy = 2 * cdist(X, Y).mean() - cdist(X, X).mean() - cdist(Y, Y).mean()
    np.testing.assert_allclose(mmd2(X, Y, EnergyKernel(), estimator="biased"), energy, rtol=1e-10)


def test_one_dimensional_input_is_d_equals_1(rng):
    x = rng.normal(size=8)
    k = GaussianKernel(1.0)
    np.testing.assert_array_equal(k(x), k(x[:, None]))
    assert k.weighted_grad(x, x).shape == (8, 1)


@pytest.mark.parametrize(
    "make, match",
    [
        (lambda: GaussianKernel(0.0), "bandwidth"),
        (lambda: GaussianKernel(-1.0), "bandwidth"),
        (lambda: LaplaceKernel(np.nan), "bandwidth"),
        (lambda: IMQKernel(c=0.0), "c"),
        (lambda: IMQKernel(beta=0.5), "beta"),
        (lambda: PolynomialKernel(degree=0), "degree"),
        (lambda: PolynomialKernel(degree=2, c=-1.0), "c"),
    ],
)
def test_bad_parameters_raise(make, match):
    with pytest.raises(ValueError, match=match):
        make()


def test_bad_samples_raise(rng):
    k = GaussianKernel(1.0)
    X = rng.normal(size=(5, 2))
    with pytest.raises(ValueError, match="same dimension"):
        k(X, rng.normal(size=(5, 3)))
    bad = X.copy()
    bad[2, 1] = np.nan
    with pytest.raises(ValueError, match="Y contains NaN"):
        k(X, bad)
    bad[2, 1] = np.inf
    with pytest.raises(ValueError, match="Z contains NaN or inf"):
        k.weighted_grad(bad, X)
    with pytest.raises(ValueError, match="shape"):
        k(np.zeros((2, 2, 2)))
    with pytest.raises(ValueError, match="weights"):
        k.weighted_sum(X, X, np.ones(4))


def test_median_heuristic_convention(rng):
    X, Y = rng.normal(size=(20, 2)), rng.normal(size=(15, 2))
    Z = np.vstack([X, Y])
    dists = [np.linalg.norm(Z[i] - Z[j]) for i in range(35) for j in range(i + 1, 35)]
    assert median_heuristic(X, Y) == pytest.approx(np.median(dists), rel=1e-12)
    # a distance: scaling the data scales the bandwidth
    assert median_heuristic(3.0 * X) == pytest.approx(3.0 * median_heuristic(X), rel=1e-12)


def test_median_heuristic_rejects_coincident_points():
    with pytest.raises(ValueError, match="coincide"):
        median_heuristic(np.ones((10, 2)))
    with pytest.raises(ValueError, match="at least two"):
        median_heuristic(np.ones((1, 2)))


@settings(max_examples=40, deadline=None)
@given(arrays(np.float64, (12, 2), elements=st.floats(-5, 5)), st.floats(0.1, 5.0))
def test_gaussian_gram_is_a_valid_kernel_matrix(X, bandwidth):
    K = GaussianKernel(bandwidth)(X)
    assert np.all((K >= 0) & (K <= 1))
    np.testing.assert_allclose(np.diag(K), 1.0)
    np.testing.assert_allclose(K, K.T, atol=1e-15)
    assert np.linalg.eigvalsh(K).min() >= -1e-10
