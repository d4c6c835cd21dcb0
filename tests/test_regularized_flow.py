"""Tests for the flows of the MMD-regularized f-divergences: the KL case against KALE flow, the
first steps against computations by hand, the certificate at every step."""

import numpy as np
import pytest

from kernelflows.divergences import (
    KaleConvergenceError,
    kale,
    mean_speed2,
    regularized_divergence,
    tsallis,
)
from kernelflows.flows import KaleVelocity, RegularizedVelocity, kale_flow, regularized_flow
from kernelflows.kernels import GaussianKernel


def _clouds(n=25, m=20, seed=0):
    rng = np.random.default_rng(seed)
    X0 = 0.2 * rng.standard_normal((n, 2))
    Y = 0.6 * rng.standard_normal((m, 2)) + [1.0, 0.3]
    return X0, Y


def _witness_error(gap, lam, bandwidth):
    """A certified bound on sup |grad h - grad h*|: D is lam-strongly concave in h, so a gap g
    gives ||h - h*||_H^2 <= 2 g / lam, and |d_i h(x)| <= ||h||_H ||d_i k(x, .)||_H = ||h||_H / s
    for the Gaussian kernel of bandwidth s."""
    return np.sqrt(2.0 * np.maximum(gap, 0.0) / lam) / bandwidth


@pytest.mark.parametrize("lam", [0.05, 1.0])
def test_kl_flow_is_kale_flow_with_the_step_divided_by_one_plus_lambda(lam):
    X0, Y = _clouds()
    s, step = 0.7, 0.2
    k = GaussianKernel(s)
    reg = regularized_flow(X0, Y, k, "kl", lam=lam, step=step, n_steps=30, record_every=1)
    ka = kale_flow(X0, Y, k, lam=lam, step=step / (1 + lam), n_steps=30)
    field = KaleVelocity(Y, k, lam=lam, tol=1e-12)
    for n in range(30):  # each step of the regularized flow is KALE flow's, step / (1 + lam)
        X = reg.trajectory[n]
        v_kale = field(X, field.init(X)).velocity
        bound = _witness_error(reg.step_info["duality_gap"][n], lam, s)
        bound += _witness_error(1e-12 / (1 + lam), lam, s)  # KALE's gap in D units
        moved = reg.trajectory[n + 1] - X
        np.testing.assert_allclose(moved, step / (1 + lam) * v_kale, atol=step * bound + 1e-15)
    # the whole trajectories agree to the flows' certified gaps: at each step the two moves
    # differ by at most step x the witness errors of the two gaps (the flows' own amplification
    # over the 30 steps neglected). Measured: 1.1e-5 at most (KALE flow's steps are certified to
    # its tol 1e-9 and no better: an extrapolated start that certifies takes no Newton step)
    errors = _witness_error(reg.step_info["duality_gap"], lam, s)
    errors += _witness_error(ka.step_info["duality_gap"] / (1 + lam), lam, s)
    np.testing.assert_allclose(reg.trajectory, ka.trajectory, atol=step * np.sum(errors))
    for n in (0, 10, 30):  # the loss is KALE / (1 + lam) at the same particles
        ref = kale(reg.trajectory[n], Y, k, lam=lam, tol=1e-12)
        slack = (1 + lam) * reg.extras["duality_gap"][n] + ref.duality_gap + 1e-14
        assert reg.loss[n] * (1 + lam) == pytest.approx(ref.value, abs=slack)
    assert np.max(np.abs(reg.particles - X0)) > 0.05  # the particles did move


def _chi2_witness_by_hand(X, Y, s, lam):
    """grad h* for chi^2 where sigma stays positive: (2 m I + K / lam) alpha = 2 + kbar / lam,
    h* = (mean_j k(x_j, .) - sum_i alpha_i k(y_i, .)) / lam."""

    def gram(A, B):
        return np.exp(-((A[:, None] - B[None]) ** 2).sum(-1) / (2 * s * s))

    m = len(Y)
    K, kbar = gram(Y, Y), gram(Y, X).mean(1)
    alpha = np.linalg.solve(2 * m * np.eye(m) + K / lam, 2.0 + kbar / lam)
    assert np.all(alpha > 0) and np.all((kbar - K @ alpha) / lam > -2)  # the regime

    def grad(Z, C, w):  # sum_c w_c grad_z k(z, c)
        return -np.einsum("zc,c,zcd->zd", gram(Z, C), w, Z[:, None] - C[None]) / (s * s)

    return (grad(X, X, np.full(len(X), 1 / len(X))) - grad(X, Y, alpha)) / lam


