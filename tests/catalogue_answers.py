"""Plausible wrong answers to every exercise check of lectures 01-11, with the words that their
diagnosis must contain (used by ``tests/test_checks_catalogue.py`` and by
``python tests/catalogue_answers.py``, which prints each diagnosis).

Each entry is a :class:`Wrong`: the check, the arguments it is called with (the wrong function,
and for checks of two functions a right one for the other), and a regular expression that the
check's message must match: words that name the mistake, not only that the answer differs.
``listed`` marks the mistakes that issue 20 lists by name. The answers are written the way a
student would get them wrong, on top of the package's functions where the exercise allows them.
"""

from __future__ import annotations

import re
from collections.abc import Callable
from dataclasses import dataclass
from math import comb, factorial

import numpy as np
from scipy.special import erf

from kernelflows import mmd2
from kernelflows.course import checks as C
from kernelflows.divergences import (
    CHI2,
    discrete_divergence,
    gaussian_log_ratio,
    kale,
    mmd_energy,
    mmd_velocity,
    tv_gaussians_equal_cov,
)
from kernelflows.networks import first_variation_grad
from kernelflows.theory import lojasiewicz_bound


@dataclass(frozen=True)
class Wrong:
    label: str
    check: Callable
    answers: tuple
    words: str
    listed: bool = False

    @property
    def id(self) -> str:
        return f"{self.check.__name__.removeprefix('check_')}: {self.label}"


def family(check, rows, answer=None, right=(), at=0, prefix="") -> list[Wrong]:
    """Entries for one check from rows ``(label, how, words[, listed])``: the wrong function is
    ``answer(*args, how)``, or ``how`` itself without ``answer``; ``right`` are the right
    functions passed with it (the wrong one at index ``at``)."""
    entries = []
    for label, how, words, *listed in rows:
        fn = how if answer is None else (lambda *args, how=how: answer(*args, how))
        answers = (*right[:at], fn, *right[at:])
        entries.append(Wrong(prefix + label, check, answers, words, bool(listed and listed[0])))
    return entries


def message(entry: Wrong) -> str | None:
    """The check's message for the wrong answer (None if the check passed it)."""
    try:
        entry.check(*entry.answers)
    except C.CheckFailed as exc:
        return str(exc)
    return None


# ---------------------------------------------------------------------------------------------
# shared pieces of answers


def mean_grad(k, Z, C_, scale=None):
    """(1/len(C)) sum_j grad_z k(z, c_j) at the rows of Z (or sum_j scale grad)."""
    w = np.full(len(C_), 1.0 / len(C_) if scale is None else scale)
    return k.weighted_grad(Z, C_, w)


def grad_f(k, Z, X, Y):
    return mean_grad(k, Z, X) - mean_grad(k, Z, Y)


def centred_witness(X, Y, k):
    return lambda Z: k(Z, X).mean(1) - k(Z, Y).mean(1)


# ---------------------------------------------------------------------------------------------
# lecture 01

L01 = (
    family(
        C.check_ex1_1_rkhs_norm,
        [
            ("squared norm", lambda c, a, k: a @ k(c, c) @ a, "square root"),
            ("Euclidean norm of alpha", lambda c, a, k: np.linalg.norm(a), r"\|\|alpha\|\|"),
            ("|sum alpha|", lambda c, a, k: abs(a.sum()), "all ones"),
            (
                "inverse Gram",
                lambda c, a, k: np.sqrt(abs(a @ np.linalg.pinv(k(c, c)) @ a)),
                "inverse",
            ),
            ("one alpha", lambda c, a, k: np.sqrt(abs(np.sum(k(c, c) @ a))), "one factor alpha"),
            ("norm of K alpha", lambda c, a, k: np.linalg.norm(k(c, c) @ a), r"values f\(c_i\)"),
            ("mean over pairs", lambda c, a, k: np.sqrt(np.mean(np.outer(a, a) * k(c, c))), r"1/n"),
        ],
    )
    + family(
        C.check_gram,
        [
            ("transposed", lambda X, Y, k: k(Y, X), "transposed"),
            (
                "repeat and tile swapped",
                lambda X, Y, k: k.paired(
                    np.tile(X, (len(Y), 1)), np.repeat(Y, len(X), axis=0)
                ).reshape(len(X), len(Y)),
                "repeat",
            ),
            ("X twice", lambda X, Y, k: k(X, X), "columns"),
        ],
    )
    + family(
        C.check_ex1_2_feature_count,
        [
            ("degree exactly p", lambda d, p: comb(d + p - 1, p), "exactly p"),
            ("ordered products", lambda d, p: (d + 1) ** p, "ordered products"),
            ("d^p", lambda d, p: d**p, "ordered products"),
            ("p + 1", lambda d, p: p + 1, "d = 1"),
            ("no cross terms", lambda d, p: d * p + 1, "cross terms"),
            ("no constant", lambda d, p: comb(d + p, p) - 1, "constant monomial"),
        ],
    )
)


def taylor(x, L, s, power=1.0, fact=0.5, pref=2.0, start=0, spow=1.0, sq=2.0):
    ell = np.arange(start, start + L)
    f = np.array([float(factorial(int(i))) for i in ell])
    return (
        np.exp(-(x[:, None] ** 2) / (pref * s**sq))
        * x[:, None] ** ell
        / (s ** (spow * ell) * f**fact) ** power
    )


L01 += family(
    C.check_ex1_3_taylor_features,
    [
        ("transposed", lambda x, L, s: taylor(x, L, s).T, "transposed"),
        ("L + 1 features", lambda x, L, s: taylor(x, L + 1, s), r"expected \d+ features"),
        ("l! not sqrt(l!)", lambda x, L, s: taylor(x, L, s, fact=1.0), r"sqrt\(l!\)"),
        (
            "no prefactor",
            lambda x, L, s: taylor(x, L, s) * np.exp(x[:, None] ** 2 / (2 * s**2)),
            "prefactor .* missing",
        ),
        ("sigma^2 not 2 sigma^2", lambda x, L, s: taylor(x, L, s, pref=1.0), "with the 2"),
        ("no sigma^l", lambda x, L, s: taylor(x, L, s, spow=0.0), r"divided by sigma\^l"),
        ("sigma^2l", lambda x, L, s: taylor(x, L, s, spow=2.0), r"not sigma\^\(2 l\)"),
        (
            "sigma not sigma^2 in the prefactor",
            lambda x, L, s: taylor(x, L, s, sq=1.0),
            r"sigma\^2, not sigma",
        ),
        ("l from 1", lambda x, L, s: taylor(x, L, s, start=1), "start at l = 0"),
    ],
)


