"""Tests of the flow engine and the MMD flow (kernelflows.flows, kernelflows.datasets)."""

import numpy as np
import pytest

from kernelflows.datasets import bad_equilibrium, collapse_setup
from kernelflows.flows import (
    FlowResult,
    gaussian_mmd_velocity,
    mmd_energy,
    mmd_flow,
    mmd_velocity,
    run_flow,
    snapshot_steps,
)
from kernelflows.kernels import GaussianKernel, IMQKernel
from kernelflows.mmd import mmd2
from kernelflows.schedules import constant, halving
from kernelflows.theory import bad_equilibrium_energy, first_variation


@pytest.fixture
def samples():
    rng = np.random.default_rng(1)
    return rng.normal(size=(40, 2)), rng.normal(size=(30, 2)) + [1.0, -0.5]


def test_fast_gaussian_velocity_matches_weighted_grad(samples):
    X, Y = samples
    rng = np.random.default_rng(2)
    Z = rng.normal(size=(17, 2)) * 2
    kernel = GaussianKernel(0.8)
    centres = np.vstack([X, Y])
    w = np.r_[np.full(len(X), 1 / len(X)), np.full(len(Y), -1 / len(Y))]
    expected = -kernel.weighted_grad(Z, centres, w)
    # Small blocks force several row blocks; 1e-12: sums of 70 terms of size <= 1 in float64.
    got = gaussian_mmd_velocity(Z, X, Y, 0.8, block_elements=100)
    np.testing.assert_allclose(got, expected, atol=1e-12)
    np.testing.assert_allclose(mmd_velocity(Z, X, Y, kernel), expected, atol=1e-12)
    # At the particles themselves the symmetric path (half the particle pairs) is taken.
    at_particles = -kernel.weighted_grad(X, centres, w)
    for block in (100, 450, None):  # blocks of 1, 4 rows, and a single block
        np.testing.assert_allclose(
            gaussian_mmd_velocity(X, X, Y, 0.8, block_elements=block), at_particles, atol=1e-12
        )


def test_fast_gaussian_velocity_in_higher_dimension():
    rng = np.random.default_rng(3)
    X, Y, Z = rng.normal(size=(20, 5)), rng.normal(size=(25, 5)), rng.normal(size=(7, 5))
    kernel = GaussianKernel(1.7)
    centres = np.vstack([X, Y])
    w = np.r_[np.full(20, 1 / 20), np.full(25, -1 / 25)]
    # d = 5 takes the matrix-product branch; same rounding reason as above.
    np.testing.assert_allclose(
        gaussian_mmd_velocity(Z, X, Y, 1.7), -kernel.weighted_grad(Z, centres, w), atol=1e-12
    )


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
    np.testing.assert_allclose(mmd_velocity(Z, X, Y, kernel), -fd, atol=1e-8)


def test_energy_is_half_the_biased_mmd2(samples):
    X, Y = samples
    kernel = GaussianKernel(1.2)
    # Two formulations (blocked totals vs the estimator module); rounding only.
    assert mmd_energy(X, Y, kernel) == pytest.approx(0.5 * mmd2(X, Y, kernel, "biased"), rel=1e-12)
    uniform = np.full(len(X), 1 / len(X))
    assert mmd_energy(X, Y, kernel, weights=uniform) == pytest.approx(
        mmd_energy(X, Y, kernel), rel=1e-12
    )


def test_one_step_is_forward_euler(samples):
    X, Y = samples
    kernel = GaussianKernel(1.0)
    res = mmd_flow(X, Y, kernel, step=0.3, n_steps=1, progress=False)
    centres = np.vstack([X, Y])
    w = np.r_[np.full(len(X), 1 / len(X)), np.full(len(Y), -1 / len(Y))]
    expected = X - 0.3 * kernel.weighted_grad(X, centres, w)
    np.testing.assert_allclose(res.particles, expected, atol=1e-12)  # rounding only


def test_result_shapes_and_snapshots(samples):
    X, Y = samples
    res = mmd_flow(X, Y, GaussianKernel(1.0), step=0.5, n_steps=250, progress=False)
    assert isinstance(res, FlowResult)
    assert res.steps[0] == 0 and res.steps[-1] == 250
    assert len(res.steps) <= 101
    T = len(res.steps)
    assert res.trajectory.shape == (T, 40, 2)
    for arr in (res.loss, res.grad_sq_norm, res.noise):
        assert arr.shape == (T,)
    np.testing.assert_array_equal(res.trajectory[0], X)
    np.testing.assert_array_equal(res.trajectory[-1], res.particles)
    assert res.loss[0] == pytest.approx(0.5 * mmd2(X, Y, GaussianKernel(1.0), "biased"))
    # A descent for this small step (gamma = 0.5 < 2 / (3 L) = 2/3: theory.descent_check).
    assert np.all(np.diff(res.loss) <= 0)
    np.testing.assert_array_equal(snapshot_steps(10, 3), [0, 3, 6, 9, 10])
    # Without noise the step's squared speed is the recorded mean ||grad f||^2.
    np.testing.assert_array_equal(res.extras["step_sq_norm"][:-1], res.grad_sq_norm[:-1])
    assert np.isnan(res.extras["step_sq_norm"][-1])


class _CountingField:
    """A stateful field standing in for KALE's: the state must be threaded through the steps."""

    def __init__(self):
        self.seen_at = []

    def init(self, particles):
        return 0

    def __call__(self, particles, state, at=None):
        self.seen_at.append(None if at is None else at.copy())
        return np.ones_like(particles), {"state": state + 1, "calls": state + 1}

    def loss(self, particles, state):
        return float(state)


