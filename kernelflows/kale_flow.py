"""KALE flow: the Wasserstein gradient flow of the KALE (Glaser, Arbel, Gretton, NeurIPS 2021).

Talk, slides "Wasserstein gradient flow on KALE" to "KALE flow vs MMD flow in practice".

Convention (as in :mod:`kernelflows.kale`): the moving particles nu are P (the linear term), the
target nu* is Q (the exponential term), and

    KALE_lam(nu) = (1 + lam) max_f [ E_nu f - E_nu* exp(f) + 1 - lam/2 ||f||_H^2 ].

First variation (slide "Wasserstein gradient flow on KALE", by the envelope argument): the
derivative of KALE_lam in nu is (1 + lam) f*, f* the maximiser; the part through f* vanishes
because the bracket is stationary in f at f*. The descent flow is therefore

    d_t nu = (1 + lam) div(nu grad f*),   i.e. particles move with velocity -(1 + lam) grad f*.

The slide "The W2 gradient flow of the KALE" writes d_t nu = -(1 + lam) div(nu grad f*): read as
a continuity equation d_t nu + div(nu v) = 0 this is v = +(1 + lam) grad f*, an *ascent* of the
KALE (lecture 09 checks it numerically). As lam -> infinity, alpha -> 1/m, (1 + lam) f* ->
mu_nu - mu_nu* and KALE_lam -> MMD^2 / 2: the velocity becomes the MMD flow's -grad f of
:mod:`kernelflows.flows` (same step, same trajectory in the limit).

With finite samples f* = (1/lam) [ (1/n) sum_j k(x_j, .) - sum_i alpha_i k(y_i, .) ], where
alpha > 0 solves the convex dual of :mod:`kernelflows.kale`. Along the flow alpha moves little
from one step to the next, so each step warm-starts Newton from the previous alpha
(:class:`WarmNewton`); about one Newton step per flow step suffices.

Where the time goes (n = m = 240, d = 2, the three-rings scale; ``bench/bench_kale_flow.py``):
a Cholesky factorisation of the 240 x 240 Newton matrix and its inverse cost about three whole
flow steps, so the Newton systems are solved by conjugate gradients preconditioned with a
factorisation made at an earlier alpha (exact for the matrix it was made for, and close for
nearby alpha); a new factorisation is made only when alpha has drifted too far (73 in the
50,000 steps of the published KALE run). For the Gaussian kernel, one matrix product and one
exponential give the particles' kernel values against the particles and the target at once
(:class:`KaleVelocity` fast path), about half of a step; the target's Gram matrix is computed
once. The warm Newton update is about a fifth of a step, the velocity a sixth.
"""

from __future__ import annotations

import math
from typing import NamedTuple

import numpy as np
from scipy.linalg.lapack import dpotrf, dpotri

from ._validation import as_rng, as_samples, positive, positive_int, same_dimension
from .datasets import (
    MIXTURE_MEANS,
    MIXTURE_STD,
    mixture_grad_log_density,
    mixture_log_density,
    mixture_of_gaussians,
    three_rings,
)
from .embeddings import _check_kernel
from .flows import FlowResult, mmd_energy, mmd_flow, run_flow
from .kale import kale_primal_objective, solve_kale_dual
from .kernels import GaussianKernel, Kernel

__all__ = [
    "FAST_PATH_MAX_ELEMENTS",
    "KLVelocity",
    "KaleFlowState",
    "KaleVelocity",
    "WarmNewton",
    "gaussian_kl_flow",
    "gaussian_kl_to_isotropic",
    "kale_first_variation_check",
    "kale_flow",
    "kale_lojasiewicz_bound",
    "kale_sobolev_lower_bound",
    "kale_weighted",
    "kl_flow",
    "max_distance_to_target",
    "mixture_experiment",
    "mmd_to_target",
    "three_rings_experiment",
]

#: The Gaussian fast path holds the n x (n + m) kernel matrix of the particles; above this many
#: entries (32 MB) the blocked general path is used instead.
FAST_PATH_MAX_ELEMENTS = 2**22


# ---------------------------------------------------------------------------------------------
# Warm-started Newton for the KALE dual, with a reused factorisation
# ---------------------------------------------------------------------------------------------


class KaleFlowState(NamedTuple):
    """The dual state carried from one flow step to the next.

    ``u = log(m alpha)`` (= f*(y_i) at the optimum; kept in logs so that coefficients of size
    exp(-1000) neither underflow nor stall), ``K_alpha = K_QQ alpha``; ``ref_u`` and
    ``ref_inverse`` the alpha (as u) at which the preconditioner was factorised and the inverse
    of B_ref = I + S_ref K_QQ S_ref / lam there; ``decrement`` the last Newton decrement;
    cumulative counters ``newton_steps``, ``cholesky`` (factorisations) and ``cg_iterations``.
    """

    u: np.ndarray
    K_alpha: np.ndarray
    ref_u: np.ndarray
    ref_inverse: np.ndarray
    decrement: float
    newton_steps: int
    cholesky: int
    cg_iterations: int

    @property
    def alpha(self) -> np.ndarray:
        return np.exp(self.u - math.log(len(self.u)))


