"""Tests of the score-based pieces: GaussianMixture (kernelflows.densities), the kernels' second
derivatives, the kernel Stein discrepancy (divergences/stein.py), SVGD and KSD descent."""

import numpy as np
import pytest
from scipy.special import logsumexp
from scipy.stats import multivariate_normal

import kernelflows
from kernelflows import GaussianMixture, ksd2, ksd_descent, svgd
from kernelflows.divergences import ksd_velocity, mean_speed2, stein_kernel, svgd_velocity
from kernelflows.experiments import (
    MIXTURE_MEANS,
    MIXTURE_STD,
    mixture_grad_log_density,
    mixture_log_density,
)
from kernelflows.flows import KSDVelocity, SVGDVelocity
from kernelflows.kernels import (
    EnergyKernel,
    GaussianKernel,
    IMQKernel,
    LaplaceKernel,
    PolynomialKernel,
)

KERNELS = [GaussianKernel(0.8), IMQKernel(c=1.3, beta=-0.5), IMQKernel(c=0.7, beta=-0.3)]
#: every kernel with a Stein kernel (SVGD, KSD^2): the radial ones and the polynomial kernel
STEIN_KERNELS = [*KERNELS, PolynomialKernel(1, 0.5), PolynomialKernel(2, 1.0), PolynomialKernel(3)]


@pytest.fixture
def mixture():
    return GaussianMixture(
        [[0.0, 0.0, 0.0], [1.0, 2.0, 0.5], [-1.0, 0.5, 1.0]], 0.7, [0.2, 0.5, 0.3]
    )


def central_differences(f, X, h=1e-5):
    """d f(X) / d X[:, a] for each coordinate a, stacked on the last axis (f acts row-wise)."""
    cols = []
    for e in np.eye(X.shape[1]):
        cols.append((np.asarray(f(X + h * e)) - np.asarray(f(X - h * e))) / (2 * h))
    return np.stack(cols, axis=-1)


# --- GaussianMixture ---------------------------------------------------------------------------


def test_log_density_is_the_weighted_sum_of_gaussian_densities(mixture, rng):
    X = rng.normal(size=(30, 3))
    direct = sum(
        w * multivariate_normal(m, mixture.std**2 * np.eye(3)).pdf(X)
        for m, w in zip(mixture.means, mixture.weights, strict=True)
    )
    np.testing.assert_allclose(mixture.log_density(X), np.log(direct), rtol=1e-12)


def test_score_is_the_gradient_of_the_log_density(mixture, rng):
    X = rng.normal(size=(30, 3))
    fd = central_differences(mixture.log_density, X)
    # central differences, h = 1e-5: truncation h^2 |f'''| ~ 1e-9, rounding eps |f| / h ~ 1e-10
    np.testing.assert_allclose(mixture.score(X), fd, atol=1e-7)


def test_score_jacobian_is_the_jacobian_of_the_score(mixture, rng):
    X = rng.normal(size=(30, 3))
    J = mixture.score_jacobian(X)
    fd = central_differences(mixture.score, X)  # fd[n, a, b] = d s_a / d x_b
    # the scores are of order 1 / std^2 ~ 2 and vary on the scale std: the same error as above
    np.testing.assert_allclose(J, fd, atol=1e-6)
    np.testing.assert_allclose(J, np.swapaxes(J, 1, 2), atol=1e-14)  # a Hessian is symmetric


def test_far_from_the_modes_log_sum_exp_keeps_everything_finite():
    g = GaussianMixture([[0.0, 0.0], [3.0, 0.0]], 0.1)
    X = np.array([[1e3, 0.0], [-1e3, 5.0]])
    assert np.all(np.isfinite(g.log_density(X)))
    # all the responsibility sits on the nearest mean: score = (nearest - x) / std^2
    expected = (np.array([[3.0, 0.0], [0.0, 0.0]]) - X) / 0.01
    np.testing.assert_allclose(g.score(X), expected, rtol=1e-12)
    np.testing.assert_allclose(g.score_jacobian(X), np.broadcast_to(-np.eye(2) / 0.01, (2, 2, 2)))


def test_samples_match_the_mean_and_covariance(mixture):
    n = 200_000
    Y = mixture.sample(n, rng=7)
    assert Y.shape == (n, 3)
    mean, cov = mixture.mean, mixture.cov
    # CLT: the sample mean's error has covariance cov / n; 5 standard errors per coordinate
    se_mean = np.sqrt(np.diag(cov) / n)
    assert np.all(np.abs(Y.mean(axis=0) - mean) < 5 * se_mean)
    # the sample covariance's entry (a, b) has variance Var((y_a - m_a)(y_b - m_b)) / n
    C = Y - mean
    prods = C[:, :, None] * C[:, None, :]
    se_cov = prods.std(axis=0) / np.sqrt(n)
    assert np.all(np.abs(prods.mean(axis=0) - cov) < 5 * se_cov)
    np.testing.assert_array_equal(Y, mixture.sample(n, rng=np.random.default_rng(7)))


