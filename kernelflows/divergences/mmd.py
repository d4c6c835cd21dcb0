"""The maximum mean discrepancy: estimators, a closed form for Gaussians, the flow's energy and
velocity (the permutation test on these estimators is :mod:`.two_sample`).

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

import numpy as np

from .._validation import as_samples, gaussian_pair, length_scale, same_dimension
from ..kernels import Kernel, check_kernel
from .velocity import FieldStep, checked_points, evaluated_step

__all__ = [
    "ESTIMATORS",
    "check_estimator",
    "mmd2",
    "mmd2_gaussians",
    "mmd_energy",
    "mmd_velocity",
    "signed_weights",
]

ESTIMATORS = ("unbiased", "biased", "linear")


def check_estimator(X, Y, kernel: Kernel, estimator: str):
    """``(X, Y)`` as validated samples for ``estimator`` (the unbiased and linear ones need two
    points in each), after checking the estimator's name and the kernel."""
    if estimator not in ESTIMATORS:
        raise ValueError(f"estimator must be one of {ESTIMATORS}, got {estimator!r}")
    min_samples = 1 if estimator == "biased" else 2
    X = as_samples(X, "X", min_samples)
    Y = as_samples(Y, "Y", min_samples)
    same_dimension(X, Y)
    check_kernel(kernel)
    return X, Y


def mmd2(X, Y, kernel: Kernel, *, estimator: str = "unbiased") -> float:
    """An estimate of MMD^2(P, Q) from samples X ~ P, shape (n, d), and Y ~ Q, shape (m, d).

    ``estimator`` is ``"unbiased"`` (U-statistic, the talk's formula; needs n, m >= 2),
    ``"biased"`` (V-statistic) or ``"linear"`` (linear time). n != m is supported. Kernel sums
    are computed in row blocks, so memory stays bounded for large samples.
    """
    X, Y = check_estimator(X, Y, kernel, estimator)
    n, m = len(X), len(Y)
    if estimator == "linear":
        h = len(_linear_pairs(n, m))
        return float(np.mean(_linear_terms(X[: 2 * h], Y[: 2 * h], kernel)))
    if estimator == "biased":  # the plug-in value, twice the flow's energy
        return 2.0 * mmd_energy(X, Y, kernel)
    sxy = kernel.total(X, Y)
    sxx = kernel.total(X, exclude_diagonal=True)
    syy = kernel.total(Y, exclude_diagonal=True)
    return sxx / (n * (n - 1)) + syy / (m * (m - 1)) - 2.0 * sxy / (n * m)


