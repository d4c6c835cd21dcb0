"""Lecture 08 exercise checks (and the shared check_kale that lecture 08 uses): right answers
pass, typical mistakes get the right words (a stub: test_checks.py, over every check)."""

import numpy as np
import pytest
from scipy import optimize

from kernelflows.course.checks import (
    CheckFailed,
    check_ex8_1_mmd_limit,
    check_ex8_2_kale_witness,
    check_ex8_4_gap_slope,
    check_kale,
)
from kernelflows.divergences import kale, mmd2
from kernelflows.kernels import GaussianKernel

# -- right answers, written from the formulas with explicit Gram matrices ---------------------


def half_vstat_by_hand(X, Y, k):
    return 0.5 * (k(X, X).mean() + k(Y, Y).mean() - 2 * k(X, Y).mean())


def witness_by_hand(X, Y, k, lam, alpha):
    return lambda Z: (k(Z, X).mean(1) - k(Z, Y) @ alpha) / lam


def kale_primal_by_hand(P, Q, k, lam, scale=1.0, plus_one=1.0):
    """(1 + lam) max over f = sum_l beta_l k(z_l, .) of the primal, by BFGS (an optimiser the
    package does not use), z = [P; Q]."""
    Z = np.vstack([P, Q])
    K, n = k(Z, Z), len(P)

    def neg(beta):
        f = K @ beta
        e = np.exp(f[n:])
        value = f[:n].mean() - e.mean() + plus_one - 0.5 * lam * beta @ f
        grad = K[:, :n].mean(1) - K[:, n:] @ e / len(e) - lam * f
        return -value, -grad

    out = optimize.minimize(neg, np.zeros(len(Z)), jac=True, method="BFGS", options={"gtol": 1e-11})
    return scale * -out.fun


def gap_slope_by_hand(X, Y, k, lams, subtract=None):
    half = half_vstat_by_hand(X, Y, k) if subtract is None else subtract(X, Y, k)
    gaps = [kale(X, Y, k, lam=lam, tol=1e-12).value - half for lam in lams]
    slope, _ = np.polyfit(np.log(lams), np.log(np.abs(gaps)), 1)
    return slope


def test_right_answers_pass(capsys):
    check_ex8_1_mmd_limit(half_vstat_by_hand)
    check_ex8_2_kale_witness(witness_by_hand)
    check_kale(lambda P, Q, k, lam: kale_primal_by_hand(P, Q, k, lam, scale=1 + lam))
    check_kale(lambda P, Q, k, lam: kale_primal_by_hand(P, Q, k, lam, scale=1 + lam), lam=0.1)
    check_ex8_4_gap_slope(gap_slope_by_hand)
    out = capsys.readouterr().out.splitlines()
    assert len(out) == 5 and all("agree" in line for line in out)


def test_limit_is_the_lambda_to_infinity_value_of_kale():
    # independent of the check: KALE at a huge lambda is MMD^2/2 up to C / lambda
    rng = np.random.default_rng(2)
    X, Y, k = rng.normal(size=(15, 2)), rng.normal(size=(12, 2)) + 0.5, GaussianKernel(1.0)
    # C / lam with |C| <= MMD^2 <= 2 and lam = 1e6: agreement to ~1e-6
    assert abs(kale(X, Y, k, lam=1e6, tol=1e-14).value - half_vstat_by_hand(X, Y, k)) < 1e-5


@pytest.mark.parametrize(
    "wrong, words",
    [
        (lambda X, Y, k: mmd2(X, Y, k, estimator="unbiased") / 2, "unbiased MMD\\^2"),
        (lambda X, Y, k: 2 * half_vstat_by_hand(X, Y, k), "factor 1/2 is missing"),
        (lambda X, Y, k: np.sqrt(2 * half_vstat_by_hand(X, Y, k)) / 2, "MMD, not MMD\\^2"),
        (lambda X, Y, k: 0.0, "without the \\(1 \\+ lambda\\)"),
        (lambda X, Y, k: 1.01 * half_vstat_by_hand(X, Y, k), "you returned"),
    ],
)
def test_ex1_mistakes(wrong, words):
    with pytest.raises(CheckFailed, match=words):
        check_ex8_1_mmd_limit(wrong)