class WarmNewton:
    """Damped Newton on the KALE dual, warm-started, with conjugate-gradient Newton systems.

    The dual (Glaser, Arbel, Gretton, NeurIPS 2021, Section 3; :mod:`kernelflows.kale`) is

        J(alpha) = sum_i alpha_i log(m alpha_i) - sum_i alpha_i
                   + 1/(2 lam) [alpha^T K alpha - 2 alpha^T kbar + c],

    gradient g = log(m alpha) - f, f = (kbar - K alpha) / lam, Hessian diag(1/alpha) + K / lam
    = S^-1 B S^-1 with S = diag(sqrt(alpha)) and B = I + S K S / lam (eigenvalues >= 1: the
    well-conditioned scaled form). The Newton system B w = S g is solved by conjugate gradients
    preconditioned with P = D B_ref D, D = S S_ref^-1, where B_ref was factorised at an earlier
    alpha_ref. Since B = P + I - D^2 and P >= D^2, the eigenvalues of P^-1 B lie in
    [1 - delta, 1 + delta], delta = max_i |alpha_ref,i / alpha_i - 1|: at delta = 0.3 each CG
    iteration gains a factor of about 7. A new factorisation (one Cholesky and its inverse) is
    made when delta exceeds ``refactor_at``, or when CG needed more than ``max_cg`` iterations.
    The step is taken along alpha exp(t d / alpha) (positive for every t) with an Armijo line
    search, as in :func:`kernelflows.kale.solve_kale_dual`.

    Per flow step :meth:`update` takes Newton steps until the decrement (g^T H^-1 g)^(1/2)
    before a step satisfies (1 + lam) decrement^2 / 2 <= ``tol`` (the standard estimate of
    J - J*, scaled to the units of KALE = (1 + lam)(1 + J)), or until a full step (t = 1) was
    taken from a point with decrement^2 <= sqrt(2 tol / (1 + lam)): Newton converges
    quadratically there, so that step leaves a decrement of order decrement^2, below ``tol``.
    The step is taken even when the test already passes before it (a free refinement, kept only
    if it does not increase J). Warm-started along a flow, this is about one Newton step and a
    few CG iterations per flow step. ``cg_rtol`` is the relative residual at which CG stops.
    """

    def __init__(
        self,
        K_qq,
        lam: float,
        tol: float = 1e-9,
        max_newton: int = 50,
        refactor_at: float = 0.3,
        cg_rtol: float = 1e-8,
        max_cg: int = 12,
    ):
        self.K = np.ascontiguousarray(K_qq, dtype=float)
        self.m = len(self.K)
        self.lam = positive(lam, "lam")
        self.tol = positive(tol, "tol")
        self.max_newton = positive_int(max_newton, "max_newton")
        self.refactor_at = positive(refactor_at, "refactor_at")
        self.cg_rtol = positive(cg_rtol, "cg_rtol")
        self.max_cg = positive_int(max_cg, "max_cg")
        self._log_m = math.log(self.m)
        # tol is in the units of KALE = (1 + lam)(1 + J): on J it is tol / (1 + lam).
        self._tol_dual = self.tol / (1.0 + self.lam)
        # decrement^2 below which one full Newton step is deemed enough: (decrement^2)^2 / 2 <= tol
        self._one_step_decrement2 = math.sqrt(2.0 * self._tol_dual)

    # -- building blocks -----------------------------------------------------------------------
    def _inverse_B(self, alpha):
        """(I + S K S / lam)^-1 by one Cholesky factorisation and its inverse (LAPACK)."""
        s = np.sqrt(alpha)
        B = (s[:, None] * self.K) * (s[None, :] / self.lam)
        B[np.diag_indices_from(B)] += 1.0
        c, info = dpotrf(B, lower=1, clean=1, overwrite_a=1)
        if info != 0:  # pragma: no cover - B >= I in exact arithmetic
            raise np.linalg.LinAlgError(f"Cholesky of the KALE Newton matrix failed (info={info})")
        inv, info = dpotri(c, lower=1, overwrite_c=1)
        if info != 0:  # pragma: no cover
            raise np.linalg.LinAlgError(f"inverse of the KALE Newton matrix failed (info={info})")
        inv = np.tril(inv)
        inv += np.tril(inv, -1).T
        return inv

    def _dual(self, u, alpha, K_alpha, kbar):
        # 1 + J - c / (2 lam): the constant c does not change the minimiser or the line search.
        return float(
            alpha @ u + (1.0 - alpha.sum()) + (0.5 * (alpha @ K_alpha) - alpha @ kbar) / self.lam
        )

    def init(self, kbar, c: float, warm_start=None) -> KaleFlowState:
        """Solve the dual from cold (``warm_start=None``: alpha = 1/m) to ``tol``."""
        sol = solve_kale_dual(
            self.K, kbar, c, self.lam, warm_start=warm_start, tol=self._tol_dual, max_iter=200
        )
        u = sol.log_alpha + self._log_m
        alpha = np.exp(sol.log_alpha)
        state = KaleFlowState(
            u=u,
            K_alpha=self.K @ alpha,
            ref_u=u,
            ref_inverse=self._inverse_B(alpha),
            decrement=sol.decrement,
            newton_steps=sol.n_iter,
            cholesky=sol.n_solves + 1,
            cg_iterations=0,
        )
        return state

    def update(self, state: KaleFlowState, kbar) -> KaleFlowState:
        """Newton steps from ``state`` for the new kbar (the particles moved) until ``tol``."""
        K, lam, log_m = self.K, self.lam, self._log_m
        u, K_alpha = state.u, state.K_alpha
        ref_u, ref_inverse = state.ref_u, state.ref_inverse
        newton, chol, cg_total = state.newton_steps, state.cholesky, state.cg_iterations
        alpha = np.exp(u - log_m)
        value = self._dual(u, alpha, K_alpha, kbar)
        decrement2 = np.inf
        for _ in range(self.max_newton):
            g = u - (kbar - K_alpha) / lam
            s = np.sqrt(alpha)
            delta = float(np.max(np.abs(np.expm1(ref_u - u))))
            if delta > self.refactor_at:
                ref_u, ref_inverse = u, self._inverse_B(alpha)
                chol += 1
                delta = 0.0
            # PCG on B w = S g with P^-1 = D^-1 B_ref^-1 D^-1, D^-1 = exp((ref_u - u) / 2)
            b = s * g
            dinv = np.exp(0.5 * (ref_u - u))
            w, iters = self._pcg(b, s, dinv, ref_inverse)
            cg_total += iters
            if iters > self.max_cg and delta > 0.0:
                ref_u, ref_inverse = u, self._inverse_B(alpha)
                chol += 1
            decrement2 = max(float(b @ w), 0.0)
            # Newton direction in u = log(m alpha): d = -S w / alpha = -g + K S w / lam
            sw = s * w
            d_u = -g + (K @ sw) / lam
            slope = -float(g @ sw)  # dJ/dt at t = 0 along alpha exp(t d_u) (= -decrement^2)
            converged = decrement2 / 2.0 <= self._tol_dual
            t, accepted = 1.0, False
            # Converged already: the full step is a free refinement, taken only if it does not
            # increase J (no backtracking: at the optimum rounding decides, not the model).
            for _ in range(1 if converged else 40):
                u_new = u + t * d_u
                if u_new.max() < 700.0:
                    alpha_new = np.exp(u_new - log_m)
                    K_alpha_new = K @ alpha_new
                    new = self._dual(u_new, alpha_new, K_alpha_new, kbar)
                    if new <= value + (0.0 if converged else 0.25 * t * slope):
                        accepted = True
                        break
                t *= 0.5
            if accepted:
                u, alpha, K_alpha, value = u_new, alpha_new, K_alpha_new, new
                newton += 1
            # Stop when converged before this step, or when a full step was taken from inside
            # the region of quadratic convergence: it leaves a decrement of order decrement^2.
            if converged or not accepted:
                break
            if t == 1.0 and decrement2 <= self._one_step_decrement2:
                break
        return KaleFlowState(
            u, K_alpha, ref_u, ref_inverse, math.sqrt(decrement2), newton, chol, cg_total
        )

    def _pcg(self, b, s, dinv, ref_inverse):
        """Solve (I + S K S / lam) w = b by CG preconditioned with D^-1 B_ref^-1 D^-1."""
        K, lam = self.K, self.lam
        b_norm = math.sqrt(float(b @ b))
        w = np.zeros_like(b)
        if b_norm == 0.0:
            return w, 0
        r = b.copy()
        z = dinv * (ref_inverse @ (dinv * r))
        p = z.copy()
        rz = float(r @ z)
        stop = self.cg_rtol * b_norm
        max_iter = 4 * self.max_cg
        it = 0
        while it < max_iter:
            it += 1
            Bp = p + s * (K @ (s * p)) / lam
            step = rz / float(p @ Bp)
            w += step * p
            r -= step * Bp
            if math.sqrt(float(r @ r)) <= stop:
                break
            z = dinv * (ref_inverse @ (dinv * r))
            rz_new = float(r @ z)
            p *= rz_new / rz
            p += z
            rz = rz_new
        return w, it