def fmmd(X, Y, phi, how="right"):
    fx, fy = phi(X), phi(Y)
    n, m = len(X), len(Y)
    if how == "norm":
        return np.linalg.norm(fx.mean(0) - fy.mean(0))
    if how == "sums":
        return np.sum((fx.sum(0) - fy.sum(0)) ** 2)
    if how == "mean over D":
        return np.mean((fx.mean(0) - fy.mean(0)) ** 2)
    if how == "n m swapped":
        return np.sum((fx.sum(0) / m - fy.sum(0) / n) ** 2)
    if how == "sign":
        return -np.sum((fx.mean(0) - fy.mean(0)) ** 2)
    if how == "paired":
        return np.mean(np.sum((fx - fy[: len(fx)]) ** 2, axis=1))
    if how == "square of sum":
        return np.sum(fx.mean(0) - fy.mean(0)) ** 2
    if how == "unbiased":
        gxx, gyy, gxy = fx @ fx.T, fy @ fy.T, fx @ fy.T
        if min(n, m) < 2:
            return np.nan
        return (
            (gxx.sum() - np.trace(gxx)) / (n * (n - 1))
            + (gyy.sum() - np.trace(gyy)) / (m * (m - 1))
            - 2 * gxy.mean()
        )
    raise ValueError(how)


L01 += family(
    C.check_ex1_4_feature_mmd2,
    [
        ("norm not squared", "norm", "square"),
        ("sums not means", "sums", "means of the features, not sums"),
        ("mean over the features", "mean over D", "number of features D"),
        ("n and m swapped", "n m swapped", "swapped"),
        ("sign", "sign", "sign"),
        ("x_i paired with y_i", "paired", "paired"),
        ("square of the sum", "square of sum", "square of the sum"),
        ("unbiased feature statistic", "unbiased", "unbiased"),
    ],
    answer=fmmd,
)

# ---------------------------------------------------------------------------------------------
# lecture 02


def far(d, bw, sp, sq, scale=2.0, power=None, var=True, bw_pow=2.0, q_as_p=False):
    power = -d / 2 if power is None else power
    sp2, sq2 = (sp**2, sq**2) if var else (sp, sq)
    if q_as_p:
        sq2 = sp2
    return (1 + scale * sp2 / bw**bw_pow) ** power + (1 + scale * sq2 / bw**bw_pow) ** power


L02 = family(
    C.check_ex2_1_far_apart_limit,
    [
        ("variance s^2 not 2 s^2", lambda d, b, p, q: far(d, b, p, q, 1.0), "variance 2 s"),
        ("power -1/2", lambda d, b, p, q: far(d, b, p, q, power=-0.5), "one factor per coord"),
        ("power -d", lambda d, b, p, q: far(d, b, p, q, power=-d), "-d/2, not -d"),
        ("s not s^2", lambda d, b, p, q: far(d, b, p, q, var=False), "variances s\\^2, not s"),
        ("the bound 2", lambda d, b, p, q: 2.0, "bound"),
        ("sign", lambda d, b, p, q: -far(d, b, p, q), "sign"),
        ("MMD", lambda d, b, p, q: np.sqrt(far(d, b, p, q)), "MMD, not MMD\\^2"),
        (
            "bandwidth not bandwidth^2",
            lambda d, b, p, q: far(d, b, p, q, bw_pow=1.0),
            "bandwidth\\^2|squared bandwidth",
        ),
        ("kernel exp(-r^2/sigma^2)", lambda d, b, p, q: far(d, b, p, q, 4.0), "2 sigma\\^2"),
        ("s_p for both", lambda d, b, p, q: far(d, b, p, q, q_as_p=True), "s_p for both"),
    ],
)


def unbiased(X, Y, k, diag_kept=False, over=None, cross=2.0, same_n=False):
    Kxx, Kyy, Kxy = k(X), k(Y), k(X, Y)
    n, m = len(X), len(Y)
    tx = 0.0 if diag_kept else np.trace(Kxx)
    ty = 0.0 if diag_kept else np.trace(Kyy)
    dx, dy = (n * (n - 1), m * (m - 1)) if over is None else (over(n), over(m))
    if same_n:
        dy = dx
    return (Kxx.sum() - tx) / dx + (Kyy.sum() - ty) / dy - cross * Kxy.mean()


L02 += family(
    C.check_witness,
    [
        ("sign", lambda X, Y, k: centred_witness(Y, X, k), "sign"),
        ("sums", lambda X, Y, k: lambda Z: k(Z, X).sum(1) - k(Z, Y).sum(1), "summed"),
        (
            "normalised by ||f||_H",
            lambda X, Y, k: (
                lambda Z: centred_witness(X, Y, k)(Z) / np.sqrt(mmd2(X, Y, k, estimator="biased"))
            ),
            "normalised",
        ),
        (
            "normalised by the unbiased MMD",
            lambda X, Y, k: lambda Z: centred_witness(X, Y, k)(Z) / np.sqrt(abs(mmd2(X, Y, k))),
            "normalised",
        ),
        ("mu_P only", lambda X, Y, k: lambda Z: k(Z, X).mean(1), "missing"),
        ("twice", lambda X, Y, k: lambda Z: 2 * centred_witness(X, Y, k)(Z), "2 times"),
        (
            "n and m swapped",
            lambda X, Y, k: lambda Z: k(Z, X).sum(1) / len(Y) - k(Z, Y).sum(1) / len(X),
            "n and m|m/n|n/m",
        ),
    ],
) + family(
    C.check_mmd2,
    [
        ("biased", lambda X, Y, k: mmd2(X, Y, k, estimator="biased"), "biased V-statistic"),
        ("sign", lambda X, Y, k: -mmd2(X, Y, k), "sign"),
        ("MMD", lambda X, Y, k: np.sqrt(abs(mmd2(X, Y, k))), "MMD, not MMD\\^2"),
        ("cross term without 2", lambda X, Y, k: unbiased(X, Y, k, cross=1.0), "cross term"),
        (
            "diagonal dropped, n^2",
            lambda X, Y, k: unbiased(X, Y, k, over=lambda n: n * n),
            "n\\(n-1\\)",
        ),
        (
            "diagonal kept, n(n-1)",
            lambda X, Y, k: unbiased(X, Y, k, diag_kept=True),
            "i = j terms|diagonal",
        ),
        ("half (the energy)", lambda X, Y, k: mmd2(X, Y, k) / 2, "1/2"),
        (
            "n for both",
            lambda X, Y, k: unbiased(X, Y, k, same_n=True),
            "n for both samples|use n for X.s sums",
        ),
    ],
)


def gap(X, Y, k, how):
    n, m = len(X), len(Y)
    Kxx, Kyy = k(X), k(Y)
    dx, dy = np.diag(Kxx).mean(), np.diag(Kyy).mean()
    ox = (Kxx.sum() - np.trace(Kxx)) / (n * (n - 1))
    oy = (Kyy.sum() - np.trace(Kyy)) / (m * (m - 1))
    return {
        "sign": -((dx - ox) / n + (dy - oy) / m),
        "diag only": dx / n + dy / m,
        "n m swapped": (dx - ox) / m + (dy - oy) / n,
        "n-1": (dx - ox) / (n - 1) + (dy - oy) / (m - 1),
        "no 1/n": (dx - ox) + (dy - oy),
        "X only": (dx - ox) / n,
    }[how]


L02 += family(
    C.check_ex2_3_bias_gap,
    [
        ("sign", "sign", "sign"),
        ("diagonal only", "diag only", "off-diagonal"),
        ("n and m swapped", "n m swapped", "swapped"),
        ("n - 1", "n-1", "not n - 1"),
        ("no 1/n", "no 1/n", "1/n and 1/m factors"),
        ("X term only", "X only", "term of the second sample Y is missing"),
    ],
    answer=gap,
)


