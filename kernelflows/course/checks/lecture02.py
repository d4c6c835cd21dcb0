"""Checks for the exercises of lecture 2 (the maximum mean discrepancy).

* Exercise 1: :func:`check_ex2_1_far_apart_limit` for ``mmd2_far_apart(d, bandwidth, s_p, s_q)``;
* Exercise 2: :func:`~kernelflows.course.checks.shared.check_witness` for
  ``my_witness(X, Y, kernel)``;
* Exercise 3: :func:`~kernelflows.course.checks.shared.check_mmd2` for ``my_mmd2(X, Y, kernel)`` and
  :func:`check_ex2_3_bias_gap` for ``biased_minus_unbiased(X, Y, kernel)``;
* Exercise 4: :func:`check_ex2_4_permutation_test` for
  ``my_permutation_test(X, Y, kernel, n_permutations, seed)``.
"""

from __future__ import annotations

from collections.abc import Callable

import numpy as np

from ...divergences import mmd2, mmd2_gaussians, mmd_test
from ...kernels import GaussianKernel, LaplaceKernel
from .core import Outcome, as_float, call, ok, run_cases, sample_cases, tolerance

__all__ = [
    "check_ex2_1_far_apart_limit",
    "check_ex2_3_bias_gap",
    "check_ex2_4_permutation_test",
]


def check_ex2_1_far_apart_limit(mmd2_far_apart: Callable) -> None:
    """Check ``mmd2_far_apart(d, bandwidth, s_p, s_q)``: the limit of MMD^2(P, Q) as the shift
    a -> infinity for P = N(0, s_p^2 I_d), Q = N(a, s_q^2 I_d) and the Gaussian kernel, i.e.
    E k(x, x') + E k(y, y') = (1 + 2 s_p^2 / sigma^2)^(-d/2) + (1 + 2 s_q^2 / sigma^2)^(-d/2)
    (the cross term vanishes). Compared with ``mmd2_gaussians`` at a shift of 1000 sigma."""
    name = "check_ex2_1_far_apart_limit"
    cases = [(1, 1.0, 1.0, 1.0), (2, 0.5, 1.0, 0.8), (3, 2.0, 0.7, 1.5), (1, 0.3, 2.0, 0.1)]

    def evaluate(case):
        d, bw, s_p, s_q = case
        got = as_float(name, call(name, mmd2_far_apart, d, bw, s_p, s_q))
        shift = np.zeros(d)
        shift[0] = 1000.0 * (bw + s_p + s_q)
        want = mmd2_gaussians(np.zeros(d), s_p**2, shift, s_q**2, bw)

        def within(scale=2.0, power=-d / 2, s2p=s_p**2, s2q=s_q**2, width=bw**2):
            return (1 + scale * s2p / width) ** power + (1 + scale * s2q / width) ** power

        def mistakes():
            return [
                (within(1.0), "x - x' has variance 2 s^2 (two independent draws), not s^2"),
                (within(power=-0.5), "in d dimensions the power is -d/2, one factor per "
                 "coordinate"),
                (within(power=-d), "the power is -d/2, not -d"),
                (within(s2p=s_p, s2q=s_q), "use the variances s^2, not s"),
                (within(width=bw), "the bandwidth enters squared: the kernel divides "
                 "||x - y||^2 by 2 bandwidth^2, not by 2 bandwidth"),
                (within(4.0), "the Gaussian kernel is exp(-||x - y||^2 / (2 sigma^2)), with 2 "
                 "sigma^2: you used exp(-||x - y||^2 / sigma^2)"),
                (within(s2q=s_p**2), "you used s_p for both samples: the Q term has s_q"),
                (within(s2p=s_q**2), "you used s_q for both samples: the P term has s_p"),
                (2.0, "2 = 2 sup k is the bound, reached only when s_p and s_q -> 0"),
                (-want, "the sign is flipped: MMD^2 >= 0"),
                (np.sqrt(want), "you returned MMD, not MMD^2"),
            ]  # fmt: skip

        where = (
            f"for d = {d}, bandwidth {bw}, s_p = {s_p}, s_q = {s_q} you returned {got:.6g}, the "
            f"limit is {want:.6g}"
        )
        return Outcome(got, want, where, mistakes, sizes={"d": d}, same=tolerance(1e-9))

    def generic(outcome):
        return "for a -> infinity only E k(x, x') + E k(y, y') remains"

    count = run_cases(name, cases, evaluate, generic)
    ok(name, f"all {count} cases agree with mmd2_gaussians at a very large shift.")


