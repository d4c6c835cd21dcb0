"""Mean embeddings and the witness: the feature view equals the function view."""

import numpy as np
import pytest

from kernelflows import GaussianKernel, IMQKernel, RKHSFunction, mean_embedding, mmd2, witness


def test_mean_embedding_is_the_average_kernel(rng):
    X, Z = rng.normal(size=(11, 2)), rng.normal(size=(4, 2))
    k = IMQKernel()
    np.testing.assert_allclose(mean_embedding(X, k)(Z), k(X, Z).mean(axis=0), rtol=1e-12)


def test_expectation_is_inner_product_with_mean_embedding(rng):
    """E_P f(X) = <f, mu_P>_H for f = sum_j a_j k(c_j, .), i.e. sum_j a_j mu_P(c_j)."""
    X, C = rng.normal(size=(30, 2)), rng.normal(size=(5, 2))
    a = rng.normal(size=5)
    k = GaussianKernel(0.9)
    f = RKHSFunction(C, a, k)
    assert f(X).mean() == pytest.approx(a @ mean_embedding(X, k)(C), rel=1e-12)


def test_normalized_witness_attains_the_mmd(rng):
    X, Y = rng.normal(size=(40, 2)), rng.normal(size=(30, 2)) + [0.5, 0]
    k = GaussianKernel(1.0)
    f = witness(X, Y, k, normalized=True)
    assert f.norm() == pytest.approx(1.0, rel=1e-10)
    # sup over the unit ball of E_P f - E_Q f = ||mu_P - mu_Q|| = sqrt(biased MMD^2)
    assert f(X).mean() - f(Y).mean() == pytest.approx(
        np.sqrt(mmd2(X, Y, k, estimator="biased")), rel=1e-10
    )
    # any other unit-norm function does no better
    for _ in range(5):
        g = RKHSFunction(np.vstack([X, Y]), rng.normal(size=70), k)
        g = g / g.norm()
        assert g(X).mean() - g(Y).mean() <= f(X).mean() - f(Y).mean() + 1e-12


def test_witness_is_first_variation_of_half_mmd2(rng):
    """d/de 1/2 MMD^2(P + e xi, Q) = sum_i xi_i f(x_i) for a signed xi of total mass 0."""
    X, Y = rng.normal(size=(12, 2)), rng.normal(size=(9, 2)) + 0.4
    k = GaussianKernel(0.8)
    Kxx, Kxy, Kyy = k(X), k(X, Y), k(Y)
    v = np.full(9, 1 / 9)

    def F(w):  # 1/2 ||sum_i w_i phi(x_i) - mu_Q||^2 from Gram matrices
        return 0.5 * (w @ Kxx @ w - 2 * w @ Kxy @ v + v @ Kyy @ v)

    w = np.full(12, 1 / 12)
    xi = rng.normal(size=12)
    xi -= xi.mean()
    eps = 1e-5
    fd = (F(w + eps * xi) - F(w - eps * xi)) / (2 * eps)
    # F is quadratic in w, so central differences are exact up to rounding (~1e-16 / eps)
    assert fd == pytest.approx(xi @ witness(X, Y, k)(X), rel=1e-8, abs=1e-10)


def test_witness_gradient_is_difference_of_embedding_gradients(rng):
    X, Y, Z = rng.normal(size=(8, 2)), rng.normal(size=(6, 2)), rng.normal(size=(3, 2))
    k = GaussianKernel(1.0)
    expected = mean_embedding(X, k).grad(Z) - mean_embedding(Y, k).grad(Z)
    np.testing.assert_allclose(witness(X, Y, k).grad(Z), expected, rtol=1e-12)


def test_witness_errors(rng):
    X = rng.normal(size=(5, 2))
    k = GaussianKernel(1.0)
    with pytest.raises(ValueError, match="cannot be normalized"):
        witness(X, X, k, normalized=True)
    with pytest.raises(ValueError, match="z"):
        witness(X, X + 1, k)(np.zeros((2, 3)))
    with pytest.raises(ValueError, match="kernel"):
        mean_embedding(X, "gaussian")
