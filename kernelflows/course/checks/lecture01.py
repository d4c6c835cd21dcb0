"""Checks for the exercises of lecture 1 (features, the kernel trick, mean embeddings).

* Exercise 1: :func:`check_ex1_1_rkhs_norm` for ``rkhs_norm(centres, alpha, kernel)``;
* Exercise 2: :func:`~kernelflows.course.checks.shared.check_gram` for ``my_gram(X, Y, kernel)`` and
  :func:`check_ex1_2_feature_count` for ``polynomial_feature_count(d, degree)``;
* Exercise 3: :func:`check_ex1_3_taylor_features` for ``taylor_features(x, n_features, sigma)``;
* Exercise 4: :func:`check_ex1_4_feature_mmd2` for ``feature_mmd2(X, Y, feature_map)``.
"""

from __future__ import annotations

from collections.abc import Callable
from math import comb, factorial

import numpy as np

from ...divergences import mmd2
from ...kernels import (
    GaussianKernel,
    LaplaceKernel,
    PolynomialKernel,
    RandomFourierFeatures,
    polynomial_features,
)
from ...measures import RKHSFunction
from .core import CheckFailed, Outcome, as_float, call, exactly, ok, run_cases

__all__ = [
    "check_ex1_1_rkhs_norm",
    "check_ex1_2_feature_count",
    "check_ex1_3_taylor_features",
    "check_ex1_4_feature_mmd2",
]


def _norm_cases():
    """(centres, alpha, kernel): 1-D and 2-D centres, three kernels, one centre, a repeated
    centre (singular Gram matrix) and coefficients that cancel."""
    rng = np.random.default_rng(11)
    return [
        (np.array([-2.0, -0.7, 0.4, 1.8]), np.array([1.0, -0.6, 1.3, -0.9]), GaussianKernel(0.6)),
        (rng.normal(size=(6, 2)), rng.normal(size=6), GaussianKernel(1.3)),
        (rng.normal(size=(5, 1)), rng.normal(size=5), LaplaceKernel(0.8)),
        (rng.normal(size=(4, 2)), rng.normal(size=4), PolynomialKernel(2, 1.0)),
        (np.array([[0.3, -0.2]]), np.array([-2.5]), GaussianKernel(0.5)),
        (np.array([0.0, 0.0, 1.0]), np.array([1.0, 1.0, -0.5]), GaussianKernel(2.0)),
    ]


def check_ex1_1_rkhs_norm(rkhs_norm: Callable) -> None:
    """Check ``rkhs_norm(centres, alpha, kernel)`` = ||f||_H = sqrt(alpha^T K alpha) for
    f = sum_i alpha_i k(c_i, .), K[i, j] = k(c_i, c_j) (lecture 1, section 2)."""
    name = "check_ex1_1_rkhs_norm"

    def evaluate(case):
        centres, alpha, k = case
        got = as_float(name, call(name, rkhs_norm, centres, alpha, k))
        want = RKHSFunction(centres, alpha, k).norm()

        def mistakes():
            K = k(centres, centres)
            one_alpha = "the double sum over i and j misses one factor alpha_i"
            return [
                (want**2, "this is the squared norm: take its square root"),
                (np.linalg.norm(alpha), "this is ||alpha||_2, the norm for K = I: the RKHS inner "
                 "product weighs alpha_i alpha_j by k(c_i, c_j)"),
                (abs(alpha.sum()), "this is |sum alpha|, the norm for K = all ones: use the Gram "
                 "matrix"),
                (np.sqrt(abs(alpha @ np.linalg.pinv(K) @ alpha)), "you used the inverse Gram "
                 "matrix: the reproducing property gives <k(c_i, .), k(c_j, .)>_H = k(c_i, c_j) "
                 "itself, no inverse"),
                (np.sqrt(abs(np.sum(K @ alpha))), one_alpha),
                (np.sum(K @ alpha), one_alpha),
                (np.linalg.norm(K @ alpha), "this is the length of the vector of values f(c_i) at "
                 "the centres, not the RKHS norm of f"),
            ]  # fmt: skip

        where = f"for {len(alpha)} centres and {k!r}, you returned {got:.6g}, ||f||_H = {want:.6g}"
        return Outcome(got, want, where, mistakes, sizes={"n": len(alpha)})

    count = run_cases(name, _norm_cases(), evaluate, lambda o: "no common mistake matches")
    ok(name, f"all {count} cases agree with RKHSFunction(centres, alpha, k).norm().")


