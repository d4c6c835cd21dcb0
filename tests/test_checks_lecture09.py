"""Lecture 09 checks: right answers pass, typical mistakes get their words (a stub:
test_checks.py, over every check)."""

import numpy as np
import pytest

from kernelflows.course.checks import (
    CheckFailed,
    check_ex9_1_kale_first_variation,
    check_ex9_2_max_distance,
    check_ex9_3_kale_flow_step,
    check_ex9_4_ula_step,
    check_ex9_5_newton_step,
)
from kernelflows.divergences import kale


# -- right answers, independent of kale (which the checks' references use): the KALE dual
# solved here by scipy's trust-region Newton in u = log(m alpha), the witness written out
# from the kernel's Gram matrices, its gradient by central differences; or loops.
def witness_by_scipy(X, Y, kernel, lam):
    """f*(z) = (1/lam) [mean_j k(z, x_j) - sum_i alpha_i k(z, y_i)], alpha minimising
    J = sum alpha log(m alpha) - sum alpha + (alpha^T K alpha - 2 alpha^T kbar + c) / (2 lam)."""
    from scipy import optimize

    m = len(Y)
    K, kbar = kernel(Y, Y), kernel(Y, X).mean(axis=1)

    def parts(u):
        alpha = np.exp(u) / m
        return alpha, (kbar - K @ alpha) / lam

    def fun(u):
        alpha, f = parts(u)
        J = alpha @ u - alpha.sum() + (alpha @ K @ alpha - 2 * alpha @ kbar) / (2 * lam)
        return J, alpha * (u - f)

    def hess(u):
        alpha, f = parts(u)
        return np.diag(alpha * (1 + u - f)) + alpha[:, None] * K * alpha[None, :] / lam

    res = optimize.minimize(
        fun, np.zeros(m), jac=True, hess=hess, method="trust-exact", options={"gtol": 1e-14}
    )
    alpha = np.exp(res.x) / m

    def f(Z):
        return (kernel(Z, X).mean(axis=1) - kernel(Z, Y) @ alpha) / lam

    return f


def first_variation(X, Y, kernel, lam, Z):
    return (1 + lam) * witness_by_scipy(X, Y, kernel, lam)(Z)


def flow_step(X, Y, kernel, lam, step, h=1e-6):
    f = witness_by_scipy(X, Y, kernel, lam)
    # central differences: O(h^2) truncation, rounding ~1e-16 / h: ~1e-10, far below the
    # checks' 1e-3 relative tolerance
    grad = np.stack([(f(X + h * e) - f(X - h * e)) / (2 * h) for e in np.eye(X.shape[1])], 1)
    return X - step * (1 + lam) * grad


def first_variation_by_kale(X, Y, kernel, lam, Z):  # the student's natural route
    return (1 + lam) * kale(X, Y, kernel, lam=lam).witness(Z)


def flow_step_by_kale(X, Y, kernel, lam, step):
    return X - step * (1 + lam) * kale(X, Y, kernel, lam=lam).witness.grad(X)


def max_distance_loop(X, Y):
    return max(min(np.sqrt(np.sum((x - y) ** 2)) for y in Y) for x in X)


def ula_step(X, grad_log_density, step, u):
    return X + step * grad_log_density(X) + np.sqrt(2 * step) * u


def newton_step(alpha, kbar, K, lam):
    m = len(alpha)
    g = np.log(m * alpha) - (kbar - K @ alpha) / lam
    H = np.diag(1 / alpha) + K / lam
    return alpha - np.linalg.solve(H, g)


def test_first_variation_right_answer_matches_the_finite_difference():
    # independent of the check's reference: the envelope formula against a finite difference
    from kernelflows.kernels import GaussianKernel
    from kernelflows.theory import kale_first_variation_check

    rng = np.random.default_rng(0)
    X, Y = rng.normal(size=(8, 2)), rng.normal(size=(10, 2)) + 1.0
    c = rng.normal(size=8)
    c -= c.mean()
    fd, _ = kale_first_variation_check(X, Y, GaussianKernel(1.0), X, c, lam=0.3)
    mine = c @ first_variation(X, Y, GaussianKernel(1.0), 0.3, X)
    assert np.isclose(fd, mine, rtol=1e-5)  # central differences O(eps^2) + default kale tol


