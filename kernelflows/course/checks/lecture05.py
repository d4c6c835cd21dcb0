"""Checks for the exercises of lecture 05 (noise injection).

Exercise 1: ``noise_exponent(schedule, step, n_steps)``; exercise 2: ``noise_injection_step(X,
Y, kernel, step, beta, u)`` and ``diffusion_step(...)``; exercise 3: ``noisy_gradient_ratio(X,
Y, kernel, beta, u)``. Conventions: F = 1/2 MMD^2, f = mu_nu - mu_nu*, velocity -grad f.
"""

from __future__ import annotations

from collections.abc import Callable

import numpy as np

from ...divergences import mmd_energy, mmd_velocity
from ...flows import constant, halving, inverse_sqrt, piecewise
from ...kernels import GaussianKernel, IMQKernel
from .core import CheckFailed, call, close, ok, returned_array, returned_number

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
    for sched, step, N in cases:
        got = returned_number(name, call(name, my_exponent, sched, step, N))
        beta = sched.values(N + 1)
        want = step * float(np.sum(beta[:N] ** 2))
        if close(got, want):
            continue
        if close(got, step * float(np.sum(beta**2))) and not close(beta[N], 0.0):
            hint = "one term too many: the sum runs over i = 0 .. n_steps - 1"
        elif close(got, step * float(np.sum(beta[1:] ** 2))):
            hint = "the sum starts at i = 0 (beta_0 is the first step's noise)"
        elif close(got, step * float(np.sum(beta[:N]))):
            hint = "square the noise levels: the exponent is gamma sum beta_i^2"
        elif close(got, step * float(np.sum(beta[:N])) ** 2) or close(
            got, step * float(np.sum(beta[:N]) ** 2)
        ):
            hint = "square each beta_i, then sum (not the square of the sum)"
        elif close(got, want / step):
            hint = "multiply by the step gamma"
        else:
            hint = "use schedule.values(n_steps) for beta_0 .. beta_{n_steps - 1}"
        raise CheckFailed(
            f"{name}: for {sched!r}, step {step}, n_steps {N} you returned {got:.6g}, "
            f"gamma sum beta_i^2 is {want:.6g}: {hint}."
        )
    ok(name, f"all {len(cases)} schedules agree with step * sum(schedule.values(n_steps)**2).")


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
    cases = _cases(52)
    for X, Y, k, u in cases:
        for step, beta in ((0.5, 0.4), (1.0, 1.5), (0.5, 0.0)):  # beta = 0: both are the plain step
            Xp = X + beta * u
            v_inj = mmd_velocity(X, Y, k, at=Xp).velocity
            v_plain = mmd_velocity(X, Y, k).velocity
            inj = X + step * v_inj
            dif = X + step * v_plain + beta * u
            got = returned_array(
                name, call(name, my_injection, X.copy(), Y, k, step, beta, u.copy())
            )
            if got.shape != X.shape:
                raise CheckFailed(f"{name}: expected particles of shape {X.shape}, got {got.shape}")
            if not close(got, inj):
                if close(got, Xp + step * v_inj):
                    hint = (
                        "you moved the perturbed particles X + beta u: noise injection only "
                        "evaluates the gradient there, and moves the unperturbed X"
                    )
                elif close(got, X + step * mmd_velocity(Xp, Y, k).velocity):
                    hint = (
                        "f must be built from the unperturbed particles (mu_nu with nu on X); "
                        "only the evaluation point is perturbed"
                    )
                elif close(got, dif):
                    hint = "this is the diffusion step: evaluate grad f at X + beta u, add no noise"
                elif close(got, X - step * v_inj):
                    hint = "the velocity has the wrong sign: move along -grad f"
                elif close(got, X + step * v_plain):
                    hint = "the noise is missing: evaluate grad f at X + beta u"
                elif close(
                    got,
                    X + step * mmd_velocity(X, Y, k, at=X + np.sqrt(2 * step) * beta * u).velocity,
                ):
                    hint = (
                        "you scaled the noise like a Langevin step, sqrt(2 gamma) beta u: noise "
                        "injection evaluates grad f at X + beta u"
                    )
                else:
                    hint = (
                        "X + step * mmd_velocity(X, Y, kernel, at=X + beta u).velocity, "
                        f"largest error {np.max(np.abs(got - inj)):.3g}"
                    )
                raise CheckFailed(f"{name}: noise_injection_step is wrong ({k!r}): {hint}.")
            got = returned_array(
                name, call(name, my_diffusion, X.copy(), Y, k, step, beta, u.copy())
            )
            if got.shape != X.shape:
                raise CheckFailed(f"{name}: expected particles of shape {X.shape}, got {got.shape}")
            if not close(got, dif):
                if close(got, inj):
                    hint = (
                        "this is the noise-injection step: diffusion takes the plain step "
                        "at X, then adds beta u to the positions"
                    )
                elif close(got, inj + beta * u) or close(got, Xp + step * v_inj):
                    hint = (
                        "the gradient is taken at X itself in the diffusion step, not at X + beta u"
                    )
                elif close(got, X + step * v_plain + np.sqrt(2 * step) * beta * u):
                    hint = (
                        "you scaled the noise like a Langevin step, sqrt(2 gamma) beta u: the "
                        "diffusion of the talk adds beta u itself (beta is the noise level of "
                        "one step, not a diffusion coefficient per unit time)"
                    )
                elif close(got, X + step * v_plain):
                    hint = "the noise is missing: add beta u after the step"
                elif close(got, X - step * v_plain + beta * u):
                    hint = "the velocity has the wrong sign: move along -grad f"
                else:
                    hint = f"largest error {np.max(np.abs(got - dif)):.3g}"
                raise CheckFailed(f"{name}: diffusion_step is wrong ({k!r}): {hint}.")
    ok(name, f"noise injection and diffusion agree with mmd_velocity on {len(cases)} cases.")