def perm_test(X, Y, k, B, seed, how):
    n, m = len(X), len(Y)
    Z = np.vstack([X, Y])
    rng = np.random.default_rng(seed)
    est = "biased" if how == "biased" else "unbiased"
    split = m if how == "first m" else n
    obs = mmd2(X, Y, k, estimator=est)
    null = np.array(
        [
            mmd2(Z[p[:split]], Z[p[split:]], k, estimator=est)
            for p in (rng.permutation(n + m) for _ in range(B))
        ]
    )
    if how == "no +1":
        return np.sum(null >= obs) / B
    if how == "<=":
        return (1 + np.sum(null <= obs)) / (1 + B)
    return (1 + np.sum(null >= obs)) / (1 + B)


L02 += family(
    C.check_ex2_4_permutation_test,
    [
        ("no +1", "no +1", "add one"),
        ("<=", "<=", "at least"),
        ("biased statistic", "biased", "biased statistic"),
        ("first m indices as the X group", "first m", "not the first m"),
    ],
    answer=perm_test,
)

# ---------------------------------------------------------------------------------------------
# lecture 03


def force(X, s, how="right"):
    from kernelflows.kernels import GaussianKernel

    n = len(X)
    k = GaussianKernel(s**2 if how == "bw^2" else s / np.sqrt(2) if how == "sqrt2" else s)
    w = {"n-1": 1 / max(n - 1, 1), "sum": 1.0}.get(how, 1 / n)
    F = k.weighted_grad(X, X, np.full(n, w))
    norms = np.linalg.norm(F, axis=1)
    if how == "squared":
        return np.mean(norms**2)
    if how == "rms":
        return np.sqrt(np.mean(norms**2))
    if how == "axis 0":
        return np.mean(np.linalg.norm(F, axis=0))
    if how == "length of mean":
        return np.linalg.norm(F.mean(0))
    if how == "per particle":
        return norms
    return norms.mean()


L03 = family(
    C.check_ex3_1_interaction_force,
    [
        ("1/(n-1)", "n-1", r"n/\(n-1\)", True),
        ("sum", "sum", "summed the kernel gradients", False),
        ("squared lengths", "squared", "squared lengths", False),
        ("root mean square", "rms", "root mean square|root of the mean", False),
        ("bandwidth^2", "bw^2", "bandwidth\\^2 as the bandwidth", False),
        ("exp(-r^2/s^2)", "sqrt2", "2 bandwidth\\^2", False),
        ("length of the mean", "length of mean", "0 by symmetry", False),
        ("one value per particle", "per particle", "one value per particle", False),
        ("norm over the wrong axis", "axis 0", "axis", False),
    ],
    answer=force,
)


def fv(X, Y, k, Z, how):
    f = centred_witness(X, Y, k)(Z)
    n, m = len(X), len(Y)
    return {
        "slide": -2 * f,
        "2": 2 * f,
        "sign": -f,
        "sums": k(Z, X).sum(1) - k(Z, Y).sum(1),
        "mu_nu only": k(Z, X).mean(1),
        "normalised": f / np.sqrt(mmd2(X, Y, k, estimator="biased")),
        "normalised unbiased": f / np.sqrt(abs(mmd2(X, Y, k))) if n > 1 else f,
        "n m swapped": k(Z, X).sum(1) / m - k(Z, Y).sum(1) / n,
        "half": f / 2,
    }[how]


L03 += family(
    C.check_ex3_2_first_variation,
    [
        ("slide's 2 (mu_nu* - mu_nu)", "slide", "slide's 2 \\(mu_nu\\* - mu_nu\\)", False),
        ("factor 2", "2", "first variation of MMD\\^2", False),
        ("sign", "sign", "sign", False),
        ("sums", "sums", "summed", False),
        ("mu_nu only", "mu_nu only", "missing", False),
        ("normalised f / MMD", "normalised", "normalised|divided by the MMD", True),
        ("normalised by the unbiased MMD", "normalised unbiased", "normalised|divided by", True),
        ("n and m swapped", "n m swapped", "n and m|m/n|n/m", False),
        ("half", "half", "1/2", False),
    ],
    answer=fv,
)


def flow_step(X, Y, k, step, how="right"):
    n, m = len(X), len(Y)
    gx, gy = mean_grad(k, X, X), mean_grad(k, X, Y)
    if how == "n-1":
        gx = gx * n / max(n - 1, 1)
    elif how == "n for both":
        gy = gy * m / n
    elif how == "attraction":
        gx = -gx
    elif how == "sums":
        gx, gy = gx * n, gy * m
    g = {
        "sign": -(gx - gy), "2 step": 2 * (gx - gy), "slide": -2 * (gx - gy),
        "no interaction": -gy,
    }.get(how, gx - gy)  # fmt: skip
    return X - step * g


L03 += family(
    C.check_mmd_flow_step,
    [
        ("1/(n-1) on the interaction", "n-1", r"n/\(n-1\)|n - 1", True),
        ("sign", "sign", "wrong sign", False),
        ("twice the step", "2 step", "twice too large", False),
        ("slide's first variation", "slide", "slide's first variation", False),
        ("sums", "sums", "summed the kernel gradients", False),
        ("no interaction", "no interaction", "interaction", False),
        ("n for both samples", "n for both", "m/n|target term", False),
        ("attraction between particles", "attraction", "interaction term .*sign|repulsion", False),
    ],
    answer=flow_step,
)

# ---------------------------------------------------------------------------------------------
# lecture 04


def disp_gap(a, s, how="right"):
    def k(r, s2=2 * s**2):
        return np.exp(-(r**2) / s2)

    mid = 0.5 * (1 - 2 * k(a) + (1 + k(2 * a)) / 2)
    end = 0.5 * (1 - (1 + k(2 * a)) + (1 + k(2 * a)) / 2)
    if how == "2":
        return 2 * (mid - end)
    if how == "sign":
        return end - mid
    if how == "k(a)^2":
        return 0.5 * (1 - 2 * k(a) + k(a) ** 2)
    if how == "s^2":
        return 0.5 * (1 - 2 * k(a, s**2) + k(2 * a, s**2))
    if how == "bandwidth":
        return 0.5 * (1 - 2 * k(a, 2 * s) + k(2 * a, 2 * s))
    if how == "mid":
        return mid
    if how == "MMD":
        return np.sqrt(2 * mid) - np.sqrt(2 * end)
    return mid - end


L04 = family(
    C.check_ex4_1_displacement_gap,
    [
        ("factor 2", "2", "factor 2|2 times"),
        ("sign", "sign", "sign"),
        ("k(2a) = k(a)^2", "k(a)^2", "k\\(a\\)\\^4"),
        ("exp(-r^2/s^2)", "s^2", "2 s\\^2"),
        ("bandwidth not bandwidth^2", "bandwidth", "s\\^2, not s|squared"),
        ("F(rho_1/2) alone", "mid", "difference"),
        ("MMD not F", "MMD", "MMD, not"),
    ],
    answer=disp_gap,
)


def rate(X, Y, k, how="right"):
    v = mmd_velocity(X, Y, k).velocity
    sq = np.sum(v**2, axis=1)
    return {
        "right": -np.mean(sq), "sign": np.mean(sq), "sum": -np.sum(sq),
        "sqrt": -np.mean(np.sqrt(sq)), "2": -2 * np.mean(sq), "mean over coords": -np.mean(v**2),
    }[how]  # fmt: skip


