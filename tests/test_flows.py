"""Tests of the flow engine and the MMD flow (kernelflows.flows, kernelflows.experiments)."""

import inspect

import numpy as np
import pytest
from references import energy_by_hand, gauss, mmd_velocity_by_hand

from kernelflows.divergences import mmd2, mmd_energy, mmd_velocity
from kernelflows.experiments import bad_equilibrium, collapse_setup
from kernelflows.flows import (
    Diffusion,
    FieldStep,
    FlowDivergedError,
    FlowResult,
    MMDVelocity,
    NoiseInjection,
    VelocityField,
    constant,
    halving,
    kale_flow,
    kl_flow,
    ksd_descent,
    mmd2_along,
    mmd_flow,
    regularized_flow,
    run_flow,
    sliced_mmd_flow,
    snapshot_steps,
    svgd,
)
from kernelflows.kernels import GaussianKernel, IMQKernel, Kernel, PolynomialKernel
from kernelflows.theory import bad_equilibrium_energy, first_variation


@pytest.fixture
def samples():
    rng = np.random.default_rng(1)
    return rng.normal(size=(40, 2)), rng.normal(size=(30, 2)) + [1.0, -0.5]


def _centres_and_weights(X, Y, extra_columns=1, seed=0):
    """Centres [X; Y], first column the signed weights of mu_X - mu_Y, then random columns."""
    centres = np.vstack([X, Y])
    w = np.r_[np.full(len(X), 1 / len(X)), np.full(len(Y), -1 / len(Y))]
    rest = np.random.default_rng(seed).normal(size=(len(centres), extra_columns))
    return centres, np.column_stack([w, rest])


# --- the Gaussian fast path against the generic one and the kernel's own sums -----------------


def test_fast_gaussian_sums_and_grad_match_the_generic_path(samples):
    X, Y = samples
    Z = np.random.default_rng(2).normal(size=(17, 2)) * 2
    kernel = GaussianKernel(0.8)
    C, W = _centres_and_weights(X, Y, extra_columns=2)
    # written out with the kernel's Gram matrix and blocked weighted gradient sum
    S_ref = kernel(Z, C) @ W
    G_ref = kernel.weighted_grad(Z, C, W[:, 0])
    # Small blocks force several row blocks; 1e-12: sums of 70 terms of size <= 1 in float64.
    for block in (100, 450, None):
        S, G = kernel.sums_and_grad(Z, C, W, block_elements=block)
        np.testing.assert_allclose(S, S_ref, rtol=0, atol=1e-12)
        np.testing.assert_allclose(G, G_ref, rtol=0, atol=1e-12)
        S_gen, G_gen = Kernel.sums_and_grad(kernel, Z, C, W, block_elements=block)
        np.testing.assert_allclose(S, S_gen, rtol=0, atol=1e-12)
        np.testing.assert_allclose(G, G_gen, rtol=0, atol=1e-12)
    # the checked public velocity takes the same path
    np.testing.assert_allclose(
        mmd_velocity(X, Y, kernel, at=Z).velocity, -G_ref, rtol=0, atol=1e-12
    )


def test_fast_gaussian_path_with_z_is_head_uses_the_symmetry_correctly(samples):
    # At the particles themselves (Z = the first rows of C) the fast path computes half of the
    # particle pairs and hands the transposed values on: every block layout must agree.
    X, Y = samples
    kernel = GaussianKernel(0.8)
    C, W = _centres_and_weights(X, Y, extra_columns=1)
    S_ref = kernel(X, C) @ W
    G_ref = kernel.weighted_grad(X, C, W[:, 0])
    for block in (70, 100, 450, 1000, None):  # blocks of 1, 1, 6, 14 rows and a single block
        S, G = kernel.sums_and_grad(X, C, W, z_is_head=True, block_elements=block)
        np.testing.assert_allclose(S, S_ref, rtol=0, atol=1e-12)
        np.testing.assert_allclose(G, G_ref, rtol=0, atol=1e-12)
        S_gen, G_gen = Kernel.sums_and_grad(kernel, X, C, W, z_is_head=True, block_elements=block)
        np.testing.assert_allclose(S_gen, S_ref, rtol=0, atol=1e-12)
        np.testing.assert_allclose(G_gen, G_ref, rtol=0, atol=1e-12)
    np.testing.assert_allclose(mmd_velocity(X, Y, kernel).velocity, -G_ref, rtol=0, atol=1e-12)


