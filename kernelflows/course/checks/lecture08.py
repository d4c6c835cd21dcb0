"""Checks for the exercises of lecture 08 (the KALE).

* :func:`check_ex8_1_mmd_limit` - the lambda -> infinity limit of KALE_lam: MMD^2 / 2 (biased);
* :func:`check_ex8_2_kale_witness` - the witness f* from the dual coefficients alpha;
* exercise 3 (KALE itself, e.g. the primal over representer coefficients) uses the core
  :func:`~kernelflows.course.checks.core.check_kale`;
* :func:`check_ex8_4_gap_slope` - the rate KALE_lam - MMD^2 / 2 ~ C / lam: slope -1 in log-log.

Each compares the student's function with :mod:`kernelflows.divergences.kale` and
:mod:`kernelflows.divergences.mmd` on random and edge-case inputs and names the typical mistake
(the unbiased MMD^2, a missing 1/2 or 1/lam, averaging the alpha term, the sign of the witness).
"""

from __future__ import annotations

from collections.abc import Callable

import numpy as np

from ...divergences import kale, mmd2
from ...kernels import GaussianKernel, LaplaceKernel
from .core import CheckFailed, as_float, call, close, ok

__all__ = ["check_ex8_1_mmd_limit", "check_ex8_2_kale_witness", "check_ex8_4_gap_slope"]


def _cases(seed: int):
    """(P, Q, kernel): n != m, d = 1 and 2, two kernels, identical samples, smallest sizes."""
    rng = np.random.default_rng(seed)
    X = rng.normal(size=(10, 2))
    return [
        (rng.normal(size=(20, 1)), rng.normal(size=(25, 1)) + 1.0, GaussianKernel(1.0)),
        (rng.normal(size=(15, 2)), 1.3 * rng.normal(size=(12, 2)), GaussianKernel(0.7)),
        (rng.normal(size=(14, 1)), rng.laplace(size=(9, 1)), LaplaceKernel(1.2)),
        (X, X.copy(), GaussianKernel(1.5)),
        (rng.normal(size=(2, 2)), rng.normal(size=(3, 2)) + 2.0, GaussianKernel(1.0)),
    ]


def check_ex8_1_mmd_limit(my_kale_limit: Callable) -> None:
    """Check ``my_kale_limit(P, Q, kernel)`` = lim_{lam -> infinity} KALE_lam(P || Q).

    From samples the limit is MMD^2 / 2 with the biased (V-statistic) MMD^2: KALE sees P and Q
    only through their empirical mean embeddings (Glaser, Arbel, Gretton, NeurIPS 2021,
    Proposition 1; slide "KALE vs KL vs MMD").
    """
    name = "check_ex8_1_mmd_limit"
    cases = _cases(0)
    for P, Q, k in cases:
        got = as_float(name, call(name, my_kale_limit, P.copy(), Q.copy(), k))
        biased = mmd2(P, Q, k, estimator="biased")
        want = biased / 2
        if close(got, want, rtol=1e-7, atol=1e-12):
            continue
        setting = f"n = {len(P)}, m = {len(Q)}, {k!r}"
        if len(P) > 1 and len(Q) > 1:
            unbiased = mmd2(P, Q, k, estimator="unbiased")
            if close(got, unbiased / 2) or close(got, unbiased):
                raise CheckFailed(
                    f"{name}: you used the unbiased MMD^2. KALE sees the samples through their "
                    "empirical mean embeddings, so the limit is the biased (V-statistic) "
                    f"MMD^2 / 2, i = j terms included ({setting})."
                )
        if close(got, biased) and biased > 0:
            raise CheckFailed(f"{name}: the factor 1/2 is missing: the limit is MMD^2 / 2.")
        if close(got, np.sqrt(biased) / 2) or close(got, np.sqrt(biased)):
            raise CheckFailed(f"{name}: you returned MMD, not MMD^2 (then halve it).")
        if abs(got) < 1e-3 * want:
            raise CheckFailed(
                f"{name}: you returned about 0: without the (1 + lambda) in front the bracket "
                "does go to 0 (like MMD^2 / (2 lambda)); KALE_lam itself tends to MMD^2 / 2."
            )
        raise CheckFailed(f"{name}: you returned {got:.6g}, the limit is {want:.6g} ({setting}).")
    ok(name, f"all {len(cases)} cases agree with MMD^2 / 2 (biased estimate).")