def quotient(X, Y, k, g, how="right"):
    v = mmd_velocity(X, Y, k).velocity
    energy = {
        "mmd2/2": lambda A: mmd2(A, Y, k) / 2,
        "mmd2": lambda A: mmd2(A, Y, k),
        "biased mmd2": lambda A: mmd2(A, Y, k, estimator="biased"),
    }.get(how, lambda A: mmd_energy(A, Y, k))
    X1 = X - g * v if how == "uphill" else X + g * v
    q = (energy(X1) - energy(X)) / g
    return {"gamma": q * g, "sign": -q}.get(how, q)


def right_rate(X, Y, k):
    return rate(X, Y, k)


def right_quotient(X, Y, k, g):
    return quotient(X, Y, k, g)


L04 += family(
    C.check_ex4_2_dissipation,
    [
        ("sign", "sign", "sign"),
        ("sum over particles", "sum", "summed"),
        ("lengths not squared", "sqrt", "square the length"),
        ("factor 2", "2", "factor 2"),
        ("mean over coordinates", "mean over coords", "coordinates|1/d"),
    ],
    answer=rate,
    right=(right_quotient,),
    at=1,
    prefix="rate: ",
)
L04 += family(
    C.check_ex4_2_dissipation,
    [
        ("F from the unbiased mmd2 / 2", "mmd2/2", "unbiased", True),
        ("F from the unbiased mmd2", "mmd2", "unbiased", False),
        ("F = biased MMD^2 (no 1/2)", "biased mmd2", "factor 2", False),
        ("uphill", "uphill", "uphill", False),
        ("not divided by gamma", "gamma", "divide the change of F by gamma", False),
        ("sign", "sign", "sign", False),
    ],
    answer=quotient,
    right=(right_rate,),
    prefix="quotient: ",
)


def right_bound(F0, t, S):
    return lojasiewicz_bound(F0, t, S)


def right_sobolev(F, g):
    return 2 * F / np.sqrt(g)


L04 += family(
    C.check_ex4_3_lojasiewicz,
    [
        ("C = S", lambda F0, t, S: 1 / (1 / F0 + 2 * t / S), "C = S|S enters squared", True),
        ("exponential rate", lambda F0, t, S: F0 * np.exp(-4 * t / S**2), "exponential", True),
        ("exponential rate, C = S", lambda F0, t, S: F0 * np.exp(-2 * t / S), "exponential", True),
        (
            "C = S^2",
            lambda F0, t, S: 1 / (1 / F0 + 2 * t / S**2),
            "slope is 1/2 times|C = S\\^2 in",
            False,
        ),
        (
            "C = S^2 / 4",
            lambda F0, t, S: 1 / (1 / F0 + 8 * t / S**2),
            "slope is 2 times|C = S\\^2/4",
            False,
        ),
        ("S not squared", lambda F0, t, S: 1 / (1 / F0 + 4 * t / S), "S enters squared", False),
    ],
    right=(right_sobolev,),
    prefix="rate: ",
)
L04 += family(
    C.check_ex4_3_lojasiewicz,
    [
        ("F not 2F", lambda F, g: F / np.sqrt(g), "factor 2|1/2 times"),
        ("no square root", lambda F, g: 2 * F / g, "square root"),
        ("squared", lambda F, g: 4 * F**2 / g, "S_eff\\^2"),
        ("square root of everything", lambda F, g: np.sqrt(2 * F / g), "square root"),
    ],
    right=(right_bound,),
    at=1,
    prefix="S_eff: ",
)

# ---------------------------------------------------------------------------------------------
# lecture 05


def exponent(schedule, step, N, how="right"):
    beta = schedule.values(N + 1)
    return {
        "right": step * np.sum(beta[:N] ** 2),
        "mean": step * np.mean(beta[:N] ** 2),
        "one too many": step * np.sum(beta**2),
        "from 1": step * np.sum(beta[1:] ** 2),
        "not squared": step * np.sum(beta[:N]),
        "square of sum": step * np.sum(beta[:N]) ** 2,
        "no step": np.sum(beta[:N] ** 2),
        "2": 2 * step * np.sum(beta[:N] ** 2),
        "constant": step * N * beta[0] ** 2,
    }[how]


L05 = family(
    C.check_ex5_1_noise_exponent,
    [
        ("mean instead of sum", "mean", "averaged|1/n_steps", True),
        ("one term too many", "one too many", "one term too many", False),
        ("sum from 1", "from 1", "starts at i = 0", False),
        ("not squared", "not squared", "square the noise levels", False),
        ("square of the sum", "square of sum", "not the square of the sum", False),
        ("no step", "no step", "multiply by the step", False),
        ("factor 2", "2", "2 times", False),
        ("constant schedule assumed", "constant", "constant schedule", False),
    ],
    answer=exponent,
)


def injection(X, Y, k, step, beta, u, how="right"):
    at = {
        "gamma beta u": X + step * beta * u, "no noise": X,
        "langevin": X + np.sqrt(2 * step) * beta * u, "beta^2": X + beta**2 * u,
    }.get(how, X + beta * u)  # fmt: skip
    source = X + beta * u if how == "f from perturbed" else X
    new = X + step * mmd_velocity(source, Y, k, at=at).velocity * (-1 if how == "sign" else 1)
    if how == "moved perturbed":
        return new + beta * u
    if how == "diffusion":
        return X + step * mmd_velocity(X, Y, k).velocity + beta * u
    return new


def diffusion(X, Y, k, step, beta, u, how="right"):
    v = mmd_velocity(X, Y, k, at=X + beta * u if how == "at perturbed" else X).velocity
    noise = {
        "langevin": np.sqrt(2 * step) * beta * u, "none": 0.0, "gamma beta u": step * beta * u,
    }.get(how, beta * u)  # fmt: skip
    if how == "injection":
        return injection(X, Y, k, step, beta, u)
    return X + step * v * (-1 if how == "sign" else 1) + noise


def right_injection(X, Y, k, step, beta, u):
    return injection(X, Y, k, step, beta, u)


def right_diffusion(X, Y, k, step, beta, u):
    return diffusion(X, Y, k, step, beta, u)


L05 += family(
    C.check_ex5_2_noisy_steps,
    [
        ("perturbation gamma beta u", "gamma beta u", "perturbed by gamma beta u", True),
        ("moved the perturbed particles", "moved perturbed", "moved the perturbed", False),
        ("f from the perturbed particles", "f from perturbed", "unperturbed particles", False),
        ("diffusion step", "diffusion", "diffusion step", False),
        ("sign", "sign", "wrong sign", False),
        ("no noise", "no noise", "noise is missing", False),
        ("Langevin scaling", "langevin", "Langevin", False),
        ("beta^2 u", "beta^2", "beta\\^2", False),
    ],
    answer=injection,
    right=(right_diffusion,),
    prefix="injection: ",
)
L05 += family(
    C.check_ex5_2_noisy_steps,
    [
        ("injection step", "injection", "noise-injection step"),
        ("gradient at the perturbed points", "at perturbed", "at X itself"),
        ("Langevin scaling", "langevin", "Langevin"),
        ("no noise", "none", "noise is missing"),
        ("sign", "sign", "wrong sign"),
        ("noise gamma beta u", "gamma beta u", "added gamma beta u"),
    ],
    answer=diffusion,
    right=(right_injection,),
    at=1,
    prefix="diffusion: ",
)