def test_fast_gaussian_path_in_higher_dimension():
    rng = np.random.default_rng(3)
    X, Y, Z = rng.normal(size=(20, 5)), rng.normal(size=(25, 5)), rng.normal(size=(7, 5))
    kernel = GaussianKernel(1.7)
    C, W = _centres_and_weights(X, Y, extra_columns=4)
    # d = 5 and r = 5 take the matrix-product branch; same rounding reason as above.
    S, G = kernel.sums_and_grad(Z, C, W)
    np.testing.assert_allclose(S, kernel(Z, C) @ W, rtol=0, atol=1e-12)
    np.testing.assert_allclose(G, kernel.weighted_grad(Z, C, W[:, 0]), rtol=0, atol=1e-12)
    np.testing.assert_allclose(mmd_velocity(X, Y, kernel, at=Z).velocity, -G, rtol=0, atol=1e-12)


@pytest.mark.parametrize("kernel", [GaussianKernel(0.9), IMQKernel()])
def test_grad_from_gram_matches_weighted_grad(samples, kernel):
    # the Gaussian's form from the kernel values, and the generic one (which does not use them)
    X, Y = samples
    C, W = _centres_and_weights(X, Y)
    np.testing.assert_allclose(
        kernel.grad_from_gram(X, C, kernel.flow_gram(X, C), W[:, 0]),
        kernel.weighted_grad(X, C, W[:, 0]),
        atol=1e-12,
    )


class _SubGaussian(GaussianKernel):
    """A user's subclass of the Gaussian kernel: it inherits the fast paths."""


def test_a_subclass_inherits_the_fast_path(samples, generic_gaussian):
    # The fused Gaussian sums and the generic blocked ones add the same terms in other orders:
    # they agree to rounding but not bit for bit. A subclass that inherits the fast path gives
    # the Gaussian's trajectory bit for bit; the generic path the same flow up to rounding.
    X, Y = samples
    kw = dict(step=0.3, n_steps=6, record_every=1)
    fast = mmd_flow(X, Y, GaussianKernel(0.9), **kw)
    sub = mmd_flow(X, Y, _SubGaussian(0.9), **kw)
    ref = mmd_flow(X, Y, generic_gaussian(0.9), **kw)
    np.testing.assert_array_equal(sub.trajectory, fast.trajectory)
    np.testing.assert_array_equal(sub.loss, fast.loss)
    assert not np.array_equal(ref.trajectory, fast.trajectory)  # another summation order
    # sums of 70 terms of size <= 1 / s per step, amplified over 6 steps: rounding ~1e-14
    np.testing.assert_allclose(ref.trajectory, fast.trajectory, rtol=0, atol=1e-12)
    np.testing.assert_allclose(ref.loss, fast.loss, rtol=1e-12)
    np.testing.assert_allclose(ref.speed2, fast.speed2, rtol=1e-10)


def test_velocity_is_minus_gradient_of_witness_by_finite_differences(samples):
    X, Y = samples
    kernel = IMQKernel(c=1.0, beta=-0.5)  # a non-Gaussian kernel: the generic path
    f = first_variation(X, Y, kernel)
    Z = np.array([[0.3, -0.2], [1.5, 0.7]])
    h = 1e-5
    fd = np.stack(
        [(f(Z + h * e) - f(Z - h * e)) / (2 * h) for e in np.eye(2)],
        axis=1,
    )
    # Central differences: error O(h^2) ~ 1e-10 times third derivatives of order 1.
    np.testing.assert_allclose(mmd_velocity(X, Y, kernel, at=Z).velocity, -fd, atol=1e-8)


def test_energy_is_half_the_biased_mmd2(samples):
    X, Y = samples
    s = 1.2
    kernel = GaussianKernel(s)
    # against Gram means written out by broadcasting (tests/references.py), not the kernel's
    # blocked totals that mmd_energy and mmd2 share; F ~ 0.1 from sums of ~5000 terms <= 1:
    # rounding ~1e-13 relative
    assert mmd_energy(X, Y, kernel) == pytest.approx(energy_by_hand(X, Y, s), rel=1e-11)
    assert mmd2(X, Y, kernel, estimator="biased") == pytest.approx(
        2 * energy_by_hand(X, Y, s), rel=1e-11
    )
    # signed weights a (the first variation's directions): 1/2 ||sum a_i k(x_i, .) - mu_Y||^2
    a = np.random.default_rng(3).normal(size=len(X)) / len(X)
    by_hand = 0.5 * (
        a @ gauss(X, X, s) @ a - 2 * a @ gauss(X, Y, s).mean(axis=1) + gauss(Y, Y, s).mean()
    )
    assert mmd_energy(X, Y, kernel, weights=a) == pytest.approx(by_hand, rel=1e-11)


