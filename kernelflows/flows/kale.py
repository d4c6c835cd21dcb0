"""KALE flow: the Wasserstein gradient flow of the KALE (Glaser, Arbel, Gretton, NeurIPS 2021).

Talk, slides "Wasserstein gradient flow on KALE" to "KALE flow vs MMD flow in practice".

Convention (as in :mod:`kernelflows.divergences.kale`): the moving particles nu are P (the
linear term), the target nu* is Q (the exponential term), and

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
alpha > 0 solves the convex dual of :mod:`kernelflows.divergences.kale`. Along the flow alpha
moves little, and smoothly, from one step to the next, so each step warm-starts the one Newton
solver (:class:`~kernelflows.divergences.kale_newton.KaleNewton`) from the extrapolation of its
last two Newton-corrected solutions (:mod:`~kernelflows.divergences.kale_state`): where that
start is already certified the step takes no Newton step (three rings, lam = 1e-3: 0.10 Newton
steps per flow step, against 0.99 from the previous alpha). Every step's solve is certified by
its duality gap (recorded in ``FlowResult.step_info["duality_gap"]``), to ``tol`` and not
always beyond, or the flow stops with :class:`~kernelflows.divergences.KaleConvergenceError` at
that step.

Where the time goes (n = m = 240, d = 2, the three-rings scale; ``bench/bench_kale_flow.py``):
a Cholesky factorisation of the 240 x 240 Newton matrix and its inverse cost about three whole
flow steps, so the Newton systems are solved by conjugate gradients preconditioned with a
factorisation made at an earlier alpha (exact for the matrix it was made for, and close for
nearby alpha); a new factorisation is made only when alpha has drifted too far (70 in the
50,000 steps of the published KALE run). For the Gaussian kernel, one matrix product and one
exponential give the particles' kernel values against the particles and the target at once
(the kernel's ``grad_from_gram`` fast path), about half of a step; the target's Gram matrix is
computed once. The dual update is a tenth of a step where the extrapolated start certifies
(one product K alpha and the gap), about two fifths where it takes a Newton step (a tenth of
the steps of the published run); the velocity is about a sixth of a step.
"""

from __future__ import annotations

import numpy as np

from .._validation import as_samples, positive, same_dimension
from ..divergences.kale_newton import FLOW_TOL, MAX_ITER, KaleNewton
from ..divergences.mmd import signed_weights
from ..kernels import Kernel, check_kernel
from .engine import FieldStep, flow_entry_point

__all__ = ["FAST_PATH_MAX_ELEMENTS", "KaleVelocity", "kale_flow"]

#: The fused path holds the n x (n + m) kernel matrix of the particles; above this many
#: entries (32 MB) the blocked general path is used instead.
FAST_PATH_MAX_ELEMENTS = 2**22