def noisy_ratio(X, Y, k, beta, u, how="right"):
    at = X if how == "at X" else X + beta * u
    src = X + beta * u if how == "f perturbed" else X
    v = mmd_velocity(src, Y, k, at=at).velocity
    sq = np.sum(v**2, axis=1)
    F = {
        "mmd2/2": mmd2(X, Y, k) / 2, "mmd2 biased": mmd2(X, Y, k, estimator="biased"),
    }.get(how, mmd_energy(X, Y, k))  # fmt: skip
    num = {"sqrt": np.mean(np.sqrt(sq)), "sum": np.sum(sq), "coords": np.mean(v**2)}.get(
        how, np.mean(sq)
    )
    den = {"no beta": 1.0, "beta": beta}.get(how, beta**2)
    return num / (den * F)


L05 += family(
    C.check_ex5_3_noisy_gradient_ratio,
    [
        ("F from the unbiased mmd2 / 2", "mmd2/2", "unbiased", True),
        ("F = MMD^2", "mmd2 biased", "factor 2", False),
        ("no beta^2", "no beta", "divide by beta\\^2", False),
        ("beta not squared", "beta", "not by beta", False),
        ("at X", "at X", "perturbed points", False),
        ("f from the perturbed particles", "f perturbed", "unperturbed particles", False),
        ("lengths not squared", "sqrt", "square the lengths", False),
        ("sum over particles", "sum", "mean over the particles", False),
        ("mean over coordinates", "coords", "coordinates|1/d", False),
    ],
    answer=noisy_ratio,
)

# ---------------------------------------------------------------------------------------------
# lecture 06


def net_output(net, Z, X, how="right"):
    W0, b0, W1, b1 = net.unpack(Z)
    pre = np.einsum("nhd,bd->nhb", W0, X) + (0.0 if how == "no bias" else b0[:, :, None])
    a = pre if how == "no relu" else np.maximum(pre, 0.0)
    u = np.einsum("nh,nhb->nb", W1, a) / (net.hidden if how == "mean over H" else 1)
    u = u + (0.0 if how == "no bias" else b1[:, None])
    s2 = {"2 sigma^2": 2 * net.sigma**2, "sigma 1": 1.0}.get(how, net.sigma**2)
    phi = np.exp(-(u**2) / s2)
    return {"sum": phi.sum(0), "all": phi, "over inputs": phi.mean(1)}.get(how, phi.mean(0))


L06 = family(
    C.check_ex6_1_network_output,
    [
        ("sum over particles", "sum", "summed over the particles"),
        ("G with 2 sigma^2", "2 sigma^2", "without the 2"),
        ("sigma = 1", "sigma 1", "sigma = 1"),
        ("no ReLU", "no relu", "ReLU is missing"),
        ("no biases", "no bias", "biases"),
        ("every particle and input", "all", "every particle and input"),
        ("mean over inputs", "over inputs", "averaged over the inputs"),
        ("mean over hidden units", "mean over H", "hidden units"),
    ],
    answer=net_output,
)


def net_mmd2(net, Z, U, X, estimator, how="right"):
    F, G = net.features(Z, X), net.features(U, X)
    n = len(X) if how != "no 1/n" else 1
    Kzz, Kuu, Kzu = F @ F.T / n, G @ G.T / n, F @ G.T / n
    N, M = len(Z), len(U)
    est = {"swap": "unbiased" if estimator == "biased" else "biased"}.get(how, estimator)
    if how == "N for both":
        M_ = N
    else:
        M_ = M
    if est == "biased":
        v = Kzz.sum() / N**2 + Kuu.sum() / M_**2 - 2 * Kzu.sum() / (N * M_)
    else:
        v = (
            (Kzz.sum() - np.trace(Kzz)) / (N * (N - 1))
            + (Kuu.sum() - np.trace(Kuu)) / (M_ * (M_ - 1))
            - 2 * Kzu.sum() / (N * M_)
        )
    return {"sign": -v, "sqrt": np.sqrt(abs(v))}.get(how, v)


L06 += family(
    C.check_ex6_2_network_mmd2,
    [
        ("the slide's formula with N for both samples", "N for both", "N for both samples", True),
        ("estimators swapped", "swap", "V-statistic|U-statistic", False),
        ("sign", "sign", "sign", False),
        ("MMD", "sqrt", "MMD, not MMD\\^2", False),
        ("no 1/n over the inputs", "no 1/n", "divide by n", False),
    ],
    answer=net_mmd2,
)


def mf_step(net, Z, U, X, step, how="right"):
    g = first_variation_grad(net, Z, Z, U, X)
    N = len(Z)
    scale = {
        "1/N": 1 / N, "2/N": 2 / N, "2": 2.0, "uphill": -1.0, "1/sqrt(N)": 1 / np.sqrt(N),
        "sum inputs": len(X),
    }.get(how, 1.0)  # fmt: skip
    return Z - step * scale * g


L06 += family(
    C.check_ex6_3_mean_field_step,
    [
        ("1/sqrt(N) scaling", "1/sqrt(N)", "1/sqrt\\(N\\)", True),
        ("literal gradient grad f / N", "1/N", "grad f / N", False),
        ("literal MSE gradient 2 grad f / N", "2/N", "grad f / N", False),
        ("factor 2", "2", "factor 2", False),
        ("uphill", "uphill", "uphill", False),
        ("sum over inputs", "sum inputs", "divide the sum over inputs by n", False),
    ],
    answer=mf_step,
)


def noisy_nn(net, Z, U, X, step, beta, u, mode, how="right"):
    g0 = first_variation_grad(net, Z, Z, U, X)
    if mode == "injection":
        at = Z + (step * beta * u if how == "gamma beta u" else beta * u)
        src = Z + beta * u if how == "f perturbed" else Z
        new = Z - step * first_variation_grad(net, at, src, U, X)
        return new + beta * u if how == "moved" else new
    gb = first_variation_grad(net, Z + beta * u, Z, U, X)
    noise = {"langevin": np.sqrt(2 * step) * beta, "gamma beta u": step * beta}.get(how, beta)
    return Z - step * (gb if how == "at perturbed" else g0) + noise * u


def noisy_nn_one_mode(net, Z, U, X, step, beta, u, mode, how):
    """noisy_nn with the mistake ``how = (mistake, mode it is made in)``; ("swap", None) swaps
    the two modes."""
    mistake, which = how
    if mistake == "swap":
        mode = "diffusion" if mode == "injection" else "injection"
    return noisy_nn(net, Z, U, X, step, beta, u, mode, mistake if mode == which else "right")


L06 += family(
    C.check_ex6_4_noisy_step,
    [
        ("injection with gamma beta u", ("gamma beta u", "injection"),
         "perturbed by gamma beta u", True),
        ("injection moves the perturbed", ("moved", "injection"), "moved the perturbed"),
        ("injection f at the perturbed", ("f perturbed", "injection"), "unperturbed student"),
        ("diffusion with Langevin scaling", ("langevin", "diffusion"), "Langevin"),
        ("diffusion gradient at perturbed", ("at perturbed", "diffusion"), "unperturbed Z"),
        ("diffusion noise gamma beta u", ("gamma beta u", "diffusion"), "added gamma beta u"),
        ("modes swapped", ("swap", None), "other mode"),
    ],
    answer=noisy_nn_one_mode,
)  # fmt: skip


