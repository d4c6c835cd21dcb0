"""Tests for KALE flow, the KL flow baseline and the KALE flow data sets."""

import numpy as np
import pytest
from scipy.integrate import quad
from scipy.stats import multivariate_normal, norm

from kernelflows.divergences import kale, kale_weighted, mmd_energy
from kernelflows.experiments import (
    MIXTURE_MEANS,
    MIXTURE_STD,
    max_distance_to_target,
    mixture_experiment,
    mixture_grad_log_density,
    mixture_log_density,
    mixture_of_gaussians,
    three_rings,
    three_rings_experiment,
    three_rings_target,
)
from kernelflows.experiments.datasets import three_rings_legacy_source
from kernelflows.flows import KaleVelocity, kale_flow, kl_flow, mmd_flow
from kernelflows.kernels import GaussianKernel, IMQKernel, LaplaceKernel
from kernelflows.theory import (
    gaussian_kl_flow,
    gaussian_kl_to_isotropic,
    kale_first_variation_check,
    kale_lojasiewicz_bound,
    kale_sobolev_lower_bound,
)


def small_problem(n=30, m=36, seed=3):
    """A small mixture-like problem: particles near one mode, target on four modes."""
    rng = np.random.default_rng(seed)
    X0, Y = mixture_of_gaussians(n_target=m, n_source=n, rng=rng)
    return X0, Y, GaussianKernel(0.5)


# --- the velocity field against an independent formulation ----------------------------------


@pytest.mark.parametrize("lam", [1e-3, 0.1, 10.0])
@pytest.mark.parametrize("fast", [True, False])
def test_velocity_is_minus_one_plus_lam_grad_of_kale_witness(lam, fast, rng):
    # kernelflows.kale solves the dual from scratch with its own Newton method and builds the
    # witness as an RKHSFunction whose gradient goes through the kernel's blocked weighted_grad.
    X, Y, kernel = small_problem()
    field = KaleVelocity(Y, kernel, lam, fast=fast, tol=1e-12)
    state = field.init(X)
    at = X + 0.3 * rng.standard_normal(X.shape)
    v_x, diag = field(X, state, None)
    v_at, _ = field(X, diag["state"], at)
    ref = kale(X, Y, kernel, lam, tol=1e-15)
    scale = np.abs(ref.witness.grad(X)).max() * (1 + lam)
    # both solves are converged to ~1e-12 in the dual: velocities agree to rounding level
    np.testing.assert_allclose(v_x, -(1 + lam) * ref.witness.grad(X), atol=1e-7 * scale)
    np.testing.assert_allclose(v_at, -(1 + lam) * ref.witness.grad(at), atol=1e-7 * scale)
    # the loss is the KALE value
    assert field.loss(X, diag["state"]) == pytest.approx(ref.value, rel=1e-8, abs=1e-12)


def test_non_gaussian_kernel_takes_general_path():
    X, Y, _ = small_problem()
    kernel = IMQKernel(1.0, -0.5)
    field = KaleVelocity(Y, kernel, 0.1)
    v, diag = field(X, field.init(X), None)
    ref = kale(X, Y, kernel, 0.1, tol=1e-15)
    # as above: converged solves agree to rounding level
    np.testing.assert_allclose(v, -1.1 * ref.witness.grad(X), atol=1e-7 * np.abs(v).max())


def test_fast_gaussian_path_matches_general_path():
    X0, Y, kernel = small_problem()
    fast = kale_flow(X0, Y, kernel, 0.01, 1e-3, 60, fast=True, record_every=20)
    slow = kale_flow(X0, Y, kernel, 0.01, 1e-3, 60, fast=False, record_every=20)
    # same iteration, different summation order: differences stay at rounding level
    np.testing.assert_allclose(fast.trajectory, slow.trajectory, atol=1e-9)
    np.testing.assert_allclose(fast.loss, slow.loss, rtol=1e-8)
    fast = kale_flow(X0, Y, kernel, 0.01, 1e-3, 20, noise=0.2, rng=4, fast=True)
    slow = kale_flow(X0, Y, kernel, 0.01, 1e-3, 20, noise=0.2, rng=4, fast=False)
    np.testing.assert_allclose(fast.trajectory, slow.trajectory, atol=1e-9)  # as above


