"""Checks for the exercises of lecture 04 (failure modes of the MMD flow).

Exercise 1: ``displacement_gap(a, bandwidth)``; exercise 2: ``euler_difference_quotient(X, Y,
kernel, gamma)`` and ``dissipation_rate(X, Y, kernel)``; exercise 3: ``lojasiewicz_rate(F0, t,
S)`` and ``effective_sobolev(F, grad_sq)``. Conventions: F = 1/2 MMD^2, f = mu_nu - mu_nu*.
"""

from __future__ import annotations

from collections.abc import Callable

import numpy as np

from ...divergences import mmd2, mmd_energy, mmd_velocity
from ...kernels import GaussianKernel, IMQKernel
from ...theory import (
    convexity_counterexample,
    dissipation_check,
    lojasiewicz_bound,
)
from .core import (
    Outcome,
    call,
    factor_name,
    ok,
    returned_array,
    returned_number,
    run_cases,
    tolerance,
)

__all__ = ["check_ex4_1_displacement_gap", "check_ex4_2_dissipation", "check_ex4_3_lojasiewicz"]


def check_ex4_1_displacement_gap(my_gap: Callable) -> None:
    """Check ``my_gap(a, bandwidth)`` = F(rho_1/2) - F(nu_1) = 1/2 (1 - 2 k(a) + k(2a)).

    The counterexample of lecture 04, section 2 (target 1/2 (delta_-a + delta_a), geodesic from
    delta_-a to delta_a through delta_0), compared with
    :func:`kernelflows.theory.convexity_counterexample`; k(r) = exp(-r^2 / (2 s^2)).
    """
    name = "check_ex4_1_displacement_gap"
    cases = [(0.5, 1.0), (1.0, 1.0), (2.0, 1.0), (3.0, 1.0), (0.7, 0.5), (2.5, 2.0), (0.05, 1.0)]

    def evaluate(case):
        a, s = case
        got = returned_number(name, call(name, my_gap, a, s))
        # t = 0, 1/2, 1
        _, disp, _, _ = convexity_counterexample(GaussianKernel(s), a=a, n_points=3)
        want = float(disp[1] - disp[0])

        def gap(width2, k2a=None):  # the right expression with the kernel exp(-r^2 / width2)
            def k(r):
                return np.exp(-(r**2) / width2)

            return 0.5 * (1 - 2 * k(a) + (k(2 * a) if k2a is None else k2a(k)))

        def mistakes():
            return [
                (2 * want, "a factor 2 too many: F = 1/2 MMD^2, not MMD^2"),
                (-want, "the sign is flipped: the gap is F(rho_1/2) - F(nu_1), midpoint minus "
                 "end"),
                (gap(2 * s**2, lambda k: k(a) ** 2), "k(2a) is k(a)^4 for the Gaussian kernel, "
                 "not k(a)^2"),
                (gap(s**2), "your kernel is exp(-r^2 / s^2): the Gaussian kernel has 2 s^2 "
                 "underneath"),
                (gap(2 * s), "the bandwidth enters squared: exp(-r^2 / (2 s^2)), not "
                 "exp(-r^2 / (2 s))"),
                (0.5 * (1 - 2 * np.exp(-2 * a**2 / s**2) + np.exp(-(a**2) / (2 * s**2))),
                 "k(a) and k(2a) are swapped: the midpoint delta_0 is at distance a from both "
                 "target points, the end delta_-a at distances 0 and 2a"),
                (float(disp[1]), "you returned F(rho_1/2), not its difference with F(nu_1)"),
                (float(np.sqrt(2 * disp[1]) - np.sqrt(2 * disp[0])), "you compared the MMD, not "
                 "F = 1/2 MMD^2"),
            ]  # fmt: skip

        where = f"for a = {a}, bandwidth {s} you returned {got:.6g}, the gap is {want:.6g}"
        return Outcome(
            got, want, where, mistakes, params={"bandwidth": s}, same=tolerance(atol=1e-12)
        )

    def generic(outcome):
        return "expand MMD^2(delta_0, nu*) and MMD^2(delta_-a, nu*) with k(0) = 1"

    count = run_cases(name, cases, evaluate, generic)
    ok(name, f"all {count} cases agree with theory.convexity_counterexample.")


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
    gammas = (0.3, 0.05)

    def rate(case):
        X, Y, k = case
        got = returned_number(name + " (rate)", call(name, my_rate, X.copy(), Y.copy(), k))
        _, want = dissipation_check(X, Y, k, list(gammas))
        v = mmd_velocity(X, Y, k).velocity
        sq = np.sum(v**2, axis=1)
        factor_2 = "a factor 2: for F = 1/2 MMD^2 the rate is exactly -E ||grad f||^2"

        def mistakes():
            return [
                (-want, "the sign: F decreases along the flow, dF/dt = -E ||grad f||^2 < 0"),
                (len(X) * want, "you summed over the particles: E_nu is the mean over them"),
                (-np.mean(np.sqrt(sq)), "square the length: the rate is -E ||grad f||^2"),
                (-np.mean(v**2), "you averaged over the d coordinates too: ||grad f||^2 sums "
                 "the squares of the coordinates, then E_nu averages over the particles"),
                (2 * want, factor_2),
                (want / 2, factor_2),
            ]  # fmt: skip

        where = f"dissipation_rate returned {got:.6g}, -E||grad f||^2 is {want:.6g} ({k!r})"
        return Outcome(got, want, where, mistakes, sizes={"n": len(X), "d": X.shape[1]})

    def generic(outcome):
        return "grad f is minus the velocity mmd_velocity(X, Y, kernel).velocity at the particles"

    run_cases(name, cases, rate, generic)

    def quotient(case):
        X, Y, k, gamma = case
        got = returned_number(
            name + " (quotient)", call(name, my_quotient, X.copy(), Y.copy(), k, gamma)
        )
        want = dissipation_check(X, Y, k, [gamma])[0][0]

        def mistakes():
            v = mmd_velocity(X, Y, k).velocity
            X1 = X + gamma * v

            def change(energy, X1=X1):
                return (energy(X1) - energy(X)) / gamma

            unbiased = (
                "mmd2 defaults to the unbiased estimator (it leaves out the i = j terms): the "
                "energy of the particles is the plug-in (V-statistic) 1/2 MMD^2, mmd_energy"
            )
            return [
                (2 * want, "a factor 2: F = 1/2 MMD^2 (use mmd_energy), not MMD^2"),
                (change(lambda A: mmd2(A, Y, k) / 2), f"your F is mmd2(X, Y, kernel) / 2: "
                 f"{unbiased}"),
                (change(lambda A: mmd2(A, Y, k)), f"your F is mmd2(X, Y, kernel): {unbiased}, "
                 "with the 1/2"),
                (change(lambda A: mmd_energy(A, Y, k), X - gamma * v), "your step goes uphill: "
                 "X_1 = X - gamma grad f = X + gamma mmd_velocity(X, Y, kernel).velocity"),
                (gamma * want, "divide the change of F by gamma"),
                (-want, "the sign: F(nu_1) - F(nu_0), after minus before"),
            ]  # fmt: skip

        where = (
            f"euler_difference_quotient returned {got:.6g} for gamma = {gamma}, the quotient is "
            f"{want:.6g} ({k!r})"
        )
        return Outcome(got, want, where, mistakes, sizes={"n": len(X)}, params={"gamma": gamma})

    def generic_quotient(outcome):
        return "one Euler step, then the change of mmd_energy divided by gamma"

    run_cases(name, [(*c, g) for c in cases for g in gammas], quotient, generic_quotient)
    ok(name, f"all {len(cases)} cases agree with theory.dissipation_check.")