def test_one_step_is_forward_euler(samples):
    X, Y = samples
    kernel = GaussianKernel(1.0)
    res = mmd_flow(X, Y, kernel, step=0.3, n_steps=1)
    centres = np.vstack([X, Y])
    w = np.r_[np.full(len(X), 1 / len(X)), np.full(len(Y), -1 / len(Y))]
    expected = X - 0.3 * kernel.weighted_grad(X, centres, w)
    np.testing.assert_allclose(res.particles, expected, rtol=0, atol=1e-12)  # rounding only
    # and against the velocity written out by broadcasting (no kernelflows call)
    by_hand = X + 0.3 * mmd_velocity_by_hand(X, X, Y, 1.0)
    np.testing.assert_allclose(res.particles, by_hand, rtol=0, atol=1e-12)


@pytest.mark.parametrize("diffusion", [False, True])
def test_noisy_steps_are_the_formula_with_the_engines_draws(samples, diffusion):
    # Noise injection: X_1 = X_0 + gamma v_{X_0}(X_0 + beta_0 u_0), X_2 = X_1 + gamma
    # v_{X_1}(X_1 + beta_1 u_1), with v_X(z) = -grad (mu_X - mu_Y)(z) written out here and
    # u_0, u_1 the first two standard-normal draws of shape (n, d) from the run's seed (the
    # engine draws once per step, only in NoiseInjection.evaluation_points). Diffusion:
    # X_{k+1} = X_k + gamma v_{X_k}(X_k) + beta_k u_k. A wrong injection point (v at X, at
    # X + u, the noise added to the positions) moves particles by O(gamma beta) ~ 0.1.
    X, Y = samples
    s, step, seed = 0.9, 0.3, 11
    schedule = lambda n: 0.4 / (n + 1)  # noqa: E731  beta_0 = 0.4, beta_1 = 0.2
    noise = Diffusion(schedule) if diffusion else schedule
    res = mmd_flow(
        X, Y, GaussianKernel(s), step=step, n_steps=2, noise=noise, rng=seed, record_every=1
    )
    draws = np.random.default_rng(seed)
    Z = X.copy()
    for k in range(2):
        u = draws.standard_normal(X.shape)
        if diffusion:
            Z = Z + step * mmd_velocity_by_hand(Z, Z, Y, s) + schedule(k) * u
        else:
            Z = Z + step * mmd_velocity_by_hand(Z + schedule(k) * u, Z, Y, s)
        # sums of 70 kernel terms of size <= 1 per coordinate: rounding ~1e-15
        np.testing.assert_allclose(res.trajectory[k + 1], Z, rtol=0, atol=1e-13)
    np.testing.assert_array_equal(res.beta, [0.4, 0.2, 0.4 / 3])


def test_result_shapes_and_snapshots(samples):
    X, Y = samples
    res = mmd_flow(X, Y, GaussianKernel(1.0), step=0.5, n_steps=250)
    assert isinstance(res, FlowResult)
    assert res.steps[0] == 0 and res.steps[-1] == 250
    assert len(res.steps) <= 101
    T = len(res.steps)
    assert res.trajectory.shape == (T, 40, 2)
    for arr in (res.loss, res.speed2, res.step_speed2, res.beta):
        assert arr.shape == (T,)
    np.testing.assert_array_equal(res.trajectory[0], X)
    np.testing.assert_array_equal(res.trajectory[-1], res.particles)
    assert isinstance(res.field, MMDVelocity) and res.loss_name == MMDVelocity.name
    assert res.loss[0] == pytest.approx(energy_by_hand(X, Y, 1.0), rel=1e-11)  # rounding
    # mmd2_along is MMD^2 = 2 F at every snapshot
    np.testing.assert_array_equal(mmd2_along(res), 2 * res.loss)
    # A descent for this small step (gamma = 0.5 < 2 / (3 L) = 2/3: theory.descent_check).
    assert np.all(np.diff(res.loss) <= 0)
    np.testing.assert_array_equal(snapshot_steps(10, record_every=3), [0, 3, 6, 9, 10])
    # Without noise the step's squared speed is the recorded mean ||grad f||^2.
    np.testing.assert_array_equal(res.step_speed2[:-1], res.speed2[:-1])
    assert np.isnan(res.step_speed2[-1])
    # the mean squared speed at the snapshots is the mean ||grad f||^2 written out
    v = mmd_velocity_by_hand(res.trajectory[3], res.trajectory[3], Y, 1.0)
    assert res.speed2[3] == pytest.approx(np.mean(np.sum(v**2, axis=1)), rel=1e-10)
    # snapshots by step index
    np.testing.assert_array_equal(res.snapshot(res.steps[1]), res.trajectory[1])
    np.testing.assert_array_equal(res.snapshot(250), res.particles)
    with pytest.raises(ValueError, match="not recorded"):
        res.snapshot(1)
    # the MMD flow has no per-step solver information
    assert res.step_info == {}


