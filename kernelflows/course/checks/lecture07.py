"""Checks for the exercises of lecture 07 (phi-divergences, Fenchel duality, the KL bound).

* :func:`check_ex7_1_tv_js` - TV and JS between N(0, 1) and N(delta, 1), below 1 and log 2;
* :func:`check_ex7_2_chi2_conjugate` - the conjugate of the Pearson generator on u >= 0;
* :func:`check_ex7_3_kl_critic` - the critic that makes the KL bound tight: log(p / q);
* :func:`check_ex7_4_discrete_divergence` - D_phi on a finite set, disjoint supports included.

Each compares the student's function with :mod:`kernelflows.divergences` on random and edge-case
inputs and names the typical mistake (a dropped 1/2, the f-GAN conventions, the slide's
log(q / p), the points where q = 0 < p).
"""

from __future__ import annotations

from collections.abc import Callable
from functools import lru_cache

import numpy as np
from scipy import stats
from scipy.special import erf, xlogy

from ...divergences import (
    CHI2,
    DIVERGENCES,
    JENSEN_SHANNON,
    PhiDivergence,
    discrete_divergence,
    divergence_1d,
    gaussian_log_ratio,
    tv_gaussians_equal_cov,
)
from .core import CheckFailed, Outcome, as_float, call, close, ok, run_cases, tolerance

__all__ = [
    "check_ex7_1_tv_js",
    "check_ex7_2_chi2_conjugate",
    "check_ex7_3_kl_critic",
    "check_ex7_4_discrete_divergence",
]


@lru_cache(maxsize=16)
def _js_unit_gaussians(delta: float) -> float:
    def logp(z):
        return stats.norm.logpdf(z, 0.0, 1.0)

    def logq(z):
        return stats.norm.logpdf(z, delta, 1.0)

    return divergence_1d(JENSEN_SHANNON, logp, logq, lower=-30.0, upper=30.0 + delta)


def check_ex7_1_tv_js(my_tv_js: Callable[[float], tuple]) -> None:
    """Check ``my_tv_js(delta)`` returns (TV, JS) between P = N(0, 1) and Q = N(delta, 1).

    TV = sup_A |P(A) - Q(A)| = 1/2 int |p - q|; JS = 1/2 KL(P || M) + 1/2 KL(Q || M) with
    M = (P + Q) / 2 (lecture 07's conventions, disjoint-support values 1 and log 2).
    """
    name = "check_ex7_1_tv_js"
    deltas = (0.0, 0.5, 2.0, 8.0)

    same = tolerance(1e-5, 1e-8)  # quadrature: the student may choose other limits

    def evaluate(delta):
        got = call(name, my_tv_js, delta)
        try:
            tv, js = (as_float(name, v) for v in got)
        except (TypeError, ValueError) as exc:
            raise CheckFailed(f"{name}: return a pair of numbers (tv, js), got {got!r}.") from exc
        tv_w, js_w = tv_gaussians_equal_cov(0.0, delta, 1.0), _js_unit_gaussians(delta)
        twice_tv = "your TV is int |p - q|: TV = sup_A |P(A) - Q(A)| is half of it"
        fgan = (
            "your JS is twice ours: the f-GAN generator u log u - (u+1) log((u+1)/2) gives 2 JS; "
            "use 1/2 KL(P || M) + 1/2 KL(Q || M)"
        )

        def mistakes():
            return [
                ((js_w, tv_w), "you returned (js, tv); return (tv, js) in that order"),
                ((2 * tv_w, js_w), twice_tv),
                ((tv_w, 2 * js_w), fgan),
                ((2 * tv_w, 2 * js_w), f"{twice_tv}; {fgan}"),
                ((tv_w, js_w / np.log(2)), "your JS is in bits (divided by log 2): use natural "
                 "logarithms"),
                ((erf(delta / 2), js_w), "your TV misses a sqrt(2): the standard normal CDF is "
                 "Phi(x) = (1 + erf(x / sqrt(2))) / 2"),
            ]  # fmt: skip

        return Outcome(np.array([tv, js]), np.array([tv_w, js_w]), f"for delta = {delta}",
                       mistakes, same=same)  # fmt: skip

    def generic(outcome):
        (tv, js), (tv_w, js_w) = outcome.got, outcome.want
        wrong = []
        if not close(tv, tv_w, rtol=1e-5, atol=1e-8):
            wrong.append(f"TV {tv:.6g} instead of {tv_w:.6g}")
        if not close(js, js_w, rtol=1e-5, atol=1e-8):
            wrong.append(f"JS {js:.6g} instead of {js_w:.6g}")
        return " and ".join(wrong)

    run_cases(name, deltas, evaluate, generic)
    far_tv, far_js = tv_gaussians_equal_cov(0.0, deltas[-1], 1.0), _js_unit_gaussians(deltas[-1])
    ok(
        name,
        f"all {len(deltas)} separations agree; even at delta = {deltas[-1]:g}, TV = "
        f"{far_tv:.5f} < 1 and JS = {far_js:.5f} < log 2 = {np.log(2):.5f}.",
    )


