"""One Newton solver for KALE and the Moreau envelopes of f-divergences: certify or refuse.

The dual (Glaser, Arbel, Gretton, NeurIPS 2021, Section 3; notation of
:mod:`kernelflows.divergences.kale`): over alpha > 0,

    J(alpha) = sum_i alpha_i log(m alpha_i) - sum_i alpha_i
               + 1/(2 lam) [alpha^T K alpha - 2 alpha^T kbar + c],

with gradient g = u - f, u = log(m alpha), f = (kbar - K alpha) / lam (the witness at the Q
samples), and Hessian diag(1/alpha) + K / lam = S^-1 B S^-1, S = diag(sqrt(alpha)),
B = I + S K S / lam (eigenvalues >= 1 whatever the scale of alpha).

**The general problem.** 1 + J is the KL case of the primal of a Moreau envelope
(:mod:`.regularized`): sum_i w_i F(z_i / w_i) + the same quadratic, F an entropy on blocks
(:class:`~.entropies.Separable`). u = log(z / w), gradient F'(p) - f, Hessian diag(r / z) +
K / lam, r = p F''(p) (KL: r = 1, KALE's arithmetic unchanged), S = diag(sqrt(z / r)). An entropy
with a barrier is minimised as F = f - tau log p, tau a tenth of the certified gap (path
following; those coordinates step along the Newton line, at most 99% of the way to zero).

**Certificate.** The duality gap between the dual value (1 + lam)(1 + J(alpha)) and the primal
objective at f_alpha is, after the c terms cancel,

    gap = (1 + lam) (1/m) sum_i exp(u_i) phi(g_i),    phi(g) = g - 1 + exp(-g) >= 0,

non-negative terms without cancellation (a series for small g); in general ``scale`` x sum_i
w_i [f(p_i) + f*(h_i) - p_i h_i], the witness scaled by t <= 1 into h <= f'(infinity) if that
is finite (plus (1 - t)^2 ||e||^2 / (2 lam)). It stops when gap <= tol * max(1, KALE) (KALE
known when c is given, else gap <= tol), and only then; a solve that cannot reach it (rounding
floor, no descent, the budget) raises :class:`KaleConvergenceError`.

**Steps.** Newton systems B w = S g are solved by a Cholesky factor of B at the current alpha,
or, with a factor made at a nearby alpha_ref (delta = max_i |alpha_ref,i / alpha_i - 1| <=
``refactor_at``), by CG preconditioned with it (eigenvalues in [1 - delta, 1 + delta]: along a
flow one factorisation serves many steps; ``reuse=True`` keeps its explicit inverse).
Coordinates the full step would drive below zero move along alpha_i exp(t d_i / alpha_i), the
others' step re-solved with that change fixed (projected Newton, Bertsekas, SIAM J. Control
Optim. 1982). The Armijo line search on J uses the change of J computed from the change of
alpha (it decides where J itself is rounding); u = log(m alpha) keeps exp(-1000) alive.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import numpy as np
from scipy.linalg import LinAlgError, cho_factor, cho_solve
from scipy.linalg.lapack import dpotri

from .._validation import positive, positive_int
from ..kernels import blas_one_thread
from .entropies import KLEntropy, Separable
from .kale_state import EXTRAPOLATE_MAX, DualState, Trend, extrapolated_guess, next_trend

__all__ = [
    "EXTRAPOLATE_MAX",
    "FD_TOL",
    "FLOW_TOL",
    "MAX_ITER",
    "TOL",
    "KaleConvergenceError",
    "DualState",
    "KaleNewton",
    "Trend",
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
    """The KALE dual could not be solved to its tolerance: the message says what was reached
    (``state``: the solver's last iterate, uncertified, or None)."""

    state = None


def duality_gap(u, f, lam: float) -> float:
    """(1 + lam) (1/m) sum_i exp(u_i) phi(u_i - f_i): the certified gap of the dual iterate u."""
    total = KLEntropy().gap_sum(u, f, None)
    return (1.0 + lam) * total if np.isfinite(total) else math.inf


@dataclass(frozen=True)
class _Reference:
    """A factorisation of B at u_ref (u - log r): the preconditioner of later Newton systems."""

    u: np.ndarray
    factor: tuple
    inverse: np.ndarray | None

    def apply(self, r):
        if self.inverse is not None:
            return self.inverse @ r
        return cho_solve(self.factor, r, check_finite=False)


class KaleNewton:
    """Damped Newton on the KALE dual for one Gram matrix K_QQ and one lam.

    ``solve(kbar, c=None, *, start=None)``: a :class:`DualState` with gap <= ``tol * max(1,
    KALE)`` (KALE known when ``c`` is given; else gap <= ``tol``), or :class:`KaleConvergenceError`.
    ``start``: a previous :class:`DualState` (its factorisation reused while alpha stays near), a
    positive alpha, or None (alpha = 1/m). ``separable`` (None: KALE's KL entropy) makes it a
    Moreau envelope's solver, its value times ``scale`` (None: 1 + lam); a constraint needs ``c``.
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
        separable: Separable | None = None,
        scale: float | None = None,
        extrapolate: bool = False,
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
        # CG only shapes the Newton direction (the gap certifies): a flow's warm steps stop it at
        # 1e-6 (three rings: Newton steps as at 1e-8, 2.5 CG iterations a step instead of 4.2; at
        # 1e-5 Newton steps grow by 10%), a cold solve at 1e-10 (Newton's last step lands inside)
        rtol = (1e-6 if reuse else 1e-10) if cg_rtol is None else cg_rtol
        self.cg_rtol = positive(rtol, "cg_rtol")
        self.max_cg = positive_int(max_cg, "max_cg")
        self.reuse = bool(reuse)
        self.extrapolate = bool(extrapolate)
        if separable is None:
            separable = Separable([(KLEntropy(), self.m, 1.0 / self.m)])
        self.sep = separable
        if self.sep.size != self.m:
            raise ValueError(f"separable has {self.sep.size} coordinates for K of size {self.m}")
        self.scale = 1.0 + self.lam if scale is None else positive(scale, "scale")
        self._log_w = self.sep.log_w

    # -- pieces ------------------------------------------------------------------------------
    def _factor(self, ueff) -> _Reference:
        s = np.exp(0.5 * (ueff + self._log_w))
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
        return _Reference(ueff, factor, inverse)

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

    def _blocked_correction(self, g, alpha, s, d_u, blocked, r):
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
        # d_F / alpha_F = w_F / s_F = rhs - K_FF S_F w_F / lam: no division by a tiny alpha
        d_u[free] = rhs - K_ff @ (s_f * w_f) / lam
        if r is not None:
            d_u[free] /= r[free]  # d_F / z_F = (rhs - K_FF S_F w_F / lam) / r_F in general
        return d_u

    def _certificate(self, u, alpha, K_alpha, f_q, c, extra=None):
        """The certified gap (times ``scale``) and the scaling t <= 1 of the witness; ``extra``
        = (C, d): more points where the witness, (d - C z) / lam there, meets the constraint."""
        sep, t = self.sep, 1.0
        if sep.bound < math.inf:
            top = float(np.max(f_q))
            if extra is not None:
                top = max(top, float(np.max(extra[1] - extra[0] @ alpha)) / self.lam)
            if top >= sep.bound:
                t = sep.bound * (1.0 - 1e-12) / top if top > 0 else 0.0
        total = sep.gap_sum(u, f_q if t == 1.0 else t * f_q)
        if t < 1.0:
            e2 = max(c - 2.0 * self.lam * float(f_q @ alpha) - float(alpha @ K_alpha), 0.0)
            total += (1.0 - t) ** 2 * e2 / (2.0 * self.lam)
        return (self.scale * total if np.isfinite(total) else math.inf), t

    def value(self, state: DualState, c: float) -> float:
        """``scale`` x the objective of the witness at alpha (a lower bound on the optimum), >= 0.

        KALE: (1 + lam) x its primal at f_alpha (f = 0 gives 0: a negative value becomes 0). In
        general the witness is t h, h = (kbar - K z) / lam: t <e, mu_P> / lam - t^2 ||e||^2 /
        (2 lam) - sum w f*(t h), e = mu_P - sum z k(c, .), <e, mu_P> = c - lam h.z - z.K z.
        """
        lam = self.lam
        alpha = state.alpha
        f = state.f_q
        quad = float(alpha @ state.K_alpha)
        if state.t == 1.0:
            # mean f(X) - lam/2 ||f||^2 = (c - a^T K a) / (2 lam), and mean f*(f) written so that
            # nothing cancels at large lam, where f is small and KALE ~ MMD^2 / 2
            primal = (c - quad) / (2.0 * lam) - self.sep.conj_sum(f)
        else:
            t, hz = state.t, lam * float(f @ alpha)
            e2 = max(c - 2.0 * hz - quad, 0.0)
            primal = t * (c - hz - quad) / lam - t * t * e2 / (2.0 * lam)
            primal -= self.sep.conj_sum(t * f)
        return max(self.scale * primal, 0.0)

    # -- the solve -------------------------------------------------------------------------------
    @blas_one_thread()
    def solve(self, kbar, c: float | None = None, *, start=None, extra=None) -> DualState:
        K, lam, m, sep = self.K, self.lam, self.m, self.sep
        log_w = self._log_w
        kbar = np.asarray(kbar, dtype=np.float64)
        if kbar.shape != (m,) or not np.all(np.isfinite(kbar)):
            raise ValueError(f"kbar must be a finite vector of shape ({m},)")
        if c is not None and not np.isfinite(c):
            raise ValueError("c must be finite")
        if c is None and sep.bound < math.inf:
            raise ValueError("c is needed to certify a problem with a dual constraint")
        if self.tol < _MIN_TOL:
            # a float64 KALE value is known to a few eps at best: a smaller gap certifies nothing
            raise KaleConvergenceError(
                f"KALE dual solver: tol {self.tol:.1e} is below the float64 rounding level "
                f"{_MIN_TOL:.1e}, to which no KALE value can be certified; use a larger tol"
            )
        ref = None
        counters = [0, 0, 0]
        tau = math.inf if sep.n_barrier else 0.0
        state_w = None if sep.kl else log_w
        if isinstance(start, DualState):
            u, K_alpha, ref = start.u, start.K_alpha, start.reference
            counters = [start.newton_steps, start.cholesky, start.cg_iterations]
            guess = extrapolated_guess(start.trend, u) if self.extrapolate and sep.kl else None
            if guess is not None:  # the extrapolated start (:mod:`.kale_state`)
                u, K_alpha = guess, K @ np.exp(guess + log_w)
            if sep.n_barrier and start.tau > 0:
                tau = -start.tau  # kept below if the start is still near its path (see there)
        elif start is None:
            u = sep.cold_start()
            K_alpha = K @ (np.full(m, 1.0 / m) if sep.kl else np.exp(u + log_w))
        else:
            a0 = np.asarray(start, dtype=np.float64)
            if a0.shape != (m,) or not np.all(np.isfinite(a0)) or np.any(a0 <= 0):
                raise ValueError(f"start must be a positive finite vector of shape ({m},)")
            u = np.log(m * a0) if sep.kl else np.log(a0) - log_w
            K_alpha = K @ a0
        newton, chol, cg_total = counters
        alpha = np.exp(u + log_w)
        stalled = 0
        for it in range(self.max_iter + 1):
            f_q = (kbar - K_alpha) / lam
            gap, t = self._certificate(u, alpha, K_alpha, f_q, c, extra)
            scale = 1.0
            trend = None
            if self.extrapolate and sep.kl and isinstance(start, DualState):
                trend = next_trend(start.trend, start.u, u, it > 0)
            state = DualState(
                u, K_alpha, f_q, gap, ref, newton, chol, cg_total, abs(tau), t, state_w, trend
            )
            if c is not None and np.isfinite(gap):
                scale = max(1.0, self.value(state, c))
            if gap <= self.tol * scale:
                return state
            if it == self.max_iter:
                self._refuse("ran out of its iteration budget", gap, scale, it, state)
            if stalled >= 3:
                self._refuse("stopped making progress (3 null steps)", gap, scale, it, state)
            if sep.n_barrier:  # follow the barrier's path: tau a tenth of the gap per barrier
                target = 0.1 * gap / (self.scale * sep.n_barrier)
                if tau < 0:  # a warm start keeps its tau unless its gap left the path
                    tau = -tau if target <= 10.0 * -tau else math.inf
                tau = min(tau, target)
            # -- Newton direction --------------------------------------------------------------
            grad_f = sep.grad(u, tau)
            g = grad_f - f_q
            r = sep.curvature(u, tau)
            s = np.sqrt(alpha) if r is None else np.sqrt(alpha / r)
            ueff = u if r is None else u - np.log(r)
            b = s * g
            delta = math.inf
            if ref is not None:
                with np.errstate(over="ignore"):
                    delta = float(np.max(np.abs(np.expm1(ref.u - ueff))))
            w = None
            if delta <= self.refactor_at:
                w, Ksw, iters, ok = self._pcg(b, s, np.exp(0.5 * (ref.u - ueff)), ref)
                cg_total += iters
                if not ok:
                    w = None
            if w is None:
                ref = self._factor(ueff)
                chol += 1
                w = ref.apply(b)
                Ksw = K @ (s * w)
                if r is not None:  # one step of refinement: a barrier makes B ill-conditioned
                    w += ref.apply(b - w - s * Ksw / lam)
                    Ksw = K @ (s * w)
            decrement2 = float(b @ w)
            d_u = -g + Ksw / lam
            if r is not None:
                d_u /= r
            slope = -decrement2
            blocked = d_u <= -1.0
            if sep.barrier_mask is not None:
                blocked &= ~sep.barrier_mask
            if np.any(blocked) and not np.all(blocked):
                corrected = self._blocked_correction(g, alpha, s, d_u, blocked, r)
                chol += 1
                corrected_slope = float(g @ (alpha * corrected))
                if corrected_slope < 0:
                    d_u, slope = corrected, corrected_slope
            if not slope < 0:
                self._refuse("found no descent direction", gap, scale, it, state)
            # -- line search on the change of J ------------------------------------------------
            t_step, accepted = 1.0, False
            grow = d_u >= 0
            if sep.barrier_mask is not None:
                # barrier coordinates move along the Newton line in z, at most 99% of the way to
                # zero (the fraction to the boundary of interior-point methods): the barrier's
                # model is only trusted there
                grow = grow | sep.barrier_mask
                falling = sep.barrier_mask & (d_u < 0)
                if np.any(falling):
                    t_step = min(1.0, 0.99 / float(np.max(-d_u[falling])))
            line = np.where(grow, d_u, 0.0)
            for _ in range(50):
                u_new = u + np.where(grow, np.log1p(t_step * line), t_step * d_u)
                if np.max(u_new) < 700.0:
                    delta_alpha = alpha * np.expm1(u_new - u)
                    K_alpha_new = K @ (alpha + delta_alpha)
                    change = sep.change_sum(u, u_new, alpha, delta_alpha, tau) + (
                        0.5 * float(delta_alpha @ (K_alpha_new + K_alpha - 2.0 * kbar)) / lam
                    )
                    if change <= 1e-4 * t_step * slope:
                        accepted = True
                        break
                t_step *= 0.5
            if not accepted:
                self._refuse("could not decrease the dual (rounding floor)", gap, scale, it, state)
            # a null step: J moved by less than the rounding level of the terms of its change
            da = np.abs(delta_alpha)
            terms = np.abs(K_alpha_new) + np.abs(K_alpha) + 2.0 * np.abs(kbar)
            size = float(da @ (np.abs(grad_f) + 1.0)) + 0.5 * float(da @ terms) / lam
            stalled = stalled + 1 if abs(change) <= 1e-13 * size else 0
            u, K_alpha = u_new, K_alpha_new
            alpha = np.exp(u + log_w)
            newton += 1
        raise AssertionError("unreachable")  # pragma: no cover

    def _refuse(self, what: str, gap: float, scale: float, it: int, state=None):
        problem = "KALE" if self.sep.kl else self.sep.blocks[0][0].name
        error = KaleConvergenceError(
            f"{problem} dual solver {what} after {it} Newton step(s): duality gap {gap:.3e} > "
            f"tol {self.tol:.1e} x {scale:.3g} at lam = {self.lam:g} (m = {self.m}). "
            "Try a larger lam, a looser tol, or more samples; at very small lam the Gram matrix "
            "of the Q samples is nearly singular."
        )
        error.state = state
        raise error
