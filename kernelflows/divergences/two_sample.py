"""The kernel two-sample test: a permutation test with an MMD^2 statistic.

Talk, slide "A statistical test using MMD"; Gretton, Borgwardt, Rasch, Schoelkopf, Smola
(JMLR 2012).
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from .._validation import as_rng, positive_int
from ..kernels import Kernel, blas_one_thread
from .mmd import check_estimator, mmd2

__all__ = ["PermutationTestResult", "mmd_test"]


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


@blas_one_thread()
def mmd_test(
    X,
    Y,
    kernel: Kernel,
    *,
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
    X, Y = check_estimator(X, Y, kernel, estimator)
    n_permutations = positive_int(n_permutations, "n_permutations")
    chunk = positive_int(chunk, "chunk")
    rng = as_rng(rng)
    n, m = len(X), len(Y)
    Z = np.vstack([X, Y])
    N = n + m
    statistic = mmd2(X, Y, kernel, estimator=estimator)
    perms = np.array([rng.permutation(N) for _ in range(n_permutations)])

    if estimator == "linear":
        null = np.array([mmd2(Z[p[:n]], Z[p[n:]], kernel, estimator="linear") for p in perms])
    else:
        K = kernel(Z)
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