def check_ex7_2_chi2_conjugate(my_chi2_conjugate: Callable[[np.ndarray], np.ndarray]) -> None:
    """Check ``my_chi2_conjugate(v)`` = sup_{u >= 0} u v - (u - 1)^2, vectorised over v."""
    name = "check_ex7_2_chi2_conjugate"
    v = np.array([-8.0, -3.0, -2.5, -2.0, -1.0, 0.0, 0.5, 3.0, 10.0])
    got = np.asarray(call(name, my_chi2_conjugate, v.copy()), dtype=float)
    want = CHI2.conjugate(v)
    if got.shape != v.shape:
        raise CheckFailed(f"{name}: expected an array of shape {v.shape} (one value per v).")
    if close(got, want):
        ok(name, f"all {len(v)} values of v agree with CHI2.conjugate, v < -2 included.")
        return
    if close(got, v + v**2 / 4):
        raise CheckFailed(
            f"{name}: v + v^2/4 for every v is the f-GAN table's conjugate, which lets u < 0. "
            "On u >= 0 the unconstrained maximiser is infeasible for v < -2: there the sup sits "
            "on the boundary u = 0."
        )
    above = v >= -2
    if close(got[above], want[above]):
        raise CheckFailed(
            f"{name}: right for v >= -2, wrong for v < -2: there the unconstrained maximiser "
            "is negative, which u >= 0 does not allow, so the sup is on the boundary u = 0."
        )

    def evaluate(case):
        def mistakes():
            return [
                ((v + v**2 / 2)[above], "the v^2 term: you have v^2/2, check the maximiser u*"),
                ((v + v**2)[above], "the v^2 term: you have v^2, check the maximiser u*"),
                ((v**2 / 4)[above], "the linear term v is missing: evaluate u v - (u - 1)^2 at "
                 "the maximiser"),
                (-want[above], "the sign is flipped: phi*(v) = sup_u u v - phi(u)"),
            ]  # fmt: skip

        bad = int(np.argmax(np.abs(got - want)))
        where = f"at v = {v[bad]:g} you returned {got[bad]:.6g}, the conjugate is {want[bad]:.6g}"
        return Outcome(got[above], want[above], where, mistakes)

    run_cases(name, [None], evaluate, lambda o: "no common mistake matches")


