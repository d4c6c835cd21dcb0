"""Lecture 03 checks: right answers pass, typical mistakes get their words (a stub:
test_checks.py, over every check)."""

import numpy as np
import pytest

from kernelflows.course.checks import (
    CheckFailed,
    check_ex3_1_interaction_force,
    check_ex3_2_first_variation,
    check_mmd_flow_step,
)


def force_by_hand(X, s, scale=1.0, mean=True):
    """mean_i || (1/n) sum_j grad_z exp(-|z - x_j|^2 / (2 s^2)) at z = x_i ||, explicit."""
    diff = X[:, None, :] - X[None, :, :]
    K = np.exp(-np.sum(diff**2, axis=-1) / (2 * s**2))
    grads = -(K[..., None] * diff / s**2).mean(axis=1) * scale
    lengths = np.linalg.norm(grads, axis=1)
    return lengths.mean() if mean else lengths


def f_by_hand(X, Y, k, Z):
    return np.array([np.mean(k(z[None], X)) - np.mean(k(z[None], Y)) for z in Z])


def step_by_weighted_grad(X, Y, k, step):
    w = np.r_[np.full(len(X), 1 / len(X)), np.full(len(Y), -1 / len(Y))]
    return X - step * k.weighted_grad(X, np.vstack([X, Y]), w)


def test_right_answers_pass(capsys):
    check_ex3_1_interaction_force(force_by_hand)
    check_ex3_2_first_variation(f_by_hand)
    check_mmd_flow_step(step_by_weighted_grad)
    out = capsys.readouterr().out.splitlines()
    assert len(out) == 3 and all("agree" in line for line in out)


@pytest.mark.parametrize(
    "wrong, words",
    [
        (lambda X, s: len(X) * force_by_hand(X, s), "summed the kernel gradients"),
        (lambda X, s: np.mean(force_by_hand(X, s, mean=False) ** 2), "squared lengths"),
        (lambda X, s: force_by_hand(X, s**2), "bandwidth\\^2 as the bandwidth"),
        (lambda X, s: force_by_hand(X, s / np.sqrt(2)), "2 bandwidth\\^2 in the denominator"),
        (lambda X, s: force_by_hand(X, s, mean=False), "one value per particle"),
        (lambda X, s: 1.1 * force_by_hand(X, s), "mean length of grad mu_nu"),
    ],
)
def test_interaction_force_mistakes(wrong, words):
    with pytest.raises(CheckFailed, match=words):
        check_ex3_1_interaction_force(wrong)


def test_interaction_force_length_of_the_mean_is_recognised():
    def length_of_mean(X, s):
        diff = X[:, None, :] - X[None, :, :]
        K = np.exp(-np.sum(diff**2, axis=-1) / (2 * s**2))
        return np.linalg.norm((-(K[..., None] * diff) / s**2).mean(axis=1).mean(axis=0))

    with pytest.raises(CheckFailed, match="0 by symmetry"):
        check_ex3_1_interaction_force(length_of_mean)


@pytest.mark.parametrize(
    "wrong, words",
    [
        (lambda X, Y, k, Z: 2 * f_by_hand(Y, X, k, Z), "slide's 2 \\(mu_nu\\* - mu_nu\\)"),
        (lambda X, Y, k, Z: 2 * f_by_hand(X, Y, k, Z), "first variation of MMD\\^2"),
        (lambda X, Y, k, Z: f_by_hand(Y, X, k, Z), "sign is flipped"),
        (lambda X, Y, k, Z: k(Z, X).sum(1) - k(Z, Y).sum(1), "summed the kernels"),
        (lambda X, Y, k, Z: k(Z, X).mean(1), "mean embeddings is missing"),
        (lambda X, Y, k, Z: 1.01 * f_by_hand(X, Y, k, Z), "1.01 times the right one"),
        (lambda X, Y, k, Z: f_by_hand(X, Y, k, Z) + 0.01 * Z[:, 0], "finite difference"),
        (lambda X, Y, k, Z: f_by_hand(X, Y, k, Z)[:-1], "one value per row of Z"),
    ],
)
def test_first_variation_mistakes(wrong, words):
    with pytest.raises(CheckFailed, match=words):
        check_ex3_2_first_variation(wrong)


def test_flow_step_mistakes_in_the_lecture_form():
    # the lecture's exercise writes the step with weighted_grad on stacked centres
    with pytest.raises(CheckFailed, match="wrong sign"):
        check_mmd_flow_step(lambda X, Y, k, s: 2 * X - step_by_weighted_grad(X, Y, k, s))
    with pytest.raises(CheckFailed, match="twice too large"):
        check_mmd_flow_step(lambda X, Y, k, s: step_by_weighted_grad(X, Y, k, 2 * s))


def test_missing_return_is_reported():
    with pytest.raises(CheckFailed, match="returned None"):
        check_ex3_1_interaction_force(lambda X, s: None)
    with pytest.raises(CheckFailed, match="returned None"):
        check_ex3_2_first_variation(lambda X, Y, k, Z: None)


def test_flow_step_slide_sign_and_factor_2_together():
    with pytest.raises(CheckFailed, match="both its sign and its factor 2"):
        check_mmd_flow_step(lambda X, Y, k, s: 2 * X - step_by_weighted_grad(X, Y, k, 2 * s))


def test_flow_step_sums_instead_of_means():
    def summed(X, Y, k, s):
        w = np.r_[np.ones(len(X)), -np.ones(len(Y))]
        return X - s * k.weighted_grad(X, np.vstack([X, Y]), w)

    with pytest.raises(
        CheckFailed, match="summed the kernel gradients: mu_nu and mu_nu\\* are means"
    ):
        check_mmd_flow_step(summed)


def test_centred_first_variation_is_accepted_and_explained(capsys):
    def centred(X, Y, k, Z):
        f = f_by_hand(X, Y, k, Z)
        return f - f_by_hand(X, Y, k, X).mean()  # f - E_nu f, the same constant for every z

    check_ex3_2_first_variation(centred)
    out = capsys.readouterr().out
    assert "up to a constant" in out and "valid answer" in out and "mass" in out
