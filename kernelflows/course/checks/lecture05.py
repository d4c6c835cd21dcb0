"""Checks for the exercises of lecture 05 (noise injection).

Exercise 1: ``noise_exponent(schedule, step, n_steps)``; exercise 2: ``noise_injection_step(X,
Y, kernel, step, beta, u)`` and ``diffusion_step(...)``; exercise 3: ``noisy_gradient_ratio(X,
Y, kernel, beta, u)``. Conventions: F = 1/2 MMD^2, f = mu_nu - mu_nu*, velocity -grad f.
"""

from __future__ import annotations

from collections.abc import Callable

import numpy as np

from ...divergences import mmd2, mmd_energy, mmd_velocity
from ...flows import constant, halving, inverse_sqrt, piecewise
from ...kernels import GaussianKernel, IMQKernel
from .core import CheckFailed, Outcome, call, ok, returned_array, returned_number, run_cases

__all__ = [
    "check_ex5_1_noise_exponent",
    "check_ex5_2_noisy_steps",
    "check_ex5_3_noisy_gradient_ratio",
]


def check_ex5_1_noise_exponent(my_exponent: Callable) -> None:
    """Check ``my_exponent(schedule, step, n_steps)`` = step * sum_{i < n_steps} beta_i^2.

    The exponent of Proposition 8's bound F_n <= F_0 exp(-c gamma sum_{i<n} beta_i^2) (Arbel,
    Korba, Salim, Gretton, NeurIPS 2019), for schedules of :mod:`kernelflows.flows.schedules`.
    """
    name = "check_ex5_1_noise_exponent"
    cases = [
        (constant(0.1), 0.5, 300),
        (inverse_sqrt(0.5), 0.5, 1000),
        (halving(0.5, 50), 1.0, 120),
        (piecewise(2.0, 150), 1.0, 100),
        (piecewise(0.5, 150), 1.0, 300),
        (constant(0.3), 2.0, 1),
    ]

    def evaluate(case):
        sched, step, N = case
        got = returned_number(name, call(name, my_exponent, sched, step, N))
        beta = sched.values(N + 1)
        want = step * float(np.sum(beta[:N] ** 2))

        def mistakes():
            square_of_sum = "square each beta_i, then sum (not the square of the sum)"
            return [
                (step * float(np.sum(beta**2)), "one term too many: the sum runs over i = 0 .. "
                 "n_steps - 1"),
                (step * float(np.sum(beta[1:] ** 2)), "the sum starts at i = 0 (beta_0 is the "
                 "first step's noise)"),
                (step * float(np.sum(beta[:N])), "square the noise levels: the exponent is gamma "
                 "sum beta_i^2"),
                (step * float(np.sum(beta[:N])) ** 2, square_of_sum),
                (step * float(np.sum(beta[:N]) ** 2), square_of_sum),
                (want / step, "multiply by the step gamma"),
                (want / N, "you averaged beta_i^2 over the steps: the exponent sums them (it "
                 "must grow with the number of steps for the bound to go to 0)"),
                (step * N * float(beta[0]) ** 2, "you assumed a constant schedule (n_steps "
                 "times beta_0^2): add up each step's own beta_i^2"),
            ]  # fmt: skip

        where = (
            f"for {sched!r}, step {step}, n_steps {N} you returned {got:.6g}, gamma sum beta_i^2 "
            f"is {want:.6g}"
        )
        return Outcome(got, want, where, mistakes, sizes={"n_steps": N}, params={"gamma": step})

    def generic(outcome):
        return "use schedule.values(n_steps) for beta_0 .. beta_{n_steps - 1}"

    count = run_cases(name, cases, evaluate, generic)
    ok(name, f"all {count} schedules agree with step * sum(schedule.values(n_steps)**2).")


def _cases(seed):
    rng = np.random.default_rng(seed)
    out = []
    for X, Y, k in [
        (rng.normal(size=(20, 2)) * 0.3, rng.normal(size=(25, 2)) + 1.0, GaussianKernel(1.0)),
        (rng.normal(size=(12, 1)), rng.normal(size=(9, 1)) * 2.0, IMQKernel(1.0, -0.5)),
        (rng.normal(size=(2, 3)), rng.normal(size=(4, 3)), GaussianKernel(1.5)),
    ]:
        out.append((X, Y, k, rng.standard_normal(X.shape)))
    return out