def _linear_pairs(n: int, m: int) -> range:
    return range(min(n, m) // 2)


def _linear_terms(X: np.ndarray, Y: np.ndarray, kernel: Kernel) -> np.ndarray:
    x1, x2, y1, y2 = X[0::2], X[1::2], Y[0::2], Y[1::2]
    return (
        kernel.paired(x1, x2)
        + kernel.paired(y1, y2)
        - kernel.paired(x1, y2)
        - kernel.paired(x2, y1)
    )


def mmd2_gaussians(mean_p, cov_p, mean_q, cov_q, bandwidth: float) -> float:
    """Population MMD^2 between N(mean_p, cov_p) and N(mean_q, cov_q) under a Gaussian kernel.

    With k(x, y) = exp(-||x - y||^2 / (2 s^2)) and independent x ~ N(a, A), y ~ N(b, B),
    x - y ~ N(a - b, A + B), and a Gaussian integral gives

        E k(x, y) = det(I + (A + B) / s^2)^(-1/2) exp(-1/2 (a - b)^T (A + B + s^2 I)^(-1) (a - b)),

    so MMD^2 = E k(x, x') + E k(y, y') - 2 E k(x, y) in closed form. Covariances may be given as
    (d, d) matrices, as scalars (isotropic) or as vectors (diagonal).
    """
    s = length_scale(bandwidth, "bandwidth")  # s^2 and 1 / s^2 finite and nonzero
    a, A, b, B = gaussian_pair(mean_p, cov_p, mean_q, cov_q, positive_definite=False)
    d = a.shape[0]

    def expected_k(mu, S):
        eye = np.eye(d)
        # det^(-1/2) from the log-determinant: the determinant itself overflows for a small s
        _, logdet = np.linalg.slogdet(eye + S / s**2)
        quad = mu @ np.linalg.solve(S + s**2 * eye, mu)
        return np.exp(-0.5 * (logdet + quad))

    zero = np.zeros(d)
    return float(expected_k(zero, 2 * A) + expected_k(zero, 2 * B) - 2 * expected_k(a - b, A + B))


# ---------------------------------------------------------------------------------------------
# The MMD flow's energy and first variation (talk, "Wasserstein gradient flow on MMD")
# ---------------------------------------------------------------------------------------------


def signed_weights(n: int, m: int, target=None) -> np.ndarray:
    """The weights [1/n, ..., 1/n, -w_1, ..., -w_m] of a difference of two measures.

    ``target=None`` gives w_j = 1/m: the centres [X; Y] with these weights represent
    mu_nu - mu_nu*, the first variation of 1/2 MMD^2. KALE's witness uses the dual
    coefficients alpha as ``target``.
    """
    w = np.empty(n + m)
    w[:n] = 1.0 / n
    w[n:] = -1.0 / m if target is None else -np.asarray(target, dtype=float)
    return w


def mmd_energy(X, Y, kernel: Kernel, *, weights=None, target_total: float | None = None) -> float:
    """F(nu) = 1/2 MMD^2(nu, nu*) for nu = sum_i a_i delta_{x_i} and nu* = (1/m) sum_j delta_{y_j}.

    The plug-in (V-statistic) value: with ``weights=None``, a_i = 1/n and

        F = 1/2 [ (1/n^2) sum_ii' k(x_i, x_i') - (2/(n m)) sum_ij k(x_i, y_j)
                  + (1/m^2) sum_jj' k(y_j, y_j') ].

    Talk, slide "Preliminaries: Wasserstein gradient flow on MMD" (interaction, constant and
    confinement terms). Signed weights are allowed (the first variation is a derivative in the
    direction of a signed measure). ``target_total`` may pass a cached sum_jj' k(y_j, y_j').
    """
    X = as_samples(X, "X")
    Y = as_samples(Y, "Y")
    same_dimension(X, Y)
    check_kernel(kernel)
    m = len(Y)
    syy = kernel.total(Y) if target_total is None else float(target_total)
    if weights is None:
        n = len(X)
        sxx = kernel.total(X) / n**2
        sxy = kernel.total(X, Y) / (n * m)
    else:
        a = np.asarray(weights, dtype=float)
        if a.shape != (len(X),) or not np.all(np.isfinite(a)):
            raise ValueError(f"weights must be a finite vector of shape ({len(X)},)")
        sxx = float(a @ kernel.weighted_sum(X, X, a))
        sxy = float(a @ kernel.weighted_sum(X, Y)) / m
    return 0.5 * (sxx - 2.0 * sxy + syy / m**2)


def mmd_velocity(
    X, Y, kernel: Kernel, *, at=None, record: bool = False, target_total: float | None = None
) -> FieldStep:
    """The MMD flow velocity -grad f at the rows of ``at`` (default: at the particles X).

    f = mu_nu - mu_nu* with nu = (1/n) sum delta_{x_i} (rows of X) and nu* = (1/m) sum delta_{y_j}
    (rows of Y); talk, slide "Preliminaries" (force on a particle), Arbel, Korba, Salim, Gretton
    (NeurIPS 2019), Section 2. Returns a :class:`~.velocity.FieldStep`: ``velocity`` of shape
    (len(at), d); with ``record=True`` also ``loss``, the energy F = 1/2 MMD^2 at X (plug-in),
    and the velocity at X (``particle_velocity``, when ``at`` is given).

    One pass of the kernel's :meth:`~kernelflows.kernels.Kernel.sums_and_grad` over the centres
    [X; Y] with the columns [signed weights, indicator of Y] gives -grad f and
    F = 1/2 [(1/n) sum_i f(x_i) - (1/(n m)) sum_ij k(x_i, y_j) + syy / m^2] from the same kernel
    values (the kernel chooses its fastest way: the Gaussian, one exponential per pair in
    cache-sized tiles). ``target_total`` may pass syy = sum_jj' k(y_j, y_j'), else it is
    computed when the loss is recorded.
    """
    check_kernel(kernel)
    X = as_samples(X, "X")
    Y = as_samples(Y, "Y")
    same_dimension(X, Y)
    at = checked_points(at, X)
    n, m = len(X), len(Y)
    C = np.concatenate([X, Y])
    W = np.zeros((n + m, 2))
    W[:, 0] = signed_weights(n, m)
    W[n:, 1] = 1.0

    def evaluate(points, with_loss):
        Z = X if points is None else points
        S, G = kernel.sums_and_grad(Z, C, W, z_is_head=points is None)
        if not with_loss:
            return -G, None
        syy = kernel.total(Y) if target_total is None else float(target_total)
        energy = 0.5 * (S[:, 0].sum() / n - S[:, 1].sum() / (n * m) + syy / m**2)
        return -G, float(energy)

    return evaluated_step(evaluate, at, record)
