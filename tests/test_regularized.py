"""Tests for the MMD-regularized f-divergences (Moreau envelopes): closed forms, limits,
independent solves and the KL case against KALE."""

import numpy as np
import pytest
from scipy import optimize
from scipy.special import xlogy

from kernelflows.divergences import (
    CHI2,
    DIVERGENCES,
    KL,
    KaleConvergenceError,
    PhiDivergence,
    discrete_divergence,
    kale,
    mmd2,
    regularized_divergence,
    tsallis,
)
from kernelflows.divergences.regularized import RegularizedProblem, entropy_of
from kernelflows.kernels import GaussianKernel

# the entropies f (normalised: f(1) = 0 = min f) written out here, independently of the package
F = {
    "kl": lambda p: xlogy(p, p) - p + 1.0,
    "chi2": lambda p: (p - 1.0) ** 2,
    "tsallis3": lambda p: (p**3 - 3.0 * p + 2.0) / 2.0,
    "reverse_kl": lambda p: p - 1.0 - np.log(p),
    "js": lambda p: 0.5 * (xlogy(p, p) - (p + 1.0) * np.log((p + 1.0) / 2.0)),
}
FP = {  # their derivatives f'
    "kl": lambda p: np.log(p),
    "chi2": lambda p: 2.0 * (p - 1.0),
    "tsallis3": lambda p: 1.5 * (p * p - 1.0),
    "reverse_kl": lambda p: 1.0 - 1.0 / p,
    "js": lambda p: 0.5 * np.log(2.0 * p / (p + 1.0)),
}
BOUND = {"kl": np.inf, "chi2": np.inf, "tsallis3": np.inf, "reverse_kl": 1.0, "js": 0.5 * np.log(2)}
FSTAR = {  # their conjugates f* and (f*)'
    "kl": (np.expm1, np.exp),
    "chi2": (
        lambda h: np.where(h >= -2.0, h + h * h / 4.0, -1.0),
        lambda h: np.maximum(1 + h / 2, 0),
    ),
    "tsallis3": (
        lambda h: np.maximum(1.0 + 2.0 * h / 3.0, 0.0) ** 1.5 - 1.0,
        lambda h: np.sqrt(np.maximum(1.0 + 2.0 * h / 3.0, 0.0)),
    ),
    "reverse_kl": (lambda h: -np.log1p(-h), lambda h: 1.0 / (1.0 - h)),
    "js": (
        lambda h: -0.5 * np.log(2.0 - np.exp(2.0 * h)),
        lambda h: np.exp(2.0 * h) / (2.0 - np.exp(2.0 * h)),
    ),
}


def _div(name):
    return tsallis(3) if name == "tsallis3" else name


def _samples(n=14, m=12, seed=0, shift=0.7):
    rng = np.random.default_rng(seed)
    X = rng.standard_normal((n, 2))
    Y = 0.8 * rng.standard_normal((m, 2)) + shift
    return X, Y


def _primal_by_scipy(X, Y, k, name, lam):
    """min over sigma = sum_i (p_i / m) delta_{y_i} + sum_j s_j delta_{x_j} (p, s >= 0) by
    L-BFGS-B: an upper bound on D_{f,lam} from any point it returns. Total variation
    |p - 1| / 2 is written with p = 1 + b - a, a in [0, 1], b >= 0 (linear in (a, b))."""
    n, m = len(X), len(Y)
    Z = np.vstack([Y, X])
    G = k(Z, Z)
    mu = np.concatenate([np.zeros(m), np.full(n, 1.0 / n)])
    finite = name in ("reverse_kl", "js", "tv")
    bound = 0.5 if name == "tv" else BOUND[name]
    tv = name == "tv"
    width = 2 * m if tv else m

    def objective(v):
        s = v[width:] if finite else np.zeros(n)
        if tv:
            a, b = v[:m], v[m : 2 * m]
            p = 1.0 + b - a
            ent = 0.5 * np.mean(a + b)
        else:
            p = v[:m]
            ent = np.mean(F[name](p))
        e = mu - np.concatenate([p / m, s])
        Ge = G @ e / lam
        val = ent + (bound * s.sum() if finite else 0.0) + 0.5 * e @ Ge
        dz = -Ge  # the quadratic's gradient in z = [p / m, s]
        if tv:
            grad = np.concatenate([0.5 / m - dz[:m] / m, 0.5 / m + dz[:m] / m])
        else:
            grad = FP[name](p) / m + dz[:m] / m
        if finite:
            grad = np.concatenate([grad, bound + dz[m:]])
        return val, grad

    x0 = np.concatenate([np.full(m, 1e-3), np.full(m, 1e-3)]) if tv else np.ones(m)
    lower = 0.0 if tv or name in ("chi2", "tsallis3") else 1e-300
    bounds = [(0.0, 1.0)] * m + [(0.0, None)] * m if tv else [(lower, None)] * m
    if finite:
        x0 = np.concatenate([x0, np.full(n, 1e-3)])
        bounds += [(0.0, None)] * n
    res = optimize.minimize(
        objective,
        x0,
        jac=True,
        method="L-BFGS-B",
        bounds=bounds,
        options={"ftol": 1e-16, "gtol": 1e-13, "maxiter": 50000, "maxfun": 10**6},
    )
    return float(res.fun)


