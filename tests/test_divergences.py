"""Tests for kernelflows.divergences: phi-divergences against their definitions."""

import itertools

import numpy as np
import pytest
from scipy import stats

from kernelflows.divergences import (
    CHI2,
    DIVERGENCES,
    JENSEN_SHANNON,
    KL,
    REVERSE_KL,
    TOTAL_VARIATION,
    chi2_gaussians,
    discrete_divergence,
    divergence_1d,
    gaussian_log_ratio,
    get_divergence,
    kl_gaussians,
    tv_gaussians_equal_cov,
    variational_objective,
)


def _random_pair(rng, k=6):
    p = rng.dirichlet(np.ones(k))
    q = rng.dirichlet(np.ones(k))
    return p, q


def test_discrete_divergences_match_their_definitions():
    rng = np.random.default_rng(0)
    p, q = _random_pair(rng)
    m = (p + q) / 2
    kl = float(np.sum(p * np.log(p / q)))
    # rounding only: a sum of six terms
    assert discrete_divergence(KL, p, q) == pytest.approx(kl, rel=1e-12)
    assert discrete_divergence(REVERSE_KL, p, q) == pytest.approx(
        float(np.sum(q * np.log(q / p))), rel=1e-12
    )
    assert discrete_divergence(CHI2, p, q) == pytest.approx(
        float(np.sum((p - q) ** 2 / q)), rel=1e-12
    )
    js = 0.5 * np.sum(p * np.log(p / m)) + 0.5 * np.sum(q * np.log(q / m))
    assert discrete_divergence(JENSEN_SHANNON, p, q) == pytest.approx(js, rel=1e-12)


def test_total_variation_is_sup_over_events():
    # TV = sup_A |P(A) - Q(A)|, by brute force over all 2^6 events
    rng = np.random.default_rng(1)
    p, q = _random_pair(rng)
    best = max(
        abs(p[list(A)].sum() - q[list(A)].sum())
        for r in range(len(p) + 1)
        for A in itertools.combinations(range(len(p)), r)
    )
    assert discrete_divergence(TOTAL_VARIATION, p, q) == pytest.approx(best, rel=1e-12)


def test_disjoint_support_values():
    p = np.array([0.5, 0.5, 0.0, 0.0])
    q = np.array([0.0, 0.0, 0.3, 0.7])
    expected = {
        "kl": np.inf,
        "reverse_kl": np.inf,
        "chi2": np.inf,
        "js": np.log(2.0),
        "tv": 1.0,
    }
    for name, value in expected.items():
        div = get_divergence(name)
        assert discrete_divergence(div, p, q) == pytest.approx(value)
        assert div.disjoint_value == pytest.approx(value)
    # the midpoint definition of JS, written out: each half-KL is (1/2) log 2
    m = (p + q) / 2
    js_def = 0.5 * np.sum(p[:2] * np.log(p[:2] / m[:2])) + 0.5 * np.sum(
        q[2:] * np.log(q[2:] / m[2:])
    )
    assert js_def == pytest.approx(np.log(2.0), rel=1e-14)


@pytest.mark.parametrize("name", sorted(DIVERGENCES))
def test_conjugate_is_the_sup_over_u(name):
    div = DIVERGENCES[name]
    u = np.concatenate([np.linspace(1e-9, 10, 200001), np.geomspace(10, 1e4, 20001)])
    phi = div.phi(u)
    for v in [-3.0, -1.0, -0.4, 0.0, 0.2, 0.3]:
        conj = float(div.conjugate(np.array([v]))[0])
        if not np.isfinite(conj):
            # outside the domain the sup is unbounded: u v - phi(u) grows along the grid
            assert np.max(u * v - phi) > 5
            continue
        grid_sup = float(np.max(u * v - phi))
        # the grid maximiser is within 5e-5 of the true one; the sup is flat there (tol 1e-6)
        assert grid_sup == pytest.approx(conj, abs=1e-6)


@pytest.mark.parametrize("name", ["kl", "reverse_kl", "chi2", "js"])
def test_fenchel_young_equality_at_the_critic(name):
    # phi*(phi'(u)) = u phi'(u) - phi(u): the tangent of slope phi'(u) has intercept -phi*
    div = DIVERGENCES[name]
    u = np.array([0.1, 0.5, 1.0, 2.0, 7.0])
    v = div.critic(u)
    # rounding only
    np.testing.assert_allclose(div.conjugate(v), u * v - div.phi(u), rtol=1e-12, atol=1e-14)


def test_phi_is_one_zero_at_one():
    for div in DIVERGENCES.values():
        assert float(div.phi(np.array([1.0]))[0]) == 0.0


def _gauss_logpdf(mu, s):
    return lambda z: stats.norm.logpdf(z, mu, s)


def test_gaussian_closed_forms_against_quadrature():
    a, sa, b, sb = 0.3, 0.8, -0.5, 1.3
    lp, lq = _gauss_logpdf(a, sa), _gauss_logpdf(b, sb)
    # quadrature accuracy ~1e-9 on smooth Gaussian integrands
    assert kl_gaussians(a, sa**2, b, sb**2) == pytest.approx(divergence_1d(KL, lp, lq), rel=1e-7)
    assert kl_gaussians(b, sb**2, a, sa**2) == pytest.approx(
        divergence_1d(REVERSE_KL, lp, lq), rel=1e-7
    )
    assert chi2_gaussians(a, sa**2, b, sb**2) == pytest.approx(
        divergence_1d(CHI2, lp, lq), rel=1e-7
    )
    lq_same = _gauss_logpdf(b, sa)
    assert tv_gaussians_equal_cov(a, b, sa**2) == pytest.approx(
        divergence_1d(TOTAL_VARIATION, lp, lq_same, lower=-30, upper=30), rel=1e-7
    )