def _count_formulas(d: int, p: int) -> list[tuple[int, str]]:
    """Typical wrong counts of the polynomial kernel's features, each with its explanation."""
    return [
        (
            p + 1,
            "p + 1 is the count for d = 1 only: in d dimensions count the monomials "
            "x_1^a_1 ... x_d^a_d of total degree <= p",
        ),
        (
            comb(d + p - 1, p),
            "you counted the monomials of degree exactly p; the constant c "
            "brings in every degree <= p",
        ),
        (
            (d + 1) ** p,
            "(d + 1)^p counts ordered products: x_1 x_2 and x_2 x_1 are one "
            "monomial, so the count is a binomial coefficient",
        ),
        (d**p, "d^p counts ordered products of degree p only"),
        (d * p + 1, "d p + 1 leaves out the cross terms such as x_1 x_2"),
    ]


def check_ex1_2_feature_count(polynomial_feature_count: Callable[[int, int], int]) -> None:
    """Check ``polynomial_feature_count(d, degree)``: the number of features of
    (x.y + c)^p on R^d with c > 0, i.e. binomial(d + p, p), which is also the rank of its Gram
    matrix on enough points in general position and the dimension of its RKHS."""
    name = "check_ex1_2_feature_count"
    cases = [(1, 2), (1, 5), (2, 2), (3, 2), (2, 3), (3, 4), (5, 1)]

    def evaluate(case):
        d, p = case
        got = as_float(name, call(name, polynomial_feature_count, d, p))
        want = comb(d + p, p)
        where = (
            f"for d = {d}, degree p = {p} you said {got:g}, the polynomial kernel has {want} "
            "features (the rank of its Gram matrix)"
        )
        mistakes = [*_count_formulas(d, p), (want - 1, "you left out the constant monomial 1 "
                    "(degree 0), which the constant c brings in")]  # fmt: skip
        return Outcome(got, want, where, lambda: mistakes, same=exactly)

    def generic(outcome):
        return (
            "count the multi-indices (a_0, ..., a_d) with a_0 + ... + a_d = p (a_0 for the "
            "constant c); `polynomial_features(X, degree).shape[1]` shows the answer"
        )

    count = run_cases(name, cases, evaluate, generic)
    ok(name, f"all {count} (d, degree) pairs agree with binomial(d + p, p).")


def _taylor_reference(x: np.ndarray, L: int, sigma: float) -> np.ndarray:
    ell = np.arange(L)
    fact = np.array([float(factorial(int(i))) for i in ell])
    return np.exp(-(x[:, None] ** 2) / (2 * sigma**2)) * (x[:, None] / sigma) ** ell / np.sqrt(fact)


def check_ex1_3_taylor_features(taylor_features: Callable) -> None:
    """Check ``taylor_features(x, n_features, sigma)`` -> array (n, L) with columns
    phi_l(x) = exp(-x^2 / (2 sigma^2)) x^l / (sigma^l sqrt(l!)), l = 0, ..., L - 1 (1-D x),
    the Taylor feature map of the Gaussian kernel."""
    name = "check_ex1_3_taylor_features"
    rng = np.random.default_rng(13)
    cases = [
        (np.linspace(-2, 2, 9), 10, 1.0),
        (rng.normal(size=7), 6, 0.7),
        (rng.uniform(-3, 3, size=5), 12, 1.8),
        (np.array([0.0, 0.5]), 1, 1.0),
        (np.array([1.5]), 4, 2.5),
    ]

    def evaluate(case):
        x, L, sigma = case
        got = np.asarray(call(name, taylor_features, x.copy(), L, sigma), dtype=float)
        want = _taylor_reference(x, L, sigma)
        where = f"for n = {len(x)} points, L = {L}, sigma = {sigma}"
        if got.shape != want.shape:
            if got.shape == want.T.shape:
                raise CheckFailed(
                    f"{name}: {where} expected shape {want.shape} (one row per point, one "
                    f"column per feature), got {got.shape}: your matrix is transposed."
                )
            if got.shape in ((len(x), L + 1), (len(x), L - 1)):
                raise CheckFailed(
                    f"{name}: {where} expected {L} features l = 0, ..., L - 1, got {got.shape[1]}."
                )
            raise CheckFailed(f"{name}: {where} expected shape {want.shape}, got {got.shape}.")

        def mistakes():
            ell = np.arange(L)
            fact = np.array([float(factorial(int(i))) for i in ell])
            pref = np.exp(-(x[:, None] ** 2) / (2 * sigma**2))
            power = x[:, None] ** ell
            return [
                (pref * (x[:, None] / sigma) ** ell / fact, "divide by sqrt(l!), not by l!: each "
                 "feature carries the square root, so that phi_l(x) phi_l(y) has 1 / l! as in the "
                 "Taylor series"),
                (want / pref, "the prefactor exp(-x^2 / (2 sigma^2)) is missing"),
                (want * pref, "the prefactor is exp(-x^2 / (2 sigma^2)), with the 2 (you used "
                 "exp(-x^2 / sigma^2))"),
                (pref * power / np.sqrt(fact), "x^l must be divided by sigma^l (the series of "
                 "exp(x y / sigma^2) splits as (x / sigma)^l (y / sigma)^l / l!)"),
                (pref * power / sigma ** (2 * ell) / np.sqrt(fact), "divide x^l by sigma^l, not "
                 "sigma^(2 l)"),
                (want / pref * np.exp(-(x[:, None] ** 2) / (2 * sigma)), "the prefactor has "
                 "sigma^2, not sigma, under x^2 (sigma is the bandwidth, not its square)"),
                (_taylor_reference(x, L + 1, sigma)[:, 1:], "the features start at l = 0 (the "
                 "constant term of the series), not at l = 1"),
            ]  # fmt: skip

        return Outcome(got, want, where, mistakes, params={"sigma": sigma})

    def generic(outcome):
        got, want = outcome.got, outcome.want
        bad = np.unravel_index(np.argmax(np.abs(got - want)), want.shape)
        return (
            f"entry [{bad[0]}, {bad[1]}] (l = {bad[1]}) is {got[bad]:.6g}, expected {want[bad]:.6g}"
        )

    count = run_cases(name, cases, evaluate, generic)
    ok(name, f"all {count} cases agree with exp(-x^2/2s^2) x^l / (s^l sqrt(l!)).")