def check_ex7_3_kl_critic(my_kl_critic: Callable) -> None:
    """Check ``my_kl_critic(mean_p, var_p, mean_q, var_q)`` returns z -> log p(z) / q(z).

    That is the f which makes the slide's bound E_P f + 1 - E_Q exp(f) equal KL(P || Q), for
    P = N(mean_p, var_p) and Q = N(mean_q, var_q) in one dimension.
    """
    name = "check_ex7_3_kl_critic"
    z = np.linspace(-4.0, 5.0, 19)
    cases = [(0.0, 1.0, 1.0, 2.25), (0.3, 0.64, -0.5, 1.69), (2.0, 0.5, -1.0, 2.0), (0, 1, 0, 1)]

    def evaluate(case):
        mp, vp, mq, vq = case
        f = call(name, my_kl_critic, mp, vp, mq, vq)
        if not callable(f):
            raise CheckFailed(f"{name}: return a function of z, got {type(f).__name__}.")
        got = np.asarray(call(name, f, z.copy()), dtype=float).reshape(-1)
        want = gaussian_log_ratio(mp, vp, mq, vq)(z)
        if got.shape != want.shape:
            raise CheckFailed(f"{name}: f(z) for z of shape {z.shape} should have that shape.")
        setting = f"P = N({mp:g}, {vp:g}), Q = N({mq:g}, {vq:g})"
        const = 0.5 * np.log(vq / vp)

        def mistakes():
            return [
                (-want, "you returned log(q/p), the slide's critic: it is the wrong way round. "
                 "There E_P f = -KL(P || Q) and the bound is negative; the tight critic is "
                 f"log(p/q) ({setting})"),
                (want + 1, "this is phi'(p/q) = 1 + log(p/q), tight for E_P f - E_Q exp(f - 1); "
                 "the slide's form E_P f + 1 - E_Q exp(f) is shifted by 1: drop the + 1"),
                (gaussian_log_ratio(mp, vp**2, mq, vq**2)(z), "you used the variances as "
                 f"standard deviations ({setting}: the second and fourth arguments are "
                 "variances)"),
                (want - const, "the normalising constants are missing: log p/q contains "
                 "1/2 log(var_q / var_p), without which E_Q exp(f) != 1"),
                (want - 2 * const, "the normalising constants are upside down: the density "
                 "N(m, v) carries 1/sqrt(v), so log p/q gains 1/2 log(var_q / var_p)"),
                (2 * (want - const) + const, "the quadratic terms lost their 1/2: the Gaussian "
                 "log density has -(z - m)^2 / (2 v) in the exponent"),
            ]  # fmt: skip

        return Outcome(got, want, f"for {setting}", mistakes,
                       same=tolerance(1e-7, 1e-9))  # fmt: skip

    def generic(outcome):
        err = np.max(np.abs(outcome.got - outcome.want))
        return f"your f differs from log p/q by up to {err:.3g}"

    count = run_cases(name, cases, evaluate, generic)
    ok(name, f"all {count} Gaussian pairs: your critic is log(p/q), where the bound is tight.")


def _phi_gan(u):
    u = np.asarray(u, dtype=float)
    return xlogy(u, u) - xlogy(u + 1.0, (u + 1.0) / 2.0)


def _gan_conjugate(v):
    v = np.asarray(v, dtype=float)
    with np.errstate(invalid="ignore", divide="ignore"):
        return np.where(v < np.log(2.0), -np.log(2.0 - np.exp(v)), np.inf)


def _gan_critic(u):
    u = np.asarray(u, dtype=float)
    return np.log(2.0 * u / (u + 1.0))


# The f-GAN generator for Jensen-Shannon (Nowozin, Cseke, Tomioka, NeurIPS 2016): twice ours.
_GAN_JS = PhiDivergence("f-GAN JS", _phi_gan, _gan_conjugate, _gan_critic, np.log(2), np.log(2))


def _discrete_cases():
    rng = np.random.default_rng(7)
    p, q = rng.dirichlet(np.ones(6)), rng.dirichlet(np.ones(6))
    disjoint = (np.array([0.5, 0.5, 0.0, 0.0]), np.array([0.0, 0.0, 0.3, 0.7]))
    p_only = (np.array([0.2, 0.3, 0.5, 0.0]), np.array([0.0, 0.4, 0.6, 0.0]))  # q = 0 < p at 0
    q_only = (np.array([0.0, 0.5, 0.5]), np.array([0.2, 0.4, 0.4]))  # p = 0 < q at 0
    same = (p, p.copy())
    return [(p, q), disjoint, p_only, q_only, same]