def check_ex4_3_lojasiewicz(my_rate: Callable, my_sobolev: Callable) -> None:
    """Check the 1/t rate and the effective negative Sobolev distance of lecture 04, section 4.

    ``my_rate(F0, t, S)`` = 1 / (1/F0 + 4 t / S^2) (from F^2 <= S^2/4 E||grad f||^2; the slide's
    2 C^-1 t with C = S^2 / 2); ``my_sobolev(F, grad_sq)`` = 2 F / sqrt(E||grad f||^2). Both on
    arrays; compared with :func:`kernelflows.theory.lojasiewicz_bound` and
    :func:`kernelflows.theory.sobolev_lower_bound`. The messages do not give the rate away:
    deriving its constant is the exercise.
    """
    name = "check_ex4_3_lojasiewicz"
    t = np.array([0.0, 0.5, 2.0, 10.0, 100.0])

    def rate(case):
        F0, S = case
        got = returned_array(name, call(name, my_rate, F0, t, S))
        want = np.asarray(lojasiewicz_bound(F0, t, S), dtype=float)

        def mistakes():
            listed = [
                (1 / (1 / F0 + 2 * t / S), "you used C = S: S enters squared (S bounds a "
                 "difference of expectations by a norm of grad f, and the Cauchy-Schwarz step "
                 "squares it), and check the constant C of the slide's 2 C^-1 t"),
                (1 / (1 / F0 + 4 * t / S), "S enters squared: the Cauchy-Schwarz step squares it"),
            ]  # fmt: skip
            if got.shape == t.shape and got[0] > 0 and np.all(got > 0):
                c = -np.log(got[1] / F0) / t[1]
                listed.append((F0 * np.exp(-c * t), "your bound decays exponentially in t: that "
                               "would need F <= C E||grad f||^2, but the Cauchy-Schwarz step "
                               "bounds F^2, not F, so 1/F grows linearly in t"))  # fmt: skip
                slope = (1 / got[1] - 1 / F0) / t[1]
                named = factor_name(slope / (4 / S**2))
                if named:
                    listed.append((1 / (1 / F0 + slope * t), "1/F grows linearly in t as it "
                                   f"should, but its slope is {named[0][0]} times the right one: "
                                   "check the constant C of the slide's 2 C^-1 t (it comes from "
                                   "the Cauchy-Schwarz step, 2 F = E_nu f - E_nu* f)"))  # fmt: skip
            return listed

        where = (
            f"lojasiewicz_rate(F0={F0}, t, S={S}) at t = {t.tolist()} gave "
            f"{np.round(got, 6).tolist()}, expected {np.round(want, 6).tolist()}"
        )
        return Outcome(got, want, where, mistakes)

    def generic(outcome):
        return "integrate the differential inequality that dF/dt = -E||grad f||^2 gives for 1/F"

    run_cases(name, [(0.44, 1.7), (0.02, 0.5), (1.3, 12.0)], rate, generic)

    F = np.array([0.44, 0.1, 0.01, 3e-4])
    g = np.array([0.2, 0.05, 1e-3, 2e-7])

    def sobolev(case):
        got = returned_array(name, call(name, my_sobolev, F, g))
        want = 2.0 * F / np.sqrt(g)  # S_eff, as theory.sobolev_lower_bound computes it

        def mistakes():
            return [
                (want / 2, "the factor 2: 2 F = E_nu f - E_nu* f is what the Cauchy-Schwarz step "
                 "bounds"),
                (2 * F / g, "take the square root of E||grad f||^2 (it is a squared norm)"),
                (want**2, "that is S_eff^2: take its square root"),
                (np.sqrt(2 * F / g), "you took the square root of the whole ratio: only "
                 "E||grad f||^2 is a squared norm"),
            ]  # fmt: skip

        where = (
            f"effective_sobolev(F, grad_sq) for F = {F.tolist()}, grad_sq = {g.tolist()} gave "
            f"{np.round(got, 6).tolist()}, expected {np.round(want, 6).tolist()}"
        )
        return Outcome(got, want, where, mistakes)

    run_cases(name, [None], sobolev, lambda o: "no common mistake matches, elementwise on arrays")
    ok(name, "the rate and S_eff agree with theory.lojasiewicz_bound and sobolev_lower_bound.")