# --- the engine and the velocity-field contract ------------------------------------------------


class _CountingField:
    """A stateful field standing in for KALE's: the state must be threaded through the steps."""

    name = "calls so far"

    def __init__(self):
        self.seen_at = []
        self.seen_states = []

    def init(self, particles):
        return 0

    def __call__(self, particles, state, at=None, record=False):
        self.seen_at.append(None if at is None else at.copy())
        self.seen_states.append(state)
        points = particles if at is None else at
        v = np.ones_like(points)
        info = {"calls": state + 1}
        if not record:
            return FieldStep(v, state + 1, info)
        v_x = None if at is None else np.ones_like(particles)
        return FieldStep(v, state + 1, info, loss=float(state), particle_velocity=v_x)


def test_engine_threads_state_and_records_diagnostics():
    field = _CountingField()
    assert isinstance(field, VelocityField)  # the runtime-checkable protocol
    X0 = np.zeros((3, 2))
    res = run_flow(field, X0, step=0.1, n_steps=4, record_every=1)
    # Velocity 1 for 4 steps of 0.1.
    np.testing.assert_allclose(res.particles, 0.4)
    assert field.seen_states == [0, 1, 2, 3, 4]  # each call gets the previous call's state
    assert "calls" in res.extras and res.extras["calls"].shape == (5,)
    np.testing.assert_array_equal(res.step_info["calls"], [1, 2, 3, 4])  # one entry per step
    assert np.all(np.diff(res.loss) > 0)  # the state grew at every step
    assert res.field is field and res.loss_name == "calls so far"
    np.testing.assert_array_equal(res.speed2, 2.0)  # velocity (1, 1): squared speed 2


def test_step_info_is_recorded_at_every_step_even_between_snapshots():
    field = _CountingField()
    res = run_flow(field, np.zeros((3, 2)), step=0.1, n_steps=10, record_every=5)
    np.testing.assert_array_equal(res.steps, [0, 5, 10])
    np.testing.assert_array_equal(res.step_info["calls"], np.arange(1, 11))
    np.testing.assert_array_equal(res.extras["calls"], [1, 6, 11])


def test_noise_injection_evaluates_at_perturbed_points():
    field = _CountingField()
    X0 = np.zeros((4, 2))
    run_flow(field, X0, step=0.1, n_steps=1, noise=0.7, rng=5, record_every=1)
    u = np.random.default_rng(5).standard_normal((4, 2))
    # The step is evaluated at X0 + beta u from the same seed; the last snapshot at X itself.
    np.testing.assert_allclose(field.seen_at[0], 0.7 * u)
    assert field.seen_at[1] is None
    # a number means noise injection: the same as NoiseInjection(constant(0.7))
    other = _CountingField()
    run_flow(other, X0, step=0.1, n_steps=1, noise=NoiseInjection(constant(0.7)), rng=5)
    np.testing.assert_array_equal(other.seen_at[0], field.seen_at[0])


def test_diffusion_adds_noise_to_positions():
    class Zero(_CountingField):
        def __call__(self, particles, state, at=None, record=False):
            assert at is None  # diffusion never perturbs the evaluation points
            v = np.zeros_like(particles)
            return FieldStep(v, state, loss=0.0) if record else FieldStep(v, state)

    X0 = np.zeros((4, 2))
    res = run_flow(Zero(), X0, step=0.1, n_steps=1, noise=Diffusion(0.7), rng=5)
    u = np.random.default_rng(5).standard_normal((4, 2))
    np.testing.assert_allclose(res.particles, 0.7 * u)
    np.testing.assert_array_equal(res.beta, [0.7, 0.7])


