"""The sliced MMD flow of the energy kernel: exact in 1-D, unbiased, 1/sqrt(P) convergence."""

import math

import numpy as np
import pytest

from kernelflows.divergences import (
    energy_slicing_constant,
    mmd2,
    mmd_energy,
    mmd_velocity,
    random_directions,
    sliced_energy_1d,
    sliced_mmd2,
    sliced_velocity,
)
from kernelflows.flows import SlicedMMDVelocity, mmd2_along, mmd_flow, sliced_mmd_flow
from kernelflows.kernels import EnergyKernel, GaussianKernel


def _samples(n, m, d, seed=0):
    rng = np.random.default_rng(seed)
    return rng.normal(size=(n, d)), rng.normal(size=(m, d)) + 0.5


def test_slicing_constant_closed_forms_and_monte_carlo():
    # c_1 = 1, c_2 = pi / 2 (E|cos theta| = 2 / pi), c_3 = 2 (E|xi_1| = 1/2 on S^2).
    assert energy_slicing_constant(1) == pytest.approx(1.0, rel=1e-14)
    assert energy_slicing_constant(2) == pytest.approx(math.pi / 2, rel=1e-14)
    assert energy_slicing_constant(3) == pytest.approx(2.0, rel=1e-14)
    rng = np.random.default_rng(1)
    for d in (2, 3, 5, 10):
        v = rng.normal(size=d)
        xi = random_directions(200_000, d, rng=rng)
        a = np.abs(xi @ v)
        est = energy_slicing_constant(d) * a.mean()
        # CLT: 5 standard errors of the mean of |<xi, v>| (a false failure has probability < 1e-6)
        tol = 5 * energy_slicing_constant(d) * a.std() / math.sqrt(len(a))
        assert abs(est - np.linalg.norm(v)) < tol


def test_random_directions_are_unit_and_isotropic():
    xi = random_directions(100_000, 3, rng=np.random.default_rng(2))
    np.testing.assert_allclose(np.linalg.norm(xi, axis=1), 1.0, rtol=1e-14)
    # E[xi xi^T] = I / d; entries have std <= 1/sqrt(n): 6 standard errors
    np.testing.assert_allclose(xi.T @ xi / len(xi), np.eye(3) / 3, atol=6 / math.sqrt(len(xi)))


def test_one_dimension_one_projection_is_the_exact_velocity_and_energy():
    # In 1-D the directions are +-1 and c_1 = 1: the sliced velocity is the exact one.
    X, Y = _samples(50, 60, 1, seed=3)
    exact_v = mmd_velocity(X, Y, EnergyKernel()).velocity
    exact_F = mmd_energy(X, Y, EnergyKernel())
    for sign in (1.0, -1.0):
        out = sliced_velocity(X, Y, np.array([[sign]]), record=True)
        np.testing.assert_allclose(out.velocity, exact_v, rtol=0, atol=1e-10)
        assert out.particle_velocity is None  # the velocity is at the particles
        assert out.loss == pytest.approx(exact_F, rel=1e-10, abs=1e-12)
    # at other points (noise injection's evaluation points): binary search, same exact values
    Z = np.random.default_rng(4).normal(size=(30, 1))
    out = sliced_velocity(X, Y, np.array([[1.0]]), at=Z, record=True)
    exact_at = mmd_velocity(X, Y, EnergyKernel(), at=Z).velocity
    np.testing.assert_allclose(out.velocity, exact_at, atol=1e-10)
    np.testing.assert_allclose(out.particle_velocity, exact_v, atol=1e-10)
    assert out.loss == pytest.approx(exact_F, rel=1e-10)
    # without record: no loss, and no velocity at the particles when it is asked elsewhere
    plain = sliced_velocity(X, Y, np.array([[1.0]]), at=Z)
    assert plain.loss is None and plain.particle_velocity is None


def test_ties_get_sign_zero_like_the_exact_kernel():
    # Coincident particles and a particle on a target point: the exact kernel's gradient of
    # ||z - x|| at z = x is 0; the sorted version must group ties the same way.
    X = np.array([[0.0], [0.0], [1.0], [2.0], [2.0]])
    Y = np.array([[1.0], [2.0], [-1.0]])
    out = sliced_velocity(X, Y, np.array([[1.0]]), record=True)
    np.testing.assert_allclose(
        out.velocity, mmd_velocity(X, Y, EnergyKernel()).velocity, atol=1e-14
    )
    assert out.loss == pytest.approx(mmd_energy(X, Y, EnergyKernel()), rel=1e-13)
    # brute force of the 1-D formulas
    p = np.concatenate([X[:, 0], Y[:, 0]])
    w = np.concatenate([np.full(5, 1 / 5), np.full(3, -1 / 3)])
    g, F1 = sliced_energy_1d(p, w)
    np.testing.assert_allclose(g, (w[None, :] * np.sign(p[:, None] - p[None, :])).sum(1))
    assert F1 == pytest.approx(-0.5 * w @ np.abs(p[:, None] - p[None, :]) @ w, rel=1e-13)


