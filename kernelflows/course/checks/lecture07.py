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

import numpy as np
from scipy import stats
from scipy.special import xlogy

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
from .core import CheckFailed, as_float, call, close, ok

__all__ = [
    "check_ex7_1_tv_js",
    "check_ex7_2_chi2_conjugate",
    "check_ex7_3_kl_critic",
    "check_ex7_4_discrete_divergence",
]


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
    for delta in deltas:
        got = call(name, my_tv_js, delta)
        try:
            tv, js = (as_float(name, v) for v in got)
        except (TypeError, ValueError) as exc:
            raise CheckFailed(f"{name}: return a pair of numbers (tv, js), got {got!r}.") from exc
        want_tv, want_js = tv_gaussians_equal_cov(0.0, delta, 1.0), _js_unit_gaussians(delta)
        tol = {"rtol": 1e-5, "atol": 1e-8}  # quadrature: the student may choose other limits
        if close(tv, want_tv, **tol) and close(js, want_js, **tol):
            continue
        if close(tv, want_js, **tol) and close(js, want_tv, **tol) and delta > 0:
            raise CheckFailed(f"{name}: you returned (js, tv); return (tv, js) in that order.")
        hints = []
        if close(tv, 2 * want_tv, **tol) and delta > 0:
            hints.append("your TV is int |p - q|: TV = sup_A |P(A) - Q(A)| is half of it")
        if close(js, 2 * want_js, **tol) and delta > 0:
            hints.append(
                "your JS is twice ours: the f-GAN generator u log u - (u+1) log((u+1)/2) "
                "gives 2 JS; use 1/2 KL(P || M) + 1/2 KL(Q || M)"
            )
        if close(js, want_js / np.log(2), **tol) and delta > 0:
            hints.append("your JS is in bits (divided by log 2): use natural logarithms")
        if not hints:
            wrong = []
            if not close(tv, want_tv, **tol):
                wrong.append(f"TV {tv:.6g} instead of {want_tv:.6g}")
            if not close(js, want_js, **tol):
                wrong.append(f"JS {js:.6g} instead of {want_js:.6g}")
            hints.append(" and ".join(wrong))
        raise CheckFailed(f"{name}: for delta = {delta}: " + "; ".join(hints) + ".")
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
    fgan = v + v**2 / 4
    if close(got, fgan):
        raise CheckFailed(
            f"{name}: v + v^2/4 for every v is the f-GAN table's conjugate, which lets u < 0. "
            "On u >= 0 the maximiser u* = 1 + v/2 is infeasible for v < -2: there the sup "
            "sits at u = 0 and equals -phi(0) = -1."
        )
    above = v >= -2
    if close(got[above], want[above]):
        raise CheckFailed(
            f"{name}: right for v >= -2, wrong for v < -2: there u* = 1 + v/2 < 0 is not "
            "allowed, so the sup over u >= 0 is at u = 0."
        )
    for wrong, words in [
        (v + v**2 / 2, "the v^2 term is v^2/4 (from u* = 1 + v/2), not v^2/2"),
        (v + v**2, "the v^2 term is v^2/4 (from u* = 1 + v/2), not v^2"),
        (v**2 / 4, "the linear term v is missing: u* v - (u* - 1)^2 at u* = 1 + v/2"),
        (-want, "the sign is flipped: phi*(v) = sup_u u v - phi(u)"),
    ]:
        if close(got[above], wrong[above]):
            raise CheckFailed(f"{name}: {words}.")
    bad = int(np.argmax(np.abs(got - want)))
    raise CheckFailed(
        f"{name}: at v = {v[bad]:g} you returned {got[bad]:.6g}, the conjugate is {want[bad]:.6g}."
    )


