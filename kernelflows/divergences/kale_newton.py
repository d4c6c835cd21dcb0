"""One Newton solver for the KALE dual, cold or warm-started, that certifies or refuses.

The dual (Glaser, Arbel, Gretton, NeurIPS 2021, Section 3; notation of
:mod:`kernelflows.divergences.kale`): over alpha > 0,

    J(alpha) = sum_i alpha_i log(m alpha_i) - sum_i alpha_i
               + 1/(2 lam) [alpha^T K alpha - 2 alpha^T kbar + c],

with gradient g = u - f, u = log(m alpha), f = (kbar - K alpha) / lam (the witness at the Q
samples), and Hessian diag(1/alpha) + K / lam = S^-1 B S^-1, S = diag(sqrt(alpha)),
B = I + S K S / lam (eigenvalues >= 1 whatever the scale of alpha).

**Certificate.** The duality gap between the dual value (1 + lam)(1 + J(alpha)) and the primal
objective at f_alpha is, after the c terms cancel,

    gap = (1 + lam) (1/m) sum_i exp(u_i) phi(g_i),    phi(g) = g - 1 + exp(-g) >= 0,

a sum of non-negative terms computed without cancellation (a series for small g). The solver
stops when gap <= tol * max(1, KALE) (KALE known when c is given, else gap <= tol), and only
then: the Newton decrement, which the gap dominates but does not bound when K / lam is large,
is not used to stop. A solve that cannot reach the tolerance (rounding floor, no descent, the
iteration budget) raises :class:`KaleConvergenceError` with the gap it reached.

**Steps.** Newton systems B w = S g are solved through a Cholesky factor of B made at the
current alpha, or, when a factor made at a nearby alpha_ref exists (delta = max_i |alpha_ref,i /
alpha_i - 1| <= ``refactor_at``), by conjugate gradients preconditioned with it: the
eigenvalues of the preconditioned system lie in [1 - delta, 1 + delta], so along a flow one
factorisation serves many steps (``reuse=True`` keeps the factor's explicit inverse, cheaper to
apply at the sizes of a flow). Coordinates that the full step would drive below zero
("blocked") are moved along alpha_i exp(t d_i / alpha_i) and the free coordinates' step is
re-solved with that change fixed (a projected Newton correction, Bertsekas, SIAM J. Control
Optim. 1982); growing coordinates move along the Newton line. A backtracking (Armijo) line search
on J uses the change of J computed from the change of alpha, so that it still decides near the
optimum where J itself is dominated by rounding. The iterate is u = log(m alpha), so that
coefficients of size exp(-1000) neither underflow nor stall.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import numpy as np
from scipy.linalg import LinAlgError, cho_factor, cho_solve
from scipy.linalg.lapack import dpotri
from scipy.special import logsumexp

from .._validation import positive, positive_int
from ..kernels import blas_one_thread

__all__ = [
    "FD_TOL",
    "FLOW_TOL",
    "MAX_ITER",
    "TOL",
    "KaleConvergenceError",
    "DualState",
    "KaleNewton",
    "duality_gap",
]

#: Default ``tol`` of a KALE value (:func:`~kernelflows.divergences.kale`, ``kale_path``): the
#: certified duality gap is at most TOL * max(1, KALE).
TOL = 1e-8
#: Default ``tol`` of a flow step (the gap of every step's solve, in KALE units).
FLOW_TOL = 1e-9
#: Default ``tol`` of ``kale_weighted``, whose values enter finite differences of step eps ~ 1e-5:
#: a gap of 1e-12 perturbs the difference quotient by at most 1e-7.
FD_TOL = 1e-12
#: Default ``max_iter``: the Newton steps one solve may take before it refuses.
MAX_ITER = 200


#: The smallest tolerance a certificate can mean in float64 (4 eps): a KALE value of size 1 is
#: not known to better than its last bits, whatever the duality gap of the iterate.
_MIN_TOL = 4.0 * float(np.finfo(np.float64).eps)


class KaleConvergenceError(RuntimeError):
    """The KALE dual could not be solved to its tolerance: the message says what was reached."""


def _phi(g: np.ndarray) -> np.ndarray:
    """g - 1 + exp(-g) >= 0, accurate for small |g| (a series there)."""
    series = g * g * (0.5 - g * (1.0 / 6.0 - g / 24.0))
    with np.errstate(over="ignore"):
        return np.where(np.abs(g) < 1e-3, series, g + np.expm1(-g))


def duality_gap(u, f, lam: float) -> float:
    """(1 + lam) (1/m) sum_i exp(u_i) phi(u_i - f_i): the certified gap of the dual iterate u."""
    g = u - f
    with np.errstate(over="ignore", invalid="ignore"):
        terms = np.exp(u) * _phi(g)
    total = float(np.sum(terms)) / len(u)
    return (1.0 + lam) * total if np.isfinite(total) else math.inf


@dataclass(frozen=True)
class _Reference:
    """A factorisation of B at alpha_ref: the preconditioner of later Newton systems."""

    u: np.ndarray
    factor: tuple
    inverse: np.ndarray | None

    def apply(self, r):
        if self.inverse is not None:
            return self.inverse @ r
        return cho_solve(self.factor, r, check_finite=False)


@dataclass(frozen=True)
class DualState:
    """A certified dual iterate, carried from one solve to the next along a flow.

    ``u = log(m alpha)`` (= f*(y_i) at the optimum), ``K_alpha = K alpha``, ``f_q`` the witness
    at the Q samples, ``gap`` the certified duality gap (KALE units), the preconditioner
    ``reference``, and cumulative counters ``newton_steps``, ``cholesky`` (factorisations) and
    ``cg_iterations`` (over all the solves that led to it: warm starts carry them on).
    """

    u: np.ndarray
    K_alpha: np.ndarray
    f_q: np.ndarray
    gap: float
    reference: _Reference | None
    newton_steps: int = 0
    cholesky: int = 0
    cg_iterations: int = 0

    @property
    def alpha(self) -> np.ndarray:
        return np.exp(self.u - math.log(len(self.u)))

    @property
    def log_alpha(self) -> np.ndarray:
        return self.u - math.log(len(self.u))


class KaleNewton:
    """Damped Newton on the KALE dual for one Gram matrix K_QQ and one lam.

    ``solve(kbar, c=None, start=None)`` returns a :class:`DualState` whose gap is certified below
    ``tol * max(1, KALE)`` (KALE computable when ``c`` is given; else gap <= ``tol``), or raises
    :class:`KaleConvergenceError`. ``start`` is a previous :class:`DualState` (warm start: its
    factorisation is reused while alpha stays near), a positive alpha, or None (alpha = 1/m, the
    lam -> infinity solution).
    """

    def __init__(
        self,
        K_qq,
        *,
        lam: float,
        tol: float = TOL,
        max_iter: int = MAX_ITER,
        refactor_at: float = 0.3,
        cg_rtol: float | None = None,
        max_cg: int = 12,
        reuse: bool = False,
    ):
        K = np.ascontiguousarray(K_qq, dtype=np.float64)
        if K.ndim != 2 or K.shape[0] != K.shape[1] or len(K) == 0:
            raise ValueError(f"K_qq must be a non-empty square matrix, got shape {K.shape}")
        if not np.all(np.isfinite(K)):
            raise ValueError("K_qq contains NaN or inf")
        self.K = K
        self.m = len(K)
        self.lam = positive(lam, "lam")
        self.tol = positive(tol, "tol")
        self.max_iter = positive_int(max_iter, "max_iter")
        self.refactor_at = positive(refactor_at, "refactor_at")
        # CG only shapes the Newton direction (the gap certifies the answer): a flow's warm steps
        # (reuse=True) stop CG at 1e-6 (the published three-rings KALE run takes as many Newton
        # steps as at 1e-8, 0.99 per flow step, with 2.5 CG iterations per step instead of 4.2;
        # at 1e-5 Newton steps grow by 10%), a cold solve at 1e-10, where Newton's last full step
        # leaves alpha well inside the certified region
        self.cg_rtol = positive(
            (1e-6 if reuse else 1e-10) if cg_rtol is None else cg_rtol, "cg_rtol"
        )
        self.max_cg = positive_int(max_cg, "max_cg")
        self.reuse = bool(reuse)
        self._log_m = math.log(self.m)

    # -- pieces ------------------------------------------------------------------------------
    def _factor(self, u) -> _Reference:
        s = np.exp(0.5 * (u - self._log_m))
        B = (s[:, None] * self.K) * (s[None, :] / self.lam)
        B[np.diag_indices_from(B)] += 1.0
        try:
            factor = cho_factor(B, lower=True, overwrite_a=True, check_finite=False)
        except LinAlgError as exc:  # pragma: no cover - B >= I in exact arithmetic
            raise KaleConvergenceError(f"Cholesky of the KALE Newton matrix failed: {exc}") from exc
        inverse = None
        if self.reuse:
            inv, info = dpotri(factor[0], lower=1)
            if info == 0:
                inverse = np.tril(inv)
                inverse += np.tril(inverse, -1).T
        return _Reference(u, factor, inverse)

    def _pcg(self, b, s, dinv, ref: _Reference):
        """Solve (I + S K S / lam) w = b by CG preconditioned with D^-1 B_ref^-1 D^-1.

        Returns w, K S w (accumulated from the products CG makes anyway), the iterations and
        whether CG converged."""
        K, lam = self.K, self.lam
        b_norm = math.sqrt(float(b @ b))
        w = np.zeros_like(b)
        Ksw = np.zeros_like(b)
        if b_norm == 0.0:
            return w, Ksw, 0, True
        r = b.copy()
        z = dinv * ref.apply(dinv * r)
        p = z.copy()
        rz = float(r @ z)
        stop = self.cg_rtol * b_norm
        for it in range(1, 4 * self.max_cg + 1):
            Ksp = K @ (s * p)
            Bp = p + s * Ksp / lam
            step = rz / float(p @ Bp)
            w += step * p
            Ksw += step * Ksp
            r -= step * Bp
            if math.sqrt(float(r @ r)) <= stop:
                return w, Ksw, it, True
            z = dinv * ref.apply(dinv * r)
            rz_new = float(r @ z)
            p *= rz_new / rz
            p += z
            rz = rz_new
        return w, Ksw, 4 * self.max_cg, False

    def _blocked_correction(self, g, alpha, s, d_u, blocked):
        """Re-solve the Newton system on the free coordinates, the blocked ones moved as they
        will (alpha_i (exp(d_u,i) - 1), nearly -alpha_i): H_FF d_F = -(g_F + K_FB delta_B / lam)
        in the scaled form (I + S_F K_FF S_F / lam). One Cholesky of the free block."""
        K, lam = self.K, self.lam
        free = ~blocked
        delta_b = alpha[blocked] * np.expm1(d_u[blocked])
        rhs = -(g[free] + K[np.ix_(free, blocked)] @ delta_b / lam)
        s_f = s[free]
        K_ff = K[np.ix_(free, free)]
        B_f = (s_f[:, None] * K_ff) * (s_f[None, :] / lam)
        B_f[np.diag_indices_from(B_f)] += 1.0
        w_f = cho_solve(
            cho_factor(B_f, lower=True, overwrite_a=True, check_finite=False),
            s_f * rhs,
            check_finite=False,
        )
        d_u = d_u.copy()
        # d_F / alpha_F = w_F / s_F = rhs - K_FF S_F w_F / lam (from B_F w_F = S_F rhs), which
        # needs no division by an alpha that may have underflowed
        d_u[free] = rhs - K_ff @ (s_f * w_f) / lam
        return d_u

    def value(self, state: DualState, c: float) -> float:
        """(1 + lam) x the primal objective at f_alpha (a lower bound on KALE_lam), >= 0.

        KALE is never negative (f = 0 gives 0), so a primal value below 0 is replaced by 0,
        which is the better lower bound.
        """
        lam = self.lam
        alpha = state.alpha
        f = state.f_q
        # mean f(X) - lam/2 ||f||^2 = (c - a^T K a) / (2 lam), and 1 - mean exp f = -mean expm1 f:
        # written so, nothing cancels at large lam, where f is small and KALE ~ MMD^2 / 2
        if np.max(np.abs(f)) < 1.0:
            one_minus_mean_exp = -float(np.mean(np.expm1(f)))
        else:
            one_minus_mean_exp = 1.0 - math.exp(float(logsumexp(f)) - self._log_m)
        primal = (c - float(alpha @ state.K_alpha)) / (2.0 * lam) + one_minus_mean_exp
        return max((1.0 + lam) * primal, 0.0)

    # -- the solve -------------------------------------------------------------------------------
    @blas_one_thread()
    def solve(self, kbar, c: float | None = None, *, start=None) -> DualState:
        K, lam, log_m, m = self.K, self.lam, self._log_m, self.m
        kbar = np.asarray(kbar, dtype=np.float64)
        if kbar.shape != (m,) or not np.all(np.isfinite(kbar)):
            raise ValueError(f"kbar must be a finite vector of shape ({m},)")
        if c is not None and not np.isfinite(c):
            raise ValueError("c must be finite")
        if self.tol < _MIN_TOL:
            # a float64 KALE value is known to a few eps at best: a smaller gap certifies nothing
            raise KaleConvergenceError(
                f"KALE dual solver: tol {self.tol:.1e} is below the float64 rounding level "
                f"{_MIN_TOL:.1e}, to which no KALE value can be certified; use a larger tol"
            )
        ref = None
        counters = [0, 0, 0]
        if isinstance(start, DualState):
            u, K_alpha, ref = start.u, start.K_alpha, start.reference
            counters = [start.newton_steps, start.cholesky, start.cg_iterations]
        elif start is None:
            u = np.zeros(m)
            K_alpha = K @ np.full(m, 1.0 / m)
        else:
            a0 = np.asarray(start, dtype=np.float64)
            if a0.shape != (m,) or not np.all(np.isfinite(a0)) or np.any(a0 <= 0):
                raise ValueError(f"start must be a positive finite vector of shape ({m},)")
            u = np.log(m * a0)
            K_alpha = K @ a0
        newton, chol, cg_total = counters
        alpha = np.exp(u - log_m)
        stalled = 0
        for it in range(self.max_iter + 1):
            f_q = (kbar - K_alpha) / lam
            gap = duality_gap(u, f_q, lam)
            scale = 1.0
            state = DualState(u, K_alpha, f_q, gap, ref, newton, chol, cg_total)
            if c is not None and np.isfinite(gap):
                scale = max(1.0, self.value(state, c))
            if gap <= self.tol * scale:
                return state
            if it == self.max_iter:
                self._refuse("ran out of its iteration budget", gap, scale, it)
            if stalled >= 3:
                self._refuse("stopped making progress (3 null steps)", gap, scale, it)
            # -- Newton direction --------------------------------------------------------------
            g = u - f_q
            s = np.sqrt(alpha)
            b = s * g
            delta = math.inf
            if ref is not None:
                with np.errstate(over="ignore"):
                    delta = float(np.max(np.abs(np.expm1(ref.u - u))))
            w = None
            if delta <= self.refactor_at:
                w, Ksw, iters, ok = self._pcg(b, s, np.exp(0.5 * (ref.u - u)), ref)
                cg_total += iters
                if not ok:
                    w = None
            if w is None:
                ref = self._factor(u)
                chol += 1
                w = ref.apply(b)
                Ksw = K @ (s * w)
            decrement2 = float(b @ w)
            d_u = -g + Ksw / lam
            slope = -decrement2
            blocked = d_u <= -1.0
            if np.any(blocked) and not np.all(blocked):
                corrected = self._blocked_correction(g, alpha, s, d_u, blocked)
                chol += 1
                corrected_slope = float(g @ (alpha * corrected))
                if corrected_slope < 0:
                    d_u, slope = corrected, corrected_slope
            if not slope < 0:
                self._refuse("found no descent direction", gap, scale, it)
            # -- line search on the change of J ------------------------------------------------
            t, accepted = 1.0, False
            grow = d_u >= 0
            for _ in range(50):
                u_new = u + np.where(grow, np.log1p(t * np.maximum(d_u, 0.0)), t * d_u)
                if np.max(u_new) < 700.0:
                    delta_alpha = alpha * np.expm1(u_new - u)
                    K_alpha_new = K @ (alpha + delta_alpha)
                    change = (
                        float(delta_alpha @ (u_new - 1.0))
                        + float(alpha @ (u_new - u))
                        + 0.5 * float(delta_alpha @ (K_alpha_new + K_alpha - 2.0 * kbar)) / lam
                    )
                    if change <= 1e-4 * t * slope:
                        accepted = True
                        break
                t *= 0.5
            if not accepted:
                self._refuse("could not decrease the dual (rounding floor)", gap, scale, it)
            # a null step: J moved by less than its rounding level (the terms it is made of)
            size = (
                float(alpha @ np.abs(u))
                + float(np.sum(alpha))
                + abs(float(alpha @ (K_alpha - 2.0 * kbar))) / lam
            )
            stalled = stalled + 1 if abs(change) <= 1e-14 * size else 0
            u, K_alpha = u_new, K_alpha_new
            alpha = np.exp(u - log_m)
            newton += 1
        raise AssertionError("unreachable")  # pragma: no cover

    def _refuse(self, what: str, gap: float, scale: float, it: int):
        raise KaleConvergenceError(
            f"KALE dual solver {what} after {it} Newton step(s): duality gap {gap:.3e} > "
            f"tol {self.tol:.1e} x {scale:.3g} at lam = {self.lam:g} (m = {self.m}). "
            "Try a larger lam, a looser tol, or more samples; at very small lam the Gram matrix "
            "of the Q samples is nearly singular."
        )