def test_float32_particles_are_rounded_to_float32_at_every_step():
    class Constant(_CountingField):
        def __call__(self, particles, state, at=None, record=False):
            v = np.full(particles.shape, 0.1, dtype=np.float32)
            return FieldStep(v, state, loss=0.0) if record else FieldStep(v, state)

    X0 = np.linspace(-1, 1, 8).reshape(4, 2)
    res = run_flow(Constant(), X0, step=1 / 3, n_steps=3, record_every=1, dtype="float32")
    assert res.particles.dtype == res.trajectory.dtype == np.float32
    # float32 arithmetic written out: x <- fl32(x + fl32(step * v)), from fl32(X0)
    x = X0.astype(np.float32)
    for _ in range(3):
        x = x + np.float32(1 / 3) * np.float32(0.1)
    np.testing.assert_array_equal(res.particles, x)
    assert not np.array_equal(run_flow(Constant(), X0, step=1 / 3, n_steps=3).particles, x)
    # diffusion's noise is drawn in the particles' precision
    noisy = run_flow(Constant(), X0, step=0.1, n_steps=2, noise=Diffusion(0.7), dtype="float32")
    assert noisy.particles.dtype == np.float32
    with pytest.raises(ValueError, match="dtype"):
        run_flow(Constant(), X0, step=0.1, n_steps=1, dtype="float16")


def test_float32_noise_draws_are_standard_normal():
    from scipy import stats

    from kernelflows.flows.perturbations import standard_normal

    u = standard_normal(np.random.default_rng(3), (400, 251), np.float32)  # odd size: a half pair
    assert u.dtype == np.float32 and u.shape == (400, 251)
    z = u.ravel().astype(np.float64)
    # N(0, 1) at n = 1e5: the mean's standard error is 3e-3 and the variance's 4.5e-3, so 5
    # standard errors; the Kolmogorov-Smirnov test at level 1e-3 (a fixed seed: no flakiness)
    assert abs(z.mean()) < 0.016 and abs(z.var() - 1.0) < 0.023
    assert stats.kstest(z, "norm").pvalue > 1e-3
    # the pairs (cos, sin) of one radius are independent: their correlation is O(n^-1/2)
    half = z.size // 2
    assert abs(np.corrcoef(z[:half], z[half : 2 * half])[0, 1]) < 0.016
    # the tails stop at sqrt(2 log 2^24) = 5.77 (u on multiples of 2^-24)
    assert np.abs(z).max() <= np.sqrt(2 * np.log(2.0**24)) + 1e-6
    # float64 is numpy's own stream
    np.testing.assert_array_equal(
        standard_normal(np.random.default_rng(3), (5, 2)),
        np.random.default_rng(3).standard_normal((5, 2)),
    )


class _BadField(_CountingField):
    """A field that returns ``bad`` (a function of the step's velocity) at call ``when``."""

    def __init__(self, bad, when):
        super().__init__()
        self.bad, self.when = bad, when

    def __call__(self, particles, state, at=None, record=False):
        out = super().__call__(particles, state, at, record)
        if len(self.seen_states) - 1 == self.when:
            return self.bad(out)
        return out


@pytest.mark.parametrize(
    "bad, error, message",
    [
        (lambda out: out.velocity, TypeError, "must return a FieldStep"),
        (lambda out: (out.velocity, {}), TypeError, "must return a FieldStep"),
        (lambda out: FieldStep(out.velocity[:-1]), ValueError, r"shape \(2, 2\).*\(3, 2\)"),
        (lambda out: FieldStep(out.velocity[:, :1]), ValueError, r"expected \(3, 2\)"),
        (lambda out: FieldStep(list(out.velocity)), ValueError, "shape"),
    ],
)
def test_engine_rejects_a_field_that_breaks_the_contract(bad, error, message):
    with pytest.raises(error, match=message):
        run_flow(_BadField(bad, when=2), np.zeros((3, 2)), step=0.1, n_steps=5)


@pytest.mark.parametrize("value", [np.nan, np.inf, -np.inf])
def test_a_non_finite_velocity_raises_flow_diverged_naming_the_step(value):
    def poison(out):
        v = out.velocity.copy()
        v[1, 0] = value
        return FieldStep(v, out.state, out.info)

    with pytest.raises(FlowDivergedError, match=r"step 3\b.*reduce step \(now 0\.25\)"):
        run_flow(_BadField(poison, when=3), np.zeros((3, 2)), step=0.25, n_steps=6)


