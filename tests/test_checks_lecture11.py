"""Lecture 11 checks: the right answer passes, mistakes get their words (a stub:
test_checks.py, over every check)."""

import numpy as np
import pytest

from kernelflows import drmmd
from kernelflows.course.checks import (
    CheckFailed,
    check_ex11_1_drmmd,
    check_ex11_2_envelope_rate,
    check_ex11_3_tsallis_conjugate,
)
from kernelflows.divergences import tsallis


def drmmd_from_grams(P, Q, k, lam, front=None, shift=None, estimator="biased"):
    """DrMMD written out from Gram matrices, independently of the package's eigensolve."""
    m = len(Q)
    K = k(Q, Q)
    v = k(Q, P).mean(axis=1) - K.mean(axis=1)
    a = np.linalg.solve(K + (m * lam if shift is None else shift) * np.eye(m), v)
    kpp = k(P, P)
    if estimator == "biased":
        mmd2 = kpp.mean() + K.mean() - 2 * k(P, Q).mean()
    else:
        n = len(P)
        within_p = (kpp.sum() - np.trace(kpp)) / (n * (n - 1))
        within_q = (K.sum() - np.trace(K)) / (m * (m - 1))
        mmd2 = within_p + within_q - 2 * k(P, Q).mean()
    return ((1 + lam) / lam if front is None else front) * (mmd2 - v @ a)


def rate(P, Q, k, f2):
    g = k(Q, P).mean(axis=1) - k(Q, Q).mean(axis=1)
    return -np.mean(g**2) / (2 * f2)


def conj(h, alpha):
    a = alpha / (alpha - 1)
    return np.maximum(1 + np.asarray(h) / a, 0.0) ** a - 1


def test_the_written_out_drmmd_is_the_package_s():
    rng = np.random.default_rng(0)
    from kernelflows import GaussianKernel

    P, Q, k = rng.normal(size=(9, 2)), rng.normal(size=(11, 2)), GaussianKernel(1.0)
    for lam in (0.01, 1.0):
        assert drmmd_from_grams(P, Q, k, lam) == pytest.approx(drmmd(P, Q, k, lam=lam).value,
                                                               rel=1e-9)  # fmt: skip


def test_right_answers_pass(capsys):
    check_ex11_1_drmmd(drmmd_from_grams)
    check_ex11_2_envelope_rate(rate)
    check_ex11_3_tsallis_conjugate(conj)
    assert capsys.readouterr().out.count("agree") == 3


@pytest.mark.parametrize(
    "wrong, words",
    [
        ({"front": 1.0}, r"\(1 \+ lambda\) / lambda in front"),
        ({"shift": "lam"}, "m lambda I, not lambda I"),
        ({"estimator": "unbiased"}, "unbiased"),
        ({"front": "1/lam"}, r"factor \(1 \+ lambda\) is missing"),
    ],
)  # fmt: skip
def test_drmmd_mistakes(wrong, words):
    def answer(P, Q, k, lam):
        kw = dict(wrong)
        if kw.get("shift") == "lam":
            kw["shift"] = lam
        if kw.get("front") == "1/lam":
            kw["front"] = 1 / lam
        return drmmd_from_grams(P, Q, k, lam, **kw)

    with pytest.raises(CheckFailed, match=words):
        check_ex11_1_drmmd(answer)


def test_a_constant_answer_is_compared_with_drmmd():
    with pytest.raises(CheckFailed, match="DrMMD is"):
        check_ex11_1_drmmd(lambda P, Q, k, lam: 1.0)


@pytest.mark.parametrize(
    "wrong, words",
    [
        (lambda P, Q, k, f2: -rate(P, Q, k, f2), "from below"),
        (lambda P, Q, k, f2: 2 * rate(P, Q, k, f2), "factor 1/2"),
        (lambda P, Q, k, f2: rate(P, Q, k, f2) * f2 * f2, r"1 / f''\(1\), not f''\(1\)"),
        (lambda P, Q, k, f2: -np.mean((k(P, P).mean(1) - k(P, Q).mean(1)) ** 2) / (2 * f2),
         "over the target Q"),
    ],
)  # fmt: skip
def test_rate_mistakes(wrong, words):
    with pytest.raises(CheckFailed, match=words):
        check_ex11_2_envelope_rate(wrong)


@pytest.mark.parametrize(
    "wrong, words",
    [
        (lambda h, al: (1 + h * (al - 1) / al) ** (al / (al - 1)) - 1, "boundary p = 0"),
        (lambda h, al: conj(h, al) + 1, "constant -1 is missing"),
        (lambda h, al: np.where(1 + h * (al - 1) / al > 0, conj(h, al), 0.0), r"-f\(0\), not 0"),
        (lambda h, al: -conj(h, al), "sign is flipped"),
    ],
)
def test_conjugate_mistakes(wrong, words):
    with pytest.raises(CheckFailed, match=words):
        with np.errstate(invalid="ignore"):
            check_ex11_3_tsallis_conjugate(wrong)


def test_the_conjugate_is_the_sup_over_p():
    # independent of the package: the sup of p h - f(p) over a fine grid of p >= 0
    p = np.linspace(0.0, 6.0, 600_001)
    for alpha in (2.0, 3.0):
        f = (p**alpha - alpha * p + alpha - 1) / (alpha - 1)
        for h in (-5.0, -1.0, 0.0, 0.7):
            want = np.max(p * h - f)
            assert conj(np.array([h]), alpha)[0] == pytest.approx(want, abs=1e-8)
            assert tsallis(alpha).conjugate(np.array([h]))[0] == pytest.approx(want, abs=1e-8)