def test_right_answers_pass(capsys):
    check_ex9_1_kale_first_variation(first_variation)
    check_ex9_2_max_distance(max_distance_loop)
    check_ex9_3_kale_flow_step(flow_step)
    check_ex9_4_ula_step(ula_step)
    check_ex9_5_newton_step(newton_step)
    check_ex9_1_kale_first_variation(first_variation_by_kale)
    check_ex9_3_kale_flow_step(flow_step_by_kale)
    out = capsys.readouterr().out.splitlines()
    assert len(out) == 7 and all("agree" in line for line in out)


@pytest.mark.parametrize(
    "wrong, words",
    [
        (lambda X, Y, k, lam, Z: kale(X, Y, k, lam=lam).witness(Z), "\\(1 \\+ lambda\\) in front"),
        (lambda X, Y, k, lam, Z: (1 + lam) * first_variation(X, Y, k, lam, Z), "twice"),
        (lambda X, Y, k, lam, Z: -first_variation(X, Y, k, lam, Z), "sign is flipped"),
        (lambda X, Y, k, lam, Z: first_variation(Y, X, k, lam, Z), "P and Q are swapped"),
        (lambda X, Y, k, lam, Z: k(Z, X).mean(1) - k(Z, Y).mean(1), "MMD flow's first variation"),
        (lambda X, Y, k, lam, Z: 1.01 * first_variation(X, Y, k, lam, Z), "1.01 times the right"),
        (lambda X, Y, k, lam, Z: first_variation(X, Y, k, lam, Z) + 0.1 * Z[:, 0], "values differ"),
        (lambda X, Y, k, lam, Z: first_variation(X, Y, k, lam, Z)[:-1], "one value per row"),
    ],
)
def test_first_variation_mistakes(wrong, words):
    with pytest.raises(CheckFailed, match=words):
        check_ex9_1_kale_first_variation(wrong)


def dists(X, Y):
    return np.sqrt(((X[:, None] - Y[None]) ** 2).sum(-1))


@pytest.mark.parametrize(
    "wrong, words",
    [
        (lambda X, Y: max_distance_loop(X, Y) ** 2, "squared distance"),
        (lambda X, Y: dists(X, Y).min(axis=0).max(), "from the target to the particles"),
        (lambda X, Y: dists(X, Y).min(axis=1).mean(), "averaged the nearest"),
        (lambda X, Y: dists(X, Y).min(), "smallest distance of all"),
        (lambda X, Y: dists(X, Y).max(), "largest distance of all pairs"),
        (lambda X, Y: 1.01 * max_distance_loop(X, Y), "1.01 times the right one on every case"),
        (lambda X, Y: max_distance_loop(X, Y) + 0.01, "farthest particle is"),
        (lambda X, Y: dists(X, Y).min(axis=1), "expected one number"),
    ],
)
def test_max_distance_mistakes(wrong, words):
    with pytest.raises(CheckFailed, match=words):
        check_ex9_2_max_distance(wrong)


def test_max_distance_hausdorff_is_recognised():
    # right on the cases where particles -> target dominates, wrong where target -> particles does
    def hausdorff(X, Y):
        D = dists(X, Y)
        return max(D.min(axis=1).max(), D.min(axis=0).max())

    with pytest.raises(CheckFailed, match="symmetric \\(Hausdorff\\)|target to the particles"):
        check_ex9_2_max_distance(hausdorff)


def witness_grad(X, Y, k, lam):
    return kale(X, Y, k, lam=lam).witness.grad(X)


@pytest.mark.parametrize(
    "wrong, words",
    [
        (lambda X, Y, k, lam, s: X - s * witness_grad(X, Y, k, lam), "\\(1 \\+ lambda\\) factor"),
        (lambda X, Y, k, lam, s: 2 * X - flow_step(X, Y, k, lam, s), "slide's d_t nu"),
        (lambda X, Y, k, lam, s: X - s * (1 + lam) ** 2 * witness_grad(X, Y, k, lam), "twice"),
        (lambda X, Y, k, lam, s: flow_step(X, Y, k, lam, s) * 1.001, "particles differ"),
        (lambda X, Y, k, lam, s: X[:-1], "expected particles of shape"),
    ],
)
def test_flow_step_mistakes(wrong, words):
    with pytest.raises(CheckFailed, match=words):
        check_ex9_3_kale_flow_step(wrong)


