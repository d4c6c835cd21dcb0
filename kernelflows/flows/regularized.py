"""The Wasserstein gradient flow of an MMD-regularized f-divergence (a Moreau envelope).

Stein, Neumayer, Rux, Steidl (arXiv 2402.04613, 2024): the particles mu move down
D_{f,lam}(mu | nu) (:mod:`kernelflows.divergences.regularized`), whose first variation in mu is
the maximiser h* of its dual, so that, as in the paper and its code,

    X_{k+1} = X_k - step grad h*_{mu_k}(X_k).

**The KL case is KALE flow with a rescaled step.** D_{KL,lam} = KALE_lam / (1 + lam) with the
same witness, and KALE flow moves by -(1 + lam) grad f*, so ``regularized_flow(..., "kl",
lam=lam, step=s)`` is ``kale_flow(..., lam=lam, step=s / (1 + lam))``: the same trajectory
(tested), its loss KALE / (1 + lam).

The field is KALE flow's (:class:`~.kale.KaleVelocity`) with the entropy of the divergence in
the one Newton solver, warm-started from the previous step's dual. For an entropy with a
finite f'(infinity) (Jensen-Shannon, total variation, reverse KL) sigma may also charge the
particles where the witness reaches f'(infinity): the particles near that level get variables
of their own (:class:`~kernelflows.divergences.regularized.SingularPart`), rebuilt at every step
from the new kernel values, and the certificate checks the constraint at all of them.

**Against the authors' code** (``bench/compare_regularized_authors.py``; their numbers in
``tests/data/regularized_authors.json``): 100 steps of their three-circles flow (N = M = 300,
Gaussian kernel exp(-||x - y||^2 / (2 s)), s = 0.1, lam = 1, step 0.01) from their initial draw
end within 1e-8 of their particles with ``tol=1e-14``, for KL and Tsallis 2 and 3, and the values
D_{f,lam} along the way within 2e-8 relative.

**Which tolerance a match needs.** ``tol`` bounds each step's duality gap g, and so the witness's
error by sqrt(2 g / lam) in the RKHS norm: a square root, so a gap of 1e-9 (the default
:data:`~kernelflows.divergences.kale_newton.FLOW_TOL`) still allows a witness error of 4.5e-5,
and the trajectory drifts from the exact one by what these errors add up to over the steps.
Measured on the three circles (KL): at the default the particles end 4.8e-7 from the authors'
and the values D_{f,lam} (0.04 to 0.28 here) differ by up to 1.8e-7, 2.0e-6 relative: a match
to 1e-6 needs the witness error near 1e-7, i.e. a gap near 1e-14, and the match tests pass
``tol=1e-14``. The default stays 1e-9 for flows: the error it allows in a step's velocity is
far below the step's own error (O(step)), and 1e-14 costs 1.8 times the Newton steps (185
against 102 over the 100 steps; about 20% more time per step, measured).

Where the time goes (``bench/bench_regularized.py``, the three circles, N = M = 300, lam = 1):
with an infinite f'(infinity) a step costs what a KALE flow step costs, 3 to 4 MMD flow steps
(1.1 warm Newton steps, a factorisation every twenty steps); Jensen-Shannon about 1.5 times that
(the check of the constraint at the particles); total variation there needs no Newton step (the
MMD witness divided by lam stays inside the box |h| <= 1/2, where sigma = nu is optimal).
"""

from __future__ import annotations

import numpy as np

from ..divergences.entropies import Separable
from ..divergences.kale_newton import FLOW_TOL, KaleNewton
from ..divergences.regularized import MAX_ITER, SingularPart, entropy_of
from ..kernels import Kernel
from .engine import flow_entry_point
from .kale import FAST_PATH_MAX_ELEMENTS, KaleVelocity

__all__ = ["RegularizedVelocity", "regularized_flow"]


