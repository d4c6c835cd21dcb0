"""Tests written for mutants that survived `make mutation` (mutmut over the numerical modules):
each states the property the mutant broke and checks it against an independent value."""

import numpy as np
import pytest
from references import energy_by_hand, gauss, mmd2_by_hand

from kernelflows.divergences import KaleProblem, kale, kale_path, mmd_test
from kernelflows.flows import mmd_flow
from kernelflows.kernels import GaussianKernel
from kernelflows.theory import (
    convexity_counterexample,
    dissipation_check,
    euler_convergence,
    gaussian_kl_flow,
    gaussian_kl_to_isotropic,
    kale_first_variation_check,
    sobolev_distance,
)

# --- the permutation test -------------------------------------------------------------------


def test_p_value_counts_ties_and_rejects_at_equality():
    # p = (1 + #{null >= statistic}) / (1 + N): ties count. Identical points make every
    # relabelling's statistic equal to the observed one, so p = 1 exactly (">" would give 1/21).
    X = np.zeros((4, 1))
    res = mmd_test(X, X.copy(), GaussianKernel(1.0), n_permutations=20, rng=0)
    assert np.all(res.null_samples == res.statistic)
    assert res.p_value == 1.0 and not res.reject(0.99)
    # far-apart samples: no relabelling reaches the statistic, p = 1 / (1 + 19) = 0.05, and the
    # test rejects at alpha = p (p <= alpha)
    rng = np.random.default_rng(1)
    far = mmd_test(
        rng.normal(size=(6, 1)),
        rng.normal(size=(6, 1)) + 20,
        GaussianKernel(1.0),
        n_permutations=19,
    )
    assert far.p_value == 0.05 and far.reject(0.05)


def test_null_samples_beyond_two_chunks_are_computed():
    # 200 permutations in chunks of 64: every null sample is the statistic of its relabelling
    # (the estimator's definition written out; rounding ~1e-15 on values ~0.1)
    rng = np.random.default_rng(2)
    X, Y = rng.normal(size=(7, 2)), rng.normal(size=(5, 2))
    res = mmd_test(X, Y, GaussianKernel(1.0), n_permutations=200, rng=3)
    perms = np.random.default_rng(3)
    Z = np.vstack([X, Y])
    expected = [
        mmd2_by_hand(Z[p[:7]], Z[p[7:]], 1.0, "unbiased")
        for p in (perms.permutation(12) for _ in range(200))
    ]
    np.testing.assert_allclose(res.null_samples, expected, rtol=0, atol=1e-13)


# --- KALE: warm starts and paths -------------------------------------------------------------


def test_warm_start_from_a_certified_state_costs_nothing():
    rng = np.random.default_rng(4)
    X, Y = rng.normal(size=(15, 2)), rng.normal(size=(18, 2)) + 0.5
    problem = KaleProblem(X, Y, GaussianKernel(1.0))
    cold = problem.solve(lam=0.1, tol=1e-10)
    assert cold.newton_steps >= 1 and cold.cholesky >= 1
    again = problem.solve(lam=0.1, tol=1e-10, start=cold)  # counts are of this solve only
    assert again.newton_steps == 0 and again.cholesky == 0


def test_kale_path_with_one_lambda_is_kale():
    rng = np.random.default_rng(5)
    X, Y = rng.normal(size=12), rng.normal(size=14) + 0.5
    k = GaussianKernel(1.0)
    # both certified to a gap of 1e-8 * max(1, KALE): they agree within the two gaps
    value = kale_path(X, Y, k, [0.3])[0]
    assert value == pytest.approx(kale(X, Y, k, lam=0.3, tol=1e-12).value, abs=2e-8)


def test_kale_first_variation_formula_is_at_the_empirical_measure():
    # the formula side must be (1 + lam) int f* d xi with f* the witness of KALE(P_n || Q) itself
    # (kale on the samples), and the default eps must give a central difference as accurate
    rng = np.random.default_rng(6)
    X, Y = rng.normal(size=(8, 2)), rng.normal(size=(10, 2)) + 1.0
    c = rng.normal(size=8)
    c -= c.mean()
    k, lam = GaussianKernel(1.0), 0.3
    fd, formula = kale_first_variation_check(X, Y, k, lam, c)
    direct = (1 + lam) * c @ kale(X, Y, k, lam=lam, tol=1e-13).witness(X)
    assert formula == pytest.approx(direct, rel=1e-7)  # default tol 1e-12 of kale_weighted
    assert fd == pytest.approx(direct, rel=1e-5)  # O(eps^2) at the default eps = 1e-5