def check_ex5_2_noisy_steps(my_injection: Callable, my_diffusion: Callable) -> None:
    """Check one noise-injection step and one diffusion step, given the noise u.

    Noise injection: X - step grad f(X + beta u), f = mu_nu - mu_nu* built from the UNPERTURBED
    particles X, and the unperturbed particles move. Diffusion: X - step grad f(X) + beta u.
    (Arbel, Korba, Salim, Gretton, NeurIPS 2019, Section 3; ``mmd_flow(noise=..., diffusion=...)``.)
    """
    name = "check_ex5_2_noisy_steps"
    cases = [
        (X, Y, k, u, step, beta)
        for X, Y, k, u in _cases(52)
        for step, beta in ((0.5, 0.4), (1.0, 1.5), (0.5, 0.0))  # beta = 0: both the plain step
    ]

    def particles(fn, case, label):
        X, Y, k, u, step, beta = case
        got = returned_array(name, call(name, fn, X.copy(), Y, k, step, beta, u.copy()))
        if got.shape != X.shape:
            raise CheckFailed(f"{name}: expected particles of shape {X.shape}, got {got.shape}")
        return got

    def steps(case):
        X, Y, k, u, step, beta = case

        def move(at, source=X):
            return X + step * mmd_velocity(source, Y, k, at=at).velocity

        return move, move(X + beta * u), move(X) + beta * u

    def injection(case):
        X, Y, k, u, step, beta = case
        got = particles(my_injection, case, "injection")
        move, inj, dif = steps(case)
        Xp = X + beta * u

        def mistakes():
            langevin = np.sqrt(2 * step) * beta
            return [
                (inj + beta * u, "you moved the perturbed particles X + beta u: noise injection "
                 "only evaluates the gradient there, and moves the unperturbed X"),
                (move(Xp, Xp), "f must be built from the unperturbed particles (mu_nu with nu on "
                 "X); only the evaluation point is perturbed"),
                (dif, "this is the diffusion step: evaluate grad f at X + beta u, add no noise"),
                (X - step * mmd_velocity(X, Y, k, at=Xp).velocity, "the velocity has the wrong "
                 "sign: move along -grad f"),
                (move(X), "the noise is missing: evaluate grad f at X + beta u"),
                (move(X + step * beta * u), "you perturbed by gamma beta u: the perturbation is "
                 "beta u, independent of the step gamma (beta is the noise level itself)"),
                (move(X + langevin * u), "you scaled the noise like a Langevin step, "
                 "sqrt(2 gamma) beta u: noise injection evaluates grad f at X + beta u"),
                (move(X + beta**2 * u), "you perturbed by beta^2 u: beta is the standard "
                 "deviation of the noise, not its variance"),
            ]  # fmt: skip

        where = f"noise_injection_step is wrong (step {step}, beta {beta}, {k!r})"
        return Outcome(got, inj, where, mistakes, origin=X, params={"gamma": step, "beta": beta})

    def diffusion(case):
        X, Y, k, u, step, beta = case
        got = particles(my_diffusion, case, "diffusion")
        move, inj, dif = steps(case)

        def mistakes():
            at_perturbed = (
                "the gradient is taken at X itself in the diffusion step, not at X + beta u"
            )
            return [
                (inj, "this is the noise-injection step: diffusion takes the plain step at X, "
                 "then adds beta u to the positions"),
                (inj + beta * u, at_perturbed),
                (move(X + beta * u, X + beta * u) + beta * u, at_perturbed),
                (move(X) + np.sqrt(2 * step) * beta * u, "you scaled the noise like a Langevin "
                 "step, sqrt(2 gamma) beta u: the diffusion of the talk adds beta u itself (beta "
                 "is the noise level of one step, not a diffusion coefficient per unit time)"),
                (move(X), "the noise is missing: add beta u after the step"),
                (X - step * mmd_velocity(X, Y, k).velocity + beta * u, "the velocity has the wrong "
                 "sign: move along -grad f"),
                (move(X) + step * beta * u, "you added gamma beta u: the diffusion adds beta u, "
                 "whatever the step gamma"),
            ]  # fmt: skip

        where = f"diffusion_step is wrong (step {step}, beta {beta}, {k!r})"
        return Outcome(got, dif, where, mistakes, origin=X, params={"gamma": step, "beta": beta})

    def generic(outcome):
        return f"largest error {np.max(np.abs(outcome.got - outcome.want)):.3g}"

    run_cases(name, cases, injection, generic)
    run_cases(name, cases, diffusion, generic)
    ok(name, f"noise injection and diffusion agree with mmd_velocity on {len(cases) // 3} cases.")


