"""Checks for the exercises of lecture 1 (features, the kernel trick, mean embeddings).

* Exercise 1: :func:`check_ex1_1_rkhs_norm` for ``rkhs_norm(centres, alpha, kernel)``;
* Exercise 2: :func:`~kernelflows.course.checks.core.check_gram` for ``my_gram(X, Y, kernel)`` and
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
from .core import CheckFailed, as_float, call, close, first_hint, ok

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
    for centres, alpha, k in _norm_cases():
        got = as_float(name, call(name, rkhs_norm, centres, alpha, k))
        want = RKHSFunction(centres, alpha, k).norm()
        if close(got, want):
            continue
        K = k(centres, centres)
        where = f"for {len(alpha)} centres and {k!r}, you returned {got:.6g}, ||f||_H = {want:.6g}"
        if close(got, want**2):
            hint = "this is the squared norm alpha^T K alpha: take its square root"
        elif close(got, np.linalg.norm(alpha)):
            hint = (
                "this is ||alpha||_2, the norm for K = I: the RKHS inner product weighs "
                "alpha_i alpha_j by k(c_i, c_j)"
            )
        elif close(got, abs(alpha.sum())):
            hint = "this is |sum alpha|, the norm for K = all ones: use the Gram matrix"
        elif close(got, np.sqrt(abs(alpha @ np.linalg.pinv(K) @ alpha))):
            hint = "you used the inverse Gram matrix: ||f||^2 = alpha^T K alpha, no inverse"
        elif close(got, np.sqrt(abs(np.sum(K @ alpha)))) or close(got, np.sum(K @ alpha)):
            hint = "sum_ij alpha_j k(c_i, c_j) misses one factor alpha_i: use alpha^T K alpha"
        else:
            hint = "compare with sqrt(alpha @ K @ alpha), K[i, j] = k(c_i, c_j)"
        raise CheckFailed(f"{name}: {where}: {hint}.")
    ok(name, f"all {len(_norm_cases())} cases agree with RKHSFunction(centres, alpha, k).norm().")


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
    for d, p in cases:
        got = as_float(name, call(name, polynomial_feature_count, d, p))
        want = comb(d + p, p)
        if got == want:
            continue
        hints = [text for value, text in _count_formulas(d, p) if value != want and got == value]
        hint = (
            hints[0]
            if hints
            else (
                "count the multi-indices (a_0, ..., a_d) with a_0 + ... + a_d = p (a_0 for the "
                "constant c); `polynomial_features(X, degree).shape[1]` shows the answer"
            )
        )
        raise CheckFailed(
            f"{name}: for d = {d}, degree p = {p} you said {got:g}, the polynomial kernel has "
            f"{want} features (the rank of its Gram matrix): {hint}."
        )
    ok(name, f"all {len(cases)} (d, degree) pairs agree with binomial(d + p, p).")


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
    for x, L, sigma in cases:
        got = np.asarray(call(name, taylor_features, x.copy(), L, sigma), dtype=float)
        want = _taylor_reference(x, L, sigma)
        if close(got, want):
            continue
        where = f"for n = {len(x)} points, L = {L}, sigma = {sigma}"
        if got.shape == want.T.shape and got.shape != want.shape:
            raise CheckFailed(
                f"{name}: {where} expected shape {want.shape} (one row per point, one column "
                f"per feature), got {got.shape}: your matrix is transposed."
            )
        if got.shape == (len(x), L + 1) or got.shape == (len(x), L - 1):
            raise CheckFailed(
                f"{name}: {where} expected {L} features l = 0, ..., L - 1, got {got.shape[1]}."
            )
        if got.shape != want.shape:
            raise CheckFailed(f"{name}: {where} expected shape {want.shape}, got {got.shape}.")
        ell = np.arange(L)
        fact = np.array([float(factorial(int(i))) for i in ell])
        pref = np.exp(-(x[:, None] ** 2) / (2 * sigma**2))
        power = x[:, None] ** ell
        hints = [
            (
                pref * (x[:, None] / sigma) ** ell / fact,
                "divide by sqrt(l!), not by l!: each feature carries the square root, so that "
                "phi_l(x) phi_l(y) has 1 / l! as in the Taylor series",
            ),
            (want / pref, "the prefactor exp(-x^2 / (2 sigma^2)) is missing"),
            (
                want * pref,
                "the prefactor is exp(-x^2 / (2 sigma^2)), with the 2 "
                "(you used exp(-x^2 / sigma^2))",
            ),
            (
                pref * power / np.sqrt(fact),
                "x^l must be divided by sigma^l (the series of exp(x y / sigma^2) splits as "
                "(x / sigma)^l (y / sigma)^l / l!)",
            ),
            (
                pref * power / sigma ** (2 * ell) / np.sqrt(fact),
                "divide x^l by sigma^l, not sigma^(2 l)",
            ),
        ]
        for wrong, hint in hints:
            if close(got, wrong) and not close(wrong, want):
                raise CheckFailed(f"{name}: {where}: {hint}.")
        bad = np.unravel_index(np.argmax(np.abs(got - want)), want.shape)
        raise CheckFailed(
            f"{name}: {where} entry [{bad[0]}, {bad[1]}] (x = {x[bad[0]]:.3g}, l = {bad[1]}) "
            f"is {got[bad]:.6g}, expected {want[bad]:.6g}."
        )
    ok(name, f"all {len(cases)} cases agree with exp(-x^2/2s^2) x^l / (s^l sqrt(l!)).")


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
    for X, Y, kind, param in cases:
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
        if close(got, want):
            continue
        n, m = len(X), len(Y)
        fx, fy = feature_map(X), feature_map(Y)
        diff = fx.mean(0) - fy.mean(0)
        hints = [
            (np.sqrt(want), "you returned the norm; the exercise asks for its square"),
            (np.sum((fx.sum(0) - fy.sum(0)) ** 2), "use means of the features, not sums"),
            (
                np.mean(diff**2),
                "sum the squared coordinates; np.mean divides by the number of features D",
            ),
            (
                np.sum((fx.sum(0) / m - fy.sum(0) / n) ** 2),
                "n and m are swapped: divide the sum over X by n = len(X)",
            ),
            (-want, "the sign is flipped: a squared norm is non-negative"),
        ]
        if n == m:
            hints.append(
                (
                    np.mean(np.sum((fx - fy) ** 2, axis=1)),
                    "you paired x_i with y_i: subtract "
                    "the mean feature vectors first, then take the squared norm",
                )
            )
        hint = first_hint(got, hints, "compare with np.sum((mean phi(X) - mean phi(Y))**2)")
        raise CheckFailed(
            f"{name}: with {label}, n = {n}, m = {m}, you returned {got:.6g}, expected "
            f"{want:.6g}: {hint}."
        )
    ok(name, f"all {len(cases)} cases agree (polynomial features: the kernel's biased MMD^2).")
