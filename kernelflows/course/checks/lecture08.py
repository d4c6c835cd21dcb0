"""Checks for the exercises of lecture 08 (the KALE).

* :func:`check_ex8_1_mmd_limit` - the lambda -> infinity limit of KALE_lam: MMD^2 / 2 (biased);
* :func:`check_ex8_2_kale_witness` - the witness f* from the dual coefficients alpha;
* exercise 3 (KALE itself, e.g. the primal over representer coefficients) uses the core
  :func:`~kernelflows.course.checks.shared.check_kale`;
* :func:`check_ex8_4_gap_slope` - the rate KALE_lam - MMD^2 / 2 ~ C / lam: slope -1 in log-log.

Each compares the student's function with :mod:`kernelflows.divergences.kale` and
:mod:`kernelflows.divergences.mmd` on random and edge-case inputs and names the typical mistake
(the unbiased MMD^2, a missing 1/2 or 1/lam, averaging the alpha term, the sign of the witness).
"""

from __future__ import annotations

from collections.abc import Callable

import numpy as np

from ...divergences import kale, mmd2
from ...kernels import GaussianKernel
from .core import (
    CheckFailed,
    Outcome,
    as_float,
    call,
    ok,
    run_cases,
    tolerance,
    two_sample_cases,
    when,
)

__all__ = ["check_ex8_1_mmd_limit", "check_ex8_2_kale_witness", "check_ex8_4_gap_slope"]


def check_ex8_1_mmd_limit(my_kale_limit: Callable) -> None:
    """Check ``my_kale_limit(P, Q, kernel)`` = lim_{lam -> infinity} KALE_lam(P || Q).

    From samples the limit is MMD^2 / 2 with the biased (V-statistic) MMD^2: KALE sees P and Q
    only through their empirical mean embeddings (Glaser, Arbel, Gretton, NeurIPS 2021,
    Proposition 1; slide "KALE vs KL vs MMD").
    """
    name = "check_ex8_1_mmd_limit"

    def evaluate(case):
        P, Q, k = case
        got = as_float(name, call(name, my_kale_limit, P.copy(), Q.copy(), k))
        biased = mmd2(P, Q, k, estimator="biased")
        want = biased / 2
        setting = f"n = {len(P)}, m = {len(Q)}, {k!r}"

        def mistakes():
            unbiased = mmd2(P, Q, k, estimator="unbiased") if min(len(P), len(Q)) > 1 else None
            said = (
                "you used the unbiased MMD^2. KALE sees the samples through their empirical "
                "mean embeddings, so the limit is the biased (V-statistic) MMD^2 / 2, i = j "
                "terms included"
            )
            return [
                (None if unbiased is None else unbiased / 2, said),
                (unbiased, said),
                (biased, "the factor 1/2 is missing: the limit is MMD^2 / 2"),
                (np.sqrt(biased) / 2, "you returned MMD, not MMD^2 (then halve it)"),
                (np.sqrt(biased), "you returned MMD, not MMD^2 (then halve it)"),
                (when(abs(got) < 1e-3 * want, got), "you returned about 0: without the "
                 "(1 + lambda) in front the bracket does go to 0 (like MMD^2 / (2 lambda)); "
                 "KALE_lam itself tends to MMD^2 / 2"),
                (_kale_near_limit(P, Q, k, got, want), "your value is KALE_lambda at a large "
                 "lambda (it approaches the limit like C / lambda): return the limit itself"),
            ]  # fmt: skip

        return Outcome(got, want, f"you returned {got:.6g}, the limit is {want:.6g} ({setting})",
                       mistakes, sizes={"n": len(P), "m": len(Q)},
                       same=tolerance(1e-7, 1e-12))  # fmt: skip

    count = run_cases(name, two_sample_cases(0), evaluate, lambda o: "no common mistake matches")
    ok(name, f"all {count} cases agree with MMD^2 / 2 (biased estimate).")


def _kale_near_limit(P, Q, k, got, limit):
    """``got`` when it is KALE_lam at some lam >= 10 (found from the 1/lam approach), else None."""
    if got == limit or not np.isfinite(got):
        return None
    C = 1e4 * (kale(P, Q, k, lam=1e4, tol=1e-14).value - limit)  # KALE_lam = limit + C / lam + ...
    lam = C / (got - limit)
    if not 10 <= lam <= 1e8:
        return None
    near = kale(P, Q, k, lam=lam, tol=1e-14).value
    return when(abs((near - limit) - (got - limit)) <= 0.1 * abs(got - limit), got)


