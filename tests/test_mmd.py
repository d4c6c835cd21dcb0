"""MMD^2 estimators against closed forms, the bias of the V-statistic, and the permutation test."""

import tracemalloc

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from hypothesis.extra.numpy import arrays
from references import gauss, mmd2_by_hand
from scipy import integrate

from kernelflows import GaussianKernel, LaplaceKernel, mmd2, mmd2_gaussians, mmd_test, witness


def gaussian_expected_kernel_1d(mu, var, bandwidth):
    """E exp(-(x - y)^2 / (2 s^2)) for x - y ~ N(mu, var), by quadrature (independent)."""
    dens = lambda t: np.exp(-((t - mu) ** 2) / (2 * var)) / np.sqrt(2 * np.pi * var)  # noqa: E731
    val, _ = integrate.quad(lambda t: dens(t) * np.exp(-(t**2) / (2 * bandwidth**2)), -50, 50)
    return val


def test_closed_form_matches_numerical_integration():
    mp, vp, mq, vq, s = 0.3, 0.5, -0.4, 1.7, 0.8
    expected = (
        gaussian_expected_kernel_1d(0, 2 * vp, s)
        + gaussian_expected_kernel_1d(0, 2 * vq, s)
        - 2 * gaussian_expected_kernel_1d(mp - mq, vp + vq, s)
    )
    assert mmd2_gaussians([mp], vp, [mq], vq, s) == pytest.approx(expected, rel=1e-8)


def test_closed_form_in_2d_accepts_matrices_and_is_zero_for_equal_laws():
    cov = np.array([[1.0, 0.3], [0.3, 0.5]])
    assert mmd2_gaussians([1, 2], cov, [1, 2], cov, 0.7) == pytest.approx(0.0, abs=1e-15)
    # isotropic scalar, diagonal vector and matrix forms agree
    a = mmd2_gaussians([0, 0], 0.5, [1, 0], 2.0, 1.0)
    b = mmd2_gaussians([0, 0], [0.5, 0.5], [1, 0], np.diag([2.0, 2.0]), 1.0)
    assert a == pytest.approx(b, rel=1e-14)


def test_unbiased_is_the_talks_formula(rng):
    """Slide "Computing the MMD": U-statistics within samples, 2/n^2 sum k(x_i, y_j) across."""
    X, Y = rng.normal(size=(9, 2)), rng.normal(size=(9, 2)) + 0.3
    k = GaussianKernel(1.1)
    n = 9
    xx = sum(k(X[i : i + 1], X[j : j + 1])[0, 0] for i in range(n) for j in range(n) if i != j)
    yy = sum(k(Y[i : i + 1], Y[j : j + 1])[0, 0] for i in range(n) for j in range(n) if i != j)
    xy = sum(k(X[i : i + 1], Y[j : j + 1])[0, 0] for i in range(n) for j in range(n))
    expected = xx / (n * (n - 1)) + yy / (n * (n - 1)) - 2 * xy / n**2
    assert mmd2(X, Y, k) == pytest.approx(expected, rel=1e-12)


def test_unequal_sample_sizes_and_the_biased_estimate_as_a_norm(rng):
    X, Y = rng.normal(size=(13, 2)), rng.normal(size=(7, 2)) + 0.5
    k = LaplaceKernel(0.9)
    Kxx, Kyy, Kxy = k(X), k(Y), k(X, Y)
    u = (
        (Kxx.sum() - np.trace(Kxx)) / (13 * 12)
        + (Kyy.sum() - np.trace(Kyy)) / (7 * 6)
        - 2 * Kxy.mean()
    )
    assert mmd2(X, Y, k, estimator="unbiased") == pytest.approx(u, rel=1e-12)
    # V-statistic = ||mu_P - mu_Q||_H^2, the squared RKHS norm of the witness
    assert mmd2(X, Y, k, estimator="biased") == pytest.approx(
        witness(X, Y, k).norm() ** 2, rel=1e-10
    )
    # linear estimate: the first 2 floor(min(n, m) / 2) = 6 points of each, pairs written out
    h = [
        k(X[i : i + 1], X[i + 1 : i + 2])[0, 0]
        + k(Y[i : i + 1], Y[i + 1 : i + 2])[0, 0]
        - k(X[i : i + 1], Y[i + 1 : i + 2])[0, 0]
        - k(X[i + 1 : i + 2], Y[i : i + 1])[0, 0]
        for i in (0, 2, 4)
    ]
    assert mmd2(X, Y, k, estimator="linear") == pytest.approx(
        np.mean(h), rel=1e-12
    )  # 12 terms: rounding