# --- theory helpers: values, not only ratios ---------------------------------------------------


def test_euler_convergence_returns_the_rms_distance():
    # the value itself (the first-order test only sees ratios): RMS over particles of the
    # distance to the reference, the flows run here directly
    rng = np.random.default_rng(7)
    X, Y = rng.normal(size=(10, 2)), rng.normal(size=(12, 2)) + 0.8
    k = GaussianKernel(1.0)
    errs = euler_convergence(X, Y, k, 1.0, [0.5], 0.05)
    coarse = mmd_flow(X, Y, k, step=0.5, n_steps=2).particles
    fine = mmd_flow(X, Y, k, step=0.05, n_steps=20).particles
    rms = np.sqrt(np.mean(np.sum((coarse - fine) ** 2, axis=1)))
    assert errs[0] == pytest.approx(rms, rel=1e-12)
    for bad in ([0.3], [2.0]):  # not dividing t_final; longer than t_final
        with pytest.raises(ValueError, match="step"):
            euler_convergence(X, Y, k, 1.0, bad, 0.05)
    with pytest.raises(ValueError, match="steps"):
        dissipation_check(X, Y, k, [0.1, 0.0])


def test_convexity_counterexample_defaults():
    # documented defaults: a = 2, the Gaussian kernel of bandwidth 1, 21 points of [0, 1]; the
    # bump at t = 1/2 is 1/2 (1 - 2 k(a) + k(2a)) with k(r) = exp(-r^2 / 2)
    ts, disp, _, _ = convexity_counterexample()
    np.testing.assert_array_equal(ts, np.linspace(0, 1, 21))
    k = lambda r: np.exp(-(r**2) / 2)  # noqa: E731
    assert disp[10] - disp[0] == pytest.approx(0.5 * (1 - 2 * k(2.0) + k(4.0)), rel=1e-12)


def test_kl_closed_forms_default_to_the_standard_normal_target():
    m0, v0 = np.array([0.5, -1.0]), 0.4
    # KL(N(m, v I) || N(0, I)) = 1/2 [d v + |m|^2 - d - d log v]
    by_hand = 0.5 * (2 * v0 + m0 @ m0 - 2 - 2 * np.log(v0))
    assert gaussian_kl_flow(0.0, m0, v0) == pytest.approx(by_hand, rel=1e-13)
    assert gaussian_kl_to_isotropic(m0, v0 * np.eye(2)) == pytest.approx(by_hand, rel=1e-13)
    with pytest.raises(ValueError, match="positive definite"):
        gaussian_kl_to_isotropic(m0, np.diag([1.0, 0.0]))  # singular: log det = -inf


# --- the Sobolev distance below 1 and at its default regularisation ---------------------------


def test_sobolev_distance_below_one_and_default_reg():
    # close measures and a large reg give S_reg < 1 (the clamp at 0 only guards rounding):
    # S_reg^2 <= ||delta||^2 / reg = 2 F / reg, computed here from Gram means
    rng = np.random.default_rng(8)
    X, Y = rng.normal(size=(6, 1)), rng.normal(size=(5, 1)) + 0.1
    k = GaussianKernel(1.0)
    S = sobolev_distance(X, Y, k, reg=1.0)
    assert 0 < S <= np.sqrt(2 * energy_by_hand(X, Y, 1.0) / 1.0) < 1
    # the Rayleigh quotient with g = delta itself: S_reg^2 >= ||delta||^4 / (E|grad delta|^2 +
    # reg ||delta||^2), grad delta(x) written out here
    D = X[:, None, :] - np.vstack([X, Y])[None, :, :]
    w = np.r_[np.full(6, 1 / 6), np.full(5, -1 / 5)]
    grad = np.einsum("ipd,p->id", -D * gauss(X, np.vstack([X, Y]), 1.0)[..., None], w)
    norm2 = 2 * energy_by_hand(X, Y, 1.0)
    assert S**2 >= norm2**2 / (np.mean(np.sum(grad**2, axis=1)) + norm2) * (1 - 1e-12)
    # the documented default reg = 1e-3
    assert sobolev_distance(X, Y, k) == sobolev_distance(X, Y, k, reg=1e-3)


# --- second run ----------------------------------------------------------------------------


