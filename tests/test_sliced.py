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
    sliced_velocity_and_energy,
)
from kernelflows.flows import SlicedMMDVelocity, mmd2_along, mmd_flow
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
        xi = random_directions(200_000, d, rng)
        a = np.abs(xi @ v)
        est = energy_slicing_constant(d) * a.mean()
        # CLT: 5 standard errors of the mean of |<xi, v>| (a false failure has probability < 1e-6)
        tol = 5 * energy_slicing_constant(d) * a.std() / math.sqrt(len(a))
        assert abs(est - np.linalg.norm(v)) < tol


def test_random_directions_are_unit_and_isotropic():
    xi = random_directions(100_000, 3, np.random.default_rng(2))
    np.testing.assert_allclose(np.linalg.norm(xi, axis=1), 1.0, rtol=1e-14)
    # E[xi xi^T] = I / d; entries have std <= 1/sqrt(n): 6 standard errors
    np.testing.assert_allclose(xi.T @ xi / len(xi), np.eye(3) / 3, atol=6 / math.sqrt(len(xi)))


def test_one_dimension_one_projection_is_the_exact_velocity_and_energy():
    # In 1-D the directions are +-1 and c_1 = 1: the sliced velocity is the exact one.
    X, Y = _samples(50, 60, 1, seed=3)
    exact_v = mmd_velocity(X, X, Y, EnergyKernel())
    exact_F = mmd_energy(X, Y, EnergyKernel())
    for sign in (1.0, -1.0):
        v, F, v_x = sliced_velocity_and_energy(X, Y, np.array([[sign]]))
        np.testing.assert_allclose(v, exact_v, rtol=0, atol=1e-10)
        assert v_x is v
        assert F == pytest.approx(exact_F, rel=1e-10, abs=1e-12)
    # at other points (noise injection's evaluation points): binary search, same exact values
    Z = np.random.default_rng(4).normal(size=(30, 1))
    v_at, F_at, v_x = sliced_velocity_and_energy(X, Y, np.array([[1.0]]), at=Z)
    np.testing.assert_allclose(v_at, mmd_velocity(Z, X, Y, EnergyKernel()), atol=1e-10)
    np.testing.assert_allclose(v_x, exact_v, atol=1e-10)
    assert F_at == pytest.approx(exact_F, rel=1e-10)


def test_ties_get_sign_zero_like_the_exact_kernel():
    # Coincident particles and a particle on a target point: the exact kernel's gradient of
    # ||z - x|| at z = x is 0; the sorted version must group ties the same way.
    X = np.array([[0.0], [0.0], [1.0], [2.0], [2.0]])
    Y = np.array([[1.0], [2.0], [-1.0]])
    v, F, _ = sliced_velocity_and_energy(X, Y, np.array([[1.0]]))
    np.testing.assert_allclose(v, mmd_velocity(X, X, Y, EnergyKernel()), atol=1e-14)
    assert F == pytest.approx(mmd_energy(X, Y, EnergyKernel()), rel=1e-13)
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
    exact = mmd_velocity(X, X, Y, EnergyKernel())
    rng = np.random.default_rng(6)
    Ps = np.array([16, 64, 256, 1024])
    errors = []
    for P in Ps:
        reps = [
            np.sqrt(
                np.mean(
                    (sliced_velocity_and_energy(X, Y, random_directions(P, 3, rng))[0] - exact) ** 2
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


def test_mmd_flow_with_projections_reduces_the_energy_and_is_reproducible():
    X0, Y = _samples(200, 200, 2, seed=9)
    kw = dict(step=0.5, n_steps=40, record_every=10, rng=3)
    a = mmd_flow(X0, Y, EnergyKernel(), n_projections=8, **kw)
    b = mmd_flow(X0, Y, EnergyKernel(), n_projections=8, **kw)
    np.testing.assert_array_equal(a.particles, b.particles)
    assert a.loss_name == SlicedMMDVelocity.name
    # the sliced flow descends the exact energy (checked with the O(n^2) exact value)
    exact = [mmd_energy(X, Y, EnergyKernel()) for X in a.trajectory]
    assert exact[-1] < 0.3 * exact[0]
    np.testing.assert_allclose(mmd2_along(a), 2 * a.loss)
    # a different rng gives other directions
    c = mmd_flow(X0, Y, EnergyKernel(), n_projections=8, **{**kw, "rng": 4})
    assert not np.array_equal(a.particles, c.particles)


def test_sliced_flow_with_noise_injection_runs_and_records():
    X0, Y = _samples(100, 120, 2, seed=10)
    r = mmd_flow(
        X0,
        Y,
        EnergyKernel(),
        step=0.5,
        n_steps=5,
        noise=0.1,
        rng=0,
        record_every=1,
        n_projections=4,
    )
    assert np.all(np.isfinite(r.loss)) and np.all(r.grad_sq_norm > 0)
    np.testing.assert_array_equal(r.beta, 0.1)  # the noise level reached the sliced flow


def test_field_state_is_a_generator_and_the_field_keeps_none():
    X, Y = _samples(20, 20, 2, seed=11)
    field = SlicedMMDVelocity(Y, 4, seed=5)
    s1 = field.init(X)
    v1 = field(X, s1).velocity
    v2 = field(X, field.init(X)).velocity  # a fresh init repeats the directions
    np.testing.assert_array_equal(v1, v2)
    with pytest.raises(ValueError, match="Generator"):
        SlicedMMDVelocity(Y, 4, seed=np.random.default_rng(0))


def test_projections_need_the_energy_kernel():
    X0, Y = _samples(10, 10, 2)
    with pytest.raises(ValueError, match="energy kernel"):
        mmd_flow(X0, Y, GaussianKernel(1.0), step=0.1, n_steps=2, n_projections=4)


def test_fast_merge_route_agrees_with_the_general_sort_route():
    # _one_direction counts targets below each particle with a merge (no ties); the general
    # route sorts all points with signed weights. Same g and F_1 up to rounding of the sums.
    from kernelflows.divergences.sliced import _one_direction, _one_direction_ties

    rng = np.random.default_rng(12)
    # ties: none; a particle on a target point (general route); two target points (fast route:
    # g at the particles does not see them, and F_1 needs no tie rule)
    for tie in ("none", "xy", "yy"):
        px, py = rng.normal(size=300), rng.normal(size=200) + 0.3
        if tie == "xy":
            px[7] = py[3]
        if tie == "yy":
            py[5] = py[6]
        fast, slow = np.empty(300), np.empty(300)
        F_fast = _one_direction(px, py, fast, True)[0]
        F_slow = _one_direction_ties(px, py, slow, True)
        np.testing.assert_allclose(fast, slow, rtol=0, atol=1e-13)
        assert F_fast == pytest.approx(F_slow, rel=1e-11)
