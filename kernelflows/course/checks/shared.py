"""The checks several lectures share: the Gram matrix (lecture 01), MMD^2 and the witness (02),
one MMD flow step (03), KALE (08), and the mistakes of an MMD^2 estimator that lecture 06's
network check names too. Each runs its cases through :func:`~.core.run_cases`, which names the
mistake (:mod:`.core`).
"""

from __future__ import annotations

from collections.abc import Callable

import numpy as np

from ...divergences import mmd2
from ...kernels import GaussianKernel, Kernel, LaplaceKernel
from ...measures import witness
from .core import (
    CheckFailed,
    Mistake,
    Outcome,
    as_float,
    call,
    close,
    largest_error,
    ok,
    run_cases,
    sample_cases,
    tolerance,
)

__all__ = [
    "check_gram",
    "check_kale",
    "check_mmd2",
    "check_mmd_flow_step",
    "check_witness",
    "mmd2_mistakes",
]


def check_gram(my_gram: Callable[[np.ndarray, np.ndarray, Kernel], np.ndarray]) -> None:
    """Check ``my_gram(X, Y, kernel)`` returns the (n, m) matrix K[i, j] = k(x_i, y_j)."""
    name = "check_gram"

    def evaluate(case):
        X, Y, k = case
        got = np.asarray(call(name, my_gram, X, Y, k), dtype=float)
        want = k(X, Y)
        n, m = len(X), len(Y)
        rows, cols = np.divmod(np.arange(n * m), m)  # entry (a, b) is pair r = a m + b
        r = rows * m + cols
        transposed = (
            f"your matrix is transposed: K[i, j] must be k(x_i, y_j), one row per x and one "
            f"column per y (shape {want.shape} for n={n}, m={m})"
        )
        if got.shape == want.T.shape and got.shape != want.shape and close(got, want.T):
            raise CheckFailed(f"{name}: {transposed}.")
        if got.shape != want.shape:
            raise CheckFailed(
                f"{name}: expected shape {want.shape} for n={n}, m={m}, got {got.shape}."
            )

        def mistakes():
            return [
                (want.T, transposed),
                (
                    want[r % n, r // n].reshape(n, m),
                    "np.repeat and np.tile pair the rows in the other order: the pair in row "
                    "r = i m + j of your two arrays must be (x_i, y_j)",
                ),
                (k(X, X) if n == m else None, "your columns run over X: column j is y_j"),
            ]

        return Outcome(got, want, f"for n={n}, m={m}, {k!r}", mistakes)

    run_cases(name, sample_cases(), evaluate, largest_error)
    ok(name, "all cases agree with kernel(X, Y).")


def mmd2_mistakes(estimator: str, Kxx, Kyy, Kxy, sizes=("n", "m")) -> list[Mistake]:
    """The likely wrong MMD^2 estimates from the Gram blocks, with their words; ``sizes`` names
    the two sample sizes in the words."""
    n, m = len(Kxx), len(Kyy)
    a, b = sizes
    cross = Kxy.mean()

    def within(dx, dy, diag=True):
        tx, ty = (np.trace(Kxx), np.trace(Kyy)) if diag else (0.0, 0.0)
        return (Kxx.sum() - tx) / dx + (Kyy.sum() - ty) / dy

    values = {
        "biased": Kxx.mean() + Kyy.mean() - 2 * cross,
        "unbiased": within(n * (n - 1), m * (m - 1)) - 2 * cross if min(n, m) > 1 else None,
    }
    want = values[estimator]
    if want is None:
        return []
    if estimator == "unbiased":
        both_n = within(n * (n - 1), n * (n - 1)) - 2 * cross
    else:
        both_n = Kxx.mean() + Kyy.sum() / n**2 - 2 * cross
    return [
        (values["biased"], "this is the biased V-statistic: the unbiased U-statistic leaves out "
         f"the i = j terms of the within-sample sums and divides them by {a}({a}-1) and "
         f"{b}({b}-1)"),
        (values["unbiased"], "this is the unbiased U-statistic: the V-statistic keeps the i = j "
         "terms"),
        (within(n**2, m**2) - 2 * cross, f"you dropped the diagonal but still divided by {a}^2: "
         f"use {a}({a}-1)"),
        (within(n * (n - 1), m * (m - 1), diag=False) - 2 * cross if min(n, m) > 1 else None,
         f"you divided by {a}({a}-1) but kept the i = j terms (the diagonal) in the sums"),
        (want + 2 * cross, "the cross term carries a factor 2: subtract 2 mean k(x, y)"),
        (want + cross, "the cross term carries a factor 2: subtract 2 mean k(x, y)"),
        (-want, "the sign is flipped"),
        (np.sqrt(want) if want >= 0 else None, "you returned MMD, not MMD^2"),
        (both_n, f"you used {a} for both samples: the sums over the second sample divide by "
         f"its own size {b}"),
        (both_n + 2 * cross - 2 * Kxy.sum() / n**2, f"you used {a} for both samples (as a "
         f"formula written for equal sizes does): the second sample has its own size {b}, in "
         "its own sums and in the cross term"),
    ]  # fmt: skip


def check_mmd2(my_mmd2: Callable, estimator: str = "unbiased") -> None:
    """Check ``my_mmd2(X, Y, kernel)`` against ``kernelflows.mmd2(X, Y, kernel, estimator)``."""
    name = "check_mmd2"

    def evaluate(case):
        X, Y, k = case
        got = as_float(name, call(name, my_mmd2, X, Y, k))
        want = mmd2(X, Y, k, estimator=estimator)
        n, m = len(X), len(Y)

        def mistakes():
            listed = mmd2_mistakes(estimator, k(X), k(Y), k(X, Y))
            if n != m:
                short = (
                    mmd2(X[: min(n, m)], Y[: min(n, m)], k, estimator=estimator)
                    if min(n, m) > 1
                    else None
                )
                listed.append((short, "you assumed n = m: X and Y may have different sizes"))
            return listed

        where = (
            f"for n={n}, m={m}, d={X.shape[1]}, {k!r} you returned {got:.6g} but the "
            f"{estimator} estimate is {want:.6g}"
        )
        return Outcome(got, want, where, mistakes, sizes={"n": n, "m": m})

    def generic(outcome):
        return "no common mistake matches; compare term by term"

    count = run_cases(name, sample_cases(), evaluate, generic)
    ok(name, f"all {count} cases agree with kernelflows.mmd2 ({estimator}).")


def check_witness(my_witness: Callable) -> None:
    """Check ``my_witness(X, Y, kernel)`` returns a callable z -> mu_P(z) - mu_Q(z)."""
    name = "check_witness"
    rng = np.random.default_rng(1)
    cases = [(X, Y, k, rng.normal(size=(6, X.shape[1])) * 1.5) for X, Y, k in sample_cases()]

    def evaluate(case):
        X, Y, k, Z = case
        f = call(name, my_witness, X, Y, k)
        if not callable(f):
            raise CheckFailed(f"{name}: my_witness should return a function of z, got {type(f)}")
        got = np.asarray(call(name, f, Z), dtype=float).reshape(-1)
        want = witness(X, Y, k)(Z)
        mu_x, mu_y = k(Z, X).mean(1), k(Z, Y).mean(1)

        def mistakes():
            norm = np.sqrt(max(mmd2(X, Y, k, estimator="biased"), 0.0))
            unbiased = mmd2(X, Y, k) if min(len(X), len(Y)) > 1 else 0.0
            normalised = (
                "you normalised the witness; here it is mu_P - mu_Q without dividing by "
                "its norm (the MMD)"
            )
            return [
                (-want, "the sign is flipped: the witness is mu_P - mu_Q, positive where P has "
                 "more mass"),
                (k(Z, X).sum(1) - k(Z, Y).sum(1), "you summed the kernels; the mean embedding "
                 "averages them (divide by n and by m)"),
                (want / norm if norm > 0 else None, normalised),
                (want / np.sqrt(unbiased) if unbiased > 0 else None, normalised),
                (mu_x, "the mean embedding of Q is missing: the witness is a difference"),
                (-mu_y, "the mean embedding of P is missing: the witness is a difference"),
            ]  # fmt: skip

        def terms():
            return {"the mean embedding of P": (mu_x, 1.0), "that of Q": (mu_y, -1.0)}

        where = f"values at {len(Z)} points z, n = {len(X)}, m = {len(Y)}, {k!r}"
        sizes = {"n": len(X), "m": len(Y)}
        return Outcome(got, want, where, mistakes, sizes=sizes, terms=terms)

    run_cases(name, cases, evaluate, largest_error)
    ok(name, "all cases agree with kernelflows.witness.")


def check_mmd_flow_step(my_step: Callable) -> None:
    """Check ``my_step(X, Y, kernel, step)`` returns the particles after one MMD flow step.

    The step is forward Euler on F = 1/2 MMD^2(nu, nu*): X <- X - step grad f(X) with
    f = mu_nu - mu_nu* (particles X, target samples Y).
    """
    name = "check_mmd_flow_step"
    cases = [(X, Y, k, step) for X, Y, k in sample_cases(2) for step in (0.1, 1.0)]

    def evaluate(case):
        X, Y, k, step = case
        n, m = len(X), len(Y)
        got = np.asarray(call(name, my_step, X.copy(), Y, k, step), dtype=float)
        if got.shape != X.shape:
            raise CheckFailed(f"{name}: expected particles of shape {X.shape}, got {got.shape}.")
        gx = k.weighted_grad(X, X, np.full(n, 1 / n))  # grad mu_nu: the repulsion's gradient
        gy = k.weighted_grad(X, Y, np.full(m, 1 / m))
        want = X - step * (gx - gy)

        def mistakes():
            def moved(vx, vy=gy):
                return X - step * (vx - vy)

            return [
                (X + step * (gx - gy), "the velocity has the wrong sign: particles must move "
                 "along -grad f (downhill), attracted by the data"),
                (moved(2 * gx, 2 * gy), "your step is twice too large: the slide's f carries a "
                 "factor 2; here F = 1/2 MMD^2 and f = mu_nu - mu_nu*"),
                (X + 2 * step * (gx - gy), "this is the slide's first variation 2 (mu_nu* - "
                 "mu_nu) taken as it stands: both its sign and its factor 2 are off. Here "
                 "F = 1/2 MMD^2, f = mu_nu - mu_nu*, and the particles move along -grad f"),
                (moved(n * gx, m * gy), "you summed the kernel gradients: mu_nu and mu_nu* are "
                 f"means, so divide the sum over the particles by n = {n} and the sum over the "
                 f"target by m = {m}"),
                (X + step * (n * gx - m * gy), "you summed the kernel gradients, and the velocity "
                 "has the wrong sign"),
                (moved(0 * gx), "only the attraction to the data is there: add the repulsion "
                 "between particles (the interaction term)"),
                (moved(n / (n - 1) * gx) if n > 1 else None, "the interaction term is n/(n-1) "
                 f"= {n}/{n - 1} times the right one: you averaged over the n - 1 other "
                 "particles, but mu_nu is the mean over all n of them (a particle's own term "
                 "is there, with zero gradient)"),
            ]  # fmt: skip

        def terms():
            return {
                "the repulsion between particles (the interaction term)": (gx, -step),
                "the attraction to the target (the confinement term)": (gy, step),
            }

        return Outcome(
            got, want, f"step {step}, n = {n}, m = {m}, {k!r}", mistakes,
            sizes={"n": n, "m": m}, params={"gamma": step}, origin=X, terms=terms,
        )  # fmt: skip

    run_cases(name, cases, evaluate, lambda o: "the particles differ from the right step by "
              f"up to {np.max(np.abs(o.got - o.want)):.3g}")  # fmt: skip
    ok(name, "all cases agree with one forward Euler step of the MMD flow.")


def check_kale(my_kale: Callable, lam: float | None = None) -> None:
    """Check ``my_kale(P, Q, kernel, lam)`` against ``kernelflows.kale`` (P linear, Q exp term).

    KALE_lam(P || Q) = (1 + lam) max_f E_P f + 1 - E_Q exp(f) - lam/2 ||f||^2. Without ``lam``
    the check runs lam = 0.5 and 3: at lam = 1 a missing (1 + lam) would look like any
    factor 2, so values other than 1 tell the mistakes apart.
    """
    from ...divergences import kale  # imported here: the KALE solver is a separate lecture

    name = "check_kale"
    lams = (0.5, 3.0) if lam is None else (float(lam),)
    rng = np.random.default_rng(3)
    # n != m, d = 1 and 2, two kernels; small enough for a student's generic optimiser
    samples = [
        (rng.normal(size=(20, 1)), rng.normal(size=(25, 1)) + 1.0, GaussianKernel(1.0)),
        (rng.normal(size=(10, 1)), rng.laplace(size=(7, 1)) - 0.5, LaplaceKernel(1.2)),
        (rng.normal(size=(12, 2)), rng.normal(size=(16, 2)) + [0.8, -0.4], LaplaceKernel(1.0)),
    ]
    cases = [(lam_, P, Q, k) for lam_ in lams for P, Q, k in samples]

    def value(P, Q, k, penalty):
        return kale(P, Q, k, lam=penalty, tol=1e-12).value

    def evaluate(case):
        lam_, P, Q, k = case
        got = as_float(name, call(name, my_kale, P, Q, k, lam_))
        want = value(P, Q, k, lam_)
        n, m = len(P), len(Q)
        where = f"lambda = {lam_:g}, n = {n}, m = {m}, {k!r}"

        def mistakes():
            def inner(penalty):  # max_f E_P f + 1 - E_Q e^f - penalty/2 ||f||^2
                return value(P, Q, k, penalty) / (1 + penalty)

            listed = [
                (want / (1 + lam_), "the (1 + lambda) factor in front is missing"),
                (value(Q, P, k, lam_), "P and Q are swapped: P enters the linear term E_P f, Q "
                 "the exponential term E_Q exp(f)"),
                (want - (1 + lam_), "the + 1 inside the bracket is missing"),
            ]  # fmt: skip
            halved = "the penalty is lambda/2 ||f||^2: you used lambda ||f||^2, without the 1/2"
            listed += [((1 + lam_) * inner(2 * lam_), halved),
                       ((1 + 2 * lam_) * inner(2 * lam_), halved)]  # fmt: skip
            scaled = {
                "lambda / (n + m)": lam_ / (n + m), "lambda * n": lam_ * n, "lambda / n": lam_ / n,
                "lambda * m": lam_ * m, "lambda / m": lam_ / m, "lambda * (n + m)": lam_ * (n + m),
            }  # fmt: skip
            for words, penalty in scaled.items():
                said = (
                    f"your penalty is {words}: lambda is not scaled by the sample size, the "
                    "penalty is lambda/2 ||f||^2 with lambda as given, and the means E_P, E_Q "
                    "already divide by n and m"
                )
                listed += [
                    ((1 + lam_) * inner(penalty), said),
                    ((1 + penalty) * inner(penalty), said),
                ]
            return listed

        return Outcome(
            got, want, f"you returned {got:.6g}, KALE is {want:.6g} ({where})", mistakes,
            sizes={"n": n, "m": m}, params={"1 + lambda": 1 + lam_, "lambda": lam_},
            same=tolerance(1e-4, 1e-8),
        )  # fmt: skip

    def generic(outcome):
        return "no common mistake matches"

    run_cases(name, cases, evaluate, generic)
    ok(name, f"all {len(samples)} cases agree with kernelflows.kale (lambda = "
       f"{', '.join(f'{v:g}' for v in lams)}).")  # fmt: skip
