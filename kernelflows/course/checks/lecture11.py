"""Checks for the exercises of lecture 11 (after the talk).

* :func:`check_ex11_1_drmmd` - DrMMD_lam(P || Q) from Gram matrices (Chen et al., JMLR 2025);
* :func:`check_ex11_2_envelope_rate` - the 1/lam correction of the Moreau envelopes' MMD limit,
  lim lam (lam D_{f,lam} - MMD^2 / 2) = -E_Q (mu_P - mu_Q)^2 / (2 f''(1));
* :func:`check_ex11_3_tsallis_conjugate` - the convex conjugate of the Tsallis entropy on p >= 0.

Each compares the student's function with the package (:func:`kernelflows.drmmd`,
:func:`kernelflows.regularized_divergence`, :func:`kernelflows.divergences.tsallis`) on random
and edge-case inputs and names the typical mistake.
"""

from __future__ import annotations

from collections.abc import Callable

import numpy as np

from ...divergences import drmmd, mmd2, tsallis
from .core import (
    CheckFailed,
    Outcome,
    as_float,
    call,
    close,
    ok,
    run_cases,
    tolerance,
    two_sample_cases,
)

__all__ = [
    "check_ex11_1_drmmd",
    "check_ex11_2_envelope_rate",
    "check_ex11_3_tsallis_conjugate",
]


def _pieces(P, Q, k):
    """The biased MMD^2, v = (mu_P - mu_Q)(Q) and the target's Gram matrix."""
    Kqq = k(Q, Q)
    v = k(Q, P).mean(axis=1) - Kqq.mean(axis=1)
    return mmd2(P, Q, k, estimator="biased"), v, Kqq


def check_ex11_1_drmmd(my_drmmd: Callable) -> None:
    """Check ``my_drmmd(P, Q, kernel, lam)`` = DrMMD_lam(P || Q) of Chen et al. (JMLR 2025),

        (1 + lam) / lam [ MMD^2(P, Q) - v^T (K_QQ + m lam I)^-1 v ],  v = (mu_P - mu_Q)(Q),

    with the biased (plug-in) MMD^2, as :func:`kernelflows.drmmd` computes it.
    """
    name = "check_ex11_1_drmmd"
    lams = (0.1, 1.0, 0.01, 3.0, 0.5)
    cases = [(*c, lam) for c, lam in zip(two_sample_cases(11, smallest=(3, 4)), lams, strict=True)]

    def evaluate(case):
        P, Q, k, lam = case
        got = as_float(name, call(name, my_drmmd, P.copy(), Q.copy(), k, lam))
        want = drmmd(P, Q, k, lam=lam).value
        m = len(Q)
        setting = f"lam = {lam}, n = {len(P)}, m = {m}, {k!r}"

        def mistakes():
            mmd2_b, v, K = _pieces(P, Q, k)

            def value(M2=mmd2_b, shift=m * lam, vv=v, front=(1 + lam) / lam):
                return front * (M2 - vv @ np.linalg.solve(K + shift * np.eye(m), vv))

            unbiased = mmd2(P, Q, k, estimator="unbiased") if min(len(P), m) > 1 else None
            vq = k(Q, P).mean(axis=1)
            return [
                (value(front=1.0), "the factor (1 + lambda) / lambda in front is missing"),
                (value(front=1.0 / lam), "the factor (1 + lambda) is missing: DrMMD is "
                 "(1 + lambda) / lambda times the bracket"),
                (value(front=1.0 + lam), "the 1/lambda of the factor (1 + lambda) / lambda "
                 "is missing"),
                (value(shift=lam), "the regularisation is m lambda I, not lambda I: the "
                 "operator is the target's covariance (1/m sum_i k(y_i, .) k(y_i, .)) plus "
                 "lambda, and its Gram matrix form carries the m"),
                (value(shift=lam / m), "the regularisation is m lambda I, not lambda I / m"),
                (None if unbiased is None else value(M2=unbiased), "you used the unbiased "
                 "MMD^2: DrMMD is built from the empirical mean embeddings, the biased "
                 "(plug-in) MMD^2, i = j terms included"),
                (value(vv=vq), "v is (mu_P - mu_Q)(y_i): the mean of k(y_i, q_l) over the "
                 "target is missing from v"),
                (value(M2=0.0), "the MMD^2 term is missing from the bracket"),
            ]  # fmt: skip

        return Outcome(got, want, f"you returned {got:.6g}, DrMMD is {want:.6g} ({setting})",
                       mistakes, sizes={"n": len(P), "m": m}, params={"lambda": lam},
                       same=tolerance(1e-6, 1e-10))  # fmt: skip

    count = run_cases(name, cases, evaluate, lambda o: "no common mistake matches")
    ok(name, f"all {count} cases agree with kernelflows.drmmd.")


