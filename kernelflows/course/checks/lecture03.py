"""Checks for the exercises of lecture 03 (the MMD gradient flow).

Exercise 1: ``mean_interaction_force(X, bandwidth)``; exercise 2: ``first_variation_at(X, Y,
kernel, Z)``; exercise 3 uses the core check :func:`kernelflows.course.checks.check_mmd_flow_step`.
Conventions of the package: F = 1/2 MMD^2(nu, nu*), f = mu_nu - mu_nu*, velocity -grad f.
"""

from __future__ import annotations

from collections.abc import Callable

import numpy as np

from ...divergences import mmd2
from ...kernels import GaussianKernel, IMQKernel, LaplaceKernel
from ...theory import first_variation, first_variation_check
from .core import CheckFailed, Outcome, call, close, ok, returned_array, returned_number, run_cases

__all__ = ["check_ex3_1_interaction_force", "check_ex3_2_first_variation"]


def _interaction_forces(X, bandwidth):
    """grad mu_nu(x_i) for nu = (1/n) sum_j delta_{x_j}, Gaussian kernel, shape (n, d)."""
    n = len(X)
    return GaussianKernel(bandwidth).weighted_grad(X, X, np.full(n, 1.0 / n))


def check_ex3_1_interaction_force(my_force: Callable) -> None:
    """Check ``my_force(X, bandwidth)`` = mean_i ||grad mu_nu(x_i)|| (Gaussian kernel).

    mu_nu(z) = (1/n) sum_j k(x_j, z) with k = exp(-||x - y||^2 / (2 bandwidth^2)); the answer is
    the mean over the particles of the length of its gradient (lecture 03, exercise 1).
    """
    name = "check_ex3_1_interaction_force"
    rng = np.random.default_rng(31)
    cases = [
        (rng.normal(size=(30, 2)) * 0.5 + 2.0, 1.0),
        (rng.normal(size=(25, 2)), 0.3),
        (rng.normal(size=(12, 1)) * 2.0, 0.7),
        (rng.normal(size=(2, 3)), 2.0),  # two particles: the smallest interaction
        (rng.normal(size=(1, 2)), 1.0),  # one particle: no interaction, the force is 0
    ]

    def evaluate(case):
        X, s = case
        got = call(name, my_force, X.copy(), s)
        if np.ndim(got) > 0 and np.size(got) == len(X) and len(X) > 1:
            raise CheckFailed(
                f"{name}: you returned one value per particle (shape {np.shape(got)}); "
                "return their mean, one number."
            )
        got = returned_number(name, got)
        forces = _interaction_forces(X, s)
        norms = np.linalg.norm(forces, axis=1)
        want = float(norms.mean())
        n = len(X)

        def mean_length(bandwidth):
            return float(np.linalg.norm(_interaction_forces(X, bandwidth), axis=1).mean())

        def mistakes():
            return [
                (n * want, "you summed the kernel gradients: mu_nu averages over the particles "
                 "(divide by n)"),
                (n / (n - 1) * want if n > 1 else None, "you averaged over the n - 1 other "
                 "particles: mu_nu is the mean over all n of them (a particle's own term is "
                 "there, with zero gradient)"),
                (float(np.mean(norms**2)), "you averaged the squared lengths: take the length "
                 "||grad mu_nu(x_i)||"),
                (float(np.sqrt(np.mean(norms**2))), "this is the root mean square of the "
                 "lengths: average the lengths themselves"),
                (float(np.linalg.norm(forces.mean(axis=0))), "you took the length of the mean "
                 "force, which is 0 by symmetry (every pair pushes equally both ways): average "
                 "the lengths instead"),
                (float(np.mean(np.linalg.norm(forces, axis=0))), "you took lengths over the "
                 "wrong axis (over the particles, one per coordinate): take the length of each "
                 "particle's force vector, axis=1"),
                (mean_length(s**2), "you used bandwidth^2 as the bandwidth: k = exp(-||x-y||^2 "
                 "/ (2 bandwidth^2))"),
                (mean_length(s / np.sqrt(2)), "your kernel is exp(-||x-y||^2 / bandwidth^2): "
                 "the package's Gaussian kernel has 2 bandwidth^2 in the denominator"),
            ]  # fmt: skip

        where = (
            f"for n={n}, d={X.shape[1]}, bandwidth {s} you returned {got:.6g}, the mean length "
            f"of grad mu_nu at the particles is {want:.6g}"
        )
        return Outcome(got, want, where, mistakes, sizes={"n": n, "d": X.shape[1]},
                       params={"bandwidth": s})  # fmt: skip

    def generic(outcome):
        return "no common mistake matches: compare grad mu_nu with kernel.weighted_grad"

    count = run_cases(name, cases, evaluate, generic)
    ok(name, f"all {count} cases agree with GaussianKernel.weighted_grad.")