def test_velocity_at_other_points_of_the_particles_shape_over_several_tiles():
    # Z of the particles' shape but not the particles (noise injection): the velocity must be
    # evaluated at Z, and without the particle-particle symmetry shortcut, which holds only
    # for Z = X. n = 500 particles and N = 600 centres span several row tiles of the Gaussian
    # fast path, so a wrongly taken shortcut would hand values across tiles.
    rng = np.random.default_rng(9)
    X, Y = rng.normal(size=(500, 2)), rng.normal(size=(100, 2)) + 0.5
    Z = X + 0.3 * rng.normal(size=X.shape)
    from references import mmd_velocity_by_hand

    from kernelflows.divergences import mmd_velocity

    # sums of 600 terms of size <= 1 / s per coordinate: rounding ~1e-15
    got = mmd_velocity(X, Y, GaussianKernel(0.8), at=Z).velocity
    np.testing.assert_allclose(got, mmd_velocity_by_hand(Z, X, Y, 0.8), rtol=0, atol=1e-13)


def test_phi_and_the_gap_in_their_extreme_ranges():
    # phi(g) = g - 1 + exp(-g) = sum_{k>=2} (-g)^k / k!, here to k = 20 (exact in float64 for
    # |g| <= 0.5). _phi uses the series to g^4 for |g| < 1e-3 (truncation g^3 / 60 relative,
    # <= 1.7e-11) and g + expm1(-g) elsewhere (a few eps); 2e-11 covers both. The expm1 form at
    # g = 1e-8 would be off by ~3e-8 (cancellation), a wrong g^4 coefficient by >= 3e-9.
    from math import factorial

    from kernelflows.divergences.kale_newton import _phi, duality_gap

    g = np.array([1e-8, -1e-8, 3e-4, 9e-4, -9e-4, 2e-3, 0.1, -0.5, 0.5])
    series = sum((-g) ** k / factorial(k) for k in range(2, 21))
    np.testing.assert_allclose(_phi(g), series, rtol=2e-11)
    # overflowing terms give an infinite gap, without a RuntimeWarning (errors under pytest)
    assert np.isinf(_phi(np.array([-800.0]))[0])
    assert duality_gap(np.array([800.0, 0.0]), np.array([0.0, 0.0]), 1.0) == np.inf
    # exp(u) = inf times phi = 0 is NaN: reported as an infinite gap, never as NaN
    assert duality_gap(np.array([800.0]), np.array([800.0]), 1.0) == np.inf


def test_defaults_of_the_kale_entry_points_and_the_test():
    rng = np.random.default_rng(10)
    X, Y = rng.normal(size=(10, 2)), rng.normal(size=(12, 2)) + 0.4
    k = GaussianKernel(1.0)
    assert kale(X, Y, k).value == kale(X, Y, k, lam=1.0).value  # lam = 1 by default
    res = KaleProblem(X, Y, k).solve(lam=0.5)  # the documented default tol = 1e-8 of KALE
    assert res.duality_gap <= 1e-8 * max(1.0, res.value)
    far = mmd_test(X, Y + 20, k, n_permutations=19)
    weak = mmd_test(X, X + 1e-3, k, n_permutations=19)
    assert far.reject() and not weak.reject()  # alpha = 0.05 by default (p = 0.05 and ~0.5)


def test_perturbation_edge_cases():
    from kernelflows.flows import Diffusion, run_flow
    from kernelflows.flows.engine import FieldStep

    class Still:
        name = "still"

        def init(self, particles):
            return None

        def __call__(self, particles, state, at=None, record=False):
            v = np.zeros_like(particles)
            return FieldStep(v, state, loss=0.0, speed2=0.0) if record else FieldStep(v, state)

    res = run_flow(Still(), np.zeros((3, 2)), step=0.1, n_steps=1, noise=Diffusion(1.0), rng=2)
    u = np.random.default_rng(2).standard_normal((3, 2))
    np.testing.assert_array_equal(res.particles, u)  # beta = 1 is noise like any other beta
    with pytest.raises(ValueError, match="noise must be a number"):
        mmd_flow(
            np.zeros((3, 1)), np.ones((3, 1)), GaussianKernel(), step=0.1, n_steps=1, noise=True
        )


def test_mmd2_gaussians_accepts_point_masses():
    # a zero covariance is a Dirac: MMD^2(delta_0, delta_1) = 2 - 2 k(0, 1)
    s = 0.7
    expected = 2 - 2 * np.exp(-1 / (2 * s**2))
    from kernelflows.divergences import mmd2_gaussians

    assert mmd2_gaussians([0.0], 0.0, [1.0], 0.0, s) == pytest.approx(expected, rel=1e-14)


