"""The KALE divergence: the KL Approximate Lower-bound Estimator and its Newton solver.

Talk, slides "Case of the KL" to "KALE vs KL vs MMD":

    KALE_lam(P || Q) = (1 + lam) max_{f in H} [ E_P f - E_Q exp(f) + 1 - lam/2 ||f||_H^2 ].

P is the distribution of the linear term and Q the one of the exponential term (in KALE flow
the moving particles are P and the target is Q). Without the penalty the bracket is the
variational lower bound on KL(P || Q) of Nguyen, Wainwright, Jordan (IEEE Trans. Inf. Theory
2010), tight at f = log(p / q); the (1 + lam) factor makes the limits non-degenerate
(Glaser, Arbel, Gretton, NeurIPS 2021, Proposition 1):

    lam -> infinity:  KALE_lam -> MMD^2(P, Q) / 2,
    lam -> 0:         KALE_lam -> KL(P || Q)        (if log dP/dQ lies in H).

Finite samples (X ~ P, n points; Y ~ Q, m points). The representer theorem gives

    f*(z) = (1 / lam) [ (1/n) sum_j k(x_j, z) - sum_i alpha_i k(y_i, z) ],
    alpha_i = exp(f*(y_i)) / m,

where alpha > 0 minimises the convex dual (the finite-sample dual of Glaser, Arbel, Gretton,
NeurIPS 2021; letters as in ../shared/EXPERIMENTS.md with x and y swapped to P and Q)

    J(alpha) = sum_i alpha_i log(m alpha_i) - sum_i alpha_i
               + 1/(2 lam) [ alpha^T K_QQ alpha - 2 alpha^T kbar + c ],

    K_QQ = (k(y_i, y_l))_{il},  kbar_i = (1/n) sum_j k(y_i, x_j),  c = (1/n^2) sum_{jl} k(x_j, x_l),

and KALE_lam = (1 + lam)(1 + J(alpha*)). Only these three blocks enter: :func:`solve_kale_dual`
takes them precomputed (so that a flow pays for one Gram matrix per step) together with a warm
start.

The solver is damped Newton. With S = diag(sqrt(alpha)) the Hessian diag(1/alpha) + K_QQ / lam
is S^-1 (I + S K_QQ S / lam) S^-1, and the Newton system is solved through the Cholesky factor of
B = I + S K_QQ S / lam, whose eigenvalues are >= 1 whatever the scale of alpha. The step is taken
along a curve that keeps alpha > 0 for every t: coordinates that grow (d_i >= 0) move along the
Newton line alpha_i + t d_i, those that shrink along alpha_i exp(t d_i / alpha_i), which agrees
with the Newton line to first order but never reaches zero (a shrinking coefficient may fall by
many orders of magnitude in one step instead of a factor per step, as with a fraction-to-the-
boundary rule). Coordinates that the full step would drive below zero ("blocked") will in
fact only shrink towards zero, so the free coordinates' step is re-solved with that change
fixed (a projected Newton correction, one more Cholesky factorisation of the free block, only
while some coordinate is blocked): without it the damped phase at small lam on disjoint
supports takes hundreds of tiny steps. A backtracking (Armijo) line search on J picks t. The
iterate is stored as u = log(m alpha) = f(y) at the optimum, so that coefficients of size
exp(-1000) (Q samples far from P at small lam) neither underflow into log(0) nor stall the step.
Iterations stop when the Newton decrement satisfies decrement^2 / 2 <= ``tol`` (the standard
estimate of J(alpha) - J*); the duality gap between J(alpha) and the primal objective at
f_alpha certifies the value.
"""

from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np
from scipy.linalg import LinAlgError, cho_factor, cho_solve
from scipy.special import logsumexp

from ._validation import as_rng, as_samples, positive, positive_int, same_dimension
from .embeddings import RKHSFunction, _check_kernel
from .kernels import Kernel

