"""Checks for the exercises of lecture 04 (failure modes of the MMD flow).

Exercise 1: ``displacement_gap(a, bandwidth)``; exercise 2: ``euler_difference_quotient(X, Y,
kernel, gamma)`` and ``dissipation_rate(X, Y, kernel)``; exercise 3: ``lojasiewicz_rate(F0, t,
S)`` and ``effective_sobolev(F, grad_sq)``. Conventions: F = 1/2 MMD^2, f = mu_nu - mu_nu*.
"""

from __future__ import annotations

from collections.abc import Callable

import numpy as np

from ...divergences import mmd_energy, mmd_velocity
from ...kernels import GaussianKernel, IMQKernel
from ...theory import (
    convexity_counterexample,
    dissipation_check,
    lojasiewicz_bound,
)
from .core import CheckFailed, call, close, ok, returned_array, returned_number

__all__ = ["check_ex4_1_displacement_gap", "check_ex4_2_dissipation", "check_ex4_3_lojasiewicz"]


def check_ex4_1_displacement_gap(my_gap: Callable) -> None:
    """Check ``my_gap(a, bandwidth)`` = F(rho_1/2) - F(nu_1) = 1/2 (1 - 2 k(a) + k(2a)).

    The counterexample of lecture 04, section 2 (target 1/2 (delta_-a + delta_a), geodesic from
    delta_-a to delta_a through delta_0), compared with
    :func:`kernelflows.theory.convexity_counterexample`; k(r) = exp(-r^2 / (2 s^2)).
    """
    name = "check_ex4_1_displacement_gap"
    cases = [(0.5, 1.0), (1.0, 1.0), (2.0, 1.0), (3.0, 1.0), (0.7, 0.5), (2.5, 2.0), (0.05, 1.0)]
    for a, s in cases:
        got = returned_number(name, call(name, my_gap, a, s))
        # t = 0, 1/2, 1
        _, disp, _, _ = convexity_counterexample(GaussianKernel(s), a=a, n_points=3)
        want = float(disp[1] - disp[0])
        if close(got, want, atol=1e-12):
            continue

        def k(r, s=s):
            return np.exp(-(r**2) / (2 * s**2))

        if close(got, 2 * want):
            hint = "a factor 2 too many: F = 1/2 MMD^2, so the gap is 1/2 (1 - 2 k(a) + k(2a))"
        elif close(got, -want):
            hint = "the sign is flipped: the gap is F(rho_1/2) - F(nu_1), midpoint minus end"
        elif close(got, 0.5 * (1 - 2 * k(a) + k(a) ** 2)):
            hint = "k(2a) is k(a)^4 for the Gaussian kernel, not k(a)^2"
        elif close(got, 0.5 * (1 - 2 * np.exp(-(a**2) / s**2) + np.exp(-4 * a**2 / s**2))):
            hint = "your kernel is exp(-r^2 / s^2): the Gaussian kernel has 2 s^2 underneath"
        elif close(got, 0.5 * (1 - 2 * k(a) + k(2 * a)) + 0.25 * (1 - k(2 * a))):
            hint = "you returned F(rho_1/2), not its difference with F(nu_1)"
        else:
            hint = "expand MMD^2(delta_0, nu*) and MMD^2(delta_-a, nu*) with k(0) = 1"
        raise CheckFailed(
            f"{name}: for a = {a}, bandwidth {s} you returned {got:.6g}, the gap is "
            f"{want:.6g}: {hint}."
        )
    ok(name, f"all {len(cases)} cases agree with theory.convexity_counterexample.")


def _flow_cases(seed):
    rng = np.random.default_rng(seed)
    return [
        (
            rng.normal(size=(20, 2)) * 0.4 + [1.5, 1.0],
            rng.normal(size=(25, 2)),
            GaussianKernel(1.0),
        ),
        (rng.normal(size=(15, 2)), rng.normal(size=(10, 2)) + 1.0, GaussianKernel(0.5)),
        (rng.normal(size=(12, 1)), rng.normal(size=(9, 1)) * 2.0, IMQKernel(1.0, -0.5)),
        (rng.normal(size=(2, 2)), rng.normal(size=(3, 2)), GaussianKernel(2.0)),
    ]