def grad_w0(net, z, x, how="right"):
    W0, b0, W1, b1 = (a[0] for a in net.unpack(z[None]))
    pre = W0 @ x + b0
    u = b1 + W1 @ np.maximum(pre, 0.0)
    G = np.exp(-(u**2) / net.sigma**2)
    dG = {"no 2": -u / net.sigma**2, "no 1/s2": -2 * u, "sign": 2 * u / net.sigma**2}.get(
        how, -2 * u / net.sigma**2
    )
    relu_d = {"no relu'": np.ones_like(pre), "relu as derivative": np.maximum(pre, 0.0)}.get(
        how, (pre > 0).astype(float)
    )
    w1 = np.ones_like(W1) if how == "no W1" else W1
    g = (1.0 if how == "no G" else G) * dG * (w1 * relu_d)[:, None] * x[None, :]
    return g.T if how == "transposed" else g


L06 += family(
    C.check_ex6_5_phi_grad_w0,
    [
        ("transposed", "transposed", "transposed"),
        ("2 missing", "no 2", "2 from the square is missing"),
        ("1/sigma^2 missing", "no 1/s2", "1 / sigma\\^2 is missing"),
        ("sign", "sign", "sign is flipped"),
        ("ReLU derivative missing", "no relu'", "ReLU's derivative"),
        ("W1 missing", "no W1", "W1"),
        ("G itself missing", "no G", "G\\(u\\)"),
        (
            "ReLU in place of its derivative",
            "relu as derivative",
            "ReLU itself where",
        ),
    ],
    answer=grad_w0,
)

# ---------------------------------------------------------------------------------------------
# lecture 07


def tv_js(delta, how="right"):
    tv = tv_gaussians_equal_cov(0.0, delta, 1.0)
    js = C.lecture07._js_unit_gaussians(delta)
    return {
        "swapped": (js, tv), "2 tv": (2 * tv, js), "2 js": (tv, 2 * js),
        "bits": (tv, js / np.log(2)), "erf": (erf(delta / 2), js),
    }.get(how, (tv, js))  # fmt: skip


L07 = family(
    C.check_ex7_1_tv_js,
    [
        ("order swapped", "swapped", "\\(js, tv\\)"),
        ("TV = int |p - q|", "2 tv", "half of it"),
        ("f-GAN JS", "2 js", "f-GAN"),
        ("JS in bits", "bits", "bits"),
        ("Phi(x) = (1 + erf(x))/2", "erf", "erf|sqrt 2|sqrt\\(2\\)"),
    ],
    answer=tv_js,
)


def conj(v, how):
    right = CHI2.conjugate(v)
    return {
        "fgan": v + v**2 / 4, "below": np.where(v >= -2, right, 0.0), "v2/2": v + v**2 / 2,
        "v2": v + v**2, "no linear": v**2 / 4, "sign": -right,
    }[how]  # fmt: skip


L07 += family(
    C.check_ex7_2_chi2_conjugate,
    [
        ("f-GAN table", "fgan", "f-GAN"),
        ("wrong below -2", "below", "wrong for v < -2"),
        ("v^2/2", "v2/2", "you have v\\^2/2|not v\\^2/2"),
        ("v^2", "v2", "you have v\\^2,|, not v\\^2\\."),
        ("no linear term", "no linear", "linear term"),
        ("sign", "sign", "sign"),
    ],
    answer=conj,
)


def critic(mp, vp, mq, vq, how="right"):
    if how == "sd":
        return gaussian_log_ratio(mp, vp**2, mq, vq**2)

    def f(z):
        right = gaussian_log_ratio(mp, vp, mq, vq)(z)
        return {
            "slide": -right, "+1": right + 1, "no const": right - 0.5 * np.log(vq / vp),
            "const flipped": right - np.log(vq / vp),
            "no 1/2": 2 * right - 0.5 * np.log(vq / vp),
        }.get(how, right)  # fmt: skip

    return f


L07 += family(
    C.check_ex7_3_kl_critic,
    [
        ("slide's log(q/p)", "slide", "log\\(q/p\\)"),
        ("phi'(p/q) = 1 + log(p/q)", "+1", "drop the \\+ 1"),
        ("variances as standard deviations", "sd", "variances"),
        ("normalising constants missing", "no const", "normalising constants"),
        ("normalising constant flipped", "const flipped", "normalising constant"),
        ("no 1/2 in the exponent", "no 1/2", "1/2|exponent"),
    ],
    answer=critic,
)


def discrete(div, p, q, how):
    both, only_p, only_q = (p > 0) & (q > 0), (p > 0) & (q == 0), (p == 0) & (q > 0)
    inner = np.sum(q[both] * div.phi(p[both] / q[both]))
    p_part = np.sum(p[only_p]) * div.slope_at_infinity if only_p.any() else 0.0
    q_part = np.sum(q[only_q]) * div.phi_at_zero if only_q.any() else 0.0
    if how == "drop q=0":
        return inner + q_part
    if how == "drop p=0":
        return inner + p_part
    if how == "swapped":
        return discrete_divergence(div, q, p)
    if how == "unweighted":
        return np.sum(div.phi(p[both] / q[both])) + p_part + q_part
    if how == "phi(0) for q=0":
        return inner + q_part + (np.sum(p[only_p]) * div.phi_at_zero if only_p.any() else 0.0)
    with np.errstate(all="ignore"):
        return float(np.sum(q * div.phi(p / q)))


L07 += family(
    C.check_ex7_4_discrete_divergence,
    [
        ("points q = 0 < p dropped", "drop q=0", "q_i = 0 < p_i"),
        ("points p = 0 < q dropped", "drop p=0", "p_i = 0 < q_i"),
        ("p and q swapped", "swapped", "swapped"),
        ("unweighted", "unweighted", "weight each"),
        ("nan from 0 * inf", "naive", "nan"),
        ("phi(0) where q = 0 < p", "phi(0) for q=0", "not phi\\(0\\)"),
    ],
    answer=discrete,
)

# ---------------------------------------------------------------------------------------------
# lecture 08

L08 = family(
    C.check_ex8_1_mmd_limit,
    [
        ("unbiased MMD^2 / 2", lambda P, Q, k: mmd2(P, Q, k) / 2, "unbiased"),
        ("no 1/2", lambda P, Q, k: mmd2(P, Q, k, estimator="biased"), "1/2 is missing"),
        ("MMD", lambda P, Q, k: np.sqrt(mmd2(P, Q, k, estimator="biased")) / 2, "MMD, not MMD\\^2"),
        ("without (1 + lambda)", lambda P, Q, k: 0.0, "about 0"),
        ("KALE at a large lambda", lambda P, Q, k: kale(P, Q, k, lam=1e3).value, "large lambda"),
    ],
)