def check_ex5_3_noisy_gradient_ratio(my_ratio: Callable) -> None:
    """Check ``my_ratio(X, Y, kernel, beta, u)`` = E||grad f(X + beta u)||^2 / (beta^2 F(X)).

    f = mu_nu - mu_nu* and F = 1/2 MMD^2 (``mmd_energy``) are built from the unperturbed
    particles X; the mean is over the particles. The slide's condition of Proposition 8 is that
    this ratio stays above a constant eta > 0 (lecture 05 keeps lambda for the KALE).
    """
    name = "check_ex5_3_noisy_gradient_ratio"
    cases = [(X, Y, k, u, beta) for X, Y, k, u in _cases(53) for beta in (0.1, 0.7)]

    def evaluate(case):
        X, Y, k, u, beta = case
        got = returned_number(name, call(name, my_ratio, X.copy(), Y, k, beta, u.copy()))
        v = mmd_velocity(X, Y, k, at=X + beta * u).velocity
        F = mmd_energy(X, Y, k)
        sq = np.sum(v**2, axis=1)
        want = float(np.mean(sq) / (beta**2 * F))

        def mistakes():
            unbiased = (
                "mmd2 defaults to the unbiased estimator (it leaves out the i = j terms): F is "
                "the plug-in (V-statistic) 1/2 MMD^2 of the particles, mmd_energy"
            )
            mean_sq = float(np.mean(sq))
            at_x = float(np.mean(np.sum(mmd_velocity(X, Y, k).velocity ** 2, 1)))
            moved = float(np.mean(np.sum(mmd_velocity(X + beta * u, Y, k).velocity ** 2, 1)))
            return [
                (want / 2, "a factor 2: F = 1/2 MMD^2 (mmd_energy), not MMD^2"),
                (mean_sq / (beta**2 * mmd2(X, Y, k) / 2), f"your F is mmd2(X, Y, kernel) / 2: "
                 f"{unbiased}"),
                (mean_sq / (beta**2 * mmd2(X, Y, k)), f"your F is mmd2(X, Y, kernel): "
                 f"{unbiased}, with the 1/2"),
                (want * beta**2, "divide by beta^2 as well as by F"),
                (want * beta, "divide by beta^2, the square of the noise level, not by beta"),
                (at_x / (beta**2 * F), "evaluate grad f at the perturbed points X + beta u, not "
                 "at X"),
                (moved / (beta**2 * F), "build f from the unperturbed particles X; only evaluate "
                 "it at X + beta u"),
                (float(np.mean(np.sqrt(sq))) / (beta**2 * F), "square the lengths: "
                 "E ||grad f||^2"),
                (len(X) * want, "take the mean over the particles, not the sum"),
                (float(np.mean(v**2)) / (beta**2 * F), "you averaged over the d coordinates too: "
                 "||grad f||^2 sums the squares of the coordinates, the mean is over the "
                 "particles"),
            ]  # fmt: skip

        where = f"for beta = {beta}, {k!r} you returned {got:.6g}, the ratio is {want:.6g}"
        return Outcome(got, want, where, mistakes, sizes={"n": len(X), "d": X.shape[1]},
                       params={"beta": beta, "beta^2": beta**2})  # fmt: skip

    def generic(outcome):
        return "no common mistake matches"

    count = run_cases(name, cases, evaluate, generic)
    ok(name, f"all {count} cases agree with mmd_velocity and mmd_energy.")
