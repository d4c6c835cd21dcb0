"""Lecture 06 checks: right answers pass, typical mistakes get their words (a stub:
test_checks.py, over every check)."""

import numpy as np
import pytest

from kernelflows.course.checks import (
    CheckFailed,
    check_ex6_1_network_output,
    check_ex6_2_network_mmd2,
    check_ex6_3_mean_field_step,
    check_ex6_4_noisy_step,
    check_ex6_5_phi_grad_w0,
)


# -- right answers, written out with loops over particles and inputs (independent of the package)
def phi_one(net, z, x, sigma=None, relu=True):
    W0, b0, W1, b1 = (a[0] for a in net.unpack(z[None]))
    pre = W0 @ x + b0
    a = np.maximum(pre, 0.0) if relu else pre
    u = b1 + W1 @ a
    s = net.sigma if sigma is None else sigma
    return np.exp(-(u**2) / s**2)


def features_loop(net, Z, X, **kw):
    return np.array([[phi_one(net, z, x, **kw) for x in X] for z in Z])


def output_loop(net, Z, X, **kw):
    return features_loop(net, Z, X, **kw).mean(axis=0)


def mmd2_from_features(net, Z, U, X, estimator):
    Fz, Fu = features_loop(net, Z, X), features_loop(net, U, X)
    Kzz, Kuu, Kzu = Fz @ Fz.T / len(X), Fu @ Fu.T / len(X), Fz @ Fu.T / len(X)
    N, M = len(Z), len(U)
    if estimator == "biased":
        return Kzz.mean() + Kuu.mean() - 2 * Kzu.mean()
    return (
        (Kzz.sum() - np.trace(Kzz)) / (N * (N - 1))
        + (Kuu.sum() - np.trace(Kuu)) / (M * (M - 1))
        - 2 * Kzu.mean()
    )


def grad_f_fd(net, at, Z, U, X, eps=1e-6):
    """grad f at the rows of ``at`` by central differences of f(a) = mean_x phi_a(x) r(x)."""
    r = output_loop(net, Z, X) - output_loop(net, U, X)

    def f(a):
        return np.mean([phi_one(net, a, x) * rx for x, rx in zip(X, r, strict=True)])

    G = np.zeros_like(at)
    for i, a in enumerate(at):
        for k in range(len(a)):
            e = np.zeros_like(a)
            e[k] = eps
            G[i, k] = (f(a + e) - f(a - e)) / (2 * eps)
    return G


def grad_f(net, at, Z, U, X):
    r = net.output(Z, X) - net.output(U, X)
    return net.feature_grad(at, X, r / len(X))


def mean_field_step(net, Z, U, X, step):
    return Z - step * grad_f(net, Z, Z, U, X)


def noisy_step(net, Z, U, X, step, beta, u, mode):
    if mode == "injection":
        return Z - step * grad_f(net, Z + beta * u, Z, U, X)
    return Z - step * grad_f(net, Z, Z, U, X) + beta * u


def grad_w0(net, z, x):
    W0, b0, W1, b1 = (a[0] for a in net.unpack(z[None]))
    pre = W0 @ x + b0
    u = b1 + W1 @ np.maximum(pre, 0.0)
    dG = -2 * u / net.sigma**2 * np.exp(-(u**2) / net.sigma**2)
    return dG * (W1 * (pre > 0))[:, None] * x[None, :]


def test_feature_gradient_against_finite_differences():
    # the right answer of exercise 3 uses feature_grad: check it independently, once
    from kernelflows.experiments import sphere_inputs
    from kernelflows.networks import MeanFieldNetwork

    net = MeanFieldNetwork(input_dim=3, hidden=2, bias=True, sigma=1.5)
    rng = np.random.default_rng(0)
    Z, U, X = net.init_particles(3, rng), net.init_particles(2, rng), sphere_inputs(5, 3, rng)
    # central differences with eps = 1e-6: O(eps^2) truncation, rounding ~ 1e-16 / eps
    assert np.allclose(grad_f(net, Z, Z, U, X), grad_f_fd(net, Z, Z, U, X), atol=1e-8)