def _dual_by_scipy(X, Y, k, name, lam):
    """max over h = sum_c beta_c k(c, .), c in [X; Y], of mean h(X) - mean f*(h(Y)) - lam/2
    ||h||^2 subject to h <= f'(infinity) at the samples (SLSQP): a lower bound from any
    feasible point. Total variation's f*(h) = max(h, -1/2) is written with a slack t >= h(Y),
    t >= -1/2 (linear)."""
    n, m = len(X), len(Y)
    Z = np.vstack([X, Y])
    K = k(Z, Z)
    N = len(Z)
    bound = 0.5 if name == "tv" else BOUND[name]
    tv = name == "tv"

    def neg(v):
        beta = v[:N]
        h = K @ beta
        if tv:
            t = v[N:]
            val = h[:n].mean() - t.mean() - 0.5 * lam * beta @ h
            grad = np.concatenate([K[:, :n].mean(1) - lam * h, -np.ones(m) / m])
            return -val, -grad
        fs, dfs = FSTAR[name]
        val = h[:n].mean() - fs(h[n:]).mean() - 0.5 * lam * beta @ h
        grad = K[:, :n].mean(1) - K[:, n:] @ dfs(h[n:]) / m - lam * h
        return -val, -grad

    cons = []
    if np.isfinite(bound):  # h <= bound (a margin keeps f* finite at the line search's points)
        A = np.hstack([-K, np.zeros((N, m))]) if tv else -K
        cons.append(
            {"type": "ineq", "fun": lambda v: bound * (1 - 1e-9) + A @ v, "jac": lambda v: A}
        )
    if tv:  # t >= h(Y), t >= -1/2
        A2 = np.hstack([-K[n:], np.eye(m)])
        A3 = np.hstack([np.zeros((m, N)), np.eye(m)])
        cons.append({"type": "ineq", "fun": lambda v: A2 @ v, "jac": lambda v: A2})
        cons.append({"type": "ineq", "fun": lambda v: 0.5 + A3 @ v, "jac": lambda v: A3})
    v0 = np.zeros(N + (m if tv else 0))
    if cons:
        options = {"ftol": 1e-15, "maxiter": 5000}
        res = optimize.minimize(
            neg, v0, jac=True, method="SLSQP", constraints=cons, options=options
        )
    else:
        options = {"ftol": 1e-16, "gtol": 1e-13, "maxiter": 50000}
        res = optimize.minimize(neg, v0, jac=True, method="L-BFGS-B", options=options)
    h = K @ res.x[:N]
    assert not np.isfinite(bound) or h.max() <= bound  # a feasible point: a true lower bound
    if tv:  # the value at beta with the best slack t = max(h(Y), -1/2)
        return float(h[:n].mean() - np.maximum(h[n:], -0.5).mean() - 0.5 * lam * res.x[:N] @ h)
    return -float(neg(res.x)[0])


NAMES = ["kl", "chi2", "tsallis3", "reverse_kl", "js", "tv"]