def check_ex2_3_bias_gap(biased_minus_unbiased: Callable) -> None:
    """Check ``biased_minus_unbiased(X, Y, kernel)`` = V - U, the biased minus the unbiased MMD^2
    estimate on one pair of samples, written as
    (mean_i k(x_i, x_i) - mean_{i != j} k(x_i, x_j)) / n + (same for Y) / m
    (the cross term is the same in both and cancels). Its expectation is the bias of the
    V-statistic, (E k(x, x) - E k(x, x')) / n + (E k(y, y) - E k(y, y')) / m."""
    name = "check_ex2_3_bias_gap"

    def evaluate(case):
        X, Y, k = case
        got = as_float(name, call(name, biased_minus_unbiased, X.copy(), Y.copy(), k))
        want = mmd2(X, Y, k, estimator="biased") - mmd2(X, Y, k, estimator="unbiased")
        n, m = len(X), len(Y)

        def mistakes():
            Kxx, Kyy = k(X), k(Y)
            dx, dy = np.diag(Kxx).mean(), np.diag(Kyy).mean()
            ox = (Kxx.sum() - np.trace(Kxx)) / (n * (n - 1))
            oy = (Kyy.sum() - np.trace(Kyy)) / (m * (m - 1))
            return [
                (-want, "the sign is flipped: the biased estimate is the larger one (it keeps "
                 "the i = j terms, k(x, x) >= k(x, x') on average)"),
                (dx / n + dy / m, "the within-sample averages also change: V keeps the diagonal "
                 "and divides by n^2, U drops it and divides by n(n-1); subtract the "
                 "off-diagonal mean too"),
                ((dx - ox) / m + (dy - oy) / n, "n and m are swapped: the X term is divided by "
                 "n = len(X)"),
                ((dx - ox) / (n - 1) + (dy - oy) / (m - 1), "divide by n and m, not n - 1 and "
                 "m - 1"),
                ((dx - ox) + (dy - oy), "the 1/n and 1/m factors are missing"),
                ((dx - ox) / n, "the term of the second sample Y is missing: both samples' "
                 "within-sample sums change"),
                ((dy - oy) / m, "the term of the first sample X is missing: both samples' "
                 "within-sample sums change"),
            ]  # fmt: skip

        where = (
            f"for n = {n}, m = {m}, {k!r} you returned {got:.6g}, biased - unbiased is {want:.6g}"
        )
        return Outcome(
            got, want, where, mistakes, sizes={"n": n, "m": m},
            same=tolerance(1e-7, 1e-12),
        )  # fmt: skip

    def generic(outcome):
        return "expand V - U term by term from the Gram blocks"

    count = run_cases(name, sample_cases(5), evaluate, generic)
    ok(name, f"all {count} cases agree with mmd2(biased) - mmd2(unbiased).")


def _null(Z, n, k, perms, estimator):
    return np.array([mmd2(Z[p[:n]], Z[p[n:]], k, estimator=estimator) for p in perms])


def check_ex2_4_permutation_test(my_permutation_test: Callable) -> None:
    """Check ``my_permutation_test(X, Y, kernel, n_permutations, seed)`` -> p-value against
    ``mmd_test(X, Y, kernel, n_permutations, rng=seed).p_value``: the unbiased statistic,
    permutations ``rng.permutation(n + m)`` from ``rng = np.random.default_rng(seed)`` with the
    first n indices as the X group, and p = (1 + #{null >= observed}) / (1 + B)."""
    name = "check_ex2_4_permutation_test"
    rng = np.random.default_rng(15)
    cases = [
        (rng.normal(size=(15, 1)), rng.normal(size=(25, 1)) * 1.3, GaussianKernel(0.8), 60, 1),
        (rng.normal(size=(20, 2)), rng.normal(size=(12, 2)) + 0.6, GaussianKernel(1.0), 40, 2),
        (rng.normal(size=(12, 1)), rng.laplace(size=(18, 1)), LaplaceKernel(0.5), 50, 3),
        (rng.normal(size=(16, 2)), rng.normal(size=(16, 2)), GaussianKernel(1.5), 30, 4),
    ]

    def evaluate(case):
        X, Y, k, B, seed = case
        got = as_float(name, call(name, my_permutation_test, X.copy(), Y.copy(), k, B, seed))
        want = mmd_test(X, Y, k, n_permutations=B, rng=seed).p_value
        n, m = len(X), len(Y)

        def mistakes():
            Z = np.vstack([X, Y])
            perm_rng = np.random.default_rng(seed)
            perms = [perm_rng.permutation(n + m) for _ in range(B)]
            obs = mmd2(X, Y, k, estimator="unbiased")
            null = _null(Z, n, k, perms, "unbiased")
            null_b = _null(Z, n, k, perms, "biased")
            null_m = _null(Z, m, k, perms, "unbiased")
            obs_b = mmd2(X, Y, k, estimator="biased")
            return [
                (np.sum(null >= obs) / B, "add one to the count and to the number of "
                 "permutations: the observed labelling is one of the equally likely ones, so "
                 "the p-value is never 0"),
                ((1 + np.sum(null <= obs)) / (1 + B), "count the null statistics that are at "
                 "least as large as the observed one (>=), not the smaller ones"),
                ((1 + np.sum(null_b >= obs_b)) / (1 + B), "you used the biased statistic: with "
                 "n != m it ranks relabellings differently from the unbiased one"),
                ((1 + np.sum(null_m >= obs)) / (1 + B) if n != m else None, "the X group of a "
                 "relabelling is pooled[p[:n]], the first n indices (n = len(X)), not the "
                 "first m"),
            ]  # fmt: skip

        where = (
            f"for n = {n}, m = {m}, {B} permutations, seed {seed}, {k!r} your p-value is "
            f"{got:.6g}, mmd_test gives {want:.6g}"
        )
        return Outcome(got, want, where, mistakes)

    def generic(outcome):
        return (
            "draw the relabellings as mmd_test does: rng = np.random.default_rng(seed), then "
            "p = rng.permutation(n + m) for each, X group = pooled[p[:n]], "
            "Y group = pooled[p[n:]]"
        )

    count = run_cases(name, cases, evaluate, generic)
    ok(name, f"all {count} cases give the p-value of mmd_test.")