def check_ex3_2_first_variation(my_first_variation: Callable) -> None:
    """Check ``my_first_variation(X, Y, kernel, Z)`` = f(Z), f = mu_nu - mu_nu* (shape (len(Z),)).

    Compared with :func:`kernelflows.theory.first_variation` and, for the pairing int f d xi,
    with a finite difference of F(nu + eps xi) (lecture 03, exercise 2). An answer shifted by a
    constant is right: the first variation is defined up to one.
    """
    name = "check_ex3_2_first_variation"
    rng = np.random.default_rng(32)
    cases = [
        (rng.normal(size=(15, 2)), rng.normal(size=(20, 2)) + 1.0, GaussianKernel(1.0)),
        (rng.normal(size=(10, 2)), rng.normal(size=(7, 2)) * 1.5, IMQKernel(1.0, -0.5)),
        (rng.normal(size=(9, 1)), rng.laplace(size=(12, 1)), LaplaceKernel(0.8)),
        (rng.normal(size=(1, 2)), rng.normal(size=(2, 2)), GaussianKernel(2.0)),
    ]
    cases = [(X, Y, k, rng.normal(size=(6, X.shape[1])) * 2.0) for X, Y, k in cases]
    shifted = []

    def up_to_a_constant(a, b):
        a, b = np.asarray(a, dtype=float), np.asarray(b, dtype=float)
        if a.shape != b.shape:
            return False
        return bool(np.ptp(a - b) <= 1e-9 * max(1.0, float(np.max(np.abs(b)))))

    def evaluate(case):
        X, Y, k, Z = case
        got = returned_array(name, call(name, my_first_variation, X.copy(), Y.copy(), k, Z))
        want = first_variation(X, Y, k)(Z)
        if got.shape != want.shape:
            raise CheckFailed(
                f"{name}: expected one value per row of Z, shape {want.shape}; got {got.shape}."
            )
        if up_to_a_constant(got, want) and not close(got, want):
            shifted.append(float(np.mean(got - want)))
        mu_x, mu_y = k(Z, X).mean(axis=1), k(Z, Y).mean(axis=1)
        n, m = len(X), len(Y)

        def mistakes():
            normalised = (
                "you normalised f by the MMD: the first variation of F = 1/2 MMD^2 is "
                "mu_nu - mu_nu* itself, not divided by its norm"
            )
            unbiased = mmd2(X, Y, k) if min(n, m) > 1 else 0.0
            return [
                (-2 * want, "this is the slide's 2 (mu_nu* - mu_nu): the first variation of "
                 "1/2 MMD^2 is mu_nu - mu_nu*, no factor 2 and the opposite sign"),
                (2 * want, "a factor 2 too many: that is the first variation of MMD^2, not of "
                 "1/2 MMD^2"),
                (-want, "the sign is flipped: f = mu_nu - mu_nu* (particles minus target)"),
                (k(Z, X).sum(axis=1) - k(Z, Y).sum(axis=1), "you summed the kernels: mean "
                 "embeddings average them (divide by n and m)"),
                (mu_x, "one of the two mean embeddings is missing: f = mu_nu - mu_nu*"),
                (-mu_y, "one of the two mean embeddings is missing: f = mu_nu - mu_nu*"),
                (want / np.sqrt(mmd2(X, Y, k, estimator="biased")), normalised),
                (want / np.sqrt(unbiased) if unbiased > 0 else None, normalised),
            ]  # fmt: skip

        def terms():
            return {"the mean embedding of the particles": (mu_x, 1.0),
                    "that of the target": (mu_y, -1.0)}  # fmt: skip

        return Outcome(got, want, f"wrong values of f for {k!r}", mistakes, terms=terms,
                       sizes={"n": n, "m": m}, same=up_to_a_constant)  # fmt: skip

    def pairing(outcome):
        X, Y, k, Z = outcome.case
        c = rng.normal(size=len(Z))
        c -= c.mean()
        fd, _ = first_variation_check(X, Y, k, Z, c)
        return (
            f"paired with a mass-zero xi your f gives {float(c @ outcome.got):.6g}, the finite "
            f"difference of F(nu + eps xi) is {fd:.6g}"
        )

    run_cases(name, cases, evaluate, pairing)
    if shifted:
        ok(
            name,
            f"all {len(cases)} cases agree with mu_nu - mu_nu* up to a constant (yours is "
            f"shifted by {shifted[0]:.3g}, e.g. a centred f - E_nu f): that is a valid answer. "
            "The first variation is defined up to a constant: a perturbation xi of nu has mass "
            "zero, so int c dxi = 0, and the velocity -grad f does not see constants.",
        )
        return
    ok(name, f"all {len(cases)} cases agree with mu_nu - mu_nu* (Gaussian, IMQ, Laplace).")
