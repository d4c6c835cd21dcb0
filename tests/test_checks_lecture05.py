"""Lecture 05 checks: right answers pass, typical mistakes get their words (a stub:
test_checks.py, over every check)."""

import numpy as np
import pytest

from kernelflows.course.checks import (
    CheckFailed,
    check_ex5_1_noise_exponent,
    check_ex5_2_noisy_steps,
    check_ex5_3_noisy_gradient_ratio,
)


def exponent_by_hand(schedule, step, n_steps):
    return step * sum(schedule(i) ** 2 for i in range(n_steps))


def grad_f(Z, X, Y, k):
    """grad (mu_nu - mu_nu*) at Z from the kernel's blocked gradient sums (not mmd_velocity)."""
    return k.weighted_grad(Z, X, np.full(len(X), 1 / len(X))) - k.weighted_grad(
        Z, Y, np.full(len(Y), 1 / len(Y))
    )


def injection_by_hand(X, Y, k, step, beta, u):
    return X - step * grad_f(X + beta * u, X, Y, k)


def diffusion_by_hand(X, Y, k, step, beta, u):
    return X - step * grad_f(X, X, Y, k) + beta * u


def energy(X, Y, k):
    return 0.5 * (k(X, X).mean() + k(Y, Y).mean() - 2 * k(X, Y).mean())


def ratio_by_hand(X, Y, k, beta, u):
    g = grad_f(X + beta * u, X, Y, k)
    return np.mean(np.sum(g**2, axis=1)) / (beta**2 * energy(X, Y, k))


def test_right_answers_pass(capsys):
    check_ex5_1_noise_exponent(exponent_by_hand)
    check_ex5_2_noisy_steps(injection_by_hand, diffusion_by_hand)
    check_ex5_3_noisy_gradient_ratio(ratio_by_hand)
    out = capsys.readouterr().out.splitlines()
    assert len(out) == 3 and all("agree" in line for line in out)


@pytest.mark.parametrize(
    "wrong, words",
    [
        (lambda sch, g, N: exponent_by_hand(sch, g, N + 1), "one term too many"),
        (lambda sch, g, N: g * sum(sch(i) ** 2 for i in range(1, N + 1)), "starts at i = 0"),
        (lambda sch, g, N: g * sum(sch(i) for i in range(N)), "square the noise levels"),
        (lambda sch, g, N: g * sum(sch(i) for i in range(N)) ** 2, "square of the sum"),
        (lambda sch, g, N: exponent_by_hand(sch, g, N) / g, "multiply by the step"),
    ],
)
def test_noise_exponent_mistakes(wrong, words):
    with pytest.raises(CheckFailed, match=words):
        check_ex5_1_noise_exponent(wrong)


@pytest.mark.parametrize(
    "wrong, words",
    [
        (
            lambda X, Y, k, s, b, u: X + b * u - s * grad_f(X + b * u, X, Y, k),
            "moved the perturbed particles",
        ),
        (
            lambda X, Y, k, s, b, u: X - s * grad_f(X + b * u, X + b * u, Y, k),
            "built from the unperturbed particles",
        ),
        (diffusion_by_hand, "this is the diffusion step"),
        (lambda X, Y, k, s, b, u: X + s * grad_f(X + b * u, X, Y, k), "wrong sign"),
        (lambda X, Y, k, s, b, u: X - s * grad_f(X, X, Y, k), "noise is missing"),
    ],
)
def test_noise_injection_mistakes(wrong, words):
    with pytest.raises(CheckFailed, match=f"noise_injection_step is wrong.*{words}"):
        check_ex5_2_noisy_steps(wrong, diffusion_by_hand)


@pytest.mark.parametrize(
    "wrong, words",
    [
        (injection_by_hand, "this is the noise-injection step"),
        (
            lambda X, Y, k, s, b, u: X - s * grad_f(X + b * u, X, Y, k) + b * u,
            "gradient is taken at X itself",
        ),
        (lambda X, Y, k, s, b, u: X - s * grad_f(X, X, Y, k), "noise is missing"),
        (lambda X, Y, k, s, b, u: X + s * grad_f(X, X, Y, k) + b * u, "wrong sign"),
    ],
)
def test_diffusion_mistakes(wrong, words):
    with pytest.raises(CheckFailed, match=f"diffusion_step is wrong.*{words}"):
        check_ex5_2_noisy_steps(injection_by_hand, wrong)


@pytest.mark.parametrize(
    "wrong, words",
    [
        (lambda X, Y, k, b, u: ratio_by_hand(X, Y, k, b, u) / 2, "not MMD\\^2"),
        (lambda X, Y, k, b, u: ratio_by_hand(X, Y, k, b, u) * b**2, "divide by beta\\^2"),
        (lambda X, Y, k, b, u: ratio_by_hand(X, Y, k, b, 0 * u), "perturbed points"),
        (
            lambda X, Y, k, b, u: (
                np.mean(np.sum(grad_f(X + b * u, X + b * u, Y, k) ** 2, 1))
                / (b**2 * energy(X, Y, k))
            ),
            "unperturbed particles X",
        ),
        (
            lambda X, Y, k, b, u: (
                np.mean(np.linalg.norm(grad_f(X + b * u, X, Y, k), axis=1))
                / (b**2 * energy(X, Y, k))
            ),
            "square the lengths",
        ),
        (lambda X, Y, k, b, u: len(X) * ratio_by_hand(X, Y, k, b, u), "mean over the particles"),
    ],
)
def test_noisy_gradient_ratio_mistakes(wrong, words):
    with pytest.raises(CheckFailed, match=words):
        check_ex5_3_noisy_gradient_ratio(wrong)


def test_missing_return_and_nan_are_reported():
    with pytest.raises(CheckFailed, match="returned None: is the `return` line missing"):
        check_ex5_1_noise_exponent(lambda sch, g, N: None)
    with pytest.raises(CheckFailed, match="NaN or inf"):
        check_ex5_2_noisy_steps(lambda X, Y, k, s, b, u: X * np.nan, diffusion_by_hand)
    with pytest.raises(CheckFailed, match="not numbers"):
        check_ex5_3_noisy_gradient_ratio(lambda X, Y, k, b, u: "lambda")


def test_diffusion_with_langevin_scaled_noise():
    def langevin(X, Y, k, s, b, u):
        return X - s * grad_f(X, X, Y, k) + np.sqrt(2 * s) * b * u

    with pytest.raises(CheckFailed, match="diffusion_step is wrong.*sqrt\\(2 gamma\\) beta u"):
        check_ex5_2_noisy_steps(injection_by_hand, langevin)