def check_ex8_2_kale_witness(my_kale_witness: Callable) -> None:
    """Check ``my_kale_witness(P, Q, kernel, lam, alpha)`` returns the function z -> f*(z),

        f*(z) = (1 / lam) [ (1/n) sum_j k(x_j, z) - sum_i alpha_i k(y_i, z) ],

    with alpha the dual coefficients of :func:`kernelflows.kale` (alpha_i = e^{f*(y_i)}/m).
    """
    name = "check_ex8_2_kale_witness"
    rng = np.random.default_rng(5)
    cases = _cases(1)
    for (P, Q, k), lam in zip(cases, (0.5, 2.0, 0.1, 1.0, 5.0), strict=True):
        res = kale(P, Q, k, lam=lam, tol=1e-12)
        Z = np.vstack([rng.normal(size=(5, P.shape[1])) * 1.5, Q[:2]])
        f = call(name, my_kale_witness, P.copy(), Q.copy(), k, lam, res.alpha.copy())
        if not callable(f):
            raise CheckFailed(f"{name}: return a function of z, got {type(f).__name__}.")
        got = np.asarray(call(name, f, Z), dtype=float).reshape(-1)
        want = res.witness(Z)
        if got.shape != want.shape:
            raise CheckFailed(
                f"{name}: f(Z) for Z of shape {Z.shape} should have shape {want.shape}."
            )
        if close(got, want, rtol=1e-7, atol=1e-10):
            continue
        mean_p = k(Z, P).mean(1)
        a_term = k(Z, Q) @ res.alpha
        setting = f"lam = {lam}, n = {len(P)}, m = {len(Q)}, {k!r}"
        if close(got, -want):
            raise CheckFailed(
                f"{name}: the sign is flipped: f* is large where P has more mass than Q "
                "(the P term enters with +, the alpha-weighted Q term with -)."
            )
        if close(got, lam * want):
            raise CheckFailed(f"{name}: the factor 1/lambda in front is missing ({setting}).")
        if close(got, want / lam):
            raise CheckFailed(f"{name}: you divided by lambda twice ({setting}).")
        if close(got, (mean_p - a_term / len(Q)) / lam):
            raise CheckFailed(
                f"{name}: alpha already carries the 1/m (alpha_i = e^f(y_i) / m): "
                "sum alpha_i k(y_i, z), do not average it."
            )
        if close(got, (k(Z, P).sum(1) - a_term) / lam):
            raise CheckFailed(f"{name}: the P term is a mean: (1/n) sum_j k(x_j, z), not the sum.")
        raise CheckFailed(
            f"{name}: your f differs from f* by up to {np.max(np.abs(got - want)):.3g} ({setting})."
        )
    ok(name, f"all {len(cases)} cases agree with the witness of kernelflows.kale.")


def _reference_slope(P, Q, k, lams) -> float:
    half = mmd2(P, Q, k, estimator="biased") / 2
    gaps = np.array([kale(P, Q, k, lam=lam, tol=1e-14).value - half for lam in lams])
    return float(np.polyfit(np.log(lams), np.log(np.abs(gaps)), 1)[0])


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
    for P, Q, k in cases:
        got = as_float(name, call(name, my_gap_slope, P.copy(), Q.copy(), k, lams.copy()))
        want = _reference_slope(P, Q, k, lams)
        slopes.append(want)
        if abs(got - want) < 0.01:  # a fit of 5 exact values: solver tolerances move it < 1e-3
            continue
        if abs(got) < 0.1:
            raise CheckFailed(
                f"{name}: your slope is {got:.3f}: the gap does not vanish. Subtract half the "
                "biased MMD^2 from KALE_lam itself (with its (1 + lambda)): the unbiased "
                "estimate, a missing 1/2, or dropping (1 + lambda) leave a constant gap."
            )
        if abs(got - 1) < 0.05:
            raise CheckFailed(
                f"{name}: your slope is {got:.3f}, the sign is flipped: fit log|gap| against "
                "log(lambda), not log(1/lambda)."
            )
        raise CheckFailed(f"{name}: your slope is {got:.4f}, expected {want:.4f} ({k!r}).")
    ok(
        name,
        f"slopes agree with the package: {', '.join(f'{s:.2f}' for s in slopes)} (-1 expected).",
    )