__all__ = [
    "KaleResult",
    "KaleDualSolution",
    "KaleConvergenceError",
    "kale",
    "solve_kale_dual",
    "kale_path",
    "kale_dual_objective",
    "kale_primal_objective",
    "ReLUFeatureKernel",
]


class KaleConvergenceError(RuntimeError):
    """The Newton solver of the KALE dual did not reach its tolerance within its budget."""


@dataclass(frozen=True)
class KaleDualSolution:
    """What :func:`solve_kale_dual` returns (everything in terms of the Gram blocks).

    ``log_alpha`` is log(alpha) (kept because alpha itself may underflow), ``f_q`` the witness
    at the Q samples, ``mean_f_p`` its mean over the P samples, ``norm2`` = ||f||_H^2;
    ``value`` = (1 + lam) x the primal objective at f_alpha; ``duality_gap`` = (1 + lam) x
    (1 + J(alpha) - primal objective) >= 0; ``n_solves`` the Cholesky factorisations used.
    """

    alpha: np.ndarray
    log_alpha: np.ndarray
    value: float
    dual_value: float
    duality_gap: float
    decrement: float
    n_iter: int
    n_solves: int
    f_q: np.ndarray
    mean_f_p: float
    norm2: float


@dataclass(frozen=True)
class KaleResult:
    """The result of :func:`kale`.

    Attributes
    ----------
    value : KALE_lam(P || Q) = (1 + lam) [mean f(X) - mean exp f(Y) + 1 - lam/2 ||f||^2] at the
        returned witness (a lower bound on the exact optimum within ``duality_gap``).
    witness : the maximiser f* as an :class:`~kernelflows.embeddings.RKHSFunction` (callable,
        with ``.grad``); the first variation of KALE_lam in P is (1 + lam) f*.
    alpha : the dual coefficients, alpha_i = exp(f*(y_i)) / m, shape (m,).
    duality_gap : dual minus primal, in the units of ``value``; >= 0, and small at the optimum.
    n_iter, n_solves : Newton iterations and Cholesky factorisations.
    lam, decrement : the regularisation and the final Newton decrement.
    """

    value: float
    witness: RKHSFunction
    alpha: np.ndarray
    duality_gap: float
    n_iter: int
    n_solves: int
    lam: float
    decrement: float
    log_alpha: np.ndarray = field(repr=False)


def _primal_parts(K_qq, kbar, c, alpha, lam):
    """f(y), mean f(x) and ||f||^2 for f_alpha = (1/lam)[mu_P - sum alpha_i k(y_i, .)]."""
    K_alpha = K_qq @ alpha
    f_q = (kbar - K_alpha) / lam
    mean_f_p = (c - alpha @ kbar) / lam
    norm2 = max(c - 2.0 * (alpha @ kbar) + alpha @ K_alpha, 0.0) / lam**2
    return K_alpha, f_q, mean_f_p, norm2


def kale_primal_objective(f_p_mean, f_q, norm2, lam) -> float:
    """mean f(X) - mean exp f(Y) + 1 - lam/2 ||f||^2, with mean exp f(Y) by logsumexp."""
    mean_exp = np.exp(logsumexp(f_q) - np.log(len(f_q)))
    return float(f_p_mean - mean_exp + 1.0 - 0.5 * lam * norm2)


def kale_dual_objective(K_qq, kbar, c, alpha, lam) -> float:
    """J(alpha) = sum alpha log(m alpha) - sum alpha + ||mu_P - sum alpha k(y, .)||^2 / (2 lam)."""
    alpha = np.asarray(alpha, dtype=float)
    m = len(alpha)
    with np.errstate(divide="ignore", invalid="ignore"):
        ent = np.where(alpha > 0, alpha * np.log(m * alpha), 0.0)
    quad = max(c - 2.0 * (alpha @ kbar) + alpha @ (K_qq @ alpha), 0.0)
    return float(np.sum(ent) - np.sum(alpha) + 0.5 * quad / lam)


