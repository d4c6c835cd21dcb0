"""Lecture 2 exercise checks: right answers pass, typical mistakes get the right words
(a stub: test_checks.py, over every check). The right answers are written independently of the
checks' references."""

import numpy as np
import pytest

from kernelflows.course.checks import (
    check_ex2_1_far_apart_limit,
    check_ex2_3_bias_gap,
    check_ex2_4_permutation_test,
    check_mmd2,
    check_witness,
)


def far_apart_by_integration(d, bandwidth, s_p, s_q):
    # E exp(-||x - x'||^2 / 2 sigma^2) with x - x' ~ N(0, 2 s^2 I): a product of d 1-D
    # Gaussian integrals, computed here by the trapezoid rule on a fine grid (error < 1e-12)
    def within(s):
        t = np.linspace(-40 * s, 40 * s, 400_001)
        dens = np.exp(-(t**2) / (4 * s**2)) / np.sqrt(4 * np.pi * s**2)
        return np.trapezoid(np.exp(-(t**2) / (2 * bandwidth**2)) * dens, t) ** d

    return within(s_p) + within(s_q)


def witness_loop(X, Y, kernel):
    def f(Z):
        return np.array([np.mean(kernel(z[None], X)) - np.mean(kernel(z[None], Y)) for z in Z])

    return f


def unbiased_loop(X, Y, kernel):
    n, m = len(X), len(Y)
    kxx = sum(
        kernel(X[i : i + 1], X[j : j + 1])[0, 0] for i in range(n) for j in range(n) if i != j
    )
    kyy = sum(
        kernel(Y[i : i + 1], Y[j : j + 1])[0, 0] for i in range(m) for j in range(m) if i != j
    )
    return kxx / (n * (n - 1)) + kyy / (m * (m - 1)) - 2 * kernel(X, Y).mean()


def unbiased_masked(X, Y, kernel):
    # the same U-statistic with boolean masks (fast enough for the permutation loops)
    Kxx, Kyy = kernel(X, X), kernel(Y, Y)
    off_x, off_y = ~np.eye(len(X), dtype=bool), ~np.eye(len(Y), dtype=bool)
    return Kxx[off_x].mean() + Kyy[off_y].mean() - 2 * kernel(X, Y).mean()


def gap_from_definitions(X, Y, kernel):
    # biased estimate ||mu_X - mu_Y||^2 (three Gram means) minus the loop U-statistic
    biased = kernel(X, X).mean() + kernel(Y, Y).mean() - 2 * kernel(X, Y).mean()
    return biased - unbiased_loop(X, Y, kernel)


def permutation_test_loop(X, Y, kernel, n_permutations, seed):
    n = len(X)
    Z = np.vstack([X, Y])
    rng = np.random.default_rng(seed)
    observed = unbiased_masked(X, Y, kernel)
    count = 0
    for _ in range(n_permutations):
        p = rng.permutation(len(Z))
        count += unbiased_masked(Z[p[:n]], Z[p[n:]], kernel) >= observed
    return (1 + count) / (1 + n_permutations)


def test_far_apart_reference_is_independent():
    # the check compares with mmd2_gaussians; this confirms the limit by quadrature (1e-9:
    # trapezoid error on 400001 nodes of a smooth integrand, far below)
    limit = (1 + 2 / 0.25) ** -1 + (1 + 2 * 0.64 / 0.25) ** -1
    assert np.isclose(far_apart_by_integration(2, 0.5, 1.0, 0.8), limit, rtol=1e-9)
    # and the package's closed form (the check's reference) reaches it for far-apart means: the
    # cross term is exp(-50^2 / (2 (s_p^2 + s_q^2 + sigma^2))) ~ 1e-400, below rounding
    from kernelflows.divergences import mmd2_gaussians

    far = mmd2_gaussians([0.0, 0.0], 1.0, [50.0, 0.0], 0.64, 0.5)
    assert np.isclose(far, limit, rtol=1e-12)


