"""Lecture 04 checks: right answers pass, typical mistakes get their words (a stub:
test_checks.py, over every check)."""

import numpy as np
import pytest

from kernelflows.course.checks import (
    CheckFailed,
    check_ex4_1_displacement_gap,
    check_ex4_2_dissipation,
    check_ex4_3_lojasiewicz,
)
from kernelflows.divergences import mmd_velocity


def gap_by_hand(a, s, half=0.5, k2=None):
    """1/2 MMD^2(delta_0, nu*) - 1/2 MMD^2(delta_-a, nu*) from the kernel values, expanded."""

    def k(r):
        return np.exp(-(r**2) / (2 * s**2))

    k2a = k(2 * a) if k2 is None else k2(a, s)
    mmd2_mid = 1 - 2 * k(a) + 0.5 * (1 + k2a)  # k(0, +-a) = k(a); target pairs 1, 1, k(2a), k(2a)
    mmd2_end = 1 - (1 + k2a) + 0.5 * (1 + k2a)  # delta_-a against delta_-a and delta_a
    return half * (mmd2_mid - mmd2_end)


def energy(X, Y, k):
    """1/2 MMD^2 V-statistic from explicit Gram means (not mmd_energy)."""
    return 0.5 * (k(X, X).mean() + k(Y, Y).mean() - 2 * k(X, Y).mean())


def grad_f(X, Y, k):
    w = np.r_[np.full(len(X), 1 / len(X)), np.full(len(Y), -1 / len(Y))]
    return k.weighted_grad(X, np.vstack([X, Y]), w)


def quotient_by_hand(X, Y, k, gamma, scale=1.0, sign=1.0):
    X1 = X - sign * gamma * grad_f(X, Y, k)
    return scale * (energy(X1, Y, k) - energy(X, Y, k)) / gamma


def rate_by_hand(X, Y, k):
    return -np.mean(np.sum(grad_f(X, Y, k) ** 2, axis=1))


def rate_slide(F0, t, S):
    return F0 / (1 + 4 * F0 * np.asarray(t) / S**2)


def s_eff(F, g):
    return 2 * np.asarray(F) / np.sqrt(g)


def test_right_answers_pass(capsys):
    check_ex4_1_displacement_gap(gap_by_hand)
    check_ex4_2_dissipation(quotient_by_hand, rate_by_hand)
    check_ex4_3_lojasiewicz(rate_slide, s_eff)
    out = capsys.readouterr().out.splitlines()
    assert len(out) == 3 and all("agree" in line for line in out)


@pytest.mark.parametrize(
    "wrong, words",
    [
        (lambda a, s: gap_by_hand(a, s, half=1.0), "factor 2 too many"),
        (lambda a, s: -gap_by_hand(a, s), "sign is flipped"),
        (lambda a, s: gap_by_hand(a, s, k2=lambda a, s: np.exp(-(a**2) / s**2)), "k\\(a\\)\\^4"),
        (lambda a, s: gap_by_hand(a * np.sqrt(2), s), "exp\\(-r\\^2 / s\\^2\\)"),
        (lambda a, s: 1.05 * gap_by_hand(a, s), "1.05 times the right one"),
        (lambda a, s: gap_by_hand(a, s) + 0.01, "expand MMD"),
    ],
)
def test_displacement_gap_mistakes(wrong, words):
    with pytest.raises(CheckFailed, match=words):
        check_ex4_1_displacement_gap(wrong)


@pytest.mark.parametrize(
    "wrong_rate, words",
    [
        (lambda X, Y, k: -rate_by_hand(X, Y, k), "F decreases along the flow"),
        (lambda X, Y, k: len(X) * rate_by_hand(X, Y, k), "summed over the particles"),
        (
            lambda X, Y, k: -np.mean(np.linalg.norm(mmd_velocity(X, Y, k).velocity, axis=1)),
            "square the length",
        ),
        (lambda X, Y, k: 2 * rate_by_hand(X, Y, k), "a factor 2"),
    ],
)
def test_dissipation_rate_mistakes(wrong_rate, words):
    with pytest.raises(CheckFailed, match=words):
        check_ex4_2_dissipation(quotient_by_hand, wrong_rate)


@pytest.mark.parametrize(
    "wrong_quotient, words",
    [
        (lambda X, Y, k, g: quotient_by_hand(X, Y, k, g, scale=2.0), "not MMD\\^2"),
        (lambda X, Y, k, g: quotient_by_hand(X, Y, k, g, sign=-1.0), "goes uphill"),
        (lambda X, Y, k, g: g * quotient_by_hand(X, Y, k, g), "divide the change of F by gamma"),
        (lambda X, Y, k, g: -quotient_by_hand(X, Y, k, g), "after minus before"),
    ],
)
def test_difference_quotient_mistakes(wrong_quotient, words):
    with pytest.raises(CheckFailed, match=words):
        check_ex4_2_dissipation(wrong_quotient, rate_by_hand)


@pytest.mark.parametrize(
    "wrong_rate, words",
    [
        (
            lambda F0, t, S: 1 / (1 / F0 + 2 * np.asarray(t) / S**2),
            "slope is 1/2 times the right one",
        ),
        (
            lambda F0, t, S: 1 / (1 / F0 + 8 * np.asarray(t) / S**2),
            "slope is 2 times the right one",
        ),
        (lambda F0, t, S: 1 / (1 / F0 + 4 * np.asarray(t) / S), "S enters squared"),
        (lambda F0, t, S: F0 * np.exp(-4 * np.asarray(t) / S**2), "decays exponentially"),
    ],
)
def test_lojasiewicz_rate_mistakes(wrong_rate, words):
    with pytest.raises(CheckFailed, match=words):
        check_ex4_3_lojasiewicz(wrong_rate, s_eff)


@pytest.mark.parametrize(
    "wrong_s, words",
    [
        (lambda F, g: np.asarray(F) / np.sqrt(g), "the factor 2"),
        (lambda F, g: 2 * np.asarray(F) / np.asarray(g), "square root"),
        (lambda F, g: 4 * np.asarray(F) ** 2 / np.asarray(g), "that is S_eff\\^2"),
    ],
)
def test_effective_sobolev_mistakes(wrong_s, words):
    with pytest.raises(CheckFailed, match=words):
        check_ex4_3_lojasiewicz(rate_slide, wrong_s)


def test_missing_return_and_nan_are_reported():
    with pytest.raises(CheckFailed, match="returned None"):
        check_ex4_1_displacement_gap(lambda a, s: None)
    with pytest.raises(CheckFailed, match="NaN or inf"):
        check_ex4_3_lojasiewicz(lambda F0, t, S: np.full(np.shape(t), np.nan), s_eff)