def _dual_from_u(u, alpha, K_alpha, kbar, c, lam):
    # J with alpha = exp(u) / m: sum alpha (u - 1) + quad / (2 lam); 1 - sum alpha kept separate
    # so that 1 + J is formed without cancellation.
    quad = max(c - 2.0 * (alpha @ kbar) + alpha @ K_alpha, 0.0)
    return float(alpha @ u + (1.0 - np.sum(alpha)) + 0.5 * quad / lam)  # = 1 + J


def _blocked_correction(K_qq, g, alpha, s, d_u, blocked, lam):
    """Re-solve the Newton system on the free coordinates, the blocked ones moved as they will.

    A coordinate is blocked when the full Newton step would take alpha_i + d_i <= 0. It moves
    along alpha_i exp(t d_i / alpha_i), so at t = 1 it changes by alpha_i (exp(d_u,i) - 1)
    (nearly -alpha_i), not by d_i; the free coordinates' Newton step is recomputed with that
    change fixed: H_FF d_F = -(g_F + K_FB delta_B / lam) (a projected Newton step, Bertsekas,
    SIAM J. Control Optim. 1982), in the scaled form (I + S_F K_FF S_F / lam). One extra
    Cholesky factorisation of the free block; none when nothing is blocked (near the optimum).
    """
    free = ~blocked
    delta_b = alpha[blocked] * np.expm1(d_u[blocked])
    rhs = -(g[free] + K_qq[np.ix_(free, blocked)] @ delta_b / lam)
    s_f = s[free]
    B_f = (s_f[:, None] * K_qq[np.ix_(free, free)]) * (s_f[None, :] / lam)
    B_f[np.diag_indices_from(B_f)] += 1.0
    w_f = cho_solve(
        cho_factor(B_f, lower=True, overwrite_a=True, check_finite=False),
        s_f * rhs,
        check_finite=False,
    )
    d_u = d_u.copy()
    # d_F = S_F w_F in alpha; d_F / alpha_F = w_F / s_F = rhs - K_FF S_F w_F / lam (from
    # B_F w_F = S_F rhs), which needs no division by an alpha that may have underflowed
    d_u[free] = rhs - K_qq[np.ix_(free, free)] @ (s_f * w_f) / lam
    return d_u, 1