def check_ex11_2_envelope_rate(my_envelope_rate: Callable) -> None:
    """Check ``my_envelope_rate(P, Q, kernel, f2)`` = lim_{lam -> infinity}
    lam (lam D_{f,lam}(P | Q) - MMD^2(P, Q) / 2) for an entropy f with f''(1) = ``f2``
    (a number the lecture derives; the check compares with the formula and, for f2 = 1, 2, 3,
    with :func:`kernelflows.regularized_divergence` at lam = 10^3)."""
    from ...divergences import regularized_divergence

    name = "check_ex11_2_envelope_rate"
    f2s = (1.0, 2.0, 3.0, 0.25, 1.0)
    cases = [(*c, f2) for c, f2 in zip(two_sample_cases(12, smallest=(3, 4)), f2s, strict=True)]
    divergence = {1.0: "kl", 2.0: "chi2", 3.0: tsallis(3.0)}

    def evaluate(case):
        P, Q, k, f2 = case
        got = as_float(name, call(name, my_envelope_rate, P.copy(), Q.copy(), k, f2))
        g_q = k(Q, P).mean(axis=1) - k(Q, Q).mean(axis=1)
        want = -np.mean(g_q**2) / (2.0 * f2)
        setting = f"f''(1) = {f2:g}, n = {len(P)}, m = {len(Q)}, {k!r}"

        def mistakes():
            g_p = k(P, P).mean(axis=1) - k(P, Q).mean(axis=1)
            mmd2_b = mmd2(P, Q, k, estimator="biased")
            out = [
                (
                    -want,
                    "the sign: the quadratic part of f* lowers the bracket, so lambda "
                    "D_{f,lambda} approaches MMD^2 / 2 from below",
                ),
                (
                    2.0 * want,
                    "the factor 1/2 of the quadratic term of f* is missing (f*(h) = "
                    "h + h^2 / (2 f''(1)) + ...)",
                ),
                (
                    want * f2 * f2,
                    "f''(1) divides the quadratic term of f*: f*''(0) = 1 / f''(1), not f''(1)",
                ),
                (want * f2, "f''(1) belongs in the rate, dividing it"),
                (
                    -np.mean(g_p**2) / (2.0 * f2),
                    "the correction is an average over the "
                    "target Q (the f* term is E_Q f*(h)), not over the particles P",
                ),
                (
                    -(mmd2_b - np.mean(g_q**2)) / 2.0,
                    "that is lecture 08's C for KALE_lambda "
                    "= (1 + lambda) D_{KL,lambda}: here the envelope itself, without the "
                    "factor (1 + lambda)",
                ),
            ]
            return [(v, w) for v, w in out if np.all(np.isfinite(v))]

        return Outcome(got, want, f"you returned {got:.6g}, the limit is {want:.6g} ({setting})",
                       mistakes, sizes={"n": len(P), "m": len(Q)}, params={"f''(1)": f2},
                       same=tolerance(1e-7, 1e-12))  # fmt: skip

    count = run_cases(name, cases, evaluate, lambda o: "no common mistake matches")
    # the formula against the solver: lam (lam D - MMD^2 / 2) at lam = 10^3 is within 1% of it
    P, Q, k = two_sample_cases(12, smallest=(3, 4))[1]
    for f2, div in divergence.items():
        lam = 1e3
        d = regularized_divergence(P, Q, k, div, lam=lam, tol=1e-12).value
        near = lam * (lam * d - mmd2(P, Q, k, estimator="biased") / 2.0)
        got = as_float(name, call(name, my_envelope_rate, P.copy(), Q.copy(), k, f2))
        if not abs(near - got) <= 0.01 * abs(got) + 1e-9:
            raise CheckFailed(
                f"{name}: for f''(1) = {f2:g} the solver gives lam (lam D - MMD^2/2) = "
                f"{near:.6g} at lam = 1000, you returned {got:.6g}."
            )
    ok(name, f"all {count} cases agree with -E_Q (mu_P - mu_Q)^2 / (2 f''(1)), and with the "
       "regularized divergences of KL, chi^2 and Tsallis 3 at lam = 1000.")  # fmt: skip