@pytest.mark.parametrize("name", NAMES)
@pytest.mark.parametrize("lam", [0.1, 1.0])
def test_value_bracketed_by_independent_primal_and_dual_solves(name, lam):
    X, Y = _samples()
    k = GaussianKernel(1.0)
    res = regularized_divergence(X, Y, k, _div(name), lam=lam, tol=1e-11)
    upper = _primal_by_scipy(X, Y, k, name, lam)
    lower = _dual_by_scipy(X, Y, k, name, lam)
    # weak duality: every primal point lies above every dual point; the certified value is a
    # dual point (a lower bound) within its gap of the optimum. Slack 1e-12: rounding
    assert lower <= res.value + res.duality_gap + 1e-12
    assert res.value <= upper + 1e-12
    # and the independent solves pin the value down (scipy's own accuracy here: the value lies
    # within 3.2e-10 of both; 1e-8 leaves room across BLAS builds)
    assert upper - lower < 1e-8 * max(1.0, res.value)


@pytest.mark.parametrize("lam", [1e-3, 0.1, 1.0, 30.0])
def test_kl_case_is_kale_over_one_plus_lambda(lam):
    # D_{KL,lam} = max_h E_P h - E_Q (exp h - 1) - lam/2 ||h||^2 = KALE_lam / (1 + lam),
    # with the same maximiser h* = f*
    X, Y = _samples(30, 25, seed=3)
    k = GaussianKernel(0.9)
    reg = regularized_divergence(X, Y, k, "kl", lam=lam, tol=1e-12)
    ka = kale(X, Y, k, lam=lam, tol=1e-12)
    slack = reg.duality_gap * (1 + lam) + ka.duality_gap + 1e-13
    assert reg.value * (1 + lam) == pytest.approx(ka.value, abs=slack)
    Z = np.random.default_rng(0).standard_normal((20, 2))
    # the witnesses of two certified solves agree to the gaps' accuracy (1e-12 -> ~1e-6)
    np.testing.assert_allclose(reg.witness(Z), ka.witness(Z), atol=1e-5)
    np.testing.assert_allclose(reg.alpha, ka.alpha, rtol=1e-5)


def test_tsallis_two_is_chi2_and_the_conjugates_are_sups():
    u = np.linspace(0, 6, 61)
    np.testing.assert_allclose(tsallis(2).phi(u), CHI2.phi(u), atol=1e-12)
    v = np.linspace(-5, 3, 33)
    np.testing.assert_allclose(tsallis(2).conjugate(v), CHI2.conjugate(v), atol=1e-12)
    grid = np.linspace(0, 50, 500001)
    for a in (1.5, 3.0):
        div = tsallis(a)
        assert div.phi(np.array([1.0]))[0] == 0.0 and div.critic(np.array([1.0]))[0] == 0.0
        # phi*(v) = sup_{u >= 0} u v - phi(u), by brute force on a grid (step 1e-4 in u)
        brute = np.array([np.max(grid * x - div.phi(grid)) for x in v])
        np.testing.assert_allclose(div.conjugate(v), brute, atol=1e-6)
    assert tsallis(3) is tsallis(3.0)  # one object per alpha


def test_chi2_closed_form_where_sigma_stays_positive():
    # Tsallis 2: f(p) = (p - 1)^2 makes the primal a quadratic; where its minimiser has
    # alpha > 0 (h* > f'(0) = -2 at the Q samples), (2 m I + K / lam) alpha = 2 + kbar / lam
    X, Y = _samples(20, 16, seed=5, shift=0.3)
    k = GaussianKernel(1.2)
    m, lam = len(Y), 0.5
    K, kbar = k(Y, Y), k(Y, X).mean(axis=1)
    c = k(X, X).mean()
    alpha = np.linalg.solve(2 * m * np.eye(m) + K / lam, 2.0 + kbar / lam)
    h = (kbar - K @ alpha) / lam
    assert np.all(alpha > 0) and np.all(h > -2)  # the closed form's regime
    value = (c - alpha @ K @ alpha) / (2 * lam) - np.mean(h + h * h / 4)
    res = regularized_divergence(X, Y, k, "chi2", lam=lam, tol=1e-12)
    assert res.value == pytest.approx(value, rel=1e-9)  # both to rounding (the gap is 1e-12)
    np.testing.assert_allclose(res.alpha, alpha, rtol=1e-6)