# ---------------------------------------------------------------------------------------------
# The KALE velocity field
# ---------------------------------------------------------------------------------------------


class KaleVelocity:
    """The KALE flow's velocity field ``-(1 + lam) grad f*`` on the engine of :mod:`.flows`.

    ``field(X, state, at) -> (velocity at the rows of ``at`` (default X), diagnostics)``: the
    dual is re-solved for the particles X (warm-started from ``state``; never from ``at``, as
    noise injection needs), then

        -(1 + lam) grad f*(z) = ((1 + lam) / lam) sum_c w_c (-grad_z k(z, c)),
        centres c = [X; Y], weights w = [1/n, ..., 1/n, -alpha_1, ..., -alpha_m].

    ``diagnostics["state"]`` is the next state (a :class:`KaleFlowState`), and the cumulative
    counters ``newton_steps``, ``cholesky``, ``cg_iterations`` and the Newton ``decrement`` are
    recorded in the flow's extras. ``loss(X, state)`` is KALE_lam at X (the primal value at the
    current alpha, a certified lower bound on the optimum).

    Gaussian kernels take a fast path (``fast=None`` picks it when the n x (n + m) kernel matrix
    has at most :data:`FAST_PATH_MAX_ELEMENTS` entries): with augmented coordinates
    [z / s^2, -|z|^2 / (2 s^2), 1] . [c, 1, -|c|^2 / (2 s^2)] = -|z - c|^2 / (2 s^2), one matrix
    product and one exponential give k(x_i, c) for all centres; the target's half of the right
    factor is cached, its Gram matrix K_QQ too, and the same kernel matrix gives kbar = (1/n)
    sum_j k(y_i, x_j) for the dual and the velocity at the particles. Any other kernel (or
    ``fast=False``) goes through its blocked ``weighted_sum`` / ``weighted_grad``.
    """

    def __init__(
        self,
        Y,
        kernel: Kernel,
        lam: float,
        tol: float = 1e-9,
        fast: bool | None = None,
        refactor_at: float = 0.3,
    ):
        self.target = as_samples(Y, "Y")
        self.kernel = _check_kernel(kernel)
        self.lam = positive(lam, "lam")
        self.scale = (1.0 + self.lam) / self.lam
        gaussian = type(kernel) is GaussianKernel
        if fast and not gaussian:
            raise ValueError("fast=True needs a GaussianKernel")
        self._fast_requested = fast
        self._gaussian = gaussian
        self.solver = WarmNewton(
            self.kernel(self.target), self.lam, tol=tol, refactor_at=refactor_at
        )
        m, d = self.target.shape
        if gaussian:
            inv = 1.0 / kernel.bandwidth**2
            self._inv = inv
            self._right_target = np.empty((d + 2, m))
            self._right_target[:d] = self.target.T
            self._right_target[d] = 1.0
            self._right_target[d + 1] = -0.5 * inv * np.einsum("ij,ij->i", self.target, self.target)
        self._last = None  # (X, state, kbar, K or None) of the latest solve, for loss()
        self.duality_gaps: list[float] = []  # one per loss() call: the snapshots of a flow

    def _use_fast(self, n: int) -> bool:
        if not self._gaussian or self._fast_requested is False:
            return False
        return bool(self._fast_requested) or n * (n + len(self.target)) <= FAST_PATH_MAX_ELEMENTS

    # -- kernel quantities ---------------------------------------------------------------------
    def _gaussian_block(self, Z, X, with_particles: bool = True):
        """exp(-|z - c|^2 / (2 s^2)) for z in Z, c in [X; Y]: shape (len(Z), n + m).

        ``with_particles=False`` gives the target columns only, shape (len(Z), m).
        """
        inv, d = self._inv, Z.shape[1]
        if with_particles:
            n = len(X)
            right = np.empty((d + 2, n + self._right_target.shape[1]))
            right[:d, :n] = X.T
            right[d, :n] = 1.0
            right[d + 1, :n] = -0.5 * inv * np.einsum("ij,ij->i", X, X)
            right[:, n:] = self._right_target
        else:
            right = self._right_target
        left = np.empty((len(Z), d + 2))
        left[:, :d] = Z * inv
        left[:, d] = -0.5 * inv * np.einsum("ij,ij->i", Z, Z)
        left[:, d + 1] = 1.0
        E = left @ right
        np.exp(E, out=E)
        return E

    def _gaussian_velocity(self, Z, K, X, alpha):
        """-(1 + lam) grad f*(z) from the kernel matrix K = k(Z, [X; Y])."""
        n = len(X)
        w = np.empty(K.shape[1])
        w[:n] = 1.0 / n
        w[n:] = -alpha
        C = np.concatenate([X, self.target])
        Kw = K @ w
        d = Z.shape[1]
        KwC = np.stack([K @ (w * C[:, a]) for a in range(d)], axis=1)
        # -grad_z k(z, c) = (z - c) k(z, c) / s^2
        return (self.scale * self._inv) * (Z * Kw[:, None] - KwC)

    def _general_velocity(self, Z, X, alpha):
        n = len(X)
        w = np.concatenate([np.full(n, 1.0 / n), -alpha])
        return -self.scale * self.kernel.weighted_grad(Z, np.concatenate([X, self.target]), w)

    def _kbar_c(self, X, with_c: bool):
        """kbar = (1/n) sum_j k(y_i, x_j), c = (1/n^2) sum_jl k(x_j, x_l) (general path)."""
        n = len(X)
        kbar = self.kernel.weighted_sum(self.target, X) / n
        c = self.kernel.total(X) / n**2 if with_c else None
        return kbar, c

    # -- the field protocol --------------------------------------------------------------------
    def init(self, particles) -> KaleFlowState:
        X = as_samples(particles, "X0")
        same_dimension(X, self.target, "X0", "Y")
        kbar, c = self._kbar_c(X, True)
        self._last = None
        self.duality_gaps = []
        return self.solver.init(kbar, c)

    def __call__(self, particles, state: KaleFlowState, at=None):
        X = particles
        n = len(X)
        if self._use_fast(n):
            # at the particles the velocity needs k(x, [x; y]); at perturbed points only the
            # dual's kbar needs the particles' kernel values, against the target alone
            K = self._gaussian_block(X, X, with_particles=at is None)
            kbar = K[:, -len(self.target) :].sum(axis=0) / n  # k symmetric: means of k(x_j, y_i)
            state = self.solver.update(state, kbar)
            alpha = state.alpha
            if at is None:
                velocity = self._gaussian_velocity(X, K, X, alpha)
            else:
                velocity = self._gaussian_velocity(at, self._gaussian_block(at, X), X, alpha)
                K = None
            self._last = (X.copy(), state, kbar, K)
        else:
            kbar, _ = self._kbar_c(X, False)
            state = self.solver.update(state, kbar)
            alpha = state.alpha
            velocity = self._general_velocity(X if at is None else at, X, alpha)
            self._last = (X.copy(), state, kbar, None)
        diagnostics = {
            "state": state,
            "newton_steps": state.newton_steps,
            "cholesky": state.cholesky,
            "cg_iterations": state.cg_iterations,
            "decrement": state.decrement,
        }
        return velocity, diagnostics

    def loss(self, particles, state: KaleFlowState | None = None) -> float:
        """KALE_lam(nu_X || nu*) = (1 + lam) [mean f*(X) - mean exp f*(Y) + 1 - lam/2 ||f*||^2]."""
        X = as_samples(particles, "X")
        n = len(X)
        if self._last is not None and np.array_equal(self._last[0], X):
            _, state, kbar, K = self._last
            c = K[:, :n].sum() / n**2 if K is not None else self.kernel.total(X) / n**2
        else:
            kbar, c = self._kbar_c(X, True)
            state = self.solver.init(kbar, c) if state is None else self.solver.update(state, kbar)
        value, gap = self.value_and_gap(state, kbar, c)
        self.duality_gaps.append(gap)
        return value

    def value_and_gap(self, state: KaleFlowState, kbar, c) -> tuple[float, float]:
        """(1 + lam) x the primal objective at f_alpha, and the duality gap certifying it.

        The primal value is a lower bound on KALE_lam, the dual value (1 + lam)(1 + J(alpha)) an
        upper bound; their difference (>= 0) bounds the error of either.
        """
        lam = self.lam
        alpha = state.alpha
        K_alpha = state.K_alpha
        quad = max(c - 2.0 * (alpha @ kbar) + alpha @ K_alpha, 0.0)
        f_q = (kbar - K_alpha) / lam
        mean_f_p = (c - alpha @ kbar) / lam
        primal = (1.0 + lam) * kale_primal_objective(mean_f_p, f_q, quad / lam**2, lam)
        dual = (1.0 + lam) * float(alpha @ state.u + (1.0 - alpha.sum()) + 0.5 * quad / lam)
        return primal, max(dual - primal, 0.0)