def check_ex7_3_kl_critic(my_kl_critic: Callable) -> None:
    """Check ``my_kl_critic(mean_p, var_p, mean_q, var_q)`` returns z -> log p(z) / q(z).

    That is the f which makes the slide's bound E_P f + 1 - E_Q exp(f) equal KL(P || Q), for
    P = N(mean_p, var_p) and Q = N(mean_q, var_q) in one dimension.
    """
    name = "check_ex7_3_kl_critic"
    z = np.linspace(-4.0, 5.0, 19)
    cases = [(0.0, 1.0, 1.0, 2.25), (0.3, 0.64, -0.5, 1.69), (2.0, 0.5, -1.0, 2.0), (0, 1, 0, 1)]
    for mp, vp, mq, vq in cases:
        f = call(name, my_kl_critic, mp, vp, mq, vq)
        if not callable(f):
            raise CheckFailed(f"{name}: return a function of z, got {type(f).__name__}.")
        got = np.asarray(call(name, f, z.copy()), dtype=float).reshape(-1)
        want = gaussian_log_ratio(mp, vp, mq, vq)(z)
        if got.shape != want.shape:
            raise CheckFailed(f"{name}: f(z) for z of shape {z.shape} should have that shape.")
        if close(got, want, rtol=1e-7, atol=1e-9):
            continue
        setting = f"P = N({mp:g}, {vp:g}), Q = N({mq:g}, {vq:g})"
        if close(got, -want, atol=1e-9):
            raise CheckFailed(
                f"{name}: you returned log(q/p), the slide's critic: it is the wrong way round. "
                "There E_P f = -KL(P || Q) and the bound is negative; the tight critic is "
                f"log(p/q) ({setting})."
            )
        if close(got, want + 1, atol=1e-9):
            raise CheckFailed(
                f"{name}: this is phi'(p/q) = 1 + log(p/q), tight for E_P f - E_Q exp(f - 1); "
                "the slide's form E_P f + 1 - E_Q exp(f) is shifted by 1: drop the + 1."
            )
        as_sd = gaussian_log_ratio(mp, vp**2, mq, vq**2)(z)
        if close(got, as_sd, atol=1e-9):
            raise CheckFailed(
                f"{name}: you used the variances as standard deviations ({setting}: "
                "the second and fourth arguments are variances)."
            )
        if close(got, want - 0.5 * np.log(vq / vp), atol=1e-9):
            raise CheckFailed(
                f"{name}: the normalising constants are missing: log p/q contains "
                "1/2 log(var_q / var_p), without which E_Q exp(f) != 1."
            )
        raise CheckFailed(
            f"{name}: for {setting} your f differs from log p/q by up to "
            f"{np.max(np.abs(got - want)):.3g}."
        )
    ok(name, f"all {len(cases)} Gaussian pairs: your critic is log(p/q), where the bound is tight.")


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
    for p, q in _discrete_cases():
        for div in divs:
            with np.errstate(all="ignore"):
                got = as_float(name, call(name, my_discrete_divergence, div, p.copy(), q.copy()))
            want = discrete_divergence(div, p, q)
            if close(got, want, rtol=1e-9, atol=1e-12):
                continue
            where = f"{div.name}, p = {np.round(p, 3)}, q = {np.round(q, 3)}"
            both, only_p, only_q = (p > 0) & (q > 0), (p > 0) & (q == 0), (p == 0) & (q > 0)
            with np.errstate(all="ignore"):
                inner = float(np.sum(q[both] * div.phi(p[both] / q[both])))
                swapped = discrete_divergence(div, q, p)
                unweighted = float(np.sum(div.phi(p[both] / q[both])))
            p_part = float(np.sum(p[only_p])) * div.slope_at_infinity if only_p.any() else 0.0
            q_part = float(np.sum(q[only_q])) * div.phi_at_zero if only_q.any() else 0.0
            if np.isnan(got):
                hint = (
                    "you returned nan: a term 0 * inf or inf - inf; where q_i = 0 < p_i read "
                    "q phi(p/q) as its limit p_i phi'(inf), where p_i = 0 < q_i as q_i phi(0)"
                )
            elif only_p.any() and close(got, inner + q_part):
                hint = (
                    "you dropped the points where q_i = 0 < p_i: each contributes "
                    "p_i phi'(inf) = p_i lim phi(u)/u (div.slope_at_infinity)"
                )
            elif only_q.any() and close(got, inner + p_part):
                hint = "you dropped the points where p_i = 0 < q_i: each contributes q_i phi(0)"
            elif close(got, swapped) and not close(swapped, want):
                hint = "p and q are swapped: D_phi(P, Q) = sum_i q_i phi(p_i / q_i)"
            elif close(got, unweighted + p_part + q_part) and not close(unweighted, inner):
                hint = "weight each phi(p_i / q_i) by q_i"
            else:
                hint = f"you returned {got:.6g}, D_phi is {want:.6g}"
            raise CheckFailed(f"{name}: for {where}: {hint}.")
    ok(
        name,
        f"all {len(_discrete_cases()) * len(divs)} cases agree; on disjoint supports KL = inf, "
        f"JS = log 2, TV = 1, and the f-GAN generator gives 2 log 2 = {2 * np.log(2):.4f}.",
    )