def check_ex8_2_kale_witness(my_kale_witness: Callable) -> None:
    """Check ``my_kale_witness(P, Q, kernel, lam, alpha)`` returns the function z -> f*(z),

        f*(z) = (1 / lam) [ (1/n) sum_j k(x_j, z) - sum_i alpha_i k(y_i, z) ],

    with alpha the dual coefficients of :func:`kernelflows.kale` (alpha_i = e^{f*(y_i)}/m).
    """
    name = "check_ex8_2_kale_witness"
    rng = np.random.default_rng(5)
    cases = [
        (P, Q, k, lam, np.vstack([rng.normal(size=(5, P.shape[1])) * 1.5, Q[:2]]))
        for (P, Q, k), lam in zip(two_sample_cases(1), (0.5, 2.0, 0.1, 1.0, 5.0), strict=True)
    ]

    def evaluate(case):
        P, Q, k, lam, Z = case
        res = kale(P, Q, k, lam=lam, tol=1e-12)
        f = call(name, my_kale_witness, P.copy(), Q.copy(), k, lam, res.alpha.copy())
        if not callable(f):
            raise CheckFailed(f"{name}: return a function of z, got {type(f).__name__}.")
        got = np.asarray(call(name, f, Z), dtype=float).reshape(-1)
        want = res.witness(Z)
        if got.shape != want.shape:
            raise CheckFailed(
                f"{name}: f(Z) for Z of shape {Z.shape} should have shape {want.shape}."
            )
        setting = f"lam = {lam}, n = {len(P)}, m = {len(Q)}, {k!r}"
        mean_p = k(Z, P).mean(1)
        a_term = k(Z, Q) @ res.alpha

        def mistakes():
            return [
                (-want, "the sign is flipped: f* is large where P has more mass than Q (the P "
                 "term enters with +, the alpha-weighted Q term with -)"),
                (lam * want, "the factor 1/lambda in front is missing"),
                (want / lam, "you divided by lambda twice"),
                ((1 + lam) * want, "the (1 + lambda) belongs to the KALE's value and its first "
                 "variation, not to the witness f*"),
                ((mean_p - a_term / len(Q)) / lam, "alpha already carries the 1/m "
                 "(alpha_i = e^f(y_i) / m): sum alpha_i k(y_i, z), do not average it"),
                ((k(Z, P).sum(1) - a_term) / lam, "the P term is a mean: (1/n) sum_j k(x_j, z), "
                 "not the sum"),
            ]  # fmt: skip

        return Outcome(got, want, f"for {setting}", mistakes,
                       params={"lambda": lam, "1 + lambda": 1 + lam},
                       sizes={"n": len(P), "m": len(Q)},
                       same=tolerance(1e-7, 1e-10))  # fmt: skip

    def generic(outcome):
        return f"your f differs from f* by up to {np.max(np.abs(outcome.got - outcome.want)):.3g}"

    count = run_cases(name, cases, evaluate, generic)
    ok(name, f"all {count} cases agree with the witness of kernelflows.kale.")


def _reference_fit(P, Q, k, lams) -> np.ndarray:
    half = mmd2(P, Q, k, estimator="biased") / 2
    gaps = np.array([kale(P, Q, k, lam=lam, tol=1e-14).value - half for lam in lams])
    return np.polyfit(np.log(lams), np.log(np.abs(gaps)), 1)


def check_ex8_4_gap_slope(my_gap_slope: Callable) -> None:
    """Check ``my_gap_slope(P, Q, kernel, lams)`` = the least-squares slope of
    log |KALE_lam - MMD^2 / 2| against log lam (expected -1: KALE_lam = MMD^2/2 + C/lam + ...).
    """
    name = "check_ex8_4_gap_slope"
    rng = np.random.default_rng(11)
    lams = np.logspace(2, 4, 5)
    cases = [
        (
            rng.normal(size=(40, 2)),
            0.7 * rng.normal(size=(50, 2)) + [1.0, -0.5],
            GaussianKernel(0.6),
        ),
        (rng.normal(size=(30, 1)), rng.laplace(size=(25, 1)) + 0.5, GaussianKernel(1.5)),
    ]
    slopes = []

    def same(a, b):  # a fit of 5 exact values: solver tolerances move it by < 1e-3
        return abs(float(a) - float(b)) < 0.01

    def evaluate(case):
        P, Q, k = case
        got = as_float(name, call(name, my_gap_slope, P.copy(), Q.copy(), k, lams.copy()))
        fit = _reference_fit(P, Q, k, lams)
        want = float(fit[0])
        slopes.append(want)

        def mistakes():
            return [
                (when(abs(got) < 0.1, got), f"your slope is {got:.3f}: the gap does not vanish. "
                 "Subtract half the biased MMD^2 from KALE_lam itself (with its (1 + lambda)): "
                 "the unbiased estimate, a missing 1/2, or dropping (1 + lambda) leave a constant "
                 "gap"),
                (when(abs(got - 1) < 0.05, got), f"your slope is {got:.3f}, the sign is flipped: "
                 "fit log|gap| against log(lambda), not log(1/lambda)"),
                (float(fit[1]), "you returned the intercept of the fit: np.polyfit returns the "
                 "highest power first, the slope is its first coefficient"),
            ]  # fmt: skip

        where = f"your slope is {got:.4f}, expected {want:.4f} ({k!r})"
        return Outcome(got, want, where, mistakes, same=same)

    run_cases(name, cases, evaluate, lambda o: "no common mistake matches")
    ok(
        name,
        f"slopes agree with the package: {', '.join(f'{s:.2f}' for s in slopes[-len(cases) :])} "
        "(-1 expected).",
    )