class RegularizedVelocity(KaleVelocity):
    """The velocity field -grad h* of D_{f,lam}(. | nu*) (state: the solver's dual iterate).

    As :class:`~.kale.KaleVelocity`, with the divergence's entropy and the velocity's factor
    1/lam (times the certificate's scaling t of the witness) instead of (1 + lam)/lam. The step's
    information is the certified ``duality_gap`` and the solver's counters; with ``record=True``
    the loss is D_{f,lam} at the particles.
    """

    def __init__(
        self,
        Y,
        kernel: Kernel,
        divergence,
        *,
        lam: float,
        tol: float = FLOW_TOL,
        max_iter: int = MAX_ITER,
        max_elements: int = FAST_PATH_MAX_ELEMENTS,
    ):
        super().__init__(Y, kernel, lam=lam, tol=tol, max_iter=max_iter, max_elements=max_elements)
        self.entropy = entropy_of(divergence)
        self.name = f"D_(f,lam), f = {self.entropy.name}"
        self.finite = self.entropy.bound < np.inf
        self.tol, self.max_iter = tol, max_iter
        self.scale = 1.0 / self.lam
        m = len(self.target)
        if self.finite:
            self.K_yy = self.solver.K
            self.solver = None
        else:
            sep = Separable([(self.entropy, m, 1.0 / m)])
            self.solver = KaleNewton(
                self.solver.K,
                lam=self.lam,
                tol=tol,
                reuse=True,
                separable=sep,
                scale=1.0,
                max_iter=max_iter,
            )

    def _solve(self, X, K, kbar, c, state):
        if not self.finite:
            state, _, w, _, solver = super()._solve(X, K, kbar, c, state)
            return state, state, w, state.t * self.scale, solver
        n, m = len(X), len(self.target)
        if K is None:
            K_xx, K_xy = self.kernel(X, X), self.kernel(X, self.target)
        else:
            K_xx, K_xy = K[:, :n], K[:, n:]
        part = SingularPart(self.entropy, self.K_yy, K_xy.T, K_xx, kbar, self.lam)
        dual, old = state if state is not None else (None, None)
        dual, active, solver = part.solve(
            tol=self.tol, max_iter=self.max_iter, start=dual, old=old, reuse=True
        )
        z = dual.alpha
        singular = np.zeros(n)
        singular[active] = z[m:]
        w = np.concatenate([1.0 / n - singular, -z[:m]])
        return (dual, active), dual, w, dual.t * self.scale, solver


@flow_entry_point(lambda field: f"{field.entropy.name} regularized flow (lam={field.lam:g})")
def regularized_flow(
    Y, kernel: Kernel, divergence, *, lam: float, tol: float = FLOW_TOL, max_iter: int = MAX_ITER
) -> RegularizedVelocity:
    """The gradient flow of D_{f,lam}(. | nu*) from particles X0 (n, d) towards samples Y (m, d).

    ``regularized_flow(X0, Y, kernel, divergence, *, step, n_steps, noise=0.0, rng=None,
    record_every=None, progress=False, lam, tol=FLOW_TOL, max_iter=MAX_ITER)``:

        X_{k+1} = X_k - step grad h*_{nu_k}(X_k + beta_k u_k),   u_k ~ N(0, I),

    ``divergence`` as for :func:`~kernelflows.divergences.regularized_divergence`; ``noise`` as
    for the MMD flow (noise injection). Every step's solve is certified to a duality gap of
    ``tol`` (times max(1, value)) within ``max_iter`` Newton steps, or the flow raises
    :class:`~kernelflows.divergences.KaleConvergenceError` naming the step. The default suits a
    flow; matching another code's trajectory to 1e-6 needs ``tol=1e-14`` (module docstring:
    the witness's error is the square root of the gap's). The KL case is
    ``kale_flow`` with ``step / (1 + lam)``. Returns a :class:`~.record.FlowResult` with ``loss``
    = D_{f,lam} at the snapshots and the gap of every step in ``step_info["duality_gap"]``.
    """
    return RegularizedVelocity(Y, kernel, divergence, lam=lam, tol=tol, max_iter=max_iter)