# Repeated draws: P = N(0, 1), Q = N(0.6, 1.5^2) in 1-D, Gaussian kernel of bandwidth 1.
MU_Q, SD_Q, S, N_SAMPLES, REPS = 0.6, 1.5, 1.0, 40, 600


def _repeated(estimator, seed=7):
    rng = np.random.default_rng(seed)
    k = GaussianKernel(S)
    vals = [
        mmd2(
            rng.normal(size=N_SAMPLES),
            rng.normal(MU_Q, SD_Q, size=N_SAMPLES),
            k,
            estimator=estimator,
        )
        for _ in range(REPS)
    ]
    return np.array(vals)


@pytest.mark.parametrize("estimator", ["unbiased", "linear"])
def test_unbiased_estimators_agree_with_closed_form_in_expectation(estimator):
    pop = mmd2_gaussians([0.0], 1.0, [MU_Q], SD_Q**2, S)
    vals = _repeated(estimator)
    se = vals.std(ddof=1) / np.sqrt(REPS)
    # a z-test at 4.5 standard errors: fails by chance with probability below 1e-5
    assert abs(vals.mean() - pop) < 4.5 * se


def test_biased_estimator_exceeds_by_the_known_order_one_over_n_term():
    pop = mmd2_gaussians([0.0], 1.0, [MU_Q], SD_Q**2, S)
    # E V - MMD^2 = (k(x,x) - E k(x,x')) / n + (k(y,y) - E k(y,y')) / m, with k(x,x) = 1 and
    # E k(x,x') = s / sqrt(s^2 + 2 var) for x, x' ~ N(., var) (Gaussian integral).
    bias = (1 - S / np.sqrt(S**2 + 2 * 1.0)) / N_SAMPLES + (
        1 - S / np.sqrt(S**2 + 2 * SD_Q**2)
    ) / N_SAMPLES
    biased, unbiased = _repeated("biased"), _repeated("unbiased")
    excess = biased - unbiased  # same draws (same seed): the sampling noise largely cancels
    se = excess.std(ddof=1) / np.sqrt(REPS)
    assert abs(excess.mean() - bias) < 4.5 * se
    assert biased.mean() > pop


def test_population_mmd_is_zero_for_equal_laws_and_estimates_centre_on_zero():
    assert mmd2_gaussians([0.0], 1.0, [0.0], 1.0, S) == 0.0
    rng = np.random.default_rng(3)
    k = GaussianKernel(S)
    vals = np.array([mmd2(rng.normal(size=40), rng.normal(size=40), k) for _ in range(400)])
    # 4.5 standard errors, as above
    assert abs(vals.mean()) < 4.5 * vals.std(ddof=1) / np.sqrt(400)


def test_permutation_test_keeps_its_level_and_has_power():
    rng = np.random.default_rng(11)
    k = GaussianKernel(1.0)
    alpha, reps = 0.1, 120
    null_rej = np.mean(
        [
            mmd_test(
                rng.normal(size=(25, 2)), rng.normal(size=(25, 2)), k, n_permutations=99, rng=rng
            ).reject(alpha)
            for _ in range(reps)
        ]
    )
    # Binomial(120, 0.1): mean 12, sd 3.3; [0.02, 0.2] is 2.4 sd below to 3.7 sd above.
    assert 0.02 <= null_rej <= 0.2
    alt_rej = np.mean(
        [
            mmd_test(
                rng.normal(size=(25, 2)),
                rng.normal(size=(25, 2)) + 1.0,
                k,
                n_permutations=99,
                rng=rng,
            ).reject(alpha)
            for _ in range(30)
        ]
    )
    # a mean shift of one standard deviation with 25 points each: power is close to 1
    assert alt_rej >= 0.9