@pytest.mark.parametrize("lam", [1.0, 10.0])
def test_total_variation_is_mmd_over_two_lambda_at_large_lambda(lam):
    # f*(h) = h on [-1/2, 1/2]: where the MMD witness (mu_P - mu_Q) / lam stays in that box at
    # the samples, h = (mu_P - mu_Q) / lam is optimal (sigma = nu) and D = MMD_b^2 / (2 lam)
    X, Y = _samples(15, 12, seed=1)
    k = GaussianKernel(1.0)
    delta = np.concatenate([k(X, X).mean(1) - k(X, Y).mean(1), k(Y, X).mean(1) - k(Y, Y).mean(1)])
    assert np.max(np.abs(delta)) / lam <= 0.5  # the regime (0.30 at lam = 1)
    res = regularized_divergence(X, Y, k, "tv", lam=lam, tol=1e-11)
    exact = mmd2(X, Y, k, estimator="biased") / (2 * lam)
    assert res.value == pytest.approx(exact, abs=1e-11 + res.duality_gap)
    np.testing.assert_allclose(res.alpha, 1.0 / len(Y), atol=1e-7)  # sigma = nu
    assert np.max(res.singular) < 1e-7


@pytest.mark.parametrize(
    "name,kappa",
    [("kl", 1.0), ("chi2", 0.5), ("tsallis3", 1 / 3), ("reverse_kl", 1.0), ("js", 4.0)],
)
def test_large_lambda_expansion(name, kappa):
    # f*(h) = h + kappa h^2 / 2 + O(h^3) with kappa = f*''(0) = 1 / f''(1), and h* = Dm / lam +
    # O(lam^-2), Dm = mu_P - mu_Q, so lam D_{f,lam} = MMD_b^2 / 2 - kappa E_Q Dm^2 / (2 lam)
    # + O(lam^-2): checked to 2% of the second-order term at lam = 300 (the third order is
    # ~ |Dm| / lam of it: ~1e-3 here)
    X, Y = _samples(15, 12, seed=2)
    k = GaussianKernel(1.0)
    lam = 300.0
    dm = k(Y, X).mean(1) - k(Y, Y).mean(1)
    second = kappa * np.mean(dm**2) / (2 * lam)
    res = regularized_divergence(X, Y, k, _div(name), lam=lam, tol=1e-13)
    expected = mmd2(X, Y, k, estimator="biased") / 2 - second
    assert lam * res.value == pytest.approx(expected, abs=0.02 * second)
    assert lam * res.duality_gap < 1e-3 * second  # the certificate resolves the term


def _discrete(points, p_counts, q_counts):
    X = np.repeat(points, p_counts, axis=0)
    Y = np.repeat(points, q_counts, axis=0)
    return X, Y, np.asarray(p_counts) / sum(p_counts), np.asarray(q_counts) / sum(q_counts)


@pytest.mark.parametrize("name", NAMES)
def test_small_lambda_limit_on_a_common_finite_support(name):
    # samples with repetitions on six points, Q on the first five; P on all six for the
    # finite-recession entropies (mass off Q's support), on the first five otherwise. The
    # envelope lies between D_f - lam/2 ||h_bar||^2 and D_f(P | Q) (phi.discrete_divergence,
    # independent), h_bar the least-norm RKHS function equal to the optimal critic at the points.
    pts = np.array([[0.0, 0.0], [1.0, 0.0], [0.0, 1.0], [1.0, 1.0], [2.0, 0.5], [-1.0, 0.5]])
    finite = name in ("reverse_kl", "js", "tv")
    p_counts = [3, 1, 2, 4, 2, 2 if finite else 0]
    q_counts = [2, 3, 3, 1, 3, 0]
    keep = [i for i in range(6) if p_counts[i] or q_counts[i]]
    pts, p_counts, q_counts = pts[keep], np.array(p_counts)[keep], np.array(q_counts)[keep]
    X, Y, p, q = _discrete(pts, p_counts, q_counts)
    k = GaussianKernel(0.6)
    phi = DIVERGENCES.get(name, tsallis(3))
    exact = discrete_divergence(phi, p, q)
    # the critic: f'(p/q) of the normalised entropy, f'(infinity) where q = 0
    with np.errstate(divide="ignore"):
        ratio = np.where(q > 0, p / np.where(q > 0, q, 1), np.inf)
    crit = np.array(
        [
            phi.critic(np.array([r]))[0] - phi.critic(np.array([1.0]))[0]
            if np.isfinite(r)
            else phi.slope_at_infinity - phi.critic(np.array([1.0]))[0]
            for r in ratio
        ]
    )
    if name == "tv":  # a subgradient in [-1/2, 1/2], the sign of p - q
        crit = 0.5 * np.sign(p - q)
    norm2 = crit @ np.linalg.solve(k(pts, pts), crit)
    # tol: the barrier path of a finite f'(infinity) certifies 1e-7 at lam = 1e-3 on these
    # repeated samples (a degenerate problem: sigma's mass at a point of both samples can sit
    # on the copy in Q or in P at the same price); the band tested is 1e-3 wide
    tol = 1e-7 if finite else 1e-10
    for lam in (1e-2, 1e-3):
        res = regularized_divergence(X, Y, k, _div(name), lam=lam, tol=tol)
        # value <= optimum <= value + gap; slack 1e-12: rounding of values of size 1
        assert exact - 0.5 * lam * norm2 - 1e-12 <= res.value + res.duality_gap
        assert res.value <= exact + 1e-12
    assert exact - res.value > 0  # the envelope sits strictly below D_f here