def check_ex4_2_dissipation(my_quotient: Callable, my_rate: Callable) -> None:
    """Check the difference quotient of one Euler step and the dissipation rate.

    ``my_quotient(X, Y, kernel, gamma)`` = (F(nu_1) - F(nu_0)) / gamma with nu_1 the particles
    after one step X - gamma grad f(X); ``my_rate(X, Y, kernel)`` = -E_nu ||grad f||^2 (talk,
    slide "Consistency (2)"). Compared with :func:`kernelflows.theory.dissipation_check`.
    """
    name = "check_ex4_2_dissipation"
    cases = _flow_cases(42)
    for X, Y, k in cases:
        quotients, rate = dissipation_check(X, Y, k, [0.3, 0.05])
        v = mmd_velocity(X, Y, k).velocity
        sq = np.sum(v**2, axis=1)
        got = returned_number(name + " (rate)", call(name, my_rate, X.copy(), Y.copy(), k))
        if not close(got, rate):
            if close(got, -rate):
                hint = "the sign: F decreases along the flow, dF/dt = -E ||grad f||^2 < 0"
            elif close(got, len(X) * rate):
                hint = "you summed over the particles: E_nu is the mean over them"
            elif close(got, -np.mean(np.sqrt(sq))):
                hint = "square the length: the rate is -E ||grad f||^2"
            elif close(got, 2 * rate) or close(got, rate / 2):
                hint = "a factor 2: for F = 1/2 MMD^2 the rate is exactly -E ||grad f||^2"
            else:
                hint = "grad f = -mmd_velocity(X, Y, kernel).velocity at the particles"
            raise CheckFailed(
                f"{name}: dissipation_rate returned {got:.6g}, -E||grad f||^2 is {rate:.6g} "
                f"({k!r}): {hint}."
            )
        for gamma, want in zip([0.3, 0.05], quotients, strict=True):
            got = returned_number(
                name + " (quotient)", call(name, my_quotient, X.copy(), Y.copy(), k, gamma)
            )
            if close(got, want):
                continue
            F0 = mmd_energy(X, Y, k)
            up = (mmd_energy(X - gamma * v, Y, k) - F0) / gamma
            if close(got, 2 * want):
                hint = "a factor 2: F = 1/2 MMD^2 (use mmd_energy), not MMD^2"
            elif close(got, up):
                hint = (
                    "your step goes uphill: X_1 = X - gamma grad f = X + gamma "
                    "mmd_velocity(X, Y, kernel).velocity"
                )
            elif close(got, gamma * want):
                hint = "divide the change of F by gamma"
            elif close(got, -want):
                hint = "the sign: F(nu_1) - F(nu_0), after minus before"
            else:
                hint = "one Euler step, then the change of mmd_energy divided by gamma"
            raise CheckFailed(
                f"{name}: euler_difference_quotient returned {got:.6g} for gamma = {gamma}, "
                f"the quotient is {want:.6g} ({k!r}): {hint}."
            )
    ok(name, f"all {len(cases)} cases agree with theory.dissipation_check.")


def check_ex4_3_lojasiewicz(my_rate: Callable, my_sobolev: Callable) -> None:
    """Check the 1/t rate and the effective negative Sobolev distance of lecture 04, section 4.

    ``my_rate(F0, t, S)`` = 1 / (1/F0 + 4 t / S^2) (from F^2 <= S^2/4 E||grad f||^2; the slide's
    2 C^-1 t with C = S^2 / 2); ``my_sobolev(F, grad_sq)`` = 2 F / sqrt(E||grad f||^2). Both on
    arrays; compared with :func:`kernelflows.theory.lojasiewicz_bound` and
    :func:`kernelflows.theory.sobolev_lower_bound`.
    """
    name = "check_ex4_3_lojasiewicz"
    t = np.array([0.0, 0.5, 2.0, 10.0, 100.0])
    cases = [(0.44, 1.7), (0.02, 0.5), (1.3, 12.0)]
    for F0, S in cases:
        got = returned_array(name, call(name, my_rate, F0, t, S))
        want = np.asarray(lojasiewicz_bound(F0, t, S), dtype=float)
        if close(got, want):
            continue
        if close(got, 1 / (1 / F0 + 2 * t / S**2)):
            hint = (
                "you used C = S^2 in the slide's 2 C^-1 t: Cauchy-Schwarz gives "
                "F^2 <= (S^2/4) E||grad f||^2, so C = S^2/2 and the rate is 4 t / S^2"
            )
        elif close(got, 1 / (1 / F0 + 8 * t / S**2)):
            hint = "you used C = S^2/4: the slide's rate 2 C^-1 t needs C = S^2/2, giving 4t/S^2"
        elif close(got, 1 / (1 / F0 + 4 * t / S)):
            hint = "S enters squared: 4 t / S^2"
        elif close(got, F0 * np.exp(-4 * t / S**2)) or close(got, F0 * np.exp(-2 * t / S**2)):
            hint = (
                "an exponential rate would need F <= C E||grad f||^2; the Cauchy-Schwarz step "
                "gives a square on F and a 1/t rate: 1 / (1/F0 + 4t/S^2)"
            )
        else:
            hint = "integrate d(1/F)/dt >= 4 / S^2 from 0 to t"
        raise CheckFailed(
            f"{name}: lojasiewicz_rate(F0={F0}, t, S={S}) at t = {t.tolist()} gave "
            f"{np.round(got, 6).tolist()}, expected {np.round(want, 6).tolist()}: {hint}."
        )
    F = np.array([0.44, 0.1, 0.01, 3e-4])
    g = np.array([0.2, 0.05, 1e-3, 2e-7])
    got = returned_array(name, call(name, my_sobolev, F, g))
    want = 2.0 * F / np.sqrt(g)  # S_eff, as theory.sobolev_lower_bound computes it on a FlowResult
    if not close(got, want):
        if close(got, want / 2):
            hint = "the factor 2: 2 F = E_nu f - E_nu* f, so S_eff = 2 F / sqrt(E||grad f||^2)"
        elif close(got, 2 * F / g):
            hint = "take the square root of E||grad f||^2 (it is a squared norm)"
        elif close(got, 4 * F**2 / g):
            hint = "that is S_eff^2: return S_eff = 2 F / sqrt(E||grad f||^2)"
        else:
            hint = "S_eff = 2 F / sqrt(E||grad f||^2), elementwise on arrays"
        raise CheckFailed(
            f"{name}: effective_sobolev(F, grad_sq) for F = {F.tolist()}, grad_sq = "
            f"{g.tolist()} gave {np.round(got, 6).tolist()}, expected "
            f"{np.round(want, 6).tolist()}: {hint}."
        )
    ok(name, "the rate and S_eff agree with theory.lojasiewicz_bound and sobolev_lower_bound.")