@pytest.mark.parametrize("estimator", ["unbiased", "biased", "linear"])
def test_permutation_null_samples_are_the_statistic_of_relabelled_samples(estimator, rng):
    # the null samples against the estimator's definition evaluated on each relabelling (written
    # out in tests/references.py; mmd_test computes them from one pooled Gram matrix), with the
    # permutations drawn from the same seed as the test draws them (one permutation each)
    X, Y = rng.normal(size=(10, 2)) + 0.3, rng.normal(size=(8, 2))
    k = GaussianKernel(1.0)
    res = mmd_test(X, Y, k, n_permutations=20, rng=5, estimator=estimator)
    perm_rng = np.random.default_rng(5)
    Z = np.vstack([X, Y])
    expected = [
        mmd2_by_hand(Z[p[:10]], Z[p[10:]], 1.0, estimator)
        for p in (perm_rng.permutation(18) for _ in range(20))
    ]
    # values ~0.1 from sums of <= 324 kernel terms <= 1 (in another order): rounding < 1e-14
    np.testing.assert_allclose(res.null_samples, expected, rtol=0, atol=1e-13)
    assert res.statistic == pytest.approx(mmd2_by_hand(X, Y, 1.0, estimator), abs=1e-13)
    expected_p = (1 + np.sum(np.array(expected) >= res.statistic)) / 21
    assert res.p_value == expected_p
    assert len(set(np.round(expected, 12))) == 20  # distinct relabellings: a real comparison


def test_large_samples_stay_within_bounded_memory():
    rng = np.random.default_rng(0)
    n = 4000
    X, Y = rng.normal(size=(n, 2)), rng.normal(size=(n, 2))
    tracemalloc.start()
    mmd2(X, Y, GaussianKernel(1.0))
    _, peak = tracemalloc.get_traced_memory()
    tracemalloc.stop()
    full = n * n * 8
    # one (n, n) Gram matrix would be 128 MB; the blocks hold 2**20 values (8 MB) plus temporaries
    assert peak < full / 3


def test_bad_input_raises_naming_the_argument(rng):
    X = rng.normal(size=(5, 2))
    k = GaussianKernel(1.0)
    with pytest.raises(ValueError, match="X needs at least 2"):
        mmd2(X[:1], X, k)
    with pytest.raises(ValueError, match="Y needs at least 2"):
        mmd2(X, X[:1], k, estimator="linear")
    assert mmd2(X[:1], X, k, estimator="biased") >= 0  # the V-statistic is defined for one point
    with pytest.raises(ValueError, match="estimator"):
        mmd2(X, X, k, estimator="quadratic")
    with pytest.raises(ValueError, match="same dimension"):
        mmd2(X, rng.normal(size=(5, 3)), k)
    with pytest.raises(ValueError, match="X contains NaN"):
        mmd2(np.full((5, 2), np.nan), X, k)
    with pytest.raises(ValueError, match="kernel"):
        mmd2(X, X, lambda a, b: 0)
    with pytest.raises(ValueError, match="n_permutations"):
        mmd_test(X, X, k, n_permutations=0)
    with pytest.raises(ValueError, match="rng"):
        mmd_test(X, X, k, rng="seed")
    with pytest.raises(ValueError, match="bandwidth"):
        mmd2_gaussians([0], 1, [0], 1, 0.0)


@settings(max_examples=30, deadline=None)
@given(
    arrays(np.float64, (6, 2), elements=st.floats(-3, 3)),
    arrays(np.float64, (4, 2), elements=st.floats(-3, 3)),
)
def test_estimators_are_symmetric_and_the_biased_one_nonnegative(X, Y):
    k = GaussianKernel(1.0)
    for est in ("unbiased", "biased"):
        assert mmd2(X, Y, k, estimator=est) == pytest.approx(
            mmd2(Y, X, k, estimator=est), abs=1e-12
        )
    assert mmd2(X, Y, k, estimator="biased") >= -1e-12  # a squared norm, up to rounding


# --- unbiasedness by exact enumeration: no Monte Carlo error at all ----------------------------