@pytest.mark.parametrize(
    "wrong, words",
    [
        (lambda X, Y, k, lam, a: lambda Z: (k(Z, Y) @ a - k(Z, X).mean(1)) / lam, "sign"),
        (lambda X, Y, k, lam, a: lambda Z: k(Z, X).mean(1) - k(Z, Y) @ a, "1/lambda"),
        (
            lambda X, Y, k, lam, a: lambda Z: (k(Z, X).mean(1) - k(Z, Y) @ a / len(Y)) / lam,
            "do not average",
        ),
        (
            lambda X, Y, k, lam, a: lambda Z: (k(Z, X).sum(1) - k(Z, Y) @ a) / lam,
            "not the sum",
        ),
        (
            lambda X, Y, k, lam, a: lambda Z: (k(Z, X).mean(1) - k(Z, Y) @ a) / lam**2,
            "twice",
        ),
        (lambda X, Y, k, lam, a: 0.0, "function of z"),
    ],
)
def test_ex2_mistakes(wrong, words):
    with pytest.raises(CheckFailed, match=words):
        check_ex8_2_kale_witness(wrong)


@pytest.mark.parametrize(
    "wrong, words",
    [
        (lambda P, Q, k, lam: kale_primal_by_hand(P, Q, k, lam), "\\(1 \\+ lambda\\) factor"),
        (lambda P, Q, k, lam: kale_primal_by_hand(Q, P, k, lam, 1 + lam), "swapped"),
        (lambda P, Q, k, lam: kale_primal_by_hand(P, Q, k, lam, 1 + lam, 0.0), "\\+ 1 inside"),
    ],
)
def test_kale_mistakes(wrong, words):
    with pytest.raises(CheckFailed, match=words):
        check_kale(wrong)


@pytest.mark.parametrize(
    "wrong, words",
    [
        (
            lambda X, Y, k, lams: gap_slope_by_hand(
                X, Y, k, lams, lambda X, Y, k: mmd2(X, Y, k, estimator="unbiased") / 2
            ),
            "does not vanish",
        ),
        (
            lambda X, Y, k, lams: gap_slope_by_hand(
                X, Y, k, lams, lambda X, Y, k: 2 * half_vstat_by_hand(X, Y, k)
            ),
            "does not vanish",
        ),
        (lambda X, Y, k, lams: -gap_slope_by_hand(X, Y, k, lams), "log\\(1/lambda\\)"),
        (lambda X, Y, k, lams: -2.0, "your slope is -2.0000, expected"),
    ],
)
def test_ex4_mistakes(wrong, words):
    with pytest.raises(CheckFailed, match=words):
        check_ex8_4_gap_slope(wrong)


@pytest.mark.parametrize(
    "wrong, words",
    [
        (lambda P, Q, k, lam: kale_primal_by_hand(P, Q, k, lam / (len(P) + len(Q)), 1 + lam),
         "lambda / \\(n \\+ m\\)"),
        (lambda P, Q, k, lam: kale_primal_by_hand(P, Q, k, lam * len(P), 1 + lam), "lambda \\* n"),
        (lambda P, Q, k, lam: kale_primal_by_hand(P, Q, k, 2 * lam, 1 + lam), "without the 1/2"),
        (lambda P, Q, k, lam: kale_primal_by_hand(P, Q, k, lam, 2.0), "you returned"),
    ],
)  # fmt: skip
def test_kale_mistakes_with_lambda_other_than_1(wrong, words):
    with pytest.raises(CheckFailed, match=words):
        check_kale(wrong)


def test_kale_missing_factor_is_not_confused_with_a_factor_2():
    # at lambda = 1 a missing (1 + lambda) and a stray 1/2 coincide; the default lambdas differ
    with pytest.raises(CheckFailed, match="\\(1 \\+ lambda\\) factor in front is missing"):
        check_kale(lambda P, Q, k, lam: kale_primal_by_hand(P, Q, k, lam))