def solve_kale_dual(
    K_qq,
    kbar,
    c: float,
    lam: float,
    warm_start=None,
    tol: float = 1e-6,
    max_iter: int = 500,
    max_backtracks: int = 60,
    raise_on_failure: bool = True,
) -> KaleDualSolution:
    """Minimise the KALE dual J(alpha) over alpha > 0 from precomputed Gram blocks.

    Parameters
    ----------
    K_qq : (m, m) Gram matrix of the Q samples, k(y_i, y_l).
    kbar : (m,) vector (1/n) sum_j k(y_i, x_j) (row means of the Q-P cross block).
    c : (1/n^2) sum_{j, l} k(x_j, x_l) (the P-P block total over n^2).
    lam : the regularisation lam > 0.
    warm_start : initial alpha, shape (m,), positive (e.g. the previous solution along a flow);
        ``None`` starts from alpha = 1/m (the lam -> infinity solution).
    tol : stop when decrement^2 / 2 <= tol, where decrement^2 = g^T H^-1 g.
    max_iter : Newton iteration budget; ``KaleConvergenceError`` beyond it unless
        ``raise_on_failure=False`` (then the last iterate is returned, its gap telling how good).

    Each iteration costs one Cholesky factorisation of the m x m matrix
    B = I + S K_QQ S / lam, S = diag(sqrt(alpha)), whose eigenvalues are >= 1.
    """
    lam = positive(lam, "lam")
    tol = positive(tol, "tol")
    max_iter = positive_int(max_iter, "max_iter")
    K_qq = np.asarray(K_qq, dtype=float)
    kbar = np.asarray(kbar, dtype=float)
    m = len(kbar)
    if kbar.ndim != 1 or K_qq.shape != (m, m):
        raise ValueError(
            f"K_qq must have shape (m, m) and kbar shape (m,), got {K_qq.shape}, {kbar.shape}"
        )
    if not (np.all(np.isfinite(K_qq)) and np.all(np.isfinite(kbar)) and np.isfinite(c)):
        raise ValueError("K_qq, kbar and c must be finite")
    if warm_start is None:
        u = np.zeros(m)
    else:
        a0 = np.asarray(warm_start, dtype=float)
        if a0.shape != (m,) or not np.all(np.isfinite(a0)) or np.any(a0 <= 0):
            raise ValueError(f"warm_start must be a positive finite vector of shape ({m},)")
        u = np.log(m * a0)

    log_m = np.log(m)
    alpha = np.exp(u - log_m)
    K_alpha = K_qq @ alpha
    one_plus_J = _dual_from_u(u, alpha, K_alpha, kbar, c, lam)
    n_solves = 0
    decrement = np.inf
    converged = False
    n_iter = 0  # Newton steps taken
    while True:
        f_q = (kbar - K_alpha) / lam
        g = u - f_q  # gradient of J in alpha
        s = np.sqrt(alpha)
        B = (s[:, None] * K_qq) * (s[None, :] / lam)
        B[np.diag_indices_from(B)] += 1.0
        try:
            factor = cho_factor(B, lower=True, overwrite_a=True, check_finite=False)
        except LinAlgError as exc:  # pragma: no cover - B >= I in exact arithmetic
            raise KaleConvergenceError(f"Cholesky failed after {n_iter} steps: {exc}") from exc
        n_solves += 1
        sg = s * g
        w = cho_solve(factor, sg, check_finite=False)
        decrement2 = float(sg @ w)
        decrement = float(np.sqrt(max(decrement2, 0.0)))
        if decrement2 / 2.0 <= tol:
            converged = True
            break
        if n_iter >= max_iter:
            break
        # Newton direction in alpha: d = -S w; in u = log(m alpha): d_u = d / alpha, computed
        # without dividing by alpha from B w = S g, i.e. w / s = g - K S w / lam.
        d_u = -g + (K_qq @ (s * w)) / lam
        slope = -decrement2  # dJ/dt at t = 0 along the step: g . d
        blocked = d_u <= -1.0
        if np.any(blocked) and not np.all(blocked):
            d_u, extra = _blocked_correction(K_qq, g, alpha, s, d_u, blocked, lam)
            n_solves += extra
            corrected_slope = float(g @ (alpha * d_u))
            if corrected_slope < 0:
                slope = corrected_slope
            else:  # pragma: no cover - keep the plain Newton direction
                d_u = -g + (K_qq @ (s * w)) / lam
        t = 1.0
        accepted = False
        for _ in range(max_backtracks):
            # growing coordinates move along the Newton line alpha + t d (positive for all
            # t > 0); shrinking ones along alpha exp(t d / alpha), which never reaches 0
            u_new = u + np.where(d_u >= 0, np.log1p(t * np.maximum(d_u, 0.0)), t * d_u)
            if np.max(u_new) < 700.0:
                alpha_new = np.exp(u_new - log_m)
                K_alpha_new = K_qq @ alpha_new
                new = _dual_from_u(u_new, alpha_new, K_alpha_new, kbar, c, lam)
                # Armijo on the slope g . d at t = 0 (-decrement^2 for the plain Newton step)
                if new <= one_plus_J + 1e-4 * t * slope:
                    accepted = True
                    break
            t *= 0.5
        if not accepted:
            if decrement2 / 2.0 <= 1e3 * tol:
                converged = True  # rounding prevents further descent; accept a near-optimum
            break
        u, alpha, K_alpha, one_plus_J = u_new, alpha_new, K_alpha_new, new
        n_iter += 1

    _, f_q, mean_f_p, norm2 = _primal_parts(K_qq, kbar, c, alpha, lam)
    primal = kale_primal_objective(mean_f_p, f_q, norm2, lam)
    value = (1.0 + lam) * primal
    dual_value = (1.0 + lam) * one_plus_J
    gap = max(dual_value - value, 0.0)
    if not converged and raise_on_failure:
        raise KaleConvergenceError(
            f"KALE Newton solver did not converge in {n_iter} iteration(s) (max_iter={max_iter}):"
            f" Newton decrement^2/2 = {decrement**2 / 2:.3e} > tol = {tol:.1e}, duality gap ="
            f" {gap:.3e}. Raise max_iter, loosen tol, or increase lam."
        )
    return KaleDualSolution(
        alpha=alpha,
        log_alpha=u - log_m,
        value=float(value),
        dual_value=float(dual_value),
        duality_gap=float(gap),
        decrement=decrement,
        n_iter=n_iter,
        n_solves=n_solves,
        f_q=f_q,
        mean_f_p=float(mean_f_p),
        norm2=float(norm2),
    )