def kale_flow(
    X0,
    Y,
    kernel: Kernel,
    lam: float,
    step: float,
    n_steps: int,
    noise=0.0,
    rng=None,
    record_every: int | None = None,
    tol: float = 1e-9,
    fast: bool | None = None,
    progress: bool = False,
) -> FlowResult:
    """The KALE gradient flow of particles X0 (n, d) towards target samples Y (m, d).

    Forward Euler for d_t nu = (1 + lam) div(nu grad f*_{nu, nu*}) (the descent direction; see the
    module docstring on the slide's sign):

        X_{k+1} = X_k - step (1 + lam) grad f*_{nu_k, nu*}(X_k + beta_k u_k),   u_k ~ N(0, I),

    Glaser, Arbel, Gretton (NeurIPS 2021), Lemma 3 (the slide "The W2 gradient flow of the
    KALE") discretised in time and in particles; noise injection (``noise`` a float beta or a
    schedule of :mod:`kernelflows.schedules`) as for the MMD flow, Arbel, Korba, Salim, Gretton
    (NeurIPS 2019), Section 3. The dual coefficients alpha are warm-started from step to step
    (:class:`WarmNewton`; ``tol`` in the units of KALE). Returns a :class:`~.flows.FlowResult`
    with ``loss`` = KALE_lam at the snapshots, ``grad_sq_norm`` = mean ||(1 + lam) grad f*||^2,
    and in ``extras`` the solver counters (cumulative ``newton_steps``, ``cholesky``,
    ``cg_iterations``; the last Newton ``decrement``) and the ``duality_gap`` certifying the
    KALE value at each snapshot.
    """
    X0 = as_samples(X0, "X0")
    Y = as_samples(Y, "Y")
    same_dimension(X0, Y, "X0", "Y")
    _check_kernel(kernel)
    lam = positive(lam, "lam")
    positive(step, "step")
    positive_int(n_steps, "n_steps")
    field = KaleVelocity(Y, kernel, lam, tol=tol, fast=fast)
    result = run_flow(
        field,
        X0,
        step,
        n_steps,
        noise=noise,
        rng=rng,
        record_every=record_every,
        progress=progress,
        desc=f"KALE flow (lam={lam:g})",
    )
    result.extras["duality_gap"] = np.asarray(field.duality_gaps)
    return result


