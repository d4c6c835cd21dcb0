"""Measures with a known density: what the score-based flows (SVGD, KSD descent) and the KL flow
need from their target.

A target here is an object with ``score(X)`` = grad log p at the rows of X, shape (n, d), and,
for KSD descent, ``score_jacobian(X)`` = the Hessian of log p, shape (n, d, d). The one target of
the package is :class:`GaussianMixture` (isotropic components of one standard deviation), the
target of the mixture experiment (Glaser, Arbel, Gretton, NeurIPS 2021).
"""

from __future__ import annotations

import numpy as np
from scipy.special import logsumexp

from ._validation import as_rng, as_samples, positive, positive_int

__all__ = ["GaussianMixture"]


class GaussianMixture:
    """p = sum_k w_k N(means_k, std^2 I): a mixture of isotropic Gaussians of one std.

    Parameters
    ----------
    means : (K, d) the component means (a 1-D array is K means in d = 1).
    std : the common standard deviation, > 0.
    weights : (K,) positive weights summing to 1; ``None`` means uniform 1/K.

    Notes
    -----
    With r_k(x) the posterior responsibilities of the components (softmax of the log-weighted
    component densities, computed with the largest logit subtracted),

    ::

        score(x) = grad log p(x) = (sum_k r_k(x) means_k - x) / std^2,
        score_jacobian(x) = (Cov_r(means) / std^2 - I) / std^2,

    Cov_r(means) = sum_k r_k (means_k - mbar)(means_k - mbar)^T with mbar = sum_k r_k means_k
    (the derivative of r_k is r_k (means_k - mbar) / std^2).
    """

    def __init__(self, means, std: float, weights=None):
        means = np.asarray(means, dtype=np.float64)
        if means.ndim == 1:
            means = means[:, None]
        if means.ndim != 2 or means.size == 0 or not np.all(np.isfinite(means)):
            raise ValueError(f"means must be a finite array of shape (K, d), got {means.shape}")
        self.means = means.copy()
        self.means.setflags(write=False)
        self.std = positive(std, "std")
        K = len(means)
        if weights is None:
            w = np.full(K, 1.0 / K)
            self._log_w = None  # uniform: the logits carry no weight term (bit-stable scores)
        else:
            w = np.asarray(weights, dtype=np.float64)
            if w.shape != (K,):
                raise ValueError(f"weights must have shape ({K},) (one per mean), got {w.shape}")
            if not np.all(np.isfinite(w)) or np.any(w <= 0):
                raise ValueError("weights must be positive and finite")
            if abs(w.sum() - 1.0) > 1e-10:
                raise ValueError(f"weights must sum to 1, got a sum of {w.sum()!r}")
            self._log_w = np.log(w)
        self.weights = w
        self.weights.setflags(write=False)

    def __repr__(self) -> str:
        K, d = self.means.shape
        return f"GaussianMixture(K={K}, d={d}, std={self.std:.6g})"

    @property
    def dim(self) -> int:
        """The dimension d."""
        return self.means.shape[1]

    @property
    def mean(self) -> np.ndarray:
        """The mixture's mean sum_k w_k means_k, shape (d,)."""
        return self.weights @ self.means

    @property
    def cov(self) -> np.ndarray:
        """The mixture's covariance std^2 I + sum_k w_k (means_k - mean)(means_k - mean)^T."""
        c = self.means - self.mean
        return self.std**2 * np.eye(self.dim) + (c.T * self.weights) @ c

    # -- internals -------------------------------------------------------------------------------
    def _points(self, X) -> np.ndarray:
        X = as_samples(X, "X")
        if X.shape[1] != self.dim:
            raise ValueError(f"X must have shape (n, {self.dim}), got {X.shape}")
        return X

    def _logits(self, X) -> np.ndarray:
        """log w_k - ||x - means_k||^2 / (2 std^2), shape (n, K) (K is small)."""
        sq = np.sum((X[:, None, :] - self.means[None, :, :]) ** 2, axis=2)
        logits = -0.5 * sq / self.std**2
        if self._log_w is not None:
            logits += self._log_w
        return logits

    def _responsibilities(self, X) -> np.ndarray:
        logits = self._logits(X)
        logits -= logits.max(axis=1, keepdims=True)
        r = np.exp(logits)
        r /= r.sum(axis=1, keepdims=True)
        return r

    # -- public API ------------------------------------------------------------------------------
    def log_density(self, X) -> np.ndarray:
        """log p(x) at the rows of X, shape (n,) (log-sum-exp over the components)."""
        X = self._points(X)
        d = self.dim
        out = logsumexp(self._logits(X), axis=1)
        if self._log_w is None:
            out -= np.log(len(self.means))
        return out - 0.5 * d * np.log(2 * np.pi * self.std**2)

    def score(self, X) -> np.ndarray:
        """grad log p(x) = (sum_k r_k(x) means_k - x) / std^2 at the rows of X, shape (n, d)."""
        X = self._points(X)
        r = self._responsibilities(X)
        return (r @ self.means - X) / self.std**2

    def score_jacobian(self, X) -> np.ndarray:
        """The Hessian of log p, (Cov_r(means) / std^2 - I) / std^2, shape (n, d, d)."""
        X = self._points(X)
        r = self._responsibilities(X)
        centred = self.means[None, :, :] - (r @ self.means)[:, None, :]  # (n, K, d)
        cov = np.einsum("nk,nka,nkb->nab", r, centred, centred)
        s2 = self.std**2
        return (cov / s2 - np.eye(self.dim)[None]) / s2

    def sample(self, n: int, *, rng=None) -> np.ndarray:
        """n independent draws, shape (n, d): a component from ``weights``, then its Gaussian.

        ``rng`` is a ``numpy.random.Generator`` or a seed (``None``: seed 0).
        """
        n = positive_int(n, "n")
        rng = as_rng(rng)
        labels = rng.choice(len(self.means), size=n, p=self.weights)
        return self.means[labels] + self.std * rng.standard_normal((n, self.dim))