def check_ex7_4_discrete_divergence(my_discrete_divergence: Callable) -> None:
    """Check ``my_discrete_divergence(div, p, q)`` = sum_i q_i phi(p_i / q_i) on a finite set.

    ``div`` is a :class:`~kernelflows.divergences.PhiDivergence` (``div.phi``,
    ``div.phi_at_zero``, ``div.slope_at_infinity``). Where q_i = 0 < p_i the term is
    p_i phi'(infinity); where p_i = 0 < q_i it is q_i phi(0); where both vanish, 0.
    """
    name = "check_ex7_4_discrete_divergence"
    divs = [*DIVERGENCES.values(), _GAN_JS]
    cases = [(p, q, div) for p, q in _discrete_cases() for div in divs]

    def evaluate(case):
        p, q, div = case
        with np.errstate(all="ignore"):
            got = as_float(name, call(name, my_discrete_divergence, div, p.copy(), q.copy()))
        want = discrete_divergence(div, p, q)
        where = f"for {div.name}, p = {np.round(p, 3)}, q = {np.round(q, 3)}"
        if np.isnan(got):
            raise CheckFailed(
                f"{name}: {where}: you returned nan: a term 0 * inf or inf - inf; where "
                "q_i = 0 < p_i read q phi(p/q) as its limit p_i phi'(inf), where p_i = 0 < q_i "
                "as q_i phi(0)."
            )
        both, only_p, only_q = (p > 0) & (q > 0), (p > 0) & (q == 0), (p == 0) & (q > 0)

        def mistakes():
            with np.errstate(all="ignore"):
                inner = float(np.sum(q[both] * div.phi(p[both] / q[both])))
                unweighted = float(np.sum(div.phi(p[both] / q[both])))
            p_mass, q_mass = float(np.sum(p[only_p])), float(np.sum(q[only_q]))
            p_part = p_mass * div.slope_at_infinity if only_p.any() else 0.0
            q_part = q_mass * div.phi_at_zero if only_q.any() else 0.0
            return [
                (inner + q_part if only_p.any() else None, "you dropped the points where "
                 "q_i = 0 < p_i: each contributes p_i phi'(inf) = p_i lim phi(u)/u "
                 "(div.slope_at_infinity)"),
                (inner + p_part if only_q.any() else None, "you dropped the points where "
                 "p_i = 0 < q_i: each contributes q_i phi(0)"),
                (inner + q_part + p_mass * div.phi_at_zero if only_p.any() else None, "where "
                 "q_i = 0 < p_i the term is the limit of q phi(p/q) as q -> 0, p_i phi'(inf) "
                 "(div.slope_at_infinity), not phi(0)"),
                (discrete_divergence(div, q, p), "p and q are swapped: D_phi(P, Q) = sum_i q_i "
                 "phi(p_i / q_i)"),
                (unweighted + p_part + q_part if not np.isclose(unweighted, inner) else None,
                 "weight each phi(p_i / q_i) by q_i"),
            ]  # fmt: skip

        return Outcome(got, want, where, mistakes,
                       same=tolerance(1e-9, 1e-12))  # fmt: skip

    def generic(outcome):
        return f"you returned {outcome.got:.6g}, D_phi is {outcome.want:.6g}"

    run_cases(name, cases, evaluate, generic)
    ok(
        name,
        f"all {len(cases)} cases agree; on disjoint supports KL = inf, "
        f"JS = log 2, TV = 1, and the f-GAN generator gives 2 log 2 = {2 * np.log(2):.4f}.",
    )