def kwit(P, Q, k, lam, alpha, how="right"):
    def f(Z):
        mp, aq = k(Z, P).mean(1), k(Z, Q) @ alpha
        return {
            "sign": -(mp - aq) / lam, "no 1/lam": mp - aq, "lam^2": (mp - aq) / lam**2,
            "alpha averaged": (mp - aq / len(Q)) / lam, "P sum": (k(Z, P).sum(1) - aq) / lam,
            "1+lam": (1 + lam) * (mp - aq) / lam,
        }.get(how, (mp - aq) / lam)  # fmt: skip

    return f


L08 += family(
    C.check_ex8_2_kale_witness,
    [
        ("sign", "sign", "sign"),
        ("no 1/lambda", "no 1/lam", "1/lambda in front is missing"),
        ("1/lambda twice", "lam^2", "divided by lambda twice"),
        ("alpha averaged", "alpha averaged", "alpha already carries the 1/m"),
        ("P term summed", "P sum", "P term is a mean"),
        ("(1 + lambda) in front", "1+lam", "1 \\+ lambda"),
    ],
    answer=kwit,
)


def kale_inner(P, Q, k, lam):
    return kale(P, Q, k, lam=lam, tol=1e-12).value / (1 + lam)


L08 += family(
    C.check_kale,
    [
        ("(1 + lambda) missing", kale_inner, "\\(1 \\+ lambda\\) factor"),
        (
            "P and Q swapped",
            lambda P, Q, k, lam: kale(Q, P, k, lam=lam, tol=1e-12).value,
            "swapped",
        ),
        (
            "+ 1 missing",
            lambda P, Q, k, lam: kale(P, Q, k, lam=lam, tol=1e-12).value - (1 + lam),
            "\\+ 1 inside",
        ),
        (
            "penalty lambda ||f||^2",
            lambda P, Q, k, lam: (1 + lam) * kale_inner(P, Q, k, 2 * lam),
            "without the 1/2",
        ),
        (
            "lambda / n",
            lambda P, Q, k, lam: (1 + lam) * kale_inner(P, Q, k, lam / len(P)),
            "lambda / n",
        ),
        (
            "lambda * m",
            lambda P, Q, k, lam: (1 + lam) * kale_inner(P, Q, k, lam * len(Q)),
            "lambda \\* m",
        ),
    ],
)


def slope(P, Q, k, lams, how):
    half = mmd2(P, Q, k, estimator="unbiased" if how == "unbiased" else "biased") / 2
    gaps = np.array([kale(P, Q, k, lam=lam, tol=1e-14).value - half for lam in lams])
    fit = np.polyfit(np.log(1 / lams if how == "1/lam" else lams), np.log(np.abs(gaps)), 1)
    return fit[1] if how == "intercept" else fit[0]


L08 += family(
    C.check_ex8_4_gap_slope,
    [
        ("unbiased MMD^2", "unbiased", "does not vanish"),
        ("against log(1/lambda)", "1/lam", "sign is flipped"),
        ("intercept", "intercept", "intercept"),
    ],
    answer=slope,
)

# ---------------------------------------------------------------------------------------------
# lecture 09


def kfv(X, Y, k, lam, Z, how="right"):
    f = kale(X, Y, k, lam=lam, tol=1e-12).witness(Z)
    return {
        "no 1+lam": f, "(1+lam)^2": (1 + lam) ** 2 * f, "sign": -(1 + lam) * f,
        "swapped": (1 + lam) * kale(Y, X, k, lam=lam, tol=1e-12).witness(Z),
        "over lam": (1 + lam) / lam * f, "exp": (1 + lam) * np.exp(f), "exp only": np.exp(f),
        "mmd": centred_witness(X, Y, k)(Z),
        "lam/n": (1 + lam) * kale(X, Y, k, lam=lam / len(X), tol=1e-12).witness(Z),
    }.get(how, (1 + lam) * f)  # fmt: skip


L09 = family(
    C.check_ex9_1_kale_first_variation,
    [
        ("exp(f*) instead of f*", "exp", "exp\\(f\\*\\)", True),
        ("exp(f*) without (1 + lambda)", "exp only", "exp\\(f\\*\\)", True),
        ("(1 + lambda) missing", "no 1+lam", "\\(1 \\+ lambda\\) in front is missing", False),
        ("(1 + lambda) twice", "(1+lam)^2", "appears twice", False),
        ("sign", "sign", "sign", False),
        ("P and Q swapped", "swapped", "swapped", False),
        ("1/lambda too many", "over lam", "1/lambda too many", False),
        ("MMD first variation", "mmd", "MMD flow's first variation", False),
        ("lambda / n", "lam/n", "lambda / n", False),
    ],
    answer=kfv,
)


def max_dist(X, Y, how):
    D = np.sqrt(((X[:, None, :] - Y[None, :, :]) ** 2).sum(-1))
    return {
        "squared": D.min(1).max() ** 2, "reverse": D.min(0).max(),
        "hausdorff": max(D.min(1).max(), D.min(0).max()), "mean": D.min(1).mean(),
        "min": D.min(), "max": D.max(),
        "L1": np.abs(X[:, None, :] - Y[None, :, :]).sum(-1).min(1).max(),
    }[how]  # fmt: skip


L09 += family(
    C.check_ex9_2_max_distance,
    [
        ("squared", "squared", "squared distance"),
        ("target to particles", "reverse", "from the target to the particles"),
        ("Hausdorff", "hausdorff", "Hausdorff"),
        ("mean", "mean", "averaged"),
        ("min of all", "min", "smallest distance"),
        ("max of all", "max", "largest distance of all pairs"),
        ("L1 distance", "L1", "Euclidean"),
    ],
    answer=max_dist,
)


def kstep(X, Y, k, lam, step, how="right"):
    g = kale(X, Y, k, lam=lam, tol=1e-12).witness.grad(X)
    c = {
        "no 1+lam": 1.0, "uphill": -(1 + lam), "(1+lam)^2": (1 + lam) ** 2,
        "over lam": (1 + lam) / lam,
    }.get(how, 1 + lam)  # fmt: skip
    if how == "swapped":
        g = -kale(Y, X, k, lam=lam, tol=1e-12).witness.grad(X)
    if how == "mmd":
        return X - step * grad_f(k, X, X, Y)
    if how == "lam/n":
        g = kale(X, Y, k, lam=lam / len(X), tol=1e-12).witness.grad(X)
    return X - step * c * g


L09 += family(
    C.check_ex9_3_kale_flow_step,
    [
        ("(1 + lambda) missing", "no 1+lam", "\\(1 \\+ lambda\\) factor is missing"),
        ("uphill", "uphill", "uphill"),
        ("(1 + lambda) twice", "(1+lam)^2", "appears twice"),
        ("P and Q swapped", "swapped", "swapped"),
        ("1/lambda too many", "over lam", "1/lambda too many"),
        ("MMD step", "mmd", "MMD flow's step"),
        ("lambda / n", "lam/n", "lambda / n"),
    ],
    answer=kstep,
)


def ula(X, score, step, u, how="right"):
    noise = {
        "sqrt step": np.sqrt(step) * u, "step": step * u, "sqrt2": np.sqrt(2) * u, "none": 0.0,
    }.get(how, np.sqrt(2 * step) * u)  # fmt: skip
    at = X + np.sqrt(2 * step) * u if how == "drift at noisy" else X
    return X + (-1 if how == "sign" else 1) * step * score(at) + noise