@pytest.mark.parametrize("when", [2, 4])  # a step's snapshot, and the last snapshot
def test_a_loss_turning_non_finite_raises_flow_diverged(when):
    # the velocity may still be finite when the loss overflows: the run must not return NaN
    def nan_loss(out):
        return FieldStep(out.velocity, out.state, out.info, loss=float("nan"))

    with pytest.raises(FlowDivergedError, match=rf"step {when}: the loss is nan"):
        run_flow(_BadField(nan_loss, when), np.zeros((3, 2)), step=0.1, n_steps=4, record_every=1)


def test_a_recording_field_must_report_the_loss_and_the_velocity_at_the_particles():
    def unrecorded(out):
        return FieldStep(out.velocity, out.state, out.info)

    with pytest.raises(ValueError, match="the loss and"):
        run_flow(_BadField(unrecorded, when=0), np.zeros((3, 2)), step=0.1, n_steps=2)

    def no_particle_velocity(out):  # evaluated at perturbed points, recorded: v at X missing
        return FieldStep(out.velocity, out.state, out.info, loss=out.loss)

    with pytest.raises(ValueError, match="particle_velocity"):
        run_flow(
            _BadField(no_particle_velocity, when=0),
            np.zeros((3, 2)),
            step=0.1,
            n_steps=2,
            noise=0.5,
            record_every=1,
        )


def test_info_names_that_change_along_the_run_are_an_error():
    # a column of the result would miss values: the engine says so at the step
    def other_names(out):
        return FieldStep(out.velocity, out.state, {"something else": 1.0}, out.loss)

    with pytest.raises(ValueError, match="info names changed at step 2"):
        run_flow(_BadField(other_names, when=2), np.zeros((3, 2)), step=0.1, n_steps=4)


def test_engine_rejects_what_is_not_a_velocity_field():
    with pytest.raises(ValueError, match="velocity field"):
        run_flow(lambda X, state: X, np.zeros((3, 2)), step=0.1, n_steps=2)


@pytest.mark.parametrize(
    "kernel, step",
    [(PolynomialKernel(3), 10.0), (PolynomialKernel(2), 100.0), (GaussianKernel(1.0), 1e300)],
    ids=["cubic", "quadratic", "gaussian"],
)
def test_too_large_a_step_raises_flow_diverged_not_nan_losses(samples, kernel, step):
    # Polynomial kernels: the velocity grows with the particles and the Euler iteration blows
    # up; the Gaussian: the first step throws the particles out of floating-point range. The
    # engine must stop with FlowDivergedError naming the step size, whatever numpy warns on the
    # way (RuntimeWarnings from kernelflows are errors under the pytest configuration).
    X, Y = samples
    with pytest.raises(FlowDivergedError, match=r"diverged at step \d+.*reduce step \(now"):
        mmd_flow(X, Y, kernel, step=step, n_steps=200, record_every=1)


def test_a_field_object_keeps_no_state_between_flows(samples):
    X, Y = samples
    X2 = X[::-1] * 0.5 + 0.1
    kernel = GaussianKernel(1.0)
    field = MMDVelocity(Y, kernel)
    kw = dict(step=0.4, n_steps=15, noise=halving(0.5, 5), rng=3, record_every=5)
    first = run_flow(field, X, **kw)
    second = run_flow(field, X2, **kw)
    again = run_flow(field, X, **kw)
    for res, start in ((first, X), (second, X2), (again, X)):
        fresh = run_flow(MMDVelocity(Y, kernel), start, **kw)
        np.testing.assert_array_equal(res.trajectory, fresh.trajectory)
        np.testing.assert_array_equal(res.loss, fresh.loss)
    # and the entry point builds exactly this field
    np.testing.assert_array_equal(mmd_flow(X, Y, kernel, **kw).trajectory, first.trajectory)


def test_noise_schedule_is_recorded_and_runs_are_reproducible(samples):
    X, Y = samples
    kernel = GaussianKernel(1.0)
    sched = halving(1.0, 10)
    kw = dict(step=0.5, n_steps=30, noise=sched, rng=3, record_every=10)
    a = mmd_flow(X, Y, kernel, **kw)
    b = mmd_flow(X, Y, kernel, **kw)
    np.testing.assert_array_equal(a.particles, b.particles)
    np.testing.assert_allclose(a.beta, [1.0, 0.5, 0.25, 0.125])
    c = mmd_flow(X, Y, kernel, **(kw | {"rng": np.random.default_rng(3)}))
    np.testing.assert_array_equal(a.particles, c.particles)  # a seed or its Generator