def test_warm_started_flow_matches_flow_with_cold_solves():
    # Reference: every step solves the dual from scratch (kernelflows.kale, tol 1e-13) and moves
    # X by -step (1 + lam) grad f*. The warm-started PCG Newton must give the same trajectory.
    X, Y, kernel = small_problem(n=20, m=24)
    lam, step, n_steps = 0.01, 2e-3, 40
    res = kale_flow(X, Y, kernel, lam, step, n_steps, record_every=n_steps)
    ref = X.copy()
    for _ in range(n_steps):
        w = kale(ref, Y, kernel, lam, tol=1e-15).witness
        ref = ref - step * (1 + lam) * w.grad(ref)
    # Newton to tol 1e-9 (in KALE units) per step; errors do not accumulate beyond ~1e-8
    np.testing.assert_allclose(res.particles, ref, atol=1e-7)
    assert res.extras["newton_steps"][-1] >= n_steps  # at least one Newton step per flow step
    assert np.all(res.extras["duality_gap"] < 1e-8)  # certified at every snapshot


# --- properties of the flow -------------------------------------------------------------------


@pytest.mark.parametrize("lam", [1e-3, 0.1])
def test_kale_decreases_and_dissipates_at_the_predicted_rate(lam):
    X0, Y, kernel = small_problem()
    step = 1e-5 if lam < 0.01 else 1e-3  # the lam = 1e-3 velocities start ~100 times larger
    res = kale_flow(X0, Y, kernel, lam, step, 200, record_every=1)
    K = res.loss
    assert np.all(np.diff(K) < 0)  # descent at every step
    # dKALE/dt = -(1 + lam)^2 E||grad f*||^2 = -mean ||velocity||^2 (the envelope argument);
    # the forward difference has an O(step) error: 1% at these steps.
    rate = np.diff(K) / step
    np.testing.assert_allclose(rate, -res.grad_sq_norm[:-1], rtol=2e-2)


@pytest.mark.parametrize("lam", [1e-3, 0.1, 10.0])
def test_first_variation_is_one_plus_lam_times_witness(lam, rng):
    # Finite differences of KALE in the weights of the particles vs (1 + lam) int f* d xi.
    X, Y, kernel = small_problem(n=15, m=20)
    c = rng.standard_normal(len(X))
    c -= c.mean()
    fd, formula = kale_first_variation_check(X, Y, kernel, lam, c, eps=1e-5)
    # central differences: O(eps^2) truncation plus rounding / eps, both far below 1e-5
    assert fd == pytest.approx(formula, rel=1e-5)


def test_slide_sign_is_an_ascent():
    # The slide's d_t nu = -(1 + lam) div(nu grad f) moves particles with +(1 + lam) grad f.
    X, Y, kernel = small_problem()
    lam, h = 0.1, 1e-3
    r = kale(X, Y, kernel, lam, tol=1e-15)
    v = (1 + lam) * r.witness.grad(X)
    up = kale(X + h * v, Y, kernel, lam, tol=1e-15).value
    down = kale(X - h * v, Y, kernel, lam, tol=1e-15).value
    assert up > r.value > down


def test_large_lam_tracks_mmd_flow():
    # KALE_lam -> MMD^2 / 2 as lam -> infinity, and (1 + lam) f* -> mu_nu - mu_nu*: the velocity
    # -(1 + lam) grad f* becomes the MMD flow's -grad f, with the same step.
    X0, Y, kernel = small_problem()
    lam, step, n = 1e5, 1e-2, 100
    kf = kale_flow(X0, Y, kernel, lam, step, n, record_every=50)
    mf = mmd_flow(X0, Y, kernel, step, n, record_every=50, progress=False)
    moved = np.abs(mf.particles - X0).max()
    assert moved > 0.1  # the particles did move
    # the velocities differ by O(1 / lam) relatively: 1e-3 is 100 times that
    assert np.abs(kf.particles - mf.particles).max() < 1e-3 * moved
    np.testing.assert_allclose(kf.loss, mf.loss, rtol=1e-3)
    # and the KALE value approaches MMD^2 / 2 (plug-in) like 1 / lam
    gaps = [abs(kale(X0, Y, kernel, lam_).value - mmd_energy(X0, Y, kernel)) for lam_ in (1e2, 1e4)]
    assert gaps[1] < 3e-2 * gaps[0]