def test_bad_mixture_arguments_name_the_argument():
    with pytest.raises(ValueError, match="means"):
        GaussianMixture(np.zeros((2, 2, 2)), 1.0)
    with pytest.raises(ValueError, match="means"):
        GaussianMixture([[0.0, np.nan]], 1.0)
    with pytest.raises(ValueError, match="std"):
        GaussianMixture([[0.0, 0.0]], 0.0)
    with pytest.raises(ValueError, match="weights"):
        GaussianMixture([[0.0], [1.0]], 1.0, [1.0])
    with pytest.raises(ValueError, match="weights"):
        GaussianMixture([[0.0], [1.0]], 1.0, [0.7, 0.7])
    with pytest.raises(ValueError, match="weights"):
        GaussianMixture([[0.0], [1.0]], 1.0, [1.5, -0.5])
    with pytest.raises(ValueError, match="X"):
        GaussianMixture([[0.0, 0.0]], 1.0).score(np.zeros((3, 3)))


def test_the_mixture_experiment_functions_give_the_same_values_as_before(rng):
    # the formulas of kernelflows.experiments.datasets before GaussianMixture, written out
    Z = rng.uniform(-1, 3, size=(200, 2))
    means = np.asarray(MIXTURE_MEANS)
    logits = -0.5 * np.sum((Z[:, None, :] - means[None]) ** 2, axis=2) / MIXTURE_STD**2
    old_log = logsumexp(logits, axis=1) - np.log(4) - np.log(2 * np.pi * MIXTURE_STD**2)
    r = np.exp(logits - logits.max(axis=1, keepdims=True))
    r /= r.sum(axis=1, keepdims=True)
    old_score = (r @ means - Z) / MIXTURE_STD**2
    np.testing.assert_allclose(mixture_log_density(Z), old_log, rtol=1e-12, atol=1e-12)
    np.testing.assert_allclose(mixture_grad_log_density(Z), old_score, rtol=1e-12, atol=1e-12)
    g = GaussianMixture(MIXTURE_MEANS, MIXTURE_STD)
    np.testing.assert_array_equal(g.score(Z), mixture_grad_log_density(Z))


# --- kernels: second and third derivatives -----------------------------------------------------


@pytest.mark.parametrize("kernel", KERNELS, ids=repr)
def test_radial_derivatives_are_derivatives(kernel):
    r2 = np.linspace(0.05, 4.0, 30)
    h = 1e-6
    values = kernel.radial_derivatives(r2, 3)
    plus = kernel.radial_derivatives(r2 + h, 3)
    minus = kernel.radial_derivatives(r2 - h, 3)
    np.testing.assert_allclose(values[0], kernel(np.sqrt(r2), np.zeros(1))[:, 0], rtol=1e-12)
    for j in range(3):
        # central differences of a smooth profile: relative error ~ h^2 + eps / h ~ 1e-10
        np.testing.assert_allclose(values[j + 1], (plus[j] - minus[j]) / (2 * h), rtol=1e-6)


@pytest.mark.parametrize("kernel", STEIN_KERNELS, ids=repr)
def test_stein_parts_match_finite_differences(kernel, rng):
    X, Y = rng.normal(size=(5, 3)), rng.normal(size=(4, 3))
    Y[0] = X[0]  # a coincident pair: r = 0
    K, gx, gy, tr = kernel.stein_parts(X, Y)
    np.testing.assert_allclose(K, kernel(X, Y), rtol=1e-12)
    fd_x = central_differences(lambda Z: kernel(Z, Y), X)  # (n, m, d)
    fd_y = np.swapaxes(central_differences(lambda W: kernel(W, X), Y), 0, 1)
    # central differences, h = 1e-5, of a smooth kernel of values <= 1 (radial; the polynomial
    # ones here stay below about 100): error ~ h^2 |k^(3)| + eps |k| / h ~ 1e-9 at most
    np.testing.assert_allclose(gx, fd_x, atol=1e-8, rtol=1e-8)
    np.testing.assert_allclose(gy, fd_y, atol=1e-8, rtol=1e-8)
    H = kernel.grad_xy(X, Y)  # H[i, j, a, b] = d^2 k / dx_a dy_b
    fd_xy = np.stack(
        [
            (kernel.stein_parts(X, Y + 1e-5 * e)[1] - kernel.stein_parts(X, Y - 1e-5 * e)[1]) / 2e-5
            for e in np.eye(3)
        ],
        axis=-1,
    )
    np.testing.assert_allclose(H, fd_xy, atol=1e-8, rtol=1e-8)
    np.testing.assert_allclose(tr, np.trace(H, axis1=2, axis2=3), rtol=1e-12, atol=1e-15)