class KaleVelocity:
    """The KALE flow's velocity field -(1 + lam) grad f* (state: the dual iterate).

    Each call re-solves the dual for the particles X, warm-started from ``state`` (a
    :class:`~kernelflows.divergences.kale_newton.DualState`; None: a cold start), never for
    ``at``, as noise injection needs; then

        -(1 + lam) grad f*(z) = -((1 + lam) / lam) sum_c w_c grad_z k(z, c),
        centres c = [X; Y], weights w = [1/n, ..., 1/n, -alpha_1, ..., -alpha_m].

    The step's information is the certified ``duality_gap`` and the cumulative solver counters
    (``newton_steps``, ``cholesky``, ``cg_iterations``). With ``record=True`` the loss is
    KALE_lam at X (the primal value at this step's alpha, within the gap of the optimum).

    While the n x (n + m) matrix k(X, [X; Y]) has at most ``max_elements`` entries and the
    velocity at the particles is needed, one kernel evaluation (the kernel's ``flow_gram``)
    gives kbar for the dual, c for the value and, through the kernel's ``grad_from_gram`` (the
    Gaussian's reuses the values), the velocity at the particles.
    """

    name = "KALE"

    def __init__(
        self,
        Y,
        kernel: Kernel,
        *,
        lam: float,
        tol: float = FLOW_TOL,
        max_iter: int = MAX_ITER,
        max_elements: int = FAST_PATH_MAX_ELEMENTS,
    ):
        self.target = as_samples(Y, "Y").copy()
        self.target.setflags(write=False)
        self.kernel = check_kernel(kernel)
        self.lam = positive(lam, "lam")
        self.scale = (1.0 + self.lam) / self.lam
        self.solver = KaleNewton(
            self.kernel(self.target),
            lam=self.lam,
            tol=tol,
            max_iter=max_iter,
            reuse=True,
            extrapolate=True,
        )
        self.max_elements = int(max_elements)

    def init(self, particles):
        """The first state: the dual solved cold for the particles (through :meth:`_solve`, so a
        field that solves another dual starts from its own)."""
        X = as_samples(particles, "X0")
        same_dimension(X, self.target, "X0", "Y")
        kbar = self.kernel.weighted_sum(self.target, X) / len(X)
        return self._solve(X, None, kbar, None, None)[0]

    def _solve(self, X, K, kbar, c, state):
        """The field's next state (warm-started from ``state``) and its certified dual, the
        weights w of the centres [X; Y], the factor s of the velocity -s sum_c w_c grad k(., c),
        and the solver (for the loss)."""
        state = self.solver.solve(kbar, start=state)  # certified, or KaleConvergenceError
        w = signed_weights(len(X), len(self.target), state.alpha)
        return state, state, w, self.scale, self.solver

    def __call__(self, particles, state=None, at=None, record: bool = False) -> FieldStep:
        X, Y, kernel = particles, self.target, self.kernel
        n, m = len(X), len(Y)
        C = np.concatenate([X, Y])
        need_x = at is None or record  # the velocity at the particles themselves
        K = None
        if need_x and n * (n + m) <= self.max_elements:
            K = kernel.flow_gram(X, C)
            kbar = K[:, n:].sum(axis=0) / n  # k symmetric: the means over x of k(x, y_i)
            c = float(K[:, :n].sum()) / n**2 if record else None  # only the loss needs it
        else:
            kbar = kernel.weighted_sum(Y, X) / n
            c = kernel.total(X) / n**2 if record else None
        state, dual, w, scale, solver = self._solve(X, K, kbar, c, state)
        v_x = None
        if K is not None:
            v_x = -scale * kernel.grad_from_gram(X, C, K, w)
        elif need_x:
            v_x = -scale * kernel.weighted_grad(X, C, w)
        velocity = v_x if at is None else -scale * kernel.weighted_grad(at, C, w)
        info = {
            "duality_gap": dual.gap,
            "newton_steps": dual.newton_steps,
            "cholesky": dual.cholesky,
            "cg_iterations": dual.cg_iterations,
        }
        if not record:
            return FieldStep(velocity, state, info)
        loss = solver.value(dual, c)
        return FieldStep(velocity, state, info, loss, None if at is None else v_x)


@flow_entry_point(lambda field: f"KALE flow (lam={field.lam:g})")
def kale_flow(
    Y, kernel: Kernel, *, lam: float, tol: float = FLOW_TOL, max_iter: int = MAX_ITER
) -> KaleVelocity:
    """The KALE gradient flow of particles X0 (n, d) towards target samples Y (m, d).

    ``kale_flow(X0, Y, kernel, *, step, n_steps, noise=0.0, rng=None, record_every=None,
    progress=False, lam, tol=FLOW_TOL, max_iter=MAX_ITER)``: forward Euler for
    d_t nu = (1 + lam) div(nu grad f*_{nu, nu*}) (the descent direction; see the module docstring
    on the slide's sign):

        X_{k+1} = X_k - step (1 + lam) grad f*_{nu_k, nu*}(X_k + beta_k u_k),   u_k ~ N(0, I),

    Glaser, Arbel, Gretton (NeurIPS 2021), Lemma 3 (the slide "The W2 gradient flow of the
    KALE") discretised in time and in particles; ``noise`` as for the MMD flow (a number or
    schedule: noise injection; or a perturbation object). Every step's dual solve is certified to
    a duality gap of ``tol`` (KALE units) within ``max_iter`` Newton steps, or the flow raises
    :class:`~kernelflows.divergences.KaleConvergenceError` naming the step. Returns a
    :class:`~.record.FlowResult` with ``loss`` = KALE_lam at the snapshots, ``speed2`` =
    mean ||(1 + lam) grad f*||^2, the gap of every step in ``step_info["duality_gap"]``.
    """
    return KaleVelocity(Y, kernel, lam=lam, tol=tol, max_iter=max_iter)