def test_bad_equilibrium_is_stuck_without_noise_and_freed_by_noise():
    X0, Y = bad_equilibrium(n=20, a=0.5)
    kernel = GaussianKernel(1.0)
    still = mmd_flow(X0, Y, kernel, step=0.5, n_steps=200)
    # Symmetry gives grad f(0) = 0; BLAS rounding may leave ~1e-18, which decays since
    # |a| < bandwidth makes a rigid shift stable.
    assert np.abs(still.particles).max() < 1e-12
    # Closed form of F(delta_0) (theory.bad_equilibrium_energy); rounding only.
    np.testing.assert_allclose(still.loss, bad_equilibrium_energy(0.5, kernel), rtol=1e-12)
    noisy = mmd_flow(X0, Y, kernel, step=0.5, n_steps=200, noise=constant(0.5), rng=0)
    assert noisy.loss[-1] < 1e-2 * noisy.loss[0]  # "by orders of magnitude": at least two


def test_collapse_without_noise_and_cure_with_noise():
    X0, Y = collapse_setup(n=60, m=60, rng=0)
    kernel = GaussianKernel(2.0)
    plain = mmd_flow(X0, Y, kernel, step=1.0, n_steps=300)
    # Identical particles stay identical (up to rounding in BLAS, which the spreading
    # instability amplifies by at most about exp(0.09 t) = 5e11 here): all collapse to one point.
    assert np.ptp(plain.particles, axis=0).max() < 1e-3
    assert np.linalg.norm(plain.particles[0] - Y.mean(axis=0)) < 0.5
    # F stalls: no change over the second half (exactly a fixed point up to rounding).
    half = len(plain.loss) // 2
    assert plain.loss[-1] == pytest.approx(plain.loss[half], rel=1e-6)
    noisy = mmd_flow(X0, Y, kernel, step=1.0, n_steps=300, noise=constant(1.0), rng=0)
    assert noisy.loss[-1] < 0.2 * plain.loss[-1]


# --- signatures and bad input ------------------------------------------------------------------

FLOW_OPTIONS = ("step", "n_steps", "noise", "rng", "record_every", "progress")
ENTRY_POINTS = [
    mmd_flow,
    sliced_mmd_flow,
    kale_flow,
    regularized_flow,
    kl_flow,
    svgd,
    ksd_descent,
    run_flow,
]


@pytest.mark.parametrize("flow", ENTRY_POINTS, ids=lambda f: f.__name__)
def test_every_flow_takes_its_options_by_keyword_only(flow):
    params = inspect.signature(flow).parameters
    options = [name for name in FLOW_OPTIONS if not (flow is kl_flow and name == "noise")]
    for name in options:
        assert name in params, f"{flow.__name__} has no {name}"
        assert params[name].kind is inspect.Parameter.KEYWORD_ONLY, (flow.__name__, name)
    assert params["progress"].default is False
    assert params["step"].default is inspect.Parameter.empty  # no silent default step
    assert params["n_steps"].default is inspect.Parameter.empty
    assert params["record_every"].default is None
    assert params["rng"].default is None
    if "noise" in params:
        assert params["noise"].default == 0.0
    # everything after the data is keyword-only: no option can be passed by position
    positional = [
        p.name
        for p in params.values()
        if p.kind in (inspect.Parameter.POSITIONAL_ONLY, inspect.Parameter.POSITIONAL_OR_KEYWORD)
    ]
    assert positional[0] == ("field" if flow is run_flow else "X0")
    assert all(p.kind is not inspect.Parameter.VAR_KEYWORD for p in params.values())
    assert not set(positional) & set(FLOW_OPTIONS), positional


def test_positional_options_are_refused(samples):
    X, Y = samples
    with pytest.raises(TypeError):
        mmd_flow(X, Y, GaussianKernel(1.0), 0.1, 3)


def test_the_diffusion_flag_is_gone(samples):
    X, Y = samples
    with pytest.raises(TypeError, match="diffusion"):
        mmd_flow(X, Y, GaussianKernel(1.0), step=0.1, n_steps=3, noise=0.7, diffusion=True)


def test_mmd2_along_needs_an_mmd_flow():
    field = _CountingField()
    res = run_flow(field, np.zeros((3, 2)), step=0.1, n_steps=2)
    with pytest.raises(ValueError, match="MMD flow"):
        mmd2_along(res)