@pytest.mark.parametrize("kernel", [LaplaceKernel(1.0), EnergyKernel()], ids=repr)
def test_kernels_without_second_derivatives_are_refused_up_front(kernel):
    # issue 23: NotImplementedError from ksd2, a "divergence at step 0" from svgd; now a
    # ValueError naming the kernel and the reason, before any work
    X = np.zeros((2, 2))
    with pytest.raises(NotImplementedError, match="GaussianKernel or IMQKernel"):
        kernel.stein_parts(X, X)
    with pytest.raises(NotImplementedError, match="GaussianKernel or IMQKernel"):
        kernel.grad_xy(X, X)
    target = GaussianMixture([[0.0, 0.0]], 1.0)
    why = rf"kernel: {type(kernel).__name__}.*not differentiable where x = y"
    for call in (
        lambda: ksd2(X, target, kernel),
        lambda: stein_kernel(X, X, target, kernel),
        lambda: svgd_velocity(X, target, kernel),
        lambda: svgd(X, target, kernel, step=0.1, n_steps=1),
        lambda: SVGDVelocity(target, kernel),
        lambda: ksd_descent(X, target, kernel, step=0.1, n_steps=1),
    ):
        with pytest.raises(ValueError, match=why):
            call()


def test_the_polynomial_kernel_has_a_stein_kernel_but_no_ksd_descent():
    X = np.random.default_rng(0).normal(size=(6, 2))
    target = GaussianMixture([[0.0, 0.0]], 1.0)
    k = PolynomialKernel(2)
    assert ksd2(X, target, k) >= 0.0
    svgd(X, target, k, step=0.01, n_steps=2)
    with pytest.raises(ValueError, match="kernel: KSD descent needs a smooth radial kernel"):
        ksd_descent(X, target, k, step=0.1, n_steps=1)


def test_polynomial_ksd_is_blind_beyond_its_moments():
    # degree 1: u_p(x, y) = (x.y + c) s(x).s(y) + s(x).x + s(y).y + d for N(0, I) (s = -x),
    # whose V-statistic is ||mean of (x x^T - I)||_F^2 + c ||mean x||^2: zero for any sample with
    # the target's mean and second moment, however far from Gaussian (here two points)
    target = GaussianMixture([[0.0, 0.0]], 1.0)
    X = np.array([[1.0, 1.0], [-1.0, -1.0], [1.0, -1.0], [-1.0, 1.0]])  # mean 0, E xx^T = I
    assert abs(ksd2(X, target, PolynomialKernel(1, 0.5))) < 1e-14
    assert ksd2(X, target, GaussianKernel(1.0)) > 0.01  # a characteristic kernel sees it


# --- the kernel Stein discrepancy --------------------------------------------------------------


@pytest.mark.parametrize("kernel", KERNELS, ids=repr)
def test_stein_identity(kernel, mixture):
    # E_{x ~ p} u_p(x, y) = 0 for every fixed y (Stein's identity, the kernel vanishing at infinity)
    N = 100_000
    X = mixture.sample(N, rng=11)
    Y = np.array([[0.0, 0.0, 0.0], [1.0, 1.0, 1.0], [2.0, -1.0, 0.5]])
    U = stein_kernel(X, Y, mixture, kernel)  # (N, 3)
    se = U.std(axis=0) / np.sqrt(N)
    # Monte Carlo: the mean of N i.i.d. terms is within 5 standard errors of 0 (all three y)
    assert np.all(np.abs(U.mean(axis=0)) < 5 * se), (U.mean(axis=0), se)
    # and the identity is not vacuous: the terms themselves are of order one
    assert np.all(U.std(axis=0) > 0.1)


@pytest.mark.parametrize("kernel", KERNELS, ids=repr)
def test_ksd_of_a_target_sample_is_small_against_a_shifted_one(kernel, mixture):
    n = 1000
    X = mixture.sample(n, rng=3)
    on = ksd2(X, mixture, kernel)
    off = ksd2(X + [0.8, 0.0, 0.0], mixture, kernel)
    # V-statistic on a target sample: E = E_p[u_p(x, x)] / n (the off-diagonal terms have mean 0)
    diagonal = np.mean(np.diag(stein_kernel(X[:200], X[:200], mixture, kernel)))
    assert 0 < on < 3 * diagonal / n
    assert off > 10 * on


