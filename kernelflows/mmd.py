"""The maximum mean discrepancy: estimators, a closed form for Gaussians, a permutation test.

Talk, slide "Computing the MMD":

    MMD^2(P, Q) = E_P k(x, x') + E_Q k(y, y') - 2 E_{P,Q} k(x, y)
                    (a)             (a)              (b)

estimated from X = (x_i) ~ P (n points) and Y = (y_j) ~ Q (m points) by

* ``"unbiased"``: the U-statistic of the slide, sum_{i != j} k(x_i, x_j) / (n (n - 1)) +
  sum_{i != j} k(y_i, y_j) / (m (m - 1)) - 2 sum_{i, j} k(x_i, y_j) / (n m);
* ``"biased"``: the V-statistic ||mu_hat_P - mu_hat_Q||^2, which keeps the i = j terms and
  overestimates by (E k(x, x) - E k(x, x')) / n + (E k(y, y) - E k(y, y')) / m;
* ``"linear"``: the linear-time estimate (Gretton et al., JMLR 2012, Lemma 14) on the first
  2 floor(min(n, m) / 2) points of each sample, averaging
  h = k(x_{2i-1}, x_{2i}) + k(y_{2i-1}, y_{2i}) - k(x_{2i-1}, y_{2i}) - k(x_{2i}, y_{2i-1}).
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from ._validation import (
    as_rng,
    as_samples,
    gaussian_pair,
    positive,
    positive_int,
    same_dimension,
)
from .embeddings import _check_kernel
from .kernels import Kernel

__all__ = ["ESTIMATORS", "mmd2", "mmd2_gaussians", "mmd_test", "PermutationTestResult"]

ESTIMATORS = ("unbiased", "biased", "linear")


def _check_estimator(estimator: str) -> str:
    if estimator not in ESTIMATORS:
        raise ValueError(f"estimator must be one of {ESTIMATORS}, got {estimator!r}")
    return estimator


def _prepare(X, Y, kernel, estimator):
    _check_estimator(estimator)
    min_samples = 1 if estimator == "biased" else 2
    X = as_samples(X, "X", min_samples)
    Y = as_samples(Y, "Y", min_samples)
    same_dimension(X, Y)
    _check_kernel(kernel)
    return X, Y


def mmd2(X, Y, kernel: Kernel, estimator: str = "unbiased") -> float:
    """An estimate of MMD^2(P, Q) from samples X ~ P, shape (n, d), and Y ~ Q, shape (m, d).

    ``estimator`` is ``"unbiased"`` (U-statistic, the talk's formula; needs n, m >= 2),
    ``"biased"`` (V-statistic) or ``"linear"`` (linear time). n != m is supported. Kernel sums
    are computed in row blocks, so memory stays bounded for large samples.
    """
    X, Y = _prepare(X, Y, kernel, estimator)
    n, m = len(X), len(Y)
    if estimator == "linear":
        h = len(_linear_pairs(n, m))
        return float(np.mean(_linear_terms(X[: 2 * h], Y[: 2 * h], kernel)))
    sxy = kernel.total(X, Y)
    if estimator == "biased":
        return kernel.total(X) / n**2 + kernel.total(Y) / m**2 - 2.0 * sxy / (n * m)
    sxx = kernel.total(X, exclude_diagonal=True)
    syy = kernel.total(Y, exclude_diagonal=True)
    return sxx / (n * (n - 1)) + syy / (m * (m - 1)) - 2.0 * sxy / (n * m)


def _linear_pairs(n: int, m: int) -> range:
    return range(min(n, m) // 2)


def _linear_terms(X: np.ndarray, Y: np.ndarray, kernel: Kernel) -> np.ndarray:
    x1, x2, y1, y2 = X[0::2], X[1::2], Y[0::2], Y[1::2]
    return (
        kernel._paired(x1, x2)
        + kernel._paired(y1, y2)
        - kernel._paired(x1, y2)
        - kernel._paired(x2, y1)
    )


def mmd2_gaussians(mean_p, cov_p, mean_q, cov_q, bandwidth: float) -> float:
    """Population MMD^2 between N(mean_p, cov_p) and N(mean_q, cov_q) under a Gaussian kernel.

    With k(x, y) = exp(-||x - y||^2 / (2 s^2)) and independent x ~ N(a, A), y ~ N(b, B),
    x - y ~ N(a - b, A + B), and a Gaussian integral gives

        E k(x, y) = det(I + (A + B) / s^2)^(-1/2) exp(-1/2 (a - b)^T (A + B + s^2 I)^(-1) (a - b)),

    so MMD^2 = E k(x, x') + E k(y, y') - 2 E k(x, y) in closed form. Covariances may be given as
    (d, d) matrices, as scalars (isotropic) or as vectors (diagonal).
    """
    s = positive(bandwidth, "bandwidth")
    a, A, b, B = gaussian_pair(mean_p, cov_p, mean_q, cov_q, positive_definite=False)
    d = a.shape[0]

    def expected_k(mu, S):
        eye = np.eye(d)
        det = np.linalg.det(eye + S / s**2)
        quad = mu @ np.linalg.solve(S + s**2 * eye, mu)
        return det**-0.5 * np.exp(-0.5 * quad)

    zero = np.zeros(d)
    return float(expected_k(zero, 2 * A) + expected_k(zero, 2 * B) - 2 * expected_k(a - b, A + B))


@dataclass(frozen=True)
class PermutationTestResult:
    """Result of :func:`mmd_test`.

    ``p_value = (1 + #{null_samples >= statistic}) / (1 + n_permutations)``, which is a valid
    p-value (the observed split counts as one of the equally likely permutations).
    """

    statistic: float
    p_value: float
    null_samples: np.ndarray
    estimator: str

    def reject(self, alpha: float = 0.05) -> bool:
        """True if the null hypothesis P = Q is rejected at level ``alpha``."""
        return bool(self.p_value <= alpha)


def mmd_test(
    X,
    Y,
    kernel: Kernel,
    n_permutations: int = 500,
    rng=None,
    estimator: str = "unbiased",
    chunk: int = 64,
) -> PermutationTestResult:
    """Permutation two-sample test of H0: P = Q with an MMD^2 statistic.

    The pooled sample [X; Y] is relabelled at random ``n_permutations`` times; each relabelling
    gives one draw of the statistic under H0. The pooled Gram matrix ((n + m)^2 values) is built
    once, so this is meant for samples of up to a few thousand points. ``rng`` is a
    ``numpy.random.Generator`` or a seed (``None`` means seed 0).
    """
    X, Y = _prepare(X, Y, kernel, estimator)
    n_permutations = positive_int(n_permutations, "n_permutations")
    chunk = positive_int(chunk, "chunk")
    rng = as_rng(rng)
    n, m = len(X), len(Y)
    Z = np.vstack([X, Y])
    N = n + m
    statistic = mmd2(X, Y, kernel, estimator)
    perms = np.array([rng.permutation(N) for _ in range(n_permutations)])

    if estimator == "linear":
        null = np.array([mmd2(Z[p[:n]], Z[p[n:]], kernel, "linear") for p in perms])
    else:
        K = kernel._gram(Z, Z)
        diag = np.diag(K).copy()
        total = K.sum()
        null = np.empty(n_permutations)
        for start in range(0, n_permutations, chunk):
            idx = perms[start : start + chunk]
            a = np.zeros((N, len(idx)))
            a[idx[:, :n].T, np.arange(len(idx))[None, :]] = 1.0  # indicator of the "X" group
            Ka = K @ a
            sxx = np.einsum("ij,ij->j", a, Ka)
            sxy = Ka.sum(axis=0) - sxx
            syy = total - sxx - 2.0 * sxy
            if estimator == "biased":
                null[start : start + len(idx)] = sxx / n**2 + syy / m**2 - 2 * sxy / (n * m)
            else:
                trx = diag @ a
                try_ = diag.sum() - trx
                null[start : start + len(idx)] = (
                    (sxx - trx) / (n * (n - 1)) + (syy - try_) / (m * (m - 1)) - 2 * sxy / (n * m)
                )
    p_value = (1.0 + np.sum(null >= statistic)) / (1.0 + n_permutations)
    return PermutationTestResult(float(statistic), float(p_value), null, estimator)