def check_ex5_3_noisy_gradient_ratio(my_ratio: Callable) -> None:
    """Check ``my_ratio(X, Y, kernel, beta, u)`` = E||grad f(X + beta u)||^2 / (beta^2 F(X)).

    f = mu_nu - mu_nu* and F = 1/2 MMD^2 (``mmd_energy``) are built from the unperturbed
    particles X; the mean is over the particles. The slide's condition of Proposition 8 is that
    this ratio stays above a lambda > 0.
    """
    name = "check_ex5_3_noisy_gradient_ratio"
    cases = _cases(53)
    for X, Y, k, u in cases:
        for beta in (0.1, 0.7):
            v = mmd_velocity(X, Y, k, at=X + beta * u).velocity
            F = mmd_energy(X, Y, k)
            sq = np.sum(v**2, axis=1)
            want = float(np.mean(sq) / (beta**2 * F))
            got = returned_number(name, call(name, my_ratio, X.copy(), Y, k, beta, u.copy()))
            if close(got, want):
                continue
            if close(got, want / 2):
                hint = "a factor 2: F = 1/2 MMD^2 (mmd_energy), not MMD^2"
            elif close(got, want * beta**2):
                hint = "divide by beta^2 as well as by F"
            elif close(
                got, float(np.mean(np.sum(mmd_velocity(X, Y, k).velocity ** 2, 1))) / (beta**2 * F)
            ):
                hint = "evaluate grad f at the perturbed points X + beta u, not at X"
            elif close(
                got,
                float(np.mean(np.sum(mmd_velocity(X + beta * u, Y, k).velocity ** 2, 1)))
                / (beta**2 * F),
            ):
                hint = "build f from the unperturbed particles X; only evaluate it at X + beta u"
            elif close(got, float(np.mean(np.sqrt(sq))) / (beta**2 * F)):
                hint = "square the lengths: E ||grad f||^2"
            elif close(got, len(X) * want):
                hint = "take the mean over the particles, not the sum"
            else:
                hint = (
                    "mean of ||mmd_velocity(X, Y, kernel, at=X + beta u).velocity||^2, over "
                    "beta^2 mmd_energy"
                )
            raise CheckFailed(
                f"{name}: for beta = {beta}, {k!r} you returned {got:.6g}, the ratio is "
                f"{want:.6g}: {hint}."
            )
    ok(name, f"all {2 * len(cases)} cases agree with mmd_velocity and mmd_energy.")