def test_right_answers_pass(capsys):
    check_ex6_1_network_output(output_loop)
    check_ex6_2_network_mmd2(mmd2_from_features)
    check_ex6_3_mean_field_step(mean_field_step)
    check_ex6_4_noisy_step(noisy_step)
    check_ex6_5_phi_grad_w0(grad_w0)
    out = capsys.readouterr().out.splitlines()
    assert len(out) == 5 and all("agree" in line for line in out)


@pytest.mark.parametrize(
    "wrong, words",
    [
        (lambda net, Z, X: features_loop(net, Z, X), "every particle and input"),
        (lambda net, Z, X: features_loop(net, Z, X).mean(axis=1), "averaged over the inputs"),
        (lambda net, Z, X: features_loop(net, Z, X).sum(axis=0), "summed over the particles"),
        (lambda net, Z, X: output_loop(net, Z, X, sigma=np.sqrt(2) * net.sigma), "without the 2"),
        (lambda net, Z, X: output_loop(net, Z, X, sigma=1.0), "you used sigma = 1"),
        (lambda net, Z, X: output_loop(net, Z, X, relu=False), "ReLU is missing"),
        (lambda net, Z, X: 1.01 * output_loop(net, Z, X), "differ from net.output"),
        (lambda net, Z, X: None, "returned None"),
    ],
)
def test_output_mistakes(wrong, words):
    with pytest.raises(CheckFailed, match=words):
        check_ex6_1_network_output(wrong)


def test_output_without_biases_is_recognised():
    def no_bias(net, Z, X):
        W0, _, W1, _ = net.unpack(Z)
        u = np.einsum("nh,nhb->nb", W1, np.maximum(np.einsum("nhd,bd->nhb", W0, X), 0))
        return np.exp(-(u**2) / net.sigma**2).mean(axis=0)

    with pytest.raises(CheckFailed, match="biases b0, b1 are missing"):
        check_ex6_1_network_output(no_bias)


def swap_estimator(net, Z, U, X, estimator):
    return mmd2_from_features(net, Z, U, X, "unbiased" if estimator == "biased" else "biased")


@pytest.mark.parametrize(
    "wrong, words",
    [
        (swap_estimator, "the MSE is the biased V-statistic"),
        (lambda net, Z, U, X, e: mmd2_from_features(net, Z, U, X, "biased"), "unbiased U-stat"),
        (lambda net, Z, U, X, e: len(X) * mmd2_from_features(net, Z, U, X, e), "divide by n"),
        (
            lambda net, Z, U, X, e: np.sqrt(max(mmd2_from_features(net, Z, U, X, e), 0)),
            "MMD, not MMD\\^2",
        ),
        (lambda net, Z, U, X, e: 1.01 * mmd2_from_features(net, Z, U, X, e), "1.01 times"),
        (lambda net, Z, U, X, e: mmd2_from_features(net, Z, U, X, e) + 0.01, "compare the three"),
        (lambda net, Z, U, X, e: np.ones(2), "expected one number"),
    ],
)
def test_mmd2_mistakes(wrong, words):
    with pytest.raises(CheckFailed, match=words):
        check_ex6_2_network_mmd2(wrong)


def test_mmd2_cross_term_factor_is_recognised():
    def half_cross(net, Z, U, X, estimator):
        Fz, Fu = features_loop(net, Z, X), features_loop(net, U, X)
        return (
            (Fz @ Fz.T).mean() / len(X) + (Fu @ Fu.T).mean() / len(X) - (Fz @ Fu.T).mean() / len(X)
        )

    with pytest.raises(CheckFailed, match="cross term carries a factor 2"):
        check_ex6_2_network_mmd2(half_cross)


