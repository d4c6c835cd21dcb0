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

from ._validation import as_rng, as_samples, as_weights, length_scale, positive_int

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
        means = as_samples(means, "means")
        self.means = means.copy()
        self.means.setflags(write=False)
        self.std = length_scale(std, "std")
        K = len(means)
        if weights is None:
            w = np.full(K, 1.0 / K)
            self._log_w = None  # uniform: the logits carry no weight term (bit-stable scores)
        else:
            w = as_weights(weights, K, "weights")
            if np.any(w <= 0):
                raise ValueError(f"weights must be positive, got {w.tolist()}")
            if abs(w.sum() - 1.0) > 1e-10:
                raise ValueError(f"weights must sum to 1, got a sum of {w.sum()!r}")
            self._log_w = np.log(w)
        self.weights = w
        self.weights.setflags(write=False)
        # m_k - m_l for every pair of components: the centred differences of the Jacobian
        self._mean_gaps = self.means[:, None, :] - self.means[None, :, :]

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
            raise ValueError(
                f"X must have shape (n, {self.dim}) (the mixture's dimension), got {X.shape}"
            )
        return X

    def _offsets(self, X) -> np.ndarray:
        """x - means_k, shape (n, K, d): each difference rounded once (K is small)."""
        return X[:, None, :] - self.means[None, :, :]

    def _responsibilities(self, U) -> np.ndarray:
        """The posterior weights r_k(x) from the offsets U = x - means_k, stably.

        Logits are taken relative to the nearest component n: with m_n - m_k and
        (x - m_k) + (x - m_n) rounded once, ||x - m_k||^2 - ||x - m_n||^2 = (m_n - m_k).((x - m_k)
        + (x - m_n)) keeps its relative accuracy however far x is (the squared distances
        themselves would cancel: at |x| = 1e17 their difference is below their rounding);
        then a softmax with the largest logit subtracted (log-sum-exp).
        """
        sq = np.einsum("nkd,nkd->nk", U, U)
        near = np.argmin(sq, axis=1)
        rows = np.arange(len(U))
        U_near = U[rows, near][:, None, :]
        gap = np.einsum("nkd,nkd->nk", self.means[near][:, None, :] - self.means[None], U + U_near)
        # n is the nearest up to the rounding of sq, which can pick the wrong one of two
        # components nearly equidistant from a far x: measure from the smallest gap (exactly 0
        # for its component), so every logit is <= 0 and none overflows upwards
        gap -= gap.min(axis=1, keepdims=True)
        with np.errstate(over="ignore"):
            logits = gap * (-0.5 / self.std**2)
        if self._log_w is not None:
            logits += self._log_w
        logits -= logits.max(axis=1, keepdims=True)
        r = np.exp(logits)
        r /= r.sum(axis=1, keepdims=True)
        return r

    def _finite(self, values, what: str):
        if not np.all(np.isfinite(values)):
            raise ValueError(
                f"X: the {what} overflows float64 at some rows (|x - means| / std^2 beyond "
                f"{np.finfo(float).max:.1e}); std = {self.std:g}"
            )
        return values

    # -- public API ------------------------------------------------------------------------------
    def log_density(self, X) -> np.ndarray:
        """log p(x) at the rows of X, shape (n,) (log-sum-exp over the components; -inf where
        it lies below float64's range)."""
        X = self._points(X)
        U = self._offsets(X)
        with np.errstate(over="ignore"):
            logits = np.einsum("nkd,nkd->nk", U, U) * (-0.5 / self.std**2)
        if self._log_w is not None:
            logits += self._log_w
        out = logsumexp(logits, axis=1)
        if self._log_w is None:
            out -= np.log(len(self.means))
        return out - 0.5 * self.dim * np.log(2 * np.pi * self.std**2)

    def score(self, X) -> np.ndarray:
        """grad log p(x) = sum_k r_k(x) (means_k - x) / std^2 at the rows of X, shape (n, d).

        The differences means_k - x are taken before they are weighted (one rounding each), so
        the score is accurate however far x is from the means (a ``ValueError`` where it
        exceeds float64's range)."""
        U = self._offsets(self._points(X))
        r = self._responsibilities(U)
        with np.errstate(over="ignore"):
            return self._finite(np.einsum("nk,nkd->nd", r, U) * (-1.0 / self.std**2), "score")

    def score_jacobian(self, X) -> np.ndarray:
        """The Hessian of log p, (Cov_r(means) / std^2 - I) / std^2, shape (n, d, d).

        Cov_r(means) = sum_k r_k c_k c_k^T with c_k = means_k - mbar = sum_l r_l (means_k -
        means_l), from the exact differences of the means (no cancellation against mbar): where
        one component takes all the weight, Cov_r is exactly 0 and the Jacobian -I / std^2."""
        U = self._offsets(self._points(X))
        r = self._responsibilities(U)
        centred = np.einsum("nl,kld->nkd", r, self._mean_gaps)  # (n, K, d)
        cov = np.einsum("nk,nka,nkb->nab", r, centred, centred)
        cov += np.swapaxes(cov, 1, 2)  # symmetric to the last bit (a Hessian)
        cov *= 0.5
        s2 = self.std**2
        with np.errstate(over="ignore"):
            J = (cov / s2 - np.eye(self.dim)[None]) / s2
        return self._finite(J, "score Jacobian")

    def sample(self, n: int, *, rng=None) -> np.ndarray:
        """n independent draws, shape (n, d): a component from ``weights``, then its Gaussian.

        ``rng`` is a ``numpy.random.Generator`` or a seed (``None``: seed 0).
        """
        n = positive_int(n, "n")
        rng = as_rng(rng)
        labels = rng.choice(len(self.means), size=n, p=self.weights)
        return self.means[labels] + self.std * rng.standard_normal((n, self.dim))