def test_chi2_flow_first_steps_by_hand():
    X0, Y = _clouds(15, 12, seed=1)
    s, lam, step = 0.8, 0.5, 0.3
    k = GaussianKernel(s)
    res = regularized_flow(X0, Y, k, "chi2", lam=lam, step=step, n_steps=3, record_every=1)
    for n in range(3):
        X = res.trajectory[n]
        expected = X - step * _chi2_witness_by_hand(X, Y, s, lam)
        bound = step * _witness_error(res.step_info["duality_gap"][n], lam, s)
        np.testing.assert_allclose(res.trajectory[n + 1], expected, atol=bound + 1e-14)
    # and three steps by hand from X0 alone (the certified bounds, summed, with room for the
    # velocity's Lipschitz growth over three steps)
    X = X0.copy()
    for _ in range(3):
        X = X - step * _chi2_witness_by_hand(X, Y, s, lam)
    gaps = res.step_info["duality_gap"]
    np.testing.assert_allclose(
        res.particles, X, atol=10 * step * _witness_error(gaps, lam, s).sum() + 1e-13
    )
    assert np.max(np.abs(res.particles - X0)) > 0.01


@pytest.mark.parametrize("div", ["js", "tv", tsallis(3)])
def test_flow_steps_follow_cold_certified_solves(div):
    # every warm-started step equals a cold solve of the same particles: X <- X - step grad h*
    X0, Y = _clouds(12, 10, seed=2)
    s, lam, step = 0.8, 0.2, 0.1
    k = GaussianKernel(s)
    res = regularized_flow(X0, Y, k, div, lam=lam, step=step, n_steps=4, record_every=1, tol=1e-10)
    for n in range(4):
        cold = regularized_divergence(res.trajectory[n], Y, k, div, lam=lam, tol=1e-10)
        expected = res.trajectory[n] - step * cold.witness.grad(res.trajectory[n])
        gaps = res.step_info["duality_gap"][n], cold.duality_gap
        bound = step * sum(_witness_error(g, lam, s) for g in gaps)
        np.testing.assert_allclose(res.trajectory[n + 1], expected, atol=bound + 1e-15)
        assert res.loss[n] == pytest.approx(cold.value, abs=sum(gaps) + 1e-15)
    assert np.all(res.step_info["duality_gap"] <= 1e-10 * np.maximum(1.0, res.loss[:-1]))


def test_velocity_field_contract_with_noise_and_its_loss():
    X0, Y = _clouds(10, 8, seed=3)
    s, lam = 0.9, 0.3
    k = GaussianKernel(s)
    field = RegularizedVelocity(Y, k, "js", lam=lam)
    state = field.init(X0)
    at = X0 + 0.1
    out = field(X0, state, at=at, record=True)
    cold = regularized_divergence(X0, Y, k, "js", lam=lam, tol=1e-9)
    gap = out.info["duality_gap"]
    bound = _witness_error(gap, lam, s) + _witness_error(cold.duality_gap, lam, s)
    np.testing.assert_allclose(out.velocity, -cold.witness.grad(at), atol=bound)
    assert out.loss == pytest.approx(cold.value, abs=gap + cold.duality_gap)
    speed2 = np.mean(np.sum(cold.witness.grad(X0) ** 2, 1))
    assert mean_speed2(out.particle_velocity) == pytest.approx(
        speed2, abs=3 * bound * np.sqrt(speed2) + bound**2
    )
    res = regularized_flow(X0, Y, k, "tv", lam=lam, step=0.1, n_steps=5, noise=0.1, rng=4)
    again = regularized_flow(X0, Y, k, "tv", lam=lam, step=0.1, n_steps=5, noise=0.1, rng=4)
    np.testing.assert_array_equal(res.particles, again.particles)  # reproducible from rng


def test_bad_input():
    X0, Y = _clouds()
    k = GaussianKernel(1.0)
    with pytest.raises(ValueError, match="divergence"):
        regularized_flow(X0, Y, k, "nope", lam=1.0, step=0.1, n_steps=2)
    with pytest.raises(ValueError, match="lam"):
        regularized_flow(X0, Y, k, "kl", lam=-1.0, step=0.1, n_steps=2)
    with pytest.raises(ValueError, match="dimension"):
        regularized_flow(X0[:, :1], Y, k, "kl", lam=1.0, step=0.1, n_steps=2)
    with pytest.raises(KaleConvergenceError, match="tol"):
        regularized_flow(X0, Y, k, "js", lam=1e-3, step=0.1, n_steps=2, tol=1e-17)
