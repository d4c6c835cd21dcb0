"""Lecture 1 exercise checks: right answers pass, typical mistakes get the right words
(a stub: test_checks.py, over every check). The right answers are written independently of the
checks' references."""

from math import factorial

import numpy as np
import pytest

from kernelflows.course.checks import (
    check_ex1_1_rkhs_norm,
    check_ex1_2_feature_count,
    check_ex1_3_taylor_features,
    check_ex1_4_feature_mmd2,
    check_gram,
)


def rkhs_norm_double_loop(centres, alpha, kernel):
    c = np.asarray(centres, dtype=float).reshape(len(alpha), -1)
    total = sum(
        a_i * a_j * kernel(c[i : i + 1], c[j : j + 1])[0, 0]
        for i, a_i in enumerate(alpha)
        for j, a_j in enumerate(alpha)
    )
    return np.sqrt(max(total, 0.0))


def gram_from_paired(X, Y, kernel):
    n, m = len(X), len(Y)
    return kernel.paired(np.repeat(X, m, axis=0), np.tile(Y, (n, 1))).reshape(n, m)


def feature_count_by_enumeration(d, degree):
    # monomials x^a with |a| <= p, enumerated directly
    return sum(1 for a in np.ndindex(*([degree + 1] * d)) if sum(a) <= degree)


def taylor_loop(x, L, sigma):
    out = np.empty((len(x), L))
    for i, xi in enumerate(x):
        for ell in range(L):
            out[i, ell] = (
                np.exp(-(xi**2) / (2 * sigma**2))
                * xi**ell
                / (sigma**ell * np.sqrt(float(factorial(ell))))
            )
    return out


def feature_mmd2_loop(X, Y, feature_map):
    mean_x = sum(feature_map(x[None])[0] for x in X) / len(X)
    mean_y = sum(feature_map(y[None])[0] for y in Y) / len(Y)
    return float((mean_x - mean_y) @ (mean_x - mean_y))


def test_right_answers_pass(capsys):
    check_ex1_1_rkhs_norm(rkhs_norm_double_loop)
    check_gram(gram_from_paired)
    check_ex1_2_feature_count(feature_count_by_enumeration)
    check_ex1_3_taylor_features(taylor_loop)
    check_ex1_4_feature_mmd2(feature_mmd2_loop)
    out = capsys.readouterr().out
    assert out.count("agree") == 5


def test_taylor_features_reproduce_the_gaussian_kernel():
    # independent of the checks: 40 Taylor terms on [-1, 1] give exp(-(x - y)^2 / 2 s^2);
    # the truncation error is below (1/s^2)^40 / 40! < 1e-30, so rounding dominates (1e-12)
    x, s = np.linspace(-1, 1, 9), 0.9
    phi = taylor_loop(x, 40, s)
    exact = np.exp(-((x[:, None] - x[None, :]) ** 2) / (2 * s**2))
    assert np.allclose(phi @ phi.T, exact, atol=1e-12)
    # and the package's Gaussian kernel (what check_ex1_3 compares with) is that same matrix
    from kernelflows.kernels import GaussianKernel

    np.testing.assert_allclose(GaussianKernel(s)(x[:, None], x[:, None]), phi @ phi.T, atol=1e-12)


@pytest.mark.parametrize(
    "wrong, words",
    [
        (lambda c, a, k: rkhs_norm_double_loop(c, a, k) ** 2, "take its square root"),
        (lambda c, a, k: np.linalg.norm(a), "||alpha||_2"),
        (lambda c, a, k: abs(np.sum(a)), "|sum alpha|"),
        (
            lambda c, a, k: np.sqrt(abs(a @ np.linalg.pinv(k(c, c)) @ a)),
            "inverse Gram matrix",
        ),
        (lambda c, a, k: np.sum(k(c, c) @ a), "misses one factor alpha_i"),
    ],
)
def test_rkhs_norm_mistakes(wrong, words, check_fails):
    check_fails(check_ex1_1_rkhs_norm, wrong, words)


def test_gram_transposed(check_fails):
    check_fails(check_gram, lambda X, Y, k: gram_from_paired(Y, X, k), "transposed")


@pytest.mark.parametrize(
    "wrong, words",
    [
        (lambda d, p: p + 1, "d = 1 only"),
        (
            lambda d, p: (
                feature_count_by_enumeration(d, p) - feature_count_by_enumeration(d, p - 1)
            ),
            "degree exactly p",
        ),
        (lambda d, p: (d + 1) ** p, "ordered products"),
        (lambda d, p: d * p + 1, "cross terms"),
    ],
)
def test_feature_count_mistakes(wrong, words, check_fails):
    check_fails(check_ex1_2_feature_count, wrong, words)


def _fact(L):
    return np.array([float(factorial(i)) for i in range(L)])


@pytest.mark.parametrize(
    "wrong, words",
    [
        (lambda x, L, s: taylor_loop(x, L, s).T, "transposed"),
        (lambda x, L, s: taylor_loop(x, L + 1, s), "expected"),
        (lambda x, L, s: taylor_loop(x, L, s) / np.sqrt(_fact(L)), "not by l!"),
        (
            lambda x, L, s: taylor_loop(x, L, s) * np.exp(x**2 / (2 * s**2))[:, None],
            "prefactor exp(-x^2 / (2 sigma^2)) is missing",
        ),
        (
            lambda x, L, s: taylor_loop(x, L, s) * np.exp(-(x**2) / (2 * s**2))[:, None],
            "with the 2",
        ),
        (lambda x, L, s: taylor_loop(x, L, s) * s ** np.arange(L), "divided by sigma^l"),
    ],
)
def test_taylor_mistakes(wrong, words, check_fails):
    check_fails(check_ex1_3_taylor_features, wrong, words)


@pytest.mark.parametrize(
    "wrong, words",
    [
        (lambda X, Y, f: np.sqrt(feature_mmd2_loop(X, Y, f)), "returned the norm"),
        (lambda X, Y, f: np.sum((f(X).sum(0) - f(Y).sum(0)) ** 2), "not sums"),
        (lambda X, Y, f: np.mean((f(X).mean(0) - f(Y).mean(0)) ** 2), "np.mean divides"),
        (lambda X, Y, f: np.mean(np.sum((f(X) - f(Y)) ** 2, axis=1)), "paired x_i with y_i"),
        (
            lambda X, Y, f: np.sum((f(X).sum(0) / len(Y) - f(Y).sum(0) / len(X)) ** 2),
            "n and m are swapped",
        ),
    ],
)
def test_feature_mmd2_mistakes(wrong, words, check_fails):
    check_fails(check_ex1_4_feature_mmd2, wrong, words)