L09 += family(
    C.check_ex9_4_ula_step,
    [
        ("drift sign", "sign", "drift climbs log pi"),
        ("no noise", "none", "noise is missing"),
        ("sqrt(step) u", "sqrt step", "sqrt\\(2\\) dW"),
        ("step u", "step", "like sqrt\\(step\\), not like step"),
        ("sqrt(2) u", "sqrt2", "shrink with the step"),
        ("drift at the noisy point", "drift at noisy", "evaluated at the current X"),
    ],
    answer=ula,
)


def newton(alpha, kbar, K, lam, how="right"):
    m = len(alpha)
    f_y = (kbar + (1 if how == "alpha sign" else -1) * K @ alpha) / lam
    g = np.log((1 if how == "no m" else m) * alpha) - f_y
    H = {
        "no 1/lam": np.diag(1 / alpha) + K, "diag alpha": np.diag(alpha) + K / lam,
        "diag only": np.diag(1 / alpha),
    }.get(how, np.diag(1 / alpha) + K / lam)  # fmt: skip
    d = np.linalg.solve(H, g)
    return {
        "uphill": alpha + d, "damped": alpha - 0.5 * d, "gradient": alpha - g,
    }.get(how, alpha - d)  # fmt: skip


L09 += family(
    C.check_ex9_5_newton_step,
    [
        ("damped step", "damped", "damped|full Newton step|1/2", True),
        ("uphill", "uphill", "uphill", False),
        ("m missing in the log", "no m", "m inside the log", False),
        ("1/lambda missing in the Hessian", "no 1/lam", "1 / lam is missing", False),
        ("diag(alpha)", "diag alpha", "not diag\\(alpha\\)", False),
        ("alpha term added", "alpha sign", "alpha term is subtracted", False),
        ("gradient step", "gradient", "Hessian", False),
        ("Hessian without the kernel part", "diag only", "kernel part|K_yy", False),
    ],
    answer=newton,
)

# ---------------------------------------------------------------------------------------------
# lecture 10


def modes(X, means, threshold, how):
    d2 = ((X[:, None, :] - means[None, :, :]) ** 2).sum(-1)
    f = np.bincount(np.argmin(d2, axis=1), minlength=len(means)) / len(X)
    return {
        ">": np.sum(f > threshold), "any": np.sum(f > 0), "fraction": np.sum(f >= threshold)
        / len(means), "L1": _modes_l1(X, means, threshold),
    }[how]  # fmt: skip


def _modes_l1(X, means, threshold):
    d1 = np.abs(X[:, None, :] - means[None, :, :]).sum(-1)
    f = np.bincount(np.argmin(d1, axis=1), minlength=len(means)) / len(X)
    return np.sum(f >= threshold)


L10 = family(
    C.check_ex10_1_modes_covered,
    [
        ("> instead of >=", ">", "use >="),
        ("any particle", "any", "any particle"),
        ("fraction of the modes", "fraction", "fraction of the modes|number of modes"),
    ],
    answer=modes,
)

# ---------------------------------------------------------------------------------------------
# lecture 11


def drmmd_answer(P, Q, k, lam, how):
    m, n = len(Q), len(P)
    K, Kpp, Kpq = k(Q, Q), k(P, P), k(P, Q)
    v = Kpq.mean(axis=0) - K.mean(axis=1)
    biased = Kpp.mean() + K.mean() - 2 * Kpq.mean()
    if how == "unbiased":
        M2 = ((Kpp.sum() - np.trace(Kpp)) / (n * (n - 1)) + (K.sum() - np.trace(K)) / (m * (m - 1))
              - 2 * Kpq.mean())  # fmt: skip
    else:
        M2 = biased
    if how == "v without target term":
        v = Kpq.mean(axis=0)
    shift = {"lam I": lam, "lam I / m": lam / m}.get(how, m * lam)
    front = {"no front": 1.0, "no 1 + lam": 1 / lam, "no 1/lam": 1 + lam}.get(how, (1 + lam) / lam)
    return front * (M2 - v @ np.linalg.solve(K + shift * np.eye(m), v))


L11 = family(
    C.check_ex11_1_drmmd,
    [
        ("no (1 + lambda) / lambda", "no front", r"\(1 \+ lambda\) / lambda in front"),
        ("no (1 + lambda)", "no 1 + lam", r"factor \(1 \+ lambda\) is missing"),
        ("no 1/lambda", "no 1/lam", "1/lambda of the factor"),
        ("lambda I instead of m lambda I", "lam I", "m lambda I, not lambda I"),
        ("lambda I / m", "lam I / m", "not lambda I / m"),
        ("unbiased MMD^2", "unbiased", "unbiased"),
        ("v without the target's mean", "v without target term", "v is \\(mu_P - mu_Q\\)"),
    ],
    answer=drmmd_answer,
)


def rate_answer(P, Q, k, f2, how):
    g_q = k(Q, P).mean(axis=1) - k(Q, Q).mean(axis=1)
    g_p = k(P, P).mean(axis=1) - k(P, Q).mean(axis=1)
    right = -np.mean(g_q**2) / (2 * f2)
    return {
        "sign": -right,
        "no 1/2": 2 * right,
        "times f2": right * f2 * f2,
        "over P": -np.mean(g_p**2) / (2 * f2),
        "KALE's C": -(mmd2(P, Q, k, estimator="biased") - np.mean(g_q**2)) / 2,
    }[how]


L11 += family(
    C.check_ex11_2_envelope_rate,
    [
        ("sign", "sign", "from below"),
        ("no 1/2", "no 1/2", "factor 1/2"),
        ("f''(1) multiplies", "times f2", r"1 / f''\(1\), not f''\(1\)"),
        ("average over P", "over P", "over the target Q"),
        ("lecture 08's C", "KALE's C", "lecture 08's C"),
    ],
    answer=rate_answer,
)


def tsallis_answer(h, alpha, how):
    a = alpha / (alpha - 1)
    base = 1 + np.asarray(h, dtype=float) / a
    right = np.maximum(base, 0.0) ** a - 1
    with np.errstate(invalid="ignore"):
        return {
            "no clamp": base**a - 1,
            "no -1": right + 1,
            "0 below": np.where(base > 0, right, 0.0),
            "sign": -right,
        }[how]


L11 += family(
    C.check_ex11_3_tsallis_conjugate,
    [
        ("no clamp at p = 0", "no clamp", "boundary p = 0"),
        ("no -1", "no -1", "constant -1 is missing"),
        ("0 below the threshold", "0 below", r"-f\(0\), not 0"),
        ("sign", "sign", "sign is flipped"),
    ],
    answer=tsallis_answer,
)

CATALOGUE: list[Wrong] = L01 + L02 + L03 + L04 + L05 + L06 + L07 + L08 + L09 + L10 + L11


def main() -> None:
    """Print each wrong answer's diagnosis and whether it names the mistake."""
    named = 0
    for entry in CATALOGUE:
        text = message(entry)
        ok = text is not None and re.search(entry.words, text) is not None
        named += ok
        flag = "NAMED  " if ok else "MISSED "
        print(f"{flag}{'*' if entry.listed else ' '} {entry.id}\n        {text}")
    print(f"{named} of {len(CATALOGUE)} wrong answers named")


if __name__ == "__main__":
    main()