# ---------------------------------------------------------------------------------------------
# KALE with weighted particles, its first variation, and the rate of the slide
# ---------------------------------------------------------------------------------------------


def kale_weighted(X, weights, Y, kernel: Kernel, lam: float, tol: float = 1e-12):
    """KALE_lam(nu || nu*) for nu = sum_j a_j delta_{x_j} (weights a, any sign) and nu* on Y.

    Only kbar_i = sum_j a_j k(y_i, x_j) and c = a^T K_XX a change with the weights; the dual is
    solved by :func:`kernelflows.kale.solve_kale_dual`. Returns ``(value, witness values at X)``
    where the witness is f*, so that (1 + lam) f*(x_j) is the first variation at x_j. Builds
    the full Gram matrices: for the small checks of the tests and the lecture.
    """
    X = as_samples(X, "X")
    Y = as_samples(Y, "Y")
    same_dimension(X, Y)
    _check_kernel(kernel)
    lam = positive(lam, "lam")
    a = np.asarray(weights, dtype=float)
    if a.shape != (len(X),) or not np.all(np.isfinite(a)):
        raise ValueError(f"weights must be a finite vector of shape ({len(X)},)")
    K_yx = kernel(Y, X)
    K_xx = kernel(X, X)
    kbar = K_yx @ a
    c = float(a @ K_xx @ a)
    sol = solve_kale_dual(kernel(Y, Y), kbar, c, lam, tol=tol, max_iter=200)
    f_x = (K_xx @ a - K_yx.T @ sol.alpha) / lam
    return sol.value, f_x