def test_noise_injection_evaluates_at_perturbed_points():
    X0, Y, kernel = small_problem()
    lam, step, beta = 0.1, 1e-2, 0.3
    res = kale_flow(X0, Y, kernel, lam, step, 1, noise=beta, rng=7, record_every=1)
    u = np.random.default_rng(7).standard_normal(X0.shape)  # the engine's first draw
    w = kale(X0, Y, kernel, lam, tol=1e-15).witness
    expected = X0 - step * (1 + lam) * w.grad(X0 + beta * u)
    np.testing.assert_allclose(res.particles, expected, atol=1e-9)
    again = kale_flow(X0, Y, kernel, lam, step, 5, noise=beta, rng=7)
    twice = kale_flow(X0, Y, kernel, lam, step, 5, noise=beta, rng=7)
    np.testing.assert_array_equal(again.particles, twice.particles)


def test_rate_bound_holds_along_a_flow():
    # KALE(t) <= 1 / (KALE_0^-1 + t / S^2) with S the largest S_eff seen up to t.
    X0, Y, kernel = small_problem()
    res = kale_flow(X0, Y, kernel, 0.1, 1e-3, 300, record_every=10)
    S_eff = kale_sobolev_lower_bound(res)
    S_run = np.maximum.accumulate(S_eff)
    bound = kale_lojasiewicz_bound(res.loss[0], res.times, S_run)
    # the discrete flow follows the continuous one up to O(step): allow 0.1%
    assert np.all(res.loss <= bound * (1 + 1e-3))


def test_kale_weighted_agrees_with_kale_for_uniform_weights():
    X, Y, kernel = small_problem(n=10, m=12)
    value, f_x = kale_weighted(X, np.full(10, 0.1), Y, kernel, 0.5)
    ref = kale(X, Y, kernel, 0.5, tol=1e-15)
    assert value == pytest.approx(ref.value, rel=1e-9)  # both converged to ~1e-12
    np.testing.assert_allclose(f_x, ref.witness(X), atol=1e-9)


# --- the KL flow baseline ------------------------------------------------------------------


def test_ula_moments_follow_the_exact_recursion():
    # For pi = N(0, s2 I), ULA is linear: mean_{k+1} = (1 - g/s2) mean_k,
    # var_{k+1} = (1 - g/s2)^2 var_k + 2 g (exact for the scheme, independent of the engine).
    s2, g, k, n = 0.5, 0.05, 30, 20000
    X0 = np.full((n, 1), 2.0)
    res = kl_flow(X0, lambda Z: -Z / s2, g, k, rng=1, record_every=k)
    a = 1 - g / s2
    mean = 2.0 * a**k
    var = 2 * g * (1 - a ** (2 * k)) / (1 - a**2)
    se = np.sqrt(var / n)
    # 5 standard errors for the mean; the sample variance has relative s.e. sqrt(2/n) ~ 1%
    assert abs(res.particles.mean() - mean) < 5 * se
    assert res.particles.var() == pytest.approx(var, rel=5 * np.sqrt(2 / n))