def test_ksd2_is_the_mean_of_the_stein_kernel_in_any_blocking(mixture, rng):
    X = rng.normal(size=(37, 3))
    kernel = GaussianKernel(1.1)
    full = stein_kernel(X, X, mixture, kernel)
    np.testing.assert_allclose(full, full.T, atol=1e-12)
    assert ksd2(X, mixture, kernel) == pytest.approx(full.mean(), rel=1e-12)
    assert ksd2(X, mixture, kernel, block_elements=50) == pytest.approx(full.mean(), rel=1e-12)
    assert np.linalg.eigvalsh(full).min() > -1e-10 * np.abs(full).max()  # u_p is p.d.


# --- the velocity fields -----------------------------------------------------------------------


def svgd_by_loops(X, Z, score, k, grad_first):
    """phi(z) = (1/n) sum_j [k(x_j, z) s(x_j) + grad_{x_j} k(x_j, z)], one pair at a time."""
    S = score(X)
    out = np.zeros_like(Z)
    for i, z in enumerate(Z):
        for j, x in enumerate(X):
            out[i] += k(x, z) * S[j] + grad_first(x, z)
    return out / len(X)


def gaussian_pair(h):
    def k(x, y):
        return np.exp(-np.sum((x - y) ** 2) / (2 * h**2))

    return k, lambda x, y: -(x - y) / h**2 * k(x, y)


def imq_pair(c, beta):
    def k(x, y):
        return (c**2 + np.sum((x - y) ** 2)) ** beta

    return k, lambda x, y: 2 * beta * (c**2 + np.sum((x - y) ** 2)) ** (beta - 1) * (x - y)


@pytest.mark.parametrize(
    ("kernel", "pair"),
    [(GaussianKernel(0.8), gaussian_pair(0.8)), (IMQKernel(1.3, -0.5), imq_pair(1.3, -0.5))],
    ids=["gaussian", "imq"],
)
def test_svgd_velocity_equals_the_direction_written_with_loops(kernel, pair, mixture, rng):
    X = rng.normal(size=(6, 3))
    Z = rng.normal(size=(4, 3))
    field = SVGDVelocity(mixture, kernel)
    expected_x = svgd_by_loops(X, X, mixture.score, *pair)
    np.testing.assert_allclose(field(X, None).velocity, expected_x, rtol=1e-12, atol=1e-14)
    expected_z = svgd_by_loops(X, Z, mixture.score, *pair)
    out = field(X, None, at=Z, record=True)  # noise injection: the field of X, at other points
    np.testing.assert_allclose(out.velocity, expected_z, rtol=1e-12, atol=1e-14)
    assert out.loss == pytest.approx(ksd2(X, mixture, kernel), rel=1e-12)
    np.testing.assert_allclose(out.particle_velocity, expected_x, rtol=1e-12, atol=1e-14)


@pytest.mark.parametrize("kernel", STEIN_KERNELS, ids=repr)
def test_svgd_direction_has_squared_rkhs_norm_ksd2(kernel, mixture, rng):
    # With xi_j(z) = k(x_j, z) s_j + grad_{x_j} k(x_j, z), phi = (1/n) sum_j xi_j, and the Stein
    # operator A phi = phi . s + div phi: (1/n) sum_i A phi(x_i) = (1/n^2) sum_ij u_p(x_j, x_i)
    # (= ||phi||^2 in H^d). The divergence by central differences of the field at moved points.
    X = rng.normal(size=(8, 3))
    phi = svgd_velocity(X, mixture, kernel).velocity
    h = 1e-5
    div = sum(
        (
            svgd_velocity(X, mixture, kernel, at=X + h * e).velocity[:, a]
            - svgd_velocity(X, mixture, kernel, at=X - h * e).velocity[:, a]
        )
        / (2 * h)
        for a, e in enumerate(np.eye(3))
    )
    stein_op = np.mean(np.sum(phi * mixture.score(X), axis=1) + div)
    assert stein_op == pytest.approx(ksd2(X, mixture, kernel), rel=1e-6)  # finite differences