def kale_first_variation_check(X, Y, kernel: Kernel, lam: float, direction, eps: float = 1e-5):
    """d/d eps KALE_lam(nu + eps xi) at 0 by central differences, and (1 + lam) int f* d xi.

    nu = (1/n) sum_j delta_{x_j}, xi = sum_j c_j delta_{x_j} (``direction`` = c, of total mass
    zero). Slide "Wasserstein gradient flow on KALE": by the envelope argument the derivative
    only sees the explicit linear term E_nu f, so it is (1 + lam) sum_j c_j f*(x_j).
    Returns ``(finite_difference, formula)``.
    """
    X = as_samples(X, "X")
    c = np.asarray(direction, dtype=float)
    if c.shape != (len(X),) or not np.all(np.isfinite(c)):
        raise ValueError(f"direction must be a finite vector of shape ({len(X)},)")
    if abs(c.sum()) > 1e-12 * max(1.0, np.abs(c).sum()):
        raise ValueError("direction must sum to zero (a perturbation of a probability measure)")
    eps = positive(eps, "eps")
    base = np.full(len(X), 1.0 / len(X))
    _, f_x = kale_weighted(X, base, Y, kernel, lam)
    up, _ = kale_weighted(X, base + eps * c, Y, kernel, lam)
    down, _ = kale_weighted(X, base - eps * c, Y, kernel, lam)
    lam = float(lam)
    return (up - down) / (2.0 * eps), float((1.0 + lam) * (c @ f_x))


def kale_sobolev_lower_bound(result: FlowResult):
    """S_eff = KALE / sqrt(mean ||(1 + lam) grad f*||^2) at each snapshot of a KALE flow.

    Since exp(f) >= 1 + f and the penalty is >= 0, KALE_lam <= (1 + lam)(E_nu f* - E_nu* f*)
    <= (1 + lam) S(nu* | nu) ||grad f*||_{L2(nu)} (definition of S, slide "Consistency (2)").
    So S(nu* | nu_t) >= S_eff(t): the smallest S for which that step holds at time t.
    """
    return np.asarray(result.loss) / np.sqrt(np.asarray(result.grad_sq_norm))


def kale_lojasiewicz_bound(kale0: float, t, S: float):
    """KALE(nu_t) <= 1 / (KALE(nu_0)^-1 + t / S^2) when S(nu* | nu_s) <= S for all s <= t.

    Derivation: d/dt KALE = -(1 + lam)^2 E ||grad f*||^2 along the flow (velocity -(1 + lam)
    grad f*), and KALE^2 <= S^2 (1 + lam)^2 E ||grad f*||^2 (see
    :func:`kale_sobolev_lower_bound`), so d(1 / KALE)/dt >= 1 / S^2. The slide "Consistency (2)"
    writes 1 / (KALE_0^-1 + C^-1 t) with S <= C: its C stands for the bound on S^2 (Glaser,
    Arbel, Gretton, NeurIPS 2021, Proposition 3 has the same structure). ``S`` may be an array
    (e.g. the running maximum of :func:`kale_sobolev_lower_bound`) broadcasting with ``t``.
    """
    kale0 = positive(kale0, "kale0")
    S = np.asarray(S, dtype=float)
    if not np.all(np.isfinite(S)) or np.any(S <= 0):
        raise ValueError("S must be positive and finite (a number or an array broadcasting with t)")
    return 1.0 / (1.0 / kale0 + np.asarray(t, dtype=float) / S**2)


# ---------------------------------------------------------------------------------------------
# The KL flow, for comparison: the unadjusted Langevin algorithm on a known density
# ---------------------------------------------------------------------------------------------