def kale(
    P,
    Q,
    kernel: Kernel,
    lam: float = 1.0,
    warm_start=None,
    tol: float = 1e-6,
    max_iter: int = 500,
) -> KaleResult:
    """KALE_lam(P || Q) from samples P (n, d) (linear term) and Q (m, d) (exponential term).

        KALE_lam(P || Q) = (1 + lam) max_f [ mean_i f(p_i) - mean_j exp f(q_j) + 1
                                              - lam/2 ||f||_H^2 ],

    the scaled KALE of the slide "KALE vs KL vs MMD" (Glaser, Arbel, Gretton, NeurIPS 2021;
    its limits are their Proposition 1). The slides "Empirical properties of KALE" write
    KALE(Q, P) for the same quantity with the roles named the other way round; here the first
    argument is always the distribution of the linear term, as in KL(P || Q).

    ``warm_start`` is a previous :class:`KaleResult` or a positive alpha of shape (m,).
    Raises ``KaleConvergenceError`` if the Newton decrement is not below ``tol`` within
    ``max_iter`` iterations. See :func:`solve_kale_dual` for the algorithm.
    """
    X = as_samples(P, "P")
    Y = as_samples(Q, "Q")
    same_dimension(X, Y, "P", "Q")
    _check_kernel(kernel)
    lam = positive(lam, "lam")
    if isinstance(warm_start, KaleResult):
        warm_start = np.exp(warm_start.log_alpha)
    n = len(X)
    K_qq = kernel(Y, Y)
    kbar = kernel.weighted_sum(Y, X) / n
    c = kernel.total(X) / n**2
    sol = solve_kale_dual(K_qq, kbar, c, lam, warm_start=warm_start, tol=tol, max_iter=max_iter)
    witness = RKHSFunction(
        np.vstack([X, Y]),
        np.concatenate([np.full(n, 1.0 / (n * lam)), -sol.alpha / lam]),
        kernel,
    )
    return KaleResult(
        value=sol.value,
        witness=witness,
        alpha=sol.alpha,
        duality_gap=sol.duality_gap,
        n_iter=sol.n_iter,
        n_solves=sol.n_solves,
        lam=lam,
        decrement=sol.decrement,
        log_alpha=sol.log_alpha,
    )