def test_chi2_infinite_when_q_has_lighter_tails():
    # 2/sp^2 - 1/sq^2 <= 0 when sq^2 <= sp^2 / 2: int p^2/q diverges
    assert chi2_gaussians(0.0, 4.0, 0.0, 1.0) == np.inf


def test_multivariate_closed_forms_factorise_over_independent_coordinates():
    a, A = np.array([0.2, -1.0]), np.array([0.5, 2.0])
    b, B = np.array([1.0, 0.5]), np.array([1.5, 1.2])
    kl_sum = sum(kl_gaussians(a[i], A[i], b[i], B[i]) for i in range(2))
    assert kl_gaussians(a, A, b, B) == pytest.approx(kl_sum, rel=1e-12)  # rounding only
    prod = np.prod([1 + chi2_gaussians(a[i], A[i], b[i], B[i]) for i in range(2)])
    assert chi2_gaussians(a, A, b, B) == pytest.approx(prod - 1, rel=1e-10)  # rounding only
    # full covariance: rotating both Gaussians leaves KL unchanged
    R = np.array([[np.cos(0.7), -np.sin(0.7)], [np.sin(0.7), np.cos(0.7)]])
    rot = kl_gaussians(R @ a, R @ np.diag(A) @ R.T, R @ b, R @ np.diag(B) @ R.T)
    assert rot == pytest.approx(kl_sum, rel=1e-10)


def _expect(mu, s, g, order=80):
    # E g(Z), Z ~ N(mu, s^2), by Gauss-Hermite quadrature
    x, w = np.polynomial.hermite_e.hermegauss(order)
    return float(np.sum(w * g(mu + s * x)) / np.sqrt(2 * np.pi))


def test_variational_bound_tight_at_log_ratio_not_at_its_inverse():
    # slide "Case of the KL": KL >= E_P f + 1 - E_Q exp f; tight at f = log(p/q)
    # sb^2 < 2 sa^2 keeps chi^2(Q || P) finite (with sb = 1.5 the slide's f would give -inf)
    a, sa, b, sb = 0.0, 1.0, 1.0, 1.2
    kl = kl_gaussians(a, sa**2, b, sb**2)
    assert chi2_gaussians(b, 1.5**2, a, sa**2) == np.inf
    log_ratio = gaussian_log_ratio(a, sa**2, b, sb**2)

    def bound(f):
        return _expect(a, sa, f) + 1 - _expect(b, sb, lambda z: np.exp(f(z)))

    # Gauss-Hermite with 80 nodes is exact to ~1e-12 for these smooth integrands
    assert bound(lambda z: log_ratio(z)) == pytest.approx(kl, rel=1e-9)
    # the slide's f = log(q/p): E_P log(q/p) = -KL(P||Q), E_Q q/p = 1 + chi^2(Q||P)
    slide = bound(lambda z: -log_ratio(z))
    assert slide == pytest.approx(-kl - chi2_gaussians(b, sb**2, a, sa**2), rel=1e-9)
    assert slide < 0 < kl
    # any other f gives less
    rng = np.random.default_rng(3)
    for _ in range(5):
        c = rng.normal(scale=0.3, size=3)
        assert bound(lambda z, c=c: log_ratio(z) + c[0] + c[1] * z + c[2] * z**2 / 4) < kl


def test_variational_objective_generic_form():
    # E_P f - E_Q phi*(f) at f = phi'(p/q) recovers D_phi (quadrature on a grid of atoms)
    rng = np.random.default_rng(4)
    p, q = _random_pair(rng, 8)
    for name in ["kl", "chi2", "js", "reverse_kl"]:
        div = DIVERGENCES[name]
        f = div.critic(p / q)
        # weighted means as expectations: repeat-free form E_P f = sum p f
        lower = float(np.sum(p * f) - np.sum(q * div.conjugate(f)))
        assert lower == pytest.approx(discrete_divergence(div, p, q), rel=1e-10)
        f_bad = f + rng.normal(scale=0.1, size=len(f))
        assert float(np.sum(p * f_bad) - np.sum(q * div.conjugate(f_bad))) < lower
    # the sample version is the plain mean difference
    assert variational_objective(KL, [1.0, 2.0], [0.0, 1.0]) == pytest.approx(
        1.5 - np.mean(np.exp([-1.0, 0.0]))
    )


def test_bad_input():
    with pytest.raises(ValueError, match="divergence"):
        get_divergence("hellinger")
    with pytest.raises(ValueError, match="p must sum"):
        discrete_divergence(KL, [0.5, 0.6], [0.5, 0.5])
    with pytest.raises(ValueError, match="cov_q"):
        kl_gaussians(0.0, 1.0, 0.0, -1.0)
    with pytest.raises(ValueError, match="f_p"):
        variational_objective(KL, [], [1.0])