def test_gaussian_kl_flow_closed_form_and_lsi_rate():
    t = np.linspace(0, 3, 31)
    m0, v0, s2 = np.array([1.0, -2.0]), 3.0, 0.7
    kl = gaussian_kl_flow(t, m0, v0, s2)

    # t = 0 against quadrature: the KL of product measures is the sum of the 1-D KLs
    def kl_1d(mu):
        p, q = norm(mu, np.sqrt(v0)), norm(0.0, np.sqrt(s2))
        return quad(lambda x: p.pdf(x) * (p.logpdf(x) - q.logpdf(x)), -40, 40)[0]

    assert kl[0] == pytest.approx(sum(kl_1d(mu) for mu in m0), rel=1e-8)  # quad accuracy
    # LSI with rho = 1 / s2: KL(t) <= KL(0) exp(-2 t / s2), with equality only in the limit
    assert np.all(kl <= kl[0] * np.exp(-2 * t / s2) * (1 + 1e-12))
    # d/dt KL matches the Fokker-Planck dissipation -E||grad log(nu/pi)||^2, here in closed form
    h = 1e-6
    dkl = (gaussian_kl_flow(1.0 + h, m0, v0, s2) - gaussian_kl_flow(1.0 - h, m0, v0, s2)) / (2 * h)
    mt = m0 * np.exp(-1.0 / s2)
    vt = s2 + (v0 - s2) * np.exp(-2.0 / s2)
    fisher = mt @ mt / s2**2 + 2 * vt * (1 / vt - 1 / s2) ** 2
    assert dkl == pytest.approx(-fisher, rel=1e-6)  # central difference error ~ h^2


# --- data sets -----------------------------------------------------------------------------


def test_three_rings_target_geometry():
    Y = three_rings_target()
    assert Y.shape == (240, 2)
    for ring, centre in enumerate([(0, 0), (0, -0.75), (0, -1.5)]):
        P = Y[80 * ring : 80 * (ring + 1)] - np.array(centre)
        np.testing.assert_allclose(np.hypot(P[:, 0], P[:, 1]), 0.3, rtol=1e-12)
        angles = np.unwrap(np.arctan2(P[:, 1], P[:, 0]))
        np.testing.assert_allclose(np.diff(angles), 2 * np.pi / 80, rtol=1e-9)


def test_legacy_source_matches_direct_random_state():
    rs = np.random.RandomState(42)
    _ = rs.randn(240, 2)
    expected = rs.randn(240, 2) / 100 - np.array([0, 0.3])
    np.testing.assert_array_equal(three_rings_legacy_source(), expected)
    X0, Y = three_rings()
    np.testing.assert_array_equal(X0, expected)
    np.testing.assert_array_equal(Y, three_rings_target())


def test_datasets_reproducible_from_a_seed():
    a = three_rings(rng=5)[0]
    np.testing.assert_array_equal(a, three_rings(rng=5)[0])
    assert not np.array_equal(a, three_rings(rng=6)[0])
    X1, Y1 = mixture_of_gaussians(rng=3)
    X2, Y2 = mixture_of_gaussians(rng=np.random.default_rng(3))
    np.testing.assert_array_equal(X1, X2)
    np.testing.assert_array_equal(Y1, Y2)
    assert X1.shape == Y1.shape == (240, 2)


def test_mixture_density_and_score():
    rng = np.random.default_rng(0)
    Z = rng.uniform(-1, 3, size=(50, 2))
    direct = np.log(
        np.mean(
            [multivariate_normal(mu, MIXTURE_STD**2 * np.eye(2)).pdf(Z) for mu in MIXTURE_MEANS],
            axis=0,
        )
    )
    np.testing.assert_allclose(mixture_log_density(Z), direct, rtol=1e-10)
    h = 1e-6
    fd = np.stack(
        [
            (mixture_log_density(Z + h * e) - mixture_log_density(Z - h * e)) / (2 * h)
            for e in np.eye(2)
        ],
        axis=1,
    )
    # central differences of a smooth function: error ~ h^2 |f'''| + rounding / h ~ 1e-7
    np.testing.assert_allclose(mixture_grad_log_density(Z), fd, atol=1e-5)


def test_max_distance_to_target_brute_force(rng):
    X = rng.standard_normal((40, 2))
    Y = rng.standard_normal((30, 2))
    brute = np.sqrt(((X[:, None] - Y[None]) ** 2).sum(-1)).min(1).max()
    assert max_distance_to_target(X, Y) == pytest.approx(brute, rel=1e-12)


# --- bad input -------------------------------------------------------------------------------