def check_ex1_4_feature_mmd2(feature_mmd2: Callable) -> None:
    """Check ``feature_mmd2(X, Y, feature_map)`` = ||(1/n) sum_i phi(x_i) - (1/m) sum_j phi(y_j)||^2
    for a feature map phi: (n, d) -> (n, D). With the exact polynomial features this is the
    biased (V-statistic) MMD^2 of the polynomial kernel; with random Fourier features, an
    approximation of the Gaussian kernel's."""
    name = "check_ex1_4_feature_mmd2"
    rng = np.random.default_rng(14)
    cases = [
        (rng.normal(size=(10, 2)), rng.normal(size=(10, 2)) + 0.3, "polynomial", 2),
        (rng.normal(size=(12, 1)), rng.laplace(size=(30, 1)), "polynomial", 3),
        (rng.normal(size=(25, 2)), rng.normal(size=(8, 2)) * 1.4, "random Fourier", 2),
        (rng.normal(size=(1, 1)), rng.normal(size=(2, 1)), "random Fourier", 1),
    ]

    def evaluate(case):
        X, Y, kind, param = case
        d = X.shape[1]
        if kind == "polynomial":

            def feature_map(A, p=param):
                return polynomial_features(A, p, 1.0)

            want = mmd2(X, Y, PolynomialKernel(param, 1.0), estimator="biased")  # kernel view
            label = f"polynomial features of degree {param}"
        else:
            feature_map = RandomFourierFeatures(0.8, 50, dim=d, rng=param)
            want = float(np.sum((feature_map(X).mean(0) - feature_map(Y).mean(0)) ** 2))
            label = "50 random Fourier frequencies"
        got = as_float(name, call(name, feature_mmd2, X.copy(), Y.copy(), feature_map))
        n, m = len(X), len(Y)

        def mistakes():
            fx, fy = feature_map(X), feature_map(Y)
            diff = fx.mean(0) - fy.mean(0)
            gxx, gyy = fx @ fx.T, fy @ fy.T
            unbiased = (
                (gxx.sum() - np.trace(gxx)) / (n * (n - 1))
                + (gyy.sum() - np.trace(gyy)) / (m * (m - 1))
                - 2 * np.mean(fx @ fy.T)
                if min(n, m) > 1
                else None
            )
            return [
                (np.sqrt(want), "you returned the norm; the exercise asks for its square"),
                (np.sum((fx.sum(0) - fy.sum(0)) ** 2), "use means of the features, not sums"),
                (np.mean(diff**2), "sum the squared coordinates; np.mean divides by the number "
                 "of features D"),
                (np.sum((fx.sum(0) / m - fy.sum(0) / n) ** 2), "n and m are swapped: divide the "
                 "sum over X by n = len(X)"),
                (-want, "the sign is flipped: a squared norm is non-negative"),
                (np.mean(np.sum((fx - fy) ** 2, axis=1)) if n == m else None, "you paired x_i "
                 "with y_i: subtract the mean feature vectors first, then take the squared norm"),
                (np.sum(diff) ** 2, "this is the square of the sum of the coordinates: sum the "
                 "squares of the coordinates instead"),
                (unbiased, "this is the unbiased U-statistic of the features' Gram matrices: the "
                 "squared distance between the two mean feature vectors keeps the i = j terms"),
            ]  # fmt: skip

        where = f"with {label}, n = {n}, m = {m}, you returned {got:.6g}, expected {want:.6g}"
        return Outcome(got, want, where, mistakes, sizes={"n": n, "m": m})

    count = run_cases(name, cases, evaluate, lambda o: "no common mistake matches")
    ok(name, f"all {count} cases agree (polynomial features: the kernel's biased MMD^2).")