class KLVelocity:
    """The KL flow's drift grad log pi (the engine adds the diffusion sqrt(2 step) u).

    The Wasserstein gradient flow of KL(nu || pi) is d_t nu = div(nu grad log(nu / pi)), the
    Fokker-Planck equation of the Langevin diffusion dX = grad log pi(X) dt + sqrt(2) dW; its
    Euler-Maruyama scheme is the unadjusted Langevin algorithm (talk, slide "Wasserstein gradient
    flow on KALE": the comparison "linear rate for Wasserstein-2 flow on KL"). ``loss`` is the
    potential energy E_nu[-log pi] when ``log_density`` is given (the entropy part of the KL is
    not available from particles), else NaN.
    """

    def __init__(self, grad_log_density, log_density=None):
        if not callable(grad_log_density):
            raise ValueError("grad_log_density must be callable: (n, d) -> (n, d)")
        if log_density is not None and not callable(log_density):
            raise ValueError("log_density must be callable: (n, d) -> (n,) or None")
        self.grad_log_density = grad_log_density
        self.log_density = log_density

    def init(self, particles):
        return None

    def __call__(self, particles, state=None, at=None):
        return self.grad_log_density(particles if at is None else at), {}

    def loss(self, particles, state=None) -> float:
        if self.log_density is None:
            return float("nan")
        return float(-np.mean(self.log_density(particles)))


def kl_flow(
    X0,
    grad_log_density,
    step: float,
    n_steps: int,
    log_density=None,
    rng=None,
    record_every: int | None = None,
    progress: bool = False,
) -> FlowResult:
    """The KL flow by unadjusted Langevin: X <- X + step grad log pi(X) + sqrt(2 step) u.

    Run on the engine of :mod:`.flows` as a drift plus a diffusion of constant level
    beta = sqrt(2 step). Under a log-Sobolev inequality with constant rho, the continuous flow
    has d/dt KL(nu_t || pi) <= -2 rho KL(nu_t || pi) (talk, slide "Consistency (2)"; see
    :func:`gaussian_kl_flow` for the closed form in the Gaussian case); the scheme adds a bias
    of order step.
    """
    step = positive(step, "step")
    field = KLVelocity(grad_log_density, log_density)
    return run_flow(
        field,
        X0,
        step,
        n_steps,
        noise=math.sqrt(2.0 * step),
        diffusion=True,
        rng=rng,
        record_every=record_every,
        progress=progress,
        desc="KL flow (ULA)",
    )


def gaussian_kl_flow(t, mean0, var0: float, sigma2: float = 1.0):
    """KL(nu_t || N(0, sigma2 I)) along the KL flow from nu_0 = N(mean0, var0 I), in closed form.

    The Fokker-Planck flow towards pi = N(0, sigma2 I) (the Ornstein-Uhlenbeck process) keeps
    Gaussians Gaussian: mean_t = mean0 exp(-t / sigma2), var_t = sigma2 + (var0 - sigma2)
    exp(-2 t / sigma2), and

        KL = |mean_t|^2 / (2 sigma2) + (d / 2) (var_t / sigma2 - 1 - log(var_t / sigma2)).

    pi satisfies a log-Sobolev inequality with rho = 1 / sigma2 (Bakry-Emery), and KL(nu_t) <=
    KL(nu_0) exp(-2 rho t): the mean term decays at exactly that rate, the variance term faster.
    Returns an array of KL values at the times ``t``.
    """
    t = np.asarray(t, dtype=float)
    mean0 = np.atleast_1d(np.asarray(mean0, dtype=float))
    var0 = positive(var0, "var0")
    sigma2 = positive(sigma2, "sigma2")
    d = len(mean0)
    mean_sq = float(mean0 @ mean0) * np.exp(-2.0 * t / sigma2)
    ratio = 1.0 + (var0 / sigma2 - 1.0) * np.exp(-2.0 * t / sigma2)
    return mean_sq / (2.0 * sigma2) + 0.5 * d * (ratio - 1.0 - np.log(ratio))


def gaussian_kl_to_isotropic(mean, cov, sigma2: float = 1.0) -> float:
    """KL(N(mean, cov) || N(0, sigma2 I)) = 1/2 [tr(cov)/sigma2 + |mean|^2/sigma2 - d
    + d log sigma2 - log det cov]: with the mean and covariance of a particle cloud, a KL
    estimate for clouds that stay Gaussian (ULA on a Gaussian target keeps them Gaussian)."""
    mean = np.atleast_1d(np.asarray(mean, dtype=float))
    cov = np.atleast_2d(np.asarray(cov, dtype=float))
    d = len(mean)
    if cov.shape != (d, d):
        raise ValueError(f"cov must have shape ({d}, {d}), got {cov.shape}")
    sigma2 = positive(sigma2, "sigma2")
    sign, logdet = np.linalg.slogdet(cov)
    if sign <= 0:
        raise ValueError("cov must be positive definite")
    return 0.5 * float(
        np.trace(cov) / sigma2 + mean @ mean / sigma2 - d + d * math.log(sigma2) - logdet
    )


# ---------------------------------------------------------------------------------------------
# Measures of fit used by the experiments
# ---------------------------------------------------------------------------------------------


def max_distance_to_target(X, Y) -> float:
    """max_i min_j ||x_i - y_j||: how far the farthest particle is from the target's support."""
    X = as_samples(X, "X")
    Y = as_samples(Y, "Y")
    same_dimension(X, Y)
    from scipy.spatial import cKDTree

    dist, _ = cKDTree(Y).query(X)
    return float(dist.max())


