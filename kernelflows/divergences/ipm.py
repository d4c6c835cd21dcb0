"""Other integral probability metrics of the talk, in 1-D, with their witness functions.

Talk, slide "MMD as an integral probability metric": D_H(P, Q) = sup_{g in H} |E_P g - E_Q g|,
and besides the RKHS unit ball (the MMD, :mod:`kernelflows.divergences.mmd`) the slide lists

* functions of bounded variation 1 -> the Kolmogorov metric sup_t |F_P(t) - F_Q(t)|
  (Mueller, Adv. Appl. Prob. 1997); the witness is a step 1{x <= t*};
* 1-Lipschitz functions -> the Wasserstein-1 distance int |F_P(t) - F_Q(t)| dt
  (Kantorovich-Rubinstein duality; Dudley 2002); in 1-D the witness is the ramp with slope
  sign(F_Q - F_P), since E_P f - E_Q f = int f'(t) (F_Q(t) - F_P(t)) dt by parts.

Both are computed here on the empirical distributions of 1-D samples, exactly (no grid).
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

import numpy as np

from .._validation import as_samples

__all__ = ["IPMResult", "kolmogorov_1d", "wasserstein1_1d", "empirical_cdf"]


@dataclass(frozen=True)
class IPMResult:
    """An IPM value and a witness f attaining it: E_P f - E_Q f = value."""

    value: float
    witness: Callable[[np.ndarray], np.ndarray]


def _one_d(X, name: str) -> np.ndarray:
    X = as_samples(X, name)
    if X.shape[1] != 1:
        raise ValueError(f"{name} must be 1-D samples, shape (n,) or (n, 1), got {X.shape}")
    return X[:, 0]


def empirical_cdf(X, t) -> np.ndarray:
    """F_n(t) = #{x_i <= t} / n at each point of ``t`` (right-continuous)."""
    x = np.sort(_one_d(X, "X"))
    t = np.asarray(t, dtype=float)
    return np.searchsorted(x, t, side="right") / len(x)


def _pooled_cdfs(X, Y):
    x = _one_d(X, "X")
    y = _one_d(Y, "Y")
    z = np.unique(np.concatenate([x, y]))
    return z, empirical_cdf(x, z), empirical_cdf(y, z)


def kolmogorov_1d(X, Y) -> IPMResult:
    """Kolmogorov metric sup_t |F_P(t) - F_Q(t)| of two 1-D samples, and its step witness.

    The supremum of the difference of right-continuous step functions is attained at a sample
    point t*; the witness f(x) = s 1{x <= t*}, s = sign(F_P(t*) - F_Q(t*)), has total
    variation 1 and E_P f - E_Q f = s (F_P(t*) - F_Q(t*)) = the metric. Equals the two-sample
    Kolmogorov-Smirnov statistic.
    """
    z, fp, fq = _pooled_cdfs(X, Y)
    diff = fp - fq
    k = int(np.argmax(np.abs(diff)))
    t_star, sign = float(z[k]), float(np.sign(diff[k]) or 1.0)

    def witness(t):
        return sign * (np.asarray(t, dtype=float) <= t_star).astype(float)

    return IPMResult(float(abs(diff[k])), witness)


def wasserstein1_1d(X, Y) -> IPMResult:
    """Wasserstein-1 distance int |F_P(t) - F_Q(t)| dt of two 1-D samples, and its witness.

    Between consecutive pooled sample points both empirical CDFs are constant, so the integral
    is a finite sum. The witness f is continuous and piecewise linear with slope
    sign(F_Q - F_P) (1-Lipschitz), f = 0 at the smallest sample point; then
    E_P f - E_Q f = int f' (F_Q - F_P) dt = int |F_P - F_Q| dt (Kantorovich-Rubinstein).
    """
    z, fp, fq = _pooled_cdfs(X, Y)
    dz = np.diff(z)
    gap = (fq - fp)[:-1]  # value of F_Q - F_P on [z_k, z_{k+1})
    value = float(np.sum(np.abs(gap) * dz))
    knots = np.concatenate([[0.0], np.cumsum(np.sign(gap) * dz)])

    def witness(t):
        return np.interp(np.asarray(t, dtype=float), z, knots)

    return IPMResult(value, witness)