def test_unbiased_estimators_are_exactly_unbiased_by_enumeration():
    # P on 3 points, Q on 3 other points (1-D); every ordered sample X (n = 3) and Y (m = 4),
    # 3^3 * 3^4 = 2187 pairs, weighted by its probability. E[U-statistic] = MMD^2 exactly and
    # E[linear] = MMD^2 exactly, while E[V-statistic] - MMD^2 = (E k(x,x) - E k(x,x')) / n +
    # (E k(y,y) - E k(y,y')) / m > 0 (the V-statistic overestimates). The population values
    # come from the 3 x 3 Gram matrices (tests/references.py), not from the package. n != m
    # separates the two within-sample normalisations n(n - 1) and m(m - 1).
    import itertools

    a, p = np.array([[-1.0], [0.2], [0.9]]), np.array([0.5, 0.3, 0.2])
    b, q = np.array([[-0.4], [0.5], [1.6]]), np.array([0.25, 0.25, 0.5])
    s, n, m = 0.8, 3, 4
    Kaa, Kbb, Kab = gauss(a, a, s), gauss(b, b, s), gauss(a, b, s)
    pop = p @ Kaa @ p + q @ Kbb @ q - 2 * p @ Kab @ q
    bias = (p @ np.diag(Kaa) - p @ Kaa @ p) / n + (q @ np.diag(Kbb) - q @ Kbb @ q) / m
    kernel = GaussianKernel(s)
    expected = dict.fromkeys(("unbiased", "biased", "linear"), 0.0)
    for ix in itertools.product(range(3), repeat=n):
        for iy in itertools.product(range(3), repeat=m):
            prob = np.prod(p[list(ix)]) * np.prod(q[list(iy)])
            for est in expected:
                expected[est] += prob * mmd2(a[list(ix)], b[list(iy)], kernel, estimator=est)
    # sums of 2187 terms of size <= 2 with weights summing to 1: rounding ~1e-15
    assert expected["unbiased"] == pytest.approx(pop, abs=1e-13)
    assert expected["linear"] == pytest.approx(pop, abs=1e-13)
    assert bias > 0.05  # the test has power: the V-statistic's excess is 0.19 here
    assert expected["biased"] - pop == pytest.approx(bias, abs=1e-13)


# --- the permutation test's p-value, chunks and defaults; point masses ------------------------


def test_p_value_counts_ties_and_rejects_at_equality():
    # p = (1 + #{null >= statistic}) / (1 + N): ties count. Identical points make every
    # relabelling's statistic equal to the observed one, so p = 1 exactly (">" would give 1/21).
    X = np.zeros((4, 1))
    res = mmd_test(X, X.copy(), GaussianKernel(1.0), n_permutations=20, rng=0)
    assert np.all(res.null_samples == res.statistic)
    assert res.p_value == 1.0 and not res.reject(0.99)
    # far-apart samples: no relabelling reaches the statistic, p = 1 / (1 + 19) = 0.05, and the
    # test rejects at alpha = p (p <= alpha)
    rng = np.random.default_rng(1)
    far = mmd_test(
        rng.normal(size=(6, 1)),
        rng.normal(size=(6, 1)) + 20,
        GaussianKernel(1.0),
        n_permutations=19,
    )
    assert far.p_value == 0.05 and far.reject(0.05)


def test_null_samples_beyond_two_chunks_are_computed():
    # 200 permutations in chunks of 64: every null sample is the statistic of its relabelling
    # (the estimator's definition written out; rounding ~1e-15 on values ~0.1)
    rng = np.random.default_rng(2)
    X, Y = rng.normal(size=(7, 2)), rng.normal(size=(5, 2))
    res = mmd_test(X, Y, GaussianKernel(1.0), n_permutations=200, rng=3)
    perms = np.random.default_rng(3)
    Z = np.vstack([X, Y])
    expected = [
        mmd2_by_hand(Z[p[:7]], Z[p[7:]], 1.0, "unbiased")
        for p in (perms.permutation(12) for _ in range(200))
    ]
    np.testing.assert_allclose(res.null_samples, expected, rtol=0, atol=1e-13)


def test_the_test_defaults_to_500_permutations_the_unbiased_statistic_and_level_005():
    rng = np.random.default_rng(10)
    X, Y = rng.normal(size=(10, 2)), rng.normal(size=(12, 2)) + 0.4
    k = GaussianKernel(1.0)
    res = mmd_test(X, Y, k)
    assert len(res.null_samples) == 500 and res.estimator == "unbiased"
    far = mmd_test(X, Y + 20, k, n_permutations=19)
    weak = mmd_test(X, X + 1e-3, k, n_permutations=19)
    assert far.reject() and not weak.reject()  # alpha = 0.05 by default (p = 0.05 and ~0.5)


def test_mmd2_gaussians_accepts_point_masses():
    # a zero covariance is a Dirac: MMD^2(delta_0, delta_1) = 2 - 2 k(0, 1)
    s = 0.7
    expected = 2 - 2 * np.exp(-1 / (2 * s**2))
    from kernelflows.divergences import mmd2_gaussians

    assert mmd2_gaussians([0.0], 0.0, [1.0], 0.0, s) == pytest.approx(expected, rel=1e-14)
