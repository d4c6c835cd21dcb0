"""Population mean embeddings of 1-D densities by quadrature (kernelflows.population)."""

import numpy as np
import pytest
from scipy.special import erf
from scipy.stats import norm

from kernelflows.divergences import mmd2_gaussians
from kernelflows.kernels import GaussianKernel
from kernelflows.measures import quadrature_embedding, quadrature_mean, trapezoid_weights

NODES = np.linspace(-12, 12, 2401)


def gaussian_embedding(z, m, s, sigma):
    # Closed form of E k(X, z), X ~ N(m, s^2), k Gaussian of bandwidth sigma: a Gaussian
    # convolution, sigma / sqrt(sigma^2 + s^2) exp(-(z - m)^2 / (2 (sigma^2 + s^2))).
    v = sigma**2 + s**2
    return sigma / np.sqrt(v) * np.exp(-((z - m) ** 2) / (2 * v))


def test_embedding_of_a_gaussian_matches_the_closed_form():
    m, s, sigma = 0.4, 1.3, 0.7
    mu = quadrature_embedding(NODES, norm(m, s).pdf, GaussianKernel(sigma))
    z = np.linspace(-5, 5, 41)
    # Trapezoid rule on a smooth, fast-decaying integrand: spectrally accurate at this spacing.
    np.testing.assert_allclose(mu(z), gaussian_embedding(z, m, s, sigma), atol=1e-10)


def test_embedding_of_a_uniform_density_matches_the_closed_form():
    # p = 1/(b - a) on [a, b]: mu(z) = sigma sqrt(pi/2) / (b - a) [erf((b-z)/(sigma sqrt 2)) -
    # erf((a-z)/(sigma sqrt 2))]. Nodes include a and b, so the trapezoid error is O(h^2).
    a, b, sigma = -1.0, 2.0, 0.5
    nodes = np.linspace(a, b, 3001)
    mu = quadrature_embedding(nodes, np.full(len(nodes), 1 / (b - a)), GaussianKernel(sigma))
    z = np.linspace(-3, 4, 29)
    r = sigma * np.sqrt(2)
    exact = sigma * np.sqrt(np.pi / 2) / (b - a) * (erf((b - z) / r) - erf((a - z) / r))
    np.testing.assert_allclose(mu(z), exact, atol=1e-6)  # h^2 = 1e-6 times a bounded k''


def test_embedding_of_a_laplace_density_matches_the_closed_form():
    # p(x) = exp(-|x|/b) / (2b): completing the square on each half-line gives
    # mu(z) = sigma sqrt(2 pi) / (2b) exp(sigma^2 / (2 b^2))
    #         [exp(-z/b) Phi((z - sigma^2/b) / sigma) + exp(z/b) Phi((-z - sigma^2/b) / sigma)].
    b, sigma = 1 / np.sqrt(2), 0.5
    mu = quadrature_embedding(
        NODES, lambda x: np.exp(-np.abs(x) / b) / (2 * b), GaussianKernel(sigma)
    )
    z = np.linspace(-4, 4, 33)
    c = sigma * np.sqrt(2 * np.pi) / (2 * b) * np.exp(sigma**2 / (2 * b**2))
    exact = c * (
        np.exp(-z / b) * norm.cdf((z - sigma**2 / b) / sigma)
        + np.exp(z / b) * norm.cdf((-z - sigma**2 / b) / sigma)
    )
    # The kink at 0 is a node: the trapezoid error is about h^2/12 times the jump of the
    # integrand's slope there (2/b^2 = 4 at most), h = 0.01: 3e-5; 5e-5 leaves a margin.
    np.testing.assert_allclose(mu(z), exact, atol=5e-5)


def test_embedding_norm_gives_the_population_mmd_of_two_gaussians():
    sigma = 0.8
    k = GaussianKernel(sigma)
    mu_p = quadrature_embedding(NODES, norm(0.0, 1.0).pdf, k)
    mu_q = quadrature_embedding(NODES, norm(0.5, 0.7).pdf, k)
    exact = mmd2_gaussians(0.0, 1.0, 0.5, 0.49, sigma)
    # ||mu_P - mu_Q||^2 by a double trapezoid sum against an independent closed form.
    assert (mu_p - mu_q).norm() ** 2 == pytest.approx(exact, rel=1e-8)
    # E k(X, X') = sigma / sqrt(sigma^2 + 2 s^2) for X, X' ~ N(0, 1) independent.
    assert mu_p.norm() ** 2 == pytest.approx(sigma / np.sqrt(sigma**2 + 2), rel=1e-8)


def test_mean_of_an_rkhs_function_is_its_inner_product_with_the_embedding():
    # E_P f = <f, mu_P>: left side by quadrature of f, right side sum_j a_j mu_P(c_j) with the
    # closed-form mu_P. Both are accurate to 1e-10 on this grid.
    from kernelflows.measures import RKHSFunction

    sigma = 0.6
    rng = np.random.default_rng(8)
    f = RKHSFunction(rng.normal(size=(6, 1)), rng.normal(size=6), GaussianKernel(sigma))
    lhs = quadrature_mean(f, NODES, norm(0.2, 0.9).pdf)
    rhs = float(f.weights @ gaussian_embedding(f.centres[:, 0], 0.2, 0.9, sigma))
    assert lhs == pytest.approx(rhs, abs=1e-10)


def test_trapezoid_weights_integrate_linear_functions_exactly():
    x = np.sort(np.random.default_rng(9).uniform(0, 3, size=40))
    h = trapezoid_weights(x)
    assert h @ (2 * x + 1) == pytest.approx((x[-1] ** 2 + x[-1]) - (x[0] ** 2 + x[0]), rel=1e-12)


def test_bad_input_names_the_argument():
    k = GaussianKernel(1.0)
    with pytest.raises(ValueError, match="strictly increasing"):
        quadrature_embedding(np.array([0.0, 1.0, 1.0]), np.ones(3), k)
    with pytest.raises(ValueError, match="density must be non-negative"):
        quadrature_embedding(np.linspace(0, 1, 3), np.array([1.0, -1.0, 1.0]), k)
    with pytest.raises(ValueError, match="density"):
        quadrature_embedding(np.linspace(0, 1, 3), np.ones(4), k)
    with pytest.raises(ValueError, match="nodes"):
        quadrature_embedding(np.array([0.0, np.nan]), np.ones(2), k)
    with pytest.raises(ValueError, match="kernel"):
        quadrature_embedding(np.linspace(0, 1, 3), np.ones(3), "gaussian")
