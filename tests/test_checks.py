"""The exercise checks: a right answer passes, a stub and typical mistakes get the right words."""

import inspect

import numpy as np
import pytest

import kernelflows.course.checks as checks
from kernelflows import mmd2, witness
from kernelflows.course.checks import (
    CheckFailed,
    NotImplementedYet,
    check_gram,
    check_mmd2,
    check_mmd_flow_step,
    check_witness,
)


def unbiased_by_hand(X, Y, k):
    Kxx, Kyy, Kxy = k(X), k(Y), k(X, Y)
    n, m = len(X), len(Y)
    return (
        (Kxx.sum() - np.trace(Kxx)) / (n * (n - 1))
        + (Kyy.sum() - np.trace(Kyy)) / (m * (m - 1))
        - 2 * Kxy.mean()
    )


def flow_step_by_hand(X, Y, k, step):
    """One Euler step written with explicit Gram matrices and pairwise differences (d small)."""
    Kxx, Kxy = k(X), k(X, Y)
    s2 = k.bandwidth**2 if hasattr(k, "bandwidth") else None
    diff_xx = X[:, None, :] - X[None, :, :]
    diff_xy = X[:, None, :] - Y[None, :, :]
    if type(k).__name__ == "GaussianKernel":
        gxx = -(Kxx[..., None] * diff_xx) / s2
        gxy = -(Kxy[..., None] * diff_xy) / s2
    else:  # Laplace: grad_z exp(-|z - x| / s) = -exp(-r / s) (z - x) / (s r), 0 at r = 0
        rxx = np.linalg.norm(diff_xx, axis=-1, keepdims=True)
        rxy = np.linalg.norm(diff_xy, axis=-1, keepdims=True)
        with np.errstate(invalid="ignore", divide="ignore"):
            gxx = np.where(rxx > 0, -Kxx[..., None] * diff_xx / (k.bandwidth * rxx), 0.0)
            gxy = np.where(rxy > 0, -Kxy[..., None] * diff_xy / (k.bandwidth * rxy), 0.0)
    grad_f = gxx.mean(axis=1) - gxy.mean(axis=1)
    return X - step * grad_f


def test_correct_implementations_pass(capsys):
    check_mmd2(unbiased_by_hand)
    check_mmd2(lambda X, Y, k: mmd2(X, Y, k, estimator="biased"), estimator="biased")
    check_gram(lambda X, Y, k: np.array([[k(x[None], y[None])[0, 0] for y in Y] for x in X]))
    check_witness(lambda X, Y, k: lambda z: k(z, X).mean(1) - k(z, Y).mean(1))
    check_mmd_flow_step(flow_step_by_hand)
    out = capsys.readouterr().out
    assert out.count("agree") == 5


@pytest.mark.parametrize(
    "wrong, words",
    [
        (lambda X, Y, k: mmd2(X, Y, k, estimator="biased"), "biased V-statistic"),
        (lambda X, Y, k: -mmd2(X, Y, k), "sign is flipped"),
        (lambda X, Y, k: np.sqrt(abs(mmd2(X, Y, k))), "MMD, not MMD^2"),
        (
            lambda X, Y, k: unbiased_by_hand(X, Y, k) + 2 * k(X, Y).mean(),
            "cross term",
        ),
        (
            lambda X, Y, k: (
                (k(X).sum() - np.trace(k(X))) / len(X) ** 2
                + (k(Y).sum() - np.trace(k(Y))) / len(Y) ** 2
                - 2 * k(X, Y).mean()
            ),
            "n(n-1)",
        ),
    ],
)
def test_mmd2_mistakes_get_the_right_message(wrong, words):
    with pytest.raises(
        CheckFailed, match=words.replace("^", r"\^").replace("(", r"\(").replace(")", r"\)")
    ):
        check_mmd2(wrong)


def test_gram_transposed_is_recognised():
    with pytest.raises(CheckFailed, match="transposed"):
        check_gram(lambda X, Y, k: k(Y, X))


def test_witness_mistakes():
    with pytest.raises(CheckFailed, match="sign is flipped"):
        check_witness(lambda X, Y, k: witness(Y, X, k))
    with pytest.raises(CheckFailed, match="summed the kernels"):
        check_witness(lambda X, Y, k: lambda z: k(z, X).sum(1) - k(z, Y).sum(1))


def test_flow_step_mistakes():
    with pytest.raises(CheckFailed, match="wrong sign"):
        check_mmd_flow_step(lambda X, Y, k, s: 2 * X - flow_step_by_hand(X, Y, k, s))
    with pytest.raises(CheckFailed, match="twice too large"):
        check_mmd_flow_step(lambda X, Y, k, s: flow_step_by_hand(X, Y, k, 2 * s))
    with pytest.raises(CheckFailed, match="interaction"):
        check_mmd_flow_step(
            lambda X, Y, k, s: X + s * k.weighted_grad(X, Y, np.full(len(Y), 1 / len(Y)))
        )


# --- a stub is reported as not implemented, by every check --------------------------------------
# The checks that take two student functions get the right answer in the other place (from the
# lecture's check tests); every other argument of a check has a default.
RIGHT = {
    "check_ex4_2_dissipation": ("quotient_by_hand", "rate_by_hand"),
    "check_ex4_3_lojasiewicz": ("rate_slide", "s_eff"),
    "check_ex5_2_noisy_steps": ("injection_by_hand", "diffusion_by_hand"),
}


def _student_functions(check):
    return [p for p in inspect.signature(check).parameters.values() if p.default is p.empty]


STUB_CASES = [
    (name, position)
    for name in checks.__all__
    if name.startswith("check_")
    for position in range(len(_student_functions(getattr(checks, name))))
]


def _right_answer(name):
    import test_checks_lecture04
    import test_checks_lecture05

    return getattr(test_checks_lecture04, name, None) or getattr(test_checks_lecture05, name)


@pytest.mark.parametrize(("name", "position"), STUB_CASES, ids=str)
def test_a_stub_is_reported_as_not_implemented(name, position, stub):
    check = getattr(checks, name)
    args = [_right_answer(f) for f in RIGHT.get(name, ())] or [None]
    assert len(args) == len(_student_functions(check)), f"{name}: add its right answers to RIGHT"
    args[position] = stub
    with pytest.raises(NotImplementedYet, match="still raises NotImplementedError"):
        check(*args)