@pytest.mark.parametrize(
    "kwargs, name",
    [
        ({"step": 0.0}, "step"),
        ({"step": -1.0}, "step"),
        ({"n_steps": 0}, "n_steps"),
        ({"noise": -0.1}, "noise"),
        ({"noise": "loud"}, "noise"),
        ({"noise": NoiseInjection(lambda n: -1.0)}, "noise"),
        ({"noise": Diffusion(lambda n: float("nan"))}, "noise"),
        ({"record_every": 0}, "record_every"),
        ({"rng": "seed"}, "rng"),
    ],
)
def test_bad_arguments_raise(samples, kwargs, name):
    X, Y = samples
    args = {"step": 0.1, "n_steps": 3} | kwargs
    with pytest.raises(ValueError, match=name):
        mmd_flow(X, Y, GaussianKernel(1.0), **args)


def test_bad_samples_raise(samples):
    X, Y = samples
    kw = dict(step=0.1, n_steps=3)
    with pytest.raises(ValueError, match="X0"):
        mmd_flow(np.full((3, 2), np.nan), Y, GaussianKernel(1.0), **kw)
    with pytest.raises(ValueError, match="dimension"):
        mmd_flow(X[:, :1], Y, GaussianKernel(1.0), **kw)
    with pytest.raises(ValueError, match="kernel"):
        mmd_flow(X, Y, "gaussian", **kw)
    with pytest.raises(ValueError, match="bandwidth"):
        GaussianKernel(0.0)
    with pytest.raises(ValueError, match="m must be even"):
        bad_equilibrium(m=3)


# --- noise injection's points across tiles; perturbation edge cases -----------------------


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


def test_diffusion_of_level_one_and_a_boolean_noise():
    from kernelflows.flows import Diffusion

    class Still:
        name = "still"

        def init(self, particles):
            return None

        def __call__(self, particles, state, at=None, record=False):
            v = np.zeros_like(particles)
            return FieldStep(v, state, loss=0.0) if record else FieldStep(v, state)

    res = run_flow(Still(), np.zeros((3, 2)), step=0.1, n_steps=1, noise=Diffusion(1.0), rng=2)
    u = np.random.default_rng(2).standard_normal((3, 2))
    np.testing.assert_array_equal(res.particles, u)  # beta = 1 is noise like any other beta
    with pytest.raises(ValueError, match="noise must be a number"):
        mmd_flow(
            np.zeros((3, 1)), np.ones((3, 1)), GaussianKernel(), step=0.1, n_steps=1, noise=True
        )


def test_noise_below_the_particles_rounding_is_still_noise_injection(samples):
    # beta u far below the particles' last bit: X + beta u == X, yet the engine asked for the
    # velocity at perturbed points and gets it there (with the velocity at X when recording)
    X, Y = samples
    kw = dict(step=0.3, n_steps=3, record_every=1, rng=0)
    tiny = mmd_flow(X, Y, GaussianKernel(1.0), noise=1e-300, **kw)
    plain = mmd_flow(X, Y, GaussianKernel(1.0), **kw)
    # the same flow; only the symmetric shortcut of the particles' own sums is not taken
    np.testing.assert_allclose(tiny.trajectory, plain.trajectory, rtol=0, atol=1e-13)
    np.testing.assert_allclose(tiny.speed2, plain.speed2, rtol=1e-12)


def test_an_entry_point_checks_its_arguments_before_building_its_field(samples):
    # flow_entry_point: the engine's options and X0 (against target samples named Y) are
    # checked before the field is built (a field may cost O(m^2): the target's own sum, a Gram
    # matrix), and the flow gets the engine's keyword-only options
    from kernelflows.flows import flow_entry_point

    X, Y = samples
    built = []

    @flow_entry_point("toy flow")
    def toy(Y, kernel):
        built.append(len(Y))
        return MMDVelocity(Y, kernel)

    k = GaussianKernel(1.0)
    for bad, error, words in [
        (dict(step=-1.0, n_steps=2), ValueError, "step"),
        (dict(step=0.1, n_steps=0), ValueError, "n_steps"),
        (dict(step=0.1, n_steps=2, noise="loud"), ValueError, "noise"),
        (dict(step=0.1, n_steps=2, record_every=0), ValueError, "record_every"),
        (dict(step=0.1), TypeError, "n_steps"),
    ]:
        with pytest.raises(error, match=words):
            toy(X, Y, k, **bad)
    with pytest.raises(ValueError, match="X0 and Y"):
        toy(X[:, :1], Y, k, step=0.1, n_steps=2)
    assert built == []
    res = toy(X, Y, k, step=0.3, n_steps=2)
    np.testing.assert_array_equal(res.particles, mmd_flow(X, Y, k, step=0.3, n_steps=2).particles)
    assert list(inspect.signature(toy).parameters)[:3] == ["X0", "Y", "kernel"]