def test_engine_threads_state_and_records_diagnostics():
    field = _CountingField()
    X0 = np.zeros((3, 2))
    res = run_flow(field, X0, step=0.1, n_steps=4, record_every=1, progress=False)
    # Velocity 1 for 4 steps of 0.1.
    np.testing.assert_allclose(res.particles, 0.4)
    assert "calls" in res.extras and res.extras["calls"].shape == (5,)
    assert np.all(np.diff(res.loss) > 0)  # the state grew at every step


def test_noise_injection_evaluates_at_perturbed_points():
    field = _CountingField()
    X0 = np.zeros((4, 2))
    run_flow(field, X0, step=0.1, n_steps=1, noise=0.7, rng=5, record_every=1, progress=False)
    u = np.random.default_rng(5).standard_normal((4, 2))
    # Call 1 records at X0 (at=None); call 2 is the step, at X0 + beta u from the same seed.
    assert field.seen_at[0] is None
    np.testing.assert_allclose(field.seen_at[1], 0.7 * u)


def test_diffusion_adds_noise_to_positions():
    class Zero(_CountingField):
        def __call__(self, particles, state, at=None):
            assert at is None  # diffusion never perturbs the evaluation points
            return np.zeros_like(particles), {}

    X0 = np.zeros((4, 2))
    res = run_flow(Zero(), X0, 0.1, 1, noise=0.7, diffusion=True, rng=5, progress=False)
    u = np.random.default_rng(5).standard_normal((4, 2))
    np.testing.assert_allclose(res.particles, 0.7 * u)


def test_noise_schedule_is_recorded_and_runs_are_reproducible(samples):
    X, Y = samples
    kernel = GaussianKernel(1.0)
    sched = halving(1.0, 10)
    a = mmd_flow(X, Y, kernel, 0.5, 30, noise=sched, rng=3, record_every=10, progress=False)
    b = mmd_flow(X, Y, kernel, 0.5, 30, noise=sched, rng=3, record_every=10, progress=False)
    np.testing.assert_array_equal(a.particles, b.particles)
    np.testing.assert_allclose(a.noise, [1.0, 0.5, 0.25, 0.125])


def test_bad_equilibrium_is_stuck_without_noise_and_freed_by_noise():
    X0, Y = bad_equilibrium(n=20, a=0.5)
    kernel = GaussianKernel(1.0)
    still = mmd_flow(X0, Y, kernel, 0.5, 200, progress=False)
    # Symmetry gives grad f(0) = 0; BLAS rounding may leave ~1e-18, which decays since
    # |a| < bandwidth makes a rigid shift stable.
    assert np.abs(still.particles).max() < 1e-12
    # Closed form of F(delta_0) (theory.bad_equilibrium_energy); rounding only.
    np.testing.assert_allclose(still.loss, bad_equilibrium_energy(0.5, 1.0), rtol=1e-12)
    noisy = mmd_flow(X0, Y, kernel, 0.5, 200, noise=constant(0.5), rng=0, progress=False)
    assert noisy.loss[-1] < 1e-2 * noisy.loss[0]  # "by orders of magnitude": at least two


def test_collapse_without_noise_and_cure_with_noise():
    X0, Y = collapse_setup(n=60, m=60, rng=0)
    kernel = GaussianKernel(2.0)
    plain = mmd_flow(X0, Y, kernel, 1.0, 300, progress=False)
    # Identical particles stay identical (up to rounding in BLAS, which the spreading
    # instability amplifies by at most about exp(0.09 t) = 5e11 here): all collapse to one point.
    assert np.ptp(plain.particles, axis=0).max() < 1e-3
    assert np.linalg.norm(plain.particles[0] - Y.mean(axis=0)) < 0.5
    # F stalls: no change over the second half (exactly a fixed point up to rounding).
    half = len(plain.loss) // 2
    assert plain.loss[-1] == pytest.approx(plain.loss[half], rel=1e-6)
    noisy = mmd_flow(X0, Y, kernel, 1.0, 300, noise=constant(1.0), rng=0, progress=False)
    assert noisy.loss[-1] < 0.2 * plain.loss[-1]


@pytest.mark.parametrize(
    "kwargs, name",
    [
        ({"step": 0.0}, "step"),
        ({"step": -1.0}, "step"),
        ({"n_steps": 0}, "n_steps"),
        ({"noise": -0.1}, "noise"),
        ({"noise": "loud"}, "noise"),
        ({"record_every": 0}, "record_every"),
        ({"rng": "seed"}, "rng"),
    ],
)
def test_bad_arguments_raise(samples, kwargs, name):
    X, Y = samples
    args = {"step": 0.1, "n_steps": 3, "progress": False} | kwargs
    with pytest.raises(ValueError, match=name):
        mmd_flow(X, Y, GaussianKernel(1.0), **args)


def test_bad_samples_raise(samples):
    X, Y = samples
    with pytest.raises(ValueError, match="X0"):
        mmd_flow(np.full((3, 2), np.nan), Y, GaussianKernel(1.0), 0.1, 3, progress=False)
    with pytest.raises(ValueError, match="dimension"):
        mmd_flow(X[:, :1], Y, GaussianKernel(1.0), 0.1, 3, progress=False)
    with pytest.raises(ValueError, match="kernel"):
        mmd_flow(X, Y, "gaussian", 0.1, 3, progress=False)
    with pytest.raises(ValueError, match="bandwidth"):
        gaussian_mmd_velocity(X, X, Y, 0.0)
    with pytest.raises(ValueError, match="m must be even"):
        bad_equilibrium(m=3)