def kale_path(P, Q, kernel: Kernel, lams, tol: float = 1e-8, max_iter: int = 1000) -> np.ndarray:
    """KALE_lam(P || Q) for each lam in ``lams``, sharing the Gram blocks and warm-starting.

    The lams are solved from the largest to the smallest (the lam -> infinity solution alpha =
    1/m is the cold start), each warm-started from the previous alpha. Returns the values in the
    order of ``lams``. Used for the lambda limits (slide "KALE vs KL vs MMD").
    """
    X = as_samples(P, "P")
    Y = as_samples(Q, "Q")
    same_dimension(X, Y, "P", "Q")
    _check_kernel(kernel)
    lams = np.asarray(lams, dtype=float)
    if lams.ndim != 1 or len(lams) == 0 or not np.all(np.isfinite(lams)) or np.any(lams <= 0):
        raise ValueError("lams must be a non-empty vector of positive finite numbers")
    K_qq = kernel(Y, Y)
    kbar = kernel.weighted_sum(Y, X) / len(X)
    c = kernel.total(X) / len(X) ** 2
    values = np.empty(len(lams))
    alpha = None
    for i in np.argsort(-lams):
        sol = solve_kale_dual(K_qq, kbar, c, lams[i], warm_start=alpha, tol=tol, max_iter=max_iter)
        values[i] = sol.value
        alpha = sol.alpha if np.all(sol.alpha > 0) else None
    return values


class ReLUFeatureKernel(Kernel):
    """k(x, y) = (1/D) sum_l sigma(w_l . x + b_l) sigma(w_l . y + b_l), sigma(u) = max(u, 0)^a.

    A finite random-feature version of the ReLU^a span of the slide "Topological properties of
    KALE (1)": H = span{sigma(w^T x + b) : [w, b] in Theta} with the cone over Theta all of
    R^(d+1) is dense in C(X) on compacts (Zhang, Liu, Zhou, Xu, He, ICLR 2018, Corollary 2.4;
    Arbel, Zhou, Gretton, ICLR 2021, Proposition 1, which the slide cites as "Arbel, Liang,
    G."). Here [w_l, b_l] are ``n_features`` points
    drawn uniformly on the unit sphere of R^(d+1) with ``rng`` (so their cone is R^(d+1) in the
    limit); the kernel is an honest positive semi-definite kernel whose RKHS is the span of the
    D features, with ||f||^2 = D ||beta||^2 for f = sum_l beta_l sigma_l.
    """

    bounded = False

    def __init__(self, dim: int, n_features: int = 512, power: int = 1, rng=None):
        self.dim = positive_int(dim, "dim")
        self.n_features = positive_int(n_features, "n_features")
        self.power = positive_int(power, "power")
        theta = as_rng(rng).standard_normal((self.n_features, self.dim + 1))
        theta /= np.linalg.norm(theta, axis=1, keepdims=True)
        self.W = theta[:, :-1]
        self.b = theta[:, -1]

    def __repr__(self) -> str:
        return (
            f"ReLUFeatureKernel(dim={self.dim}, n_features={self.n_features}, power={self.power})"
        )

    def features(self, Z) -> np.ndarray:
        """sigma(w_l . z + b_l) / sqrt(D), shape (n, D)."""
        Z = as_samples(Z, "Z")
        if Z.shape[1] != self.dim:
            raise ValueError(f"Z must have dimension {self.dim}, got shape {Z.shape}")
        return self._features(Z)

    def _features(self, Z):
        pre = Z @ self.W.T + self.b
        return np.maximum(pre, 0.0) ** self.power / np.sqrt(self.n_features)

    def _gram(self, Z, X):
        return self._features(Z) @ self._features(X).T

    def _paired(self, X, Y):
        return np.einsum("ij,ij->i", self._features(X), self._features(Y))

    def _grad_block(self, Z, X, w):
        # grad_z sum_j w_j <phi(z), phi(x_j)> = sum_l (Phi_X^T w)_l phi_l'(z) w_l
        coef = self._features(X).T @ w  # (D,)
        pre = Z @ self.W.T + self.b
        dphi = self.power * np.maximum(pre, 0.0) ** (self.power - 1) * (pre > 0)
        dphi /= np.sqrt(self.n_features)
        return (dphi * coef[None, :]) @ self.W