def mmd_to_target(result: FlowResult, Y, kernel: Kernel) -> np.ndarray:
    """MMD(nu_k, nu*) (plug-in, not squared) at each snapshot of a flow: one yardstick for all."""
    Y = as_samples(Y, "Y")
    syy = kernel.total(Y)
    return np.array(
        [
            math.sqrt(max(2.0 * mmd_energy(X, Y, kernel, target_total=syy), 0.0))
            for X in result.trajectory
        ]
    )


# ---------------------------------------------------------------------------------------------
# The published experiments, from one call each
# ---------------------------------------------------------------------------------------------

#: Kernel of the three-rings experiment: s = 0.1 in the paper's exp(-|x - y|^2 / s).
THREE_RINGS_BANDWIDTH = math.sqrt(0.05)
#: The figure's columns (Glaser, Arbel, Gretton, NeurIPS 2021, Figure 1).
THREE_RINGS_FRAMES = (0, 1000, 15000, 49500)


def three_rings_experiment(
    n_steps: int = 50_000,
    record_every: int = 500,
    kale_lam: float = 0.001,
    kale_step: float = 1e-4,
    mmd_lam: float = 1e4,
    mmd_step: float = 1e-3,
    progress: bool = False,
):
    """Both runs of the three-rings figure at the published scale (EXPERIMENTS.md, section 1).

    KALE flow with lam = 0.001, step 1e-4, and the "MMD flow" as KALE flow with lam = 1e4,
    step 1e-3, 50,000 steps each, no noise, from the published source cloud
    (:func:`kernelflows.datasets.three_rings`), Gaussian kernel of bandwidth sqrt(0.05).
    Returns a dict with ``X0``, ``Y``, ``kernel``, the two :class:`FlowResult` under ``"kale"``
    and ``"mmd"``, the wall-clock ``seconds`` and ``cpu_seconds`` of each run, and
    ``max_distance`` (farthest final particle from the target) for each.
    """
    import time

    X0, Y = three_rings()
    kernel = GaussianKernel(THREE_RINGS_BANDWIDTH)
    out = {"X0": X0, "Y": Y, "kernel": kernel, "seconds": {}, "cpu_seconds": {}}
    out["max_distance"] = {}
    for name, lam, step in (("kale", kale_lam, kale_step), ("mmd", mmd_lam, mmd_step)):
        t0, c0 = time.perf_counter(), time.process_time()
        res = kale_flow(
            X0, Y, kernel, lam, step, n_steps, record_every=record_every, progress=progress
        )
        out["seconds"][name] = time.perf_counter() - t0
        out["cpu_seconds"][name] = time.process_time() - c0
        out[name] = res
        out["max_distance"][name] = max_distance_to_target(res.particles, Y)
    return out


#: Kernel of the mixture experiment: s = 0.5 in the paper's exp(-|x - y|^2 / s).
MIXTURE_BANDWIDTH = 0.5


def mixture_experiment(
    n_steps: int = 50_000,
    step: float = 1e-3,
    lams=(1e4, 0.1, 0.001),
    noise_lam: float = 0.1,
    beta: float = 0.3,
    record_every: int | None = None,
    rng=0,
    progress: bool = False,
):
    """The mixture-of-Gaussians experiment (EXPERIMENTS.md, section 2), measured by MMD.

    Target: 240 points of the four-Gaussian mixture; source: 240 points of N((-0.18, -0.18),
    0.2^2 I) (:func:`kernelflows.datasets.mixture_of_gaussians`); Gaussian kernel of bandwidth
    0.5; step 1e-3. Runs: the MMD flow; KALE flow for each lam in ``lams``; KALE flow with
    lam = ``noise_lam`` and constant noise injection ``beta``; the KL flow (unadjusted Langevin on
    the known mixture density, same step). Returns a dict with ``X0``, ``Y``, ``kernel``,
    ``runs`` (name -> FlowResult) and ``mmd`` (name -> MMD to the target at each snapshot, the
    common yardstick; the paper uses Sinkhorn distances instead).
    """
    rng = as_rng(rng)
    X0, Y = mixture_of_gaussians(rng=rng)
    kernel = GaussianKernel(MIXTURE_BANDWIDTH)
    runs = {}
    kw = dict(record_every=record_every, progress=progress)
    runs["MMD flow"] = mmd_flow(X0, Y, kernel, step, n_steps, **kw)
    for lam in lams:
        runs[f"KALE lam={lam:g}"] = kale_flow(X0, Y, kernel, lam, step, n_steps, **kw)
    runs[f"KALE lam={noise_lam:g}, noise {beta:g}"] = kale_flow(
        X0, Y, kernel, noise_lam, step, n_steps, noise=beta, rng=rng, **kw
    )
    runs["KL flow (ULA)"] = kl_flow(
        X0,
        lambda Z: mixture_grad_log_density(Z, MIXTURE_MEANS, MIXTURE_STD),
        step,
        n_steps,
        log_density=lambda Z: mixture_log_density(Z, MIXTURE_MEANS, MIXTURE_STD),
        rng=rng,
        **kw,
    )
    mmd = {name: mmd_to_target(res, Y, kernel) for name, res in runs.items()}
    return {"X0": X0, "Y": Y, "kernel": kernel, "runs": runs, "mmd": mmd}