def test_bad_input_raises_naming_the_argument():
    X0, Y, kernel = small_problem()
    with pytest.raises(ValueError, match="lam"):
        kale_flow(X0, Y, kernel, 0.0, 1e-3, 5)
    with pytest.raises(ValueError, match="step"):
        kale_flow(X0, Y, kernel, 0.1, -1e-3, 5)
    with pytest.raises(ValueError, match="n_steps"):
        kale_flow(X0, Y, kernel, 0.1, 1e-3, 0)
    bad = X0.copy()
    bad[0, 0] = np.nan
    with pytest.raises(ValueError, match="X0"):
        kale_flow(bad, Y, kernel, 0.1, 1e-3, 5)
    with pytest.raises(ValueError, match="X0 and Y"):
        kale_flow(X0, np.ones((5, 3)), kernel, 0.1, 1e-3, 5)
    with pytest.raises(ValueError, match="kernel"):
        kale_flow(X0, Y, "gaussian", 0.1, 1e-3, 5)
    with pytest.raises(ValueError, match="fast"):
        kale_flow(X0, Y, LaplaceKernel(1.0), 0.1, 1e-3, 5, fast=True)
    with pytest.raises(ValueError, match="rng"):
        three_rings(rng="modern")
    with pytest.raises(ValueError, match="legacy"):
        three_rings(n_source=100)
    with pytest.raises(ValueError, match="means"):
        mixture_of_gaussians(means=[1.0, 2.0])
    with pytest.raises(ValueError, match="grad_log_density"):
        kl_flow(X0, None, 1e-3, 5)
    with pytest.raises(ValueError, match="direction"):
        kale_first_variation_check(X0, Y, kernel, 0.1, np.ones(len(X0)))


def test_gaussian_kl_to_isotropic_matches_closed_form_flow_at_time_zero():
    # the two closed forms are written independently (isotropic vs full covariance)
    m0, v0, s2 = np.array([0.5, 1.5, -1.0]), 0.4, 2.0
    assert gaussian_kl_to_isotropic(m0, v0 * np.eye(3), s2) == pytest.approx(
        gaussian_kl_flow(0.0, m0, v0, s2), rel=1e-12
    )
    with pytest.raises(ValueError, match="cov"):
        gaussian_kl_to_isotropic(m0, np.eye(2), s2)


def test_warm_newton_reuses_its_factorisation_and_counts_solves():
    # After a small move of the particles, one warm update reaches the new optimum (checked
    # against a cold solve by kernelflows.kale) with one Newton step and no new Cholesky.
    X, Y, kernel = small_problem()
    lam = 0.01
    field = KaleVelocity(Y, kernel, lam, tol=1e-10)
    state = field.init(X)
    v, diag = field(X, state)
    state = diag["state"]
    X1 = X + 1e-4 * v / np.abs(v).max()  # the fastest particle moves by 1e-4
    _, diag1 = field(X1, state)
    new = diag1["state"]
    assert new.cholesky == state.cholesky  # the old factorisation preconditions CG
    assert new.newton_steps - state.newton_steps == 1
    assert new.cg_iterations > state.cg_iterations
    cold = kale(X1, Y, kernel, lam, tol=1e-15)
    # the decrement after one warm step is O(move^2): alpha agrees to ~1e-8 relatively
    np.testing.assert_allclose(new.alpha, cold.alpha, rtol=1e-6)
    # a large move of the reference alpha triggers a new factorisation
    far = state._replace(ref_u=state.ref_u + 1.0)
    _, diag2 = field(X1, far)
    assert diag2["state"].cholesky == state.cholesky + 1


def test_experiment_entry_points_run_the_published_settings():
    out = three_rings_experiment(n_steps=20, record_every=10)
    np.testing.assert_array_equal(out["X0"], three_rings_legacy_source())
    assert out["kernel"].bandwidth == pytest.approx(np.sqrt(0.05))  # s = 0.1 = 2 sigma^2
    assert out["kale"].step == 1e-4 and out["mmd"].step == 1e-3
    assert set(out["max_distance"]) == {"kale", "mmd"}
    mix = mixture_experiment(n_steps=10, record_every=5)
    assert len(mix["runs"]) == 6
    for name, res in mix["runs"].items():
        assert res.trajectory.shape == (3, 240, 2)
        # every run starts from the same cloud, so the first MMD is the same for all
        assert mix["mmd"][name][0] == pytest.approx(mix["mmd"]["MMD flow"][0], rel=1e-12)