@pytest.mark.parametrize(
    "wrong, words",
    [
        (lambda net, Z, U, X, s: Z - s * grad_f(net, Z, Z, U, X) / len(Z), "grad f / N"),
        (lambda net, Z, U, X, s: Z - 2 * s * grad_f(net, Z, Z, U, X) / len(Z), "grad f / N"),
        (lambda net, Z, U, X, s: Z - 2 * s * grad_f(net, Z, Z, U, X), "step on N MSE"),
        (lambda net, Z, U, X, s: Z + s * grad_f(net, Z, Z, U, X), "uphill"),
        (lambda net, Z, U, X, s: Z - s * len(X) * grad_f(net, Z, Z, U, X), "mean over the inputs"),
        (lambda net, Z, U, X, s: Z[:1], "expected the new particles"),
        (lambda net, Z, U, X, s: 1.001 * mean_field_step(net, Z, U, X, s), "differ from Z"),
    ],
)
def test_mean_field_step_mistakes(wrong, words):
    with pytest.raises(CheckFailed, match=words):
        check_ex6_3_mean_field_step(wrong)


@pytest.mark.parametrize(
    "wrong, words",
    [
        (
            lambda net, Z, U, X, s, b, u, mode: noisy_step(
                net, Z, U, X, s, b, u, "diffusion" if mode == "injection" else "injection"
            ),
            "the other mode",
        ),
        (
            lambda net, Z, U, X, s, b, u, mode: (
                Z + b * u - s * grad_f(net, Z + b * u, Z, U, X)
                if mode == "injection"
                else noisy_step(net, Z, U, X, s, b, u, mode)
            ),
            "moved the perturbed particles",
        ),
        (
            lambda net, Z, U, X, s, b, u, mode: (
                Z - s * grad_f(net, Z + b * u, Z + b * u, U, X)
                if mode == "injection"
                else noisy_step(net, Z, U, X, s, b, u, mode)
            ),
            "unperturbed student",
        ),
        (
            lambda net, Z, U, X, s, b, u, mode: (
                Z - s * grad_f(net, Z, Z, U, X) + np.sqrt(2 * s) * b * u
                if mode == "diffusion"
                else noisy_step(net, Z, U, X, s, b, u, mode)
            ),
            "Langevin scaling",
        ),
        (
            lambda net, Z, U, X, s, b, u, mode: (
                Z - s * grad_f(net, Z + b * u, Z, U, X) + b * u
                if mode == "diffusion"
                else noisy_step(net, Z, U, X, s, b, u, mode)
            ),
            "read at the unperturbed Z",
        ),
    ],
)
def test_noisy_step_mistakes(wrong, words):
    with pytest.raises(CheckFailed, match=words):
        check_ex6_4_noisy_step(wrong)


def without_relu_derivative(net, z, x):
    W0, b0, W1, b1 = (a[0] for a in net.unpack(z[None]))
    u = b1 + W1 @ np.maximum(W0 @ x + b0, 0.0)
    dG = -2 * u / net.sigma**2 * np.exp(-(u**2) / net.sigma**2)
    return dG * W1[:, None] * x[None, :]


@pytest.mark.parametrize(
    "wrong, words",
    [
        (lambda net, z, x: grad_w0(net, z, x).T, "transposed"),
        (lambda net, z, x: grad_w0(net, z, x) / 2, "the 2 from the square is missing"),
        (lambda net, z, x: grad_w0(net, z, x) * net.sigma**2, "1 / sigma\\^2 is missing"),
        (lambda net, z, x: -grad_w0(net, z, x), "sign is flipped"),
        (without_relu_derivative, "ReLU's derivative"),
        (lambda net, z, x: 1.01 * grad_w0(net, z, x), "1.01 times the right one"),
        (lambda net, z, x: grad_w0(net, z, x) + 0.01, "entries differ"),
    ],
)
def test_phi_grad_w0_mistakes(wrong, words):
    with pytest.raises(CheckFailed, match=words):
        check_ex6_5_phi_grad_w0(wrong)
