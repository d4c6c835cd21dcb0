"""Lecture 07 exercise checks: right answers pass, typical mistakes get the words (a stub:
test_checks.py, over every check)."""

import numpy as np
import pytest
from scipy import integrate, stats
from scipy.special import ndtr

from kernelflows.course.checks import (
    CheckFailed,
    check_ex7_1_tv_js,
    check_ex7_2_chi2_conjugate,
    check_ex7_3_kl_critic,
    check_ex7_4_discrete_divergence,
)

# -- right answers, written from the definitions (not from kernelflows.divergences) ----------


def tv_js_by_hand(delta):
    """TV by the closed form 1 - 2 Phi(-delta/2); JS by quadrature of its KL-to-midpoint form."""

    def integrand(z):
        lp, lq = stats.norm.logpdf(z, 0, 1), stats.norm.logpdf(z, delta, 1)
        lm = np.logaddexp(lp, lq) - np.log(2)
        return 0.5 * np.exp(lp) * (lp - lm) + 0.5 * np.exp(lq) * (lq - lm)

    js = integrate.quad(integrand, -40, 40 + delta, limit=400, epsabs=1e-12)[0]
    return 1 - 2 * ndtr(-delta / 2), js


def chi2_conjugate_by_hand(v):
    v = np.asarray(v, dtype=float)
    u_star = np.maximum(1 + v / 2, 0.0)  # the maximiser of u v - (u - 1)^2 over u >= 0
    return u_star * v - (u_star - 1) ** 2


def kl_critic_by_hand(mp, vp, mq, vq):
    return lambda z: stats.norm.logpdf(z, mp, np.sqrt(vp)) - stats.norm.logpdf(z, mq, np.sqrt(vq))


def discrete_by_hand(div, p, q):
    total = 0.0
    for pi, qi in zip(p, q, strict=True):
        if pi > 0 and qi > 0:
            total += qi * div.phi(np.array([pi / qi]))[0]
        elif pi > 0:
            total += pi * div.slope_at_infinity
        elif qi > 0:
            total += qi * div.phi_at_zero
    return total


def test_right_answers_pass(capsys):
    check_ex7_1_tv_js(tv_js_by_hand)
    check_ex7_2_chi2_conjugate(chi2_conjugate_by_hand)
    check_ex7_3_kl_critic(kl_critic_by_hand)
    check_ex7_4_discrete_divergence(discrete_by_hand)
    out = capsys.readouterr().out.splitlines()
    assert len(out) == 4 and all("agree" in line or "log(p/q)" in line for line in out)
    assert "TV = 0.99994 < 1" in out[0]  # 1 - 2 Phi(-4) = 0.999937
    assert "2 log 2 = 1.3863" in out[3]


@pytest.mark.parametrize(
    "wrong, words",
    [
        (lambda d: tv_js_by_hand(d)[::-1], r"return \(tv, js\)"),
        (lambda d: (2 * tv_js_by_hand(d)[0], tv_js_by_hand(d)[1]), "half of it"),
        (lambda d: (tv_js_by_hand(d)[0], 2 * tv_js_by_hand(d)[1]), "f-GAN generator"),
        (lambda d: (tv_js_by_hand(d)[0], tv_js_by_hand(d)[1] / np.log(2)), "in bits"),
        (lambda d: 0.5, "pair of numbers"),
    ],
)
def test_ex1_mistakes(wrong, words):
    with pytest.raises(CheckFailed, match=words):
        check_ex7_1_tv_js(wrong)


@pytest.mark.parametrize(
    "wrong, words",
    [
        (lambda v: v + v**2 / 4, "f-GAN table"),
        (lambda v: np.where(v >= -2, v + v**2 / 4, 0.0), "wrong for v < -2"),
        (lambda v: chi2_conjugate_by_hand(v) + v**2 / 4, "you have v\\^2/2"),
        (lambda v: v**2 / 4, "linear term v is missing"),
        (lambda v: -chi2_conjugate_by_hand(v), "sign is flipped"),
        (lambda v: chi2_conjugate_by_hand(v)[:3], "shape"),
    ],
)
def test_ex2_mistakes(wrong, words):
    with pytest.raises(CheckFailed, match=words):
        check_ex7_2_chi2_conjugate(wrong)


def _shifted(c):
    return lambda *a: lambda z: kl_critic_by_hand(*a)(z) + c


@pytest.mark.parametrize(
    "wrong, words",
    [
        (lambda *a: lambda z: -kl_critic_by_hand(*a)(z), "slide's critic"),
        (_shifted(1.0), "drop the \\+ 1"),
        (lambda mp, vp, mq, vq: kl_critic_by_hand(mp, vp**2, mq, vq**2), "standard deviations"),
        (
            lambda mp, vp, mq, vq: lambda z: -((z - mp) ** 2) / (2 * vp) + (z - mq) ** 2 / (2 * vq),
            "normalising constants",
        ),
        (_shifted(0.1), "differs from log p/q"),
        (lambda *a: 0.0, "function of z"),
    ],
)
def test_ex3_mistakes(wrong, words):
    with pytest.raises(CheckFailed, match=words):
        check_ex7_3_kl_critic(wrong)


def _naive(div, p, q):
    # q * phi(p / q) everywhere: 0 * inf and 0/0 give nan
    return float(np.sum(q * div.phi(p / q)))


def _drop_q_zero(div, p, q):
    both, only_q = (p > 0) & (q > 0), (p == 0) & (q > 0)
    out = np.sum(q[both] * div.phi(p[both] / q[both]))
    return float(out + (np.sum(q[only_q]) * div.phi_at_zero if only_q.any() else 0.0))


def _drop_p_zero(div, p, q):
    both, only_p = (p > 0) & (q > 0), (p > 0) & (q == 0)
    out = np.sum(q[both] * div.phi(p[both] / q[both]))
    return float(out + (np.sum(p[only_p]) * div.slope_at_infinity if only_p.any() else 0.0))


@pytest.mark.parametrize(
    "wrong, words",
    [
        (_naive, "you returned nan"),
        (_drop_q_zero, "dropped the points where q_i = 0 < p_i"),
        (_drop_p_zero, "dropped the points where p_i = 0 < q_i"),
        (lambda div, p, q: discrete_by_hand(div, q, p), "p and q are swapped"),
        (lambda div, p, q: 1.1 * discrete_by_hand(div, p, q), "1.1 times the right one"),
        (lambda div, p, q: discrete_by_hand(div, p, q) + 0.01, "you returned"),
    ],
)
def test_ex4_mistakes(wrong, words):
    with pytest.raises(CheckFailed, match=words):
        check_ex7_4_discrete_divergence(wrong)


def test_ex4_unweighted_sum_is_named():
    def unweighted(div, p, q):
        both = (p > 0) & (q > 0)
        return float(np.sum(div.phi(p[both] / q[both])))

    with pytest.raises(CheckFailed, match="weight each"):
        check_ex7_4_discrete_divergence(unweighted)