@pytest.mark.parametrize("kernel", KERNELS, ids=repr)
def test_ksd_descent_velocity_is_minus_n_times_the_gradient_of_ksd2(kernel, mixture, rng):
    n = 7
    X = rng.normal(size=(n, 3))
    out = ksd_velocity(X, mixture, kernel, record=True)
    v = out.velocity
    assert out.loss == pytest.approx(ksd2(X, mixture, kernel), rel=1e-12)
    h = 1e-5
    fd = np.zeros_like(X)
    for i in range(n):
        for a in range(3):
            E = np.zeros_like(X)
            E[i, a] = h
            fd[i, a] = (ksd2(X + E, mixture, kernel) - ksd2(X - E, mixture, kernel)) / (2 * h)
    # central differences of KSD^2 (values of order 1): error ~ h^2 + eps / h ~ 1e-10
    np.testing.assert_allclose(v, -n * fd, atol=1e-7)


@pytest.mark.parametrize("kernel", KERNELS, ids=repr)
def test_ksd_descent_velocity_elsewhere_is_minus_the_gradient_of_the_first_variation(
    kernel, mixture, rng
):
    X = rng.normal(size=(7, 3))
    Z = rng.normal(size=(5, 3))
    v = ksd_velocity(X, mixture, kernel, at=Z, block_elements=40).velocity

    def first_variation(W):  # 2 (1/n) sum_j u_p(w, x_j)
        return 2.0 * stein_kernel(W, X, mixture, kernel).mean(axis=1)

    np.testing.assert_allclose(v, -central_differences(first_variation, Z), atol=1e-7)


@pytest.mark.parametrize(("flow", "field"), [(svgd, SVGDVelocity), (ksd_descent, KSDVelocity)])
def test_one_euler_step(flow, field, mixture, rng):
    X = rng.normal(size=(9, 3))
    kernel = IMQKernel(1.0, -0.5)
    step = 0.05
    res = flow(X, mixture, kernel, step=step, n_steps=1)
    v = field(mixture, kernel)(X, None).velocity
    np.testing.assert_allclose(res.particles, X + step * v, rtol=1e-13, atol=1e-15)
    assert res.loss[0] == pytest.approx(ksd2(X, mixture, kernel), rel=1e-12)
    assert res.speed2[0] == pytest.approx(mean_speed2(v), rel=1e-12)
    assert isinstance(res.field, field) and res.loss_name == "KSD^2"


def test_svgd_brings_the_sample_mean_to_a_gaussian_target():
    mean = np.array([1.5, -1.0])
    target = GaussianMixture([mean], 0.8)
    X0 = np.random.default_rng(2).normal(size=(60, 2)) * 0.5
    res = svgd(X0, target, GaussianKernel(1.0), step=0.2, n_steps=300, record_every=50)
    # start 1.8 away; with n = 60 particles SVGD's fixed point matches the mean closely
    assert np.linalg.norm(res.particles.mean(axis=0) - mean) < 0.05
    assert res.loss[-1] < 0.05 * res.loss[0]


def test_ksd_descent_decreases_ksd2_with_a_small_step(mixture, rng):
    X0 = rng.normal(size=(30, 3))
    res = ksd_descent(X0, mixture, GaussianKernel(1.0), step=0.01, n_steps=40, record_every=1)
    # a gradient flow of KSD^2 with a small step: monotone up to the O(step^2) Euler error
    assert np.all(np.diff(res.loss) < 0)


def test_noise_injection_runs_and_is_reproducible(mixture, rng):
    X0 = rng.normal(size=(12, 3))
    kernel = GaussianKernel(1.0)
    for flow in (svgd, ksd_descent):
        a = flow(X0, mixture, kernel, step=0.01, n_steps=5, noise=0.1, rng=4)
        b = flow(X0, mixture, kernel, step=0.01, n_steps=5, noise=0.1, rng=4)
        np.testing.assert_array_equal(a.particles, b.particles)
        assert not np.array_equal(
            a.particles, flow(X0, mixture, kernel, step=0.01, n_steps=5).particles
        )


def test_exports():
    for name in ("GaussianMixture", "ksd2", "svgd", "ksd_descent"):
        assert name in kernelflows.__all__
    assert "svgd" in kernelflows.flows.__all__ and "ksd_descent" in kernelflows.flows.__all__
    assert "ksd2" in kernelflows.divergences.__all__


def test_targets_without_a_score_are_refused():
    X = np.zeros((3, 2))

    class OnlyScore:
        def score(self, X):
            return -X

    with pytest.raises(ValueError, match="target"):
        svgd(X, object(), GaussianKernel(1.0), step=0.1, n_steps=1)
    with pytest.raises(ValueError, match="target.*score_jacobian"):
        ksd_descent(X, OnlyScore(), GaussianKernel(1.0), step=0.1, n_steps=1)
    svgd(X + np.arange(3)[:, None], OnlyScore(), GaussianKernel(1.0), step=0.1, n_steps=1)