def test_proposition8_parts_against_the_noisy_speeds_by_hand():
    # C_n and lambda_n separately (their product is an identity): the noisy squared speed
    # E |v_{X_n}(X_n + beta_n u_n)|^2 recomputed for the first two steps from the engine's draws
    from references import mmd_velocity_by_hand

    from kernelflows.experiments import bad_equilibrium
    from kernelflows.flows import inverse_sqrt
    from kernelflows.theory import proposition8_check

    X0, Y = bad_equilibrium(n=20, a=0.5)
    res = mmd_flow(
        X0,
        Y,
        GaussianKernel(1.0),
        step=0.5,
        n_steps=5,
        noise=inverse_sqrt(1.0),
        rng=0,
        record_every=1,
    )
    out = proposition8_check(res)
    draws = np.random.default_rng(0)
    for n in range(2):
        Xn, beta = res.trajectory[n], res.beta[n]
        v = mmd_velocity_by_hand(Xn + beta * draws.standard_normal(Xn.shape), Xn, Y, 1.0)
        q = np.mean(np.sum(v**2, axis=1))
        assert out.lambda_n[n] == pytest.approx(q / (beta**2 * res.loss[n]), rel=1e-10)
        drop = res.loss[n] - res.loss[n + 1]
        assert out.C_n[n] == pytest.approx(drop / (0.5 * q), rel=1e-8)  # F differences ~1e-4
    # beta_n must be positive at every step, up to the last one
    gap = mmd_flow(
        X0,
        Y,
        GaussianKernel(1.0),
        step=0.5,
        n_steps=3,
        noise=lambda n: 0.0 if n == 2 else 0.5,
        rng=0,
        record_every=1,
    )
    with pytest.raises(ValueError, match="beta"):
        proposition8_check(gap)


def test_rate_bounds_refuse_a_constant_that_is_not_positive_and_finite():
    from kernelflows.theory import kale_lojasiewicz_bound

    for S in (0.0, -1.0, np.inf, np.nan):
        with pytest.raises(ValueError, match="S"):
            kale_lojasiewicz_bound(1.0, 1.0, S)
    # one Euler step of the whole horizon is allowed (n_steps = 1)
    rng = np.random.default_rng(11)
    X, Y = rng.normal(size=(6, 1)), rng.normal(size=(6, 1)) + 1
    assert euler_convergence(X, Y, GaussianKernel(1.0), 0.5, [0.5], 0.05)[0] > 0


def test_argument_checks_that_guard_the_numerics():
    rng = np.random.default_rng(12)
    X, Y = rng.normal(size=(6, 2)), rng.normal(size=(7, 2))
    k = GaussianKernel(1.0)
    for bad in ([np.nan], [[0.1]], [], [-1.0], [0.0]):
        with pytest.raises(ValueError, match="lams must be"):
            kale_path(X, Y, k, bad)
    for start in (np.full(5, 0.1), np.zeros(7), np.full(7, np.nan)):
        with pytest.raises(ValueError, match="warm_start must be"):
            kale(X, Y, k, lam=0.5, warm_start=start)
    from kernelflows.divergences import mmd_energy
    from kernelflows.theory import first_variation_check

    for w in (np.ones(3), np.full(6, np.nan)):
        with pytest.raises(ValueError, match="weights must be"):
            mmd_energy(X, Y, k, weights=w)
    Z = rng.normal(size=(2, 2))
    # the zero-mass check is relative to the direction's size: 1e-12 * max(1, sum |c|)
    first_variation_check(X, Y, k, Z, [1e3, -1e3 + 1e-10])  # 1e-10 <= 2e-9: accepted
    for c in ([0.1, -0.1 + 1.5e-12], [1.0, np.nan], [1.0, -1.0, 0.0]):
        with pytest.raises(ValueError, match="xi_weights|sum to zero"):
            first_variation_check(X, Y, k, Z, c)
    for c in ([0.1] + [0.0] * 4 + [-0.1 + 1.5e-12], np.r_[1.0, np.full(5, np.nan)], [1.0, -1.0]):
        with pytest.raises(ValueError, match="direction"):
            kale_first_variation_check(X, Y, k, 0.3, c)
    res = mmd_test(X, Y, k)
    assert len(res.null_samples) == 500 and res.estimator == "unbiased"  # documented defaults