def check_ex11_3_tsallis_conjugate(my_tsallis_conjugate: Callable) -> None:
    """Check ``my_tsallis_conjugate(h, alpha)`` = sup_{p >= 0} p h - f_alpha(p), vectorised over
    h, for the Tsallis entropy f_alpha(p) = (p^alpha - alpha p + alpha - 1) / (alpha - 1)."""
    name = "check_ex11_3_tsallis_conjugate"
    cases = [2.0, 3.0, 1.5, 5.0]

    def evaluate(alpha):
        a = alpha / (alpha - 1.0)
        h = np.array([-6.0, -a - 0.5, -a, -1.0, -0.2, 0.0, 0.3, 1.0, 2.5])
        got = np.asarray(call(name, my_tsallis_conjugate, h.copy(), alpha), dtype=float)
        want = tsallis(alpha).conjugate(h)
        if got.shape != h.shape:
            raise CheckFailed(f"{name}: expected an array of shape {h.shape} (one value per h).")
        base = 1.0 + h / a
        inside = base >= 0

        def mistakes():
            with np.errstate(invalid="ignore"):
                free = base**a - 1.0  # not a number below the threshold unless a is whole
            at_zero = (
                "below the threshold, where the maximiser p would be negative, the sup "
                "over p >= 0 sits at p = 0: the value there is -f(0), not 0"
            )
            return [
                (np.where(inside, want, want + 1.0), at_zero),
                (np.where(base > 0, want, want + 1.0), at_zero),
                (np.where(inside, want, free), "for h below the threshold the stationary "
                 "point is a negative p, which p >= 0 does not allow: there the sup is at the "
                 "boundary p = 0"),
                (want + 1.0, "the constant -1 is missing (f*(0) = 0, because f(1) = 0 = min "
                 "f)"),
                (-want, "the sign is flipped: f*(h) = sup_p p h - f(p)"),
            ]  # fmt: skip

        bad = int(np.argmax(np.where(np.isfinite(got), np.abs(got - want), np.inf)))
        where = (f"for alpha = {alpha:g}, at h = {h[bad]:g} you returned {got[bad]:.6g}, the "
                 f"conjugate is {want[bad]:.6g}")  # fmt: skip
        if not np.all(np.isfinite(got)) and close(got[inside], want[inside]):
            raise CheckFailed(f"{name}: {where}: right where the maximiser p is >= 0, not a "
                              "number below the threshold: there the sup over p >= 0 is at the "
                              "boundary p = 0.")  # fmt: skip
        return Outcome(got, want, where, mistakes, same=tolerance(1e-9, 1e-12))

    count = run_cases(name, cases, evaluate, lambda o: "no common mistake matches")
    ok(name, f"all {count} values of alpha agree with tsallis(alpha).conjugate, below the "
       "threshold included.")  # fmt: skip