def test_right_answers_pass(capsys):
    check_ex2_1_far_apart_limit(far_apart_by_integration)
    check_witness(witness_loop)
    check_mmd2(unbiased_loop)
    check_ex2_3_bias_gap(gap_from_definitions)
    check_ex2_4_permutation_test(permutation_test_loop)
    out = capsys.readouterr().out
    assert out.count("agree") == 4 and "p-value of mmd_test" in out


def _within(d, bw, s2p, s2q, scale=2.0, power=None):
    power = -d / 2 if power is None else power
    return (1 + scale * s2p / bw**2) ** power + (1 + scale * s2q / bw**2) ** power


@pytest.mark.parametrize(
    "wrong, words",
    [
        (lambda d, bw, sp, sq: _within(d, bw, sp**2, sq**2, scale=1.0), "variance 2 s^2"),
        (lambda d, bw, sp, sq: _within(d, bw, sp**2, sq**2, power=-0.5), "power is -d/2"),
        (lambda d, bw, sp, sq: _within(d, bw, sp**2, sq**2, power=-d), "not -d"),
        (lambda d, bw, sp, sq: _within(d, bw, sp, sq), "not s"),
        (lambda d, bw, sp, sq: 2.0, "2 sup k"),
        (lambda d, bw, sp, sq: np.sqrt(_within(d, bw, sp**2, sq**2)), "MMD, not MMD^2"),
    ],
)
def test_far_apart_mistakes(wrong, words, check_fails):
    check_fails(check_ex2_1_far_apart_limit, wrong, words)


def _diag_offdiag(K):
    n = len(K)
    return np.trace(K) / n, (K.sum() - np.trace(K)) / (n * (n - 1))


def _gap(X, Y, k, nx=None, ny=None, only_diag=False):
    dx, ox = _diag_offdiag(k(X, X))
    dy, oy = _diag_offdiag(k(Y, Y))
    if only_diag:
        ox = oy = 0.0
    return (dx - ox) / (nx or len(X)) + (dy - oy) / (ny or len(Y))


@pytest.mark.parametrize(
    "wrong, words",
    [
        (lambda X, Y, k: -gap_from_definitions(X, Y, k), "sign is flipped"),
        (lambda X, Y, k: _gap(X, Y, k, only_diag=True), "subtract the off-diagonal mean"),
        (lambda X, Y, k: _gap(X, Y, k, nx=len(Y), ny=len(X)), "n and m are swapped"),
        (lambda X, Y, k: _gap(X, Y, k, nx=len(X) - 1, ny=len(Y) - 1), "not n - 1"),
        (lambda X, Y, k: _gap(X, Y, k, nx=1, ny=1), "factors are missing"),
    ],
)
def test_bias_gap_mistakes(wrong, words, check_fails):
    check_fails(check_ex2_3_bias_gap, wrong, words)


def _perm_variant(X, Y, kernel, B, seed, variant):
    n = len(X)
    Z = np.vstack([X, Y])
    rng = np.random.default_rng(seed)
    if variant == "biased":

        def stat(A, C):
            return kernel(A, A).mean() + kernel(C, C).mean() - 2 * kernel(A, C).mean()
    else:

        def stat(A, C):
            return unbiased_masked(A, C, kernel)

    observed = stat(X, Y)
    if variant == "other draws":
        rng = np.random.default_rng(seed + 100)
    null = np.array([stat(Z[p[:n]], Z[p[n:]]) for p in (rng.permutation(len(Z)) for _ in range(B))])
    if variant == "no plus one":
        return np.mean(null >= observed)
    if variant == "smaller":
        return (1 + np.sum(null <= observed)) / (1 + B)
    return (1 + np.sum(null >= observed)) / (1 + B)


@pytest.mark.parametrize(
    "variant, words",
    [
        ("no plus one", "add one to the count"),
        ("smaller", "at least as large"),
        ("biased", "biased statistic"),
        ("other draws", "draw the relabellings as mmd_test does"),
    ],
)
def test_permutation_test_mistakes(variant, words, check_fails):
    check_fails(
        check_ex2_4_permutation_test,
        lambda X, Y, k, B, seed: _perm_variant(X, Y, k, B, seed, variant),
        words,
    )