def test_flow_step_swapped_measures_are_recognised():
    def swapped(X, Y, k, lam, s):
        return X - s * (1 + lam) * kale(Y, X, k, lam=lam).witness.grad(X)

    with pytest.raises(CheckFailed, match="P and Q are swapped"):
        check_ex9_3_kale_flow_step(swapped)


def test_flow_step_mmd_limit_is_recognised():
    def mmd_step(X, Y, k, lam, s):
        w = np.r_[np.full(len(X), 1 / len(X)), np.full(len(Y), -1 / len(Y))]
        return X - s * k.weighted_grad(X, np.vstack([X, Y]), w)

    with pytest.raises(CheckFailed, match="MMD flow's step"):
        check_ex9_3_kale_flow_step(mmd_step)


@pytest.mark.parametrize(
    "wrong, words",
    [
        (lambda X, g, s, u: X - s * g(X) + np.sqrt(2 * s) * u, "drift climbs log pi"),
        (lambda X, g, s, u: X + s * g(X), "noise is missing"),
        (lambda X, g, s, u: X + s * g(X) + np.sqrt(s) * u, "sqrt\\(2\\) dW"),
        (lambda X, g, s, u: X + s * g(X) + s * u, "scale like sqrt\\(step\\)"),
        (lambda X, g, s, u: X + s * g(X) + np.sqrt(2) * u, "shrink with the step"),
        (
            lambda X, g, s, u: X + s * g(X + np.sqrt(2 * s) * u) + np.sqrt(2 * s) * u,
            "before the noise",
        ),
        (lambda X, g, s, u: 1.001 * ula_step(X, g, s, u), "particles differ"),
    ],
)
def test_ula_step_mistakes(wrong, words):
    with pytest.raises(CheckFailed, match=words):
        check_ex9_4_ula_step(wrong)


def newton_with(alpha, kbar, K, lam, g, H):
    return alpha - np.linalg.solve(H, g)


@pytest.mark.parametrize(
    "wrong, words",
    [
        (lambda a, kb, K, lam: 2 * a - newton_step(a, kb, K, lam), "uphill"),
        (
            lambda a, kb, K, lam: (
                a - np.linalg.solve(np.diag(1 / a) + K / lam, np.log(a) - (kb - K @ a) / lam)
            ),
            "m inside the log",
        ),
        (
            lambda a, kb, K, lam: (
                a - np.linalg.solve(np.diag(1 / a) + K, np.log(len(a) * a) - (kb - K @ a) / lam)
            ),
            "1 / lam is missing",
        ),
        (
            lambda a, kb, K, lam: (
                a - np.linalg.solve(np.diag(a) + K / lam, np.log(len(a) * a) - (kb - K @ a) / lam)
            ),
            "diag\\(1 / alpha\\)",
        ),
        (
            lambda a, kb, K, lam: (
                a
                - np.linalg.solve(np.diag(1 / a) + K / lam, np.log(len(a) * a) - (kb + K @ a) / lam)
            ),
            "alpha term is subtracted",
        ),
        (lambda a, kb, K, lam: 1.001 * newton_step(a, kb, K, lam), "alpha differs"),
    ],
)
def test_newton_step_mistakes(wrong, words):
    with pytest.raises(CheckFailed, match=words):
        check_ex9_5_newton_step(wrong)


def test_first_variation_over_lambda_and_lambda_over_n():
    with pytest.raises(CheckFailed, match="1/lambda too many"):
        check_ex9_1_kale_first_variation(
            lambda X, Y, k, lam, Z: (1 + lam) / lam * kale(X, Y, k, lam=lam).witness(Z)
        )
    with pytest.raises(CheckFailed, match="lambda / n"):
        check_ex9_1_kale_first_variation(
            lambda X, Y, k, lam, Z: (1 + lam) * kale(X, Y, k, lam=lam / len(X)).witness(Z)
        )


def test_flow_step_over_lambda_and_lambda_over_n():
    with pytest.raises(CheckFailed, match="1/lambda too many"):
        check_ex9_3_kale_flow_step(
            lambda X, Y, k, lam, s: X - s * (1 + lam) / lam * witness_grad(X, Y, k, lam)
        )
    with pytest.raises(CheckFailed, match="lambda / n"):
        check_ex9_3_kale_flow_step(
            lambda X, Y, k, lam, s: X - s * (1 + lam) * witness_grad(X, Y, k, lam / len(X))
        )