def test_sliced_velocity_converges_at_the_root_p_rate():
    # Independent directions: the estimate is a mean of P i.i.d. terms with mean the exact
    # velocity, so the RMS error is sigma / sqrt(P): slope -1/2 in log-log. With 6 repetitions
    # per P over a factor 64 in P, the fitted slope's spread is a few hundredths; [-0.65, -0.35]
    # fails only if the estimate is biased (slope -> 0) or not a Monte Carlo mean.
    X, Y = _samples(40, 50, 3, seed=5)
    exact = mmd_velocity(X, Y, EnergyKernel()).velocity
    rng = np.random.default_rng(6)
    Ps = np.array([16, 64, 256, 1024])
    errors = []
    for P in Ps:
        reps = [
            np.sqrt(
                np.mean(
                    (sliced_velocity(X, Y, random_directions(P, 3, rng=rng)).velocity - exact) ** 2
                )
            )
            for _ in range(6)
        ]
        errors.append(np.sqrt(np.mean(np.square(reps))))
    slope = np.polyfit(np.log(Ps), np.log(errors), 1)[0]
    assert -0.65 <= slope <= -0.35, (slope, errors)


def test_sliced_loss_is_an_unbiased_estimate_of_the_energy_distance():
    X, Y = _samples(30, 40, 4, seed=7)
    exact = mmd2(X, Y, EnergyKernel(), estimator="biased")  # the flow's plug-in MMD^2
    rng = np.random.default_rng(8)
    draws = np.array([sliced_mmd2(X, Y, n_projections=4, rng=rng) for _ in range(3000)])
    # CLT: 5 standard errors (false failure probability < 1e-6); the draws are i.i.d.
    assert abs(draws.mean() - exact) < 5 * draws.std(ddof=1) / math.sqrt(len(draws))
    # and the estimate is noisy (a biased constant would pass the mean test only by luck)
    assert draws.std() > 0


def test_sliced_flow_reduces_the_energy_and_is_reproducible():
    X0, Y = _samples(200, 200, 2, seed=9)
    kw = dict(step=0.5, n_steps=40, record_every=10, rng=3)
    a = sliced_mmd_flow(X0, Y, n_projections=8, **kw)
    b = sliced_mmd_flow(X0, Y, n_projections=8, **kw)
    np.testing.assert_array_equal(a.particles, b.particles)
    assert isinstance(a.field, SlicedMMDVelocity) and a.loss_name == SlicedMMDVelocity.name
    # the sliced flow descends the exact energy (checked with the O(n^2) exact value)
    exact = [mmd_energy(X, Y, EnergyKernel()) for X in a.trajectory]
    assert exact[-1] < 0.3 * exact[0]
    np.testing.assert_allclose(mmd2_along(a), 2 * a.loss)
    # a different rng gives other directions
    c = sliced_mmd_flow(X0, Y, n_projections=8, **{**kw, "rng": 4})
    assert not np.array_equal(a.particles, c.particles)


def test_sliced_flow_with_noise_injection_runs_and_records():
    X0, Y = _samples(100, 120, 2, seed=10)
    r = sliced_mmd_flow(
        X0, Y, step=0.5, n_steps=5, noise=0.1, rng=0, record_every=1, n_projections=4
    )
    assert np.all(np.isfinite(r.loss)) and np.all(r.speed2 > 0)
    np.testing.assert_array_equal(r.beta, 0.1)  # the noise level reached the sliced flow


def test_field_state_is_a_generator_and_the_field_keeps_none():
    X, Y = _samples(20, 20, 2, seed=11)
    field = SlicedMMDVelocity(Y, n_projections=4, seed=5)
    s1 = field.init(X)
    v1 = field(X, s1).velocity
    v2 = field(X, field.init(X)).velocity  # a fresh init repeats the directions
    np.testing.assert_array_equal(v1, v2)
    with pytest.raises(ValueError, match="Generator"):
        SlicedMMDVelocity(Y, n_projections=4, seed=np.random.default_rng(0))


def test_the_mmd_flow_has_no_projections_option():
    # the sliced flow is its own entry point (energy kernel only): mmd_flow refuses the option
    X0, Y = _samples(10, 10, 2)
    with pytest.raises(TypeError, match="n_projections"):
        mmd_flow(X0, Y, GaussianKernel(1.0), step=0.1, n_steps=2, n_projections=4)


@pytest.mark.parametrize("tie", ["none", "particle on a target point", "two target points"])
def test_the_merge_and_the_sort_routes_give_the_exact_1d_velocity(tie):
    # Per direction the velocity at the particles comes from a merge of the sorted samples when
    # no particle sits on another point, else from one sort of all points with ties grouped.
    # In 1-D with the direction +1 both must give the exact energy-kernel velocity and energy.
    rng = np.random.default_rng(12)
    X, Y = rng.normal(size=(300, 1)), rng.normal(size=(200, 1)) + 0.3
    if tie == "particle on a target point":
        X[7] = Y[3]
    if tie == "two target points":
        Y[5] = Y[6]
    out = sliced_velocity(X, Y, np.array([[1.0]]), record=True)
    # the exact velocity sums 500 unit vectors (z - x) / |z - x| with weights of size 1/200,
    # after a matrix product of centred coordinates: rounding up to ~1e-13
    exact = mmd_velocity(X, Y, EnergyKernel()).velocity
    np.testing.assert_allclose(out.velocity, exact, rtol=0, atol=1e-12)
    assert out.loss == pytest.approx(mmd_energy(X, Y, EnergyKernel()), rel=1e-11)