@pytest.mark.parametrize("name", ["chi2", "js", "tv"])
def test_value_derivative_in_the_particles_is_the_witness_gradient(name):
    # envelope theorem: d D / d x_j = (1/n - s_j) grad h*(x_j) (s_j: sigma's mass on x_j, which
    # moves with it; zero for an infinite f'(infinity)). Central differences with step 1e-4:
    # O(eps^2) truncation ~1e-8 and certified gaps 1e-11 / eps = 1e-7, so 1e-6 absolute
    X, Y = _samples(10, 9, seed=4)
    k = GaussianKernel(1.0)
    lam = 0.3
    res = regularized_divergence(X, Y, k, name, lam=lam, tol=1e-11)
    grad = (1.0 / len(X) - res.singular)[:, None] * res.witness.grad(X)
    eps = 1e-4
    for j, a in [(0, 0), (3, 1), (7, 0)]:
        Xp, Xm = X.copy(), X.copy()
        Xp[j, a] += eps
        Xm[j, a] -= eps
        fp = regularized_divergence(Xp, Y, k, name, lam=lam, tol=1e-11).value
        fm = regularized_divergence(Xm, Y, k, name, lam=lam, tol=1e-11).value
        assert (fp - fm) / (2 * eps) == pytest.approx(grad[j, a], abs=1e-6)
    assert np.max(np.abs(grad)) > 1e-3  # not vacuous


def test_identical_samples_give_zero_and_sigma_nu():
    X, _ = _samples(12, 12, seed=6)
    k = GaussianKernel(1.0)
    for name in NAMES:
        res = regularized_divergence(X, X, k, _div(name), lam=0.2, tol=1e-12)
        assert 0.0 <= res.value <= 1e-11
        np.testing.assert_allclose(res.alpha + res.singular, 1.0 / len(X), atol=1e-6)


def test_warm_start_and_problem_reuse():
    X, Y = _samples(20, 18, seed=7)
    k = GaussianKernel(1.0)
    problem = RegularizedProblem(X, Y, k, "js")
    cold = problem.solve(lam=0.1, tol=1e-10)
    again = problem.solve(lam=0.1, tol=1e-10, start=cold)
    assert again.newton_steps == 0 and again.value == pytest.approx(
        cold.value, abs=cold.duality_gap
    )
    near = problem.solve(lam=0.12, tol=1e-10, start=cold)
    fresh = problem.solve(lam=0.12, tol=1e-10)
    assert near.value == pytest.approx(fresh.value, abs=2e-10)


def test_bad_input_and_refusals():
    X, Y = _samples()
    k = GaussianKernel(1.0)
    with pytest.raises(ValueError, match="divergence"):
        regularized_divergence(X, Y, k, "hellinger", lam=1.0)
    own = PhiDivergence("mine", KL.phi, KL.conjugate, KL.critic, 0.0, np.inf)
    with pytest.raises(ValueError, match="no Newton entropy"):
        entropy_of(own)
    with pytest.raises(ValueError, match="alpha"):
        tsallis(1.0)
    with pytest.raises(ValueError, match="lam"):
        regularized_divergence(X, Y, k, "kl", lam=0.0)
    with pytest.raises(ValueError, match="warm_start"):
        regularized_divergence(X, Y, k, "kl", lam=1.0, warm_start=np.ones(3))
    with pytest.raises(KaleConvergenceError, match="tol"):
        regularized_divergence(X, Y, k, "chi2", lam=1.0, tol=1e-17)
    with pytest.raises(KaleConvergenceError, match="Jensen-Shannon dual solver ran out"):
        regularized_divergence(X, Y, k, "js", lam=0.01, tol=1e-12, max_iter=2)
