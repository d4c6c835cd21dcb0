"""The DrMMD flow (Chen, Mustafi, Glaser, Korba, Gretton, Sriperumbudur, JMLR 2025).

The Wasserstein gradient flow of F = DrMMD_lam(nu || nu*) / 2 (the package's convention, as
F = MMD^2 / 2 for the MMD flow; :mod:`kernelflows.divergences.drmmd`): particles move with
velocity -grad f,

    f(z) = (1 + lam) / lam [ mu_nu(z) - mu_nu*(z) - sum_i a_i k(y_i, z) ],
    a = (K + m lam I)^-1 v,   v_i = (mu_nu - mu_nu*)(y_i),

the MMD flow's witness minus its projection on the target's span. Each step is one evaluation of
the kernel between the particles and [particles; target] (as the MMD flow's) and one solve with
the target's factorisation, computed once before the flow; every solve is certified by its
residual (``FlowResult.step_info["residual"]``) or the flow stops with
:class:`~kernelflows.divergences.drmmd.DrMMDSolveError` at that step.

**The authors' step.** Their code moves particles by Y <- Y - (lam step_size) grad h, where h = 2 f
is the first variation of DrMMD itself (not of DrMMD / 2): their ``--step_size s`` is
``step = 2 lam s`` here (``--lmbda 0.001 --step_size 0.1``: step = 2e-4). Their MMD baseline
(``--flow mmd``) is scaled by ``--lmbda`` as well, with h the MMD witness mu_nu - mu_nu*
(F = MMD^2 / 2): step = lam s there (1e-4 with the same flags).

**The adaptive schedule** (``adaptive=True``): the paper's adaptive de-regularization, in the form
the authors' code implements it (and the form matched against it here): after each step the
regularisation is reset from the ratio of DrMMD values,

    lam_{k+1} = lam_0 sqrt( DrMMD_{lam_k}(nu_{k+1}) / DrMMD_{lam_0}(nu_0) ),

so lam falls as the particles approach the target (the flow moves towards the chi^2 regime), and
the step follows lam as the authors' does: step_k = step * lam_k / lam_0 (their learning rate
lam_k s). Their code also floors that learning rate at 1e-4, i.e. step_k >= 2e-4 here:
``min_step=2e-4`` reproduces it (``min_step=None``: no floor, the schedule alone). One
factorisation serves every lam (the target's eigendecomposition); a step solves twice, once at
lam_k to evaluate the ratio and once at lam_{k+1} for the velocity.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import numpy as np

from .._validation import as_samples, positive, same_dimension
from ..divergences.drmmd import (
    RESIDUAL_TOL,
    DrMMDSolveError,
    TargetFactorisation,
    drmmd_value,
    drmmd_weights,
)
from ..divergences.velocity import FieldStep
from ..kernels import Kernel, check_kernel
from .engine import FlowResult, run_flow

__all__ = ["AdaptiveState", "DrMMDVelocity", "FUSED_MAX_ELEMENTS", "drmmd_flow"]

#: The particles' kernel values k(X, [X; Y]) are held as one matrix (one exponential per pair
#: gives v, the value and the velocity) up to this many entries; above it two tiled, threaded
#: passes of the kernel's ``sums_and_grad`` are faster (v, then the velocity with the MMD flow's
#: symmetric fast path). Measured (CPU time per field call, bench/bench_drmmd.py): at n = m = 300
#: (1.8e5 entries) one matrix 0.74 ms, two passes 1.05 ms; at n = m = 1000 (2e6 entries) 12.1 ms
#: and 7.0 ms (the MMD flow's step: 0.43 ms and 2.9 ms).
FUSED_MAX_ELEMENTS = 2**18


@dataclass(frozen=True)
class AdaptiveState:
    """The adaptive schedule's state: lam of the last step and DrMMD_{lam_0}(nu_0)."""

    lam: float
    initial_value: float


class DrMMDVelocity:
    """The DrMMD flow's velocity field -grad f (no state at a fixed lam; the adaptive schedule's
    lam travels in :class:`AdaptiveState`).

    With ``record=True`` the loss is F = DrMMD_lam / 2 at the particles (at the current lam),
    from the kernel values the velocity already computes. The step's information is the solve's
    ``residual``, and with the adaptive schedule ``lam`` and ``step_factor`` (step_k / step): the
    velocity returned is then -(step_k / step) grad f, so that the engine's
    X <- X + step * velocity takes the step step_k.

    A kernel whose gradient follows from its values (``grad_from_gram``, the Gaussian) holds
    k(X, [X; Y]) as one matrix while it has at most ``max_elements`` entries
    (:data:`FUSED_MAX_ELEMENTS`); otherwise, and for other kernels, two passes of the kernel's
    ``sums_and_grad`` give v and the velocity.
    """

    name = "F = DrMMD / 2"

    def __init__(
        self,
        Y,
        kernel: Kernel,
        lam: float,
        *,
        adaptive: bool = False,
        min_step_factor: float = 0.0,
        tol: float = RESIDUAL_TOL,
        max_elements: int = FUSED_MAX_ELEMENTS,
    ):
        self.kernel = check_kernel(kernel)
        self.lam = positive(lam, "lam")
        if not isinstance(adaptive, (bool, np.bool_)):
            raise ValueError(f"adaptive must be True or False, got {adaptive!r}")
        self.adaptive = bool(adaptive)
        self.min_step_factor = float(min_step_factor)
        self.factorisation = TargetFactorisation(Y, self.kernel, tol=tol)
        self.target = self.factorisation.target
        self.max_elements = int(max_elements)

    def _sums(self, X, need_gram: bool, need_xx: bool):
        """(K = k(X, [X; Y]) or None, v, sum_jj' k(x_j, x_j') or None, sum_ji k(x_j, y_i))."""
        n, Y = len(X), self.target
        if need_gram and n * (n + len(Y)) <= self.max_elements:
            K = self.kernel.flow_gram(X, np.concatenate([X, Y]))
            col = K[:, n:].sum(axis=0)  # k symmetric: sum over x of k(x, y_i)
            xx = float(K[:, :n].sum())
        else:  # the kernel's tiled, threaded sums over the rows [X; Y] (or Y) against X
            K = None
            Z = np.concatenate([X, Y]) if need_xx else Y
            S = self.kernel.sums_and_grad(Z, X, np.ones((n, 1)))[0][:, 0]
            col = S[len(Z) - len(Y) :]
            xx = float(S[:n].sum()) if need_xx else None
        return K, col / n - self.factorisation.target_mean, xx, float(col.sum())

    def _grad(self, Z, C, K, w, head: bool) -> np.ndarray:
        if K is not None:
            return self.kernel.grad_from_gram(Z, C, K, w)
        return self.kernel.sums_and_grad(Z, C, w[:, None], z_is_head=head)[1]

    def init(self, particles):
        X = as_samples(particles, "X0")
        same_dimension(X, self.target, "X0", "Y")
        if not self.adaptive:
            return None
        _, v, xx, xy = self._sums(X, False, True)
        a, _ = self.factorisation.solve(v, self.lam)
        value = drmmd_value(self.factorisation.mmd2(xx, xy, len(X)), v, a, self.lam)
        if not value > 0:
            raise ValueError(
                f"the adaptive schedule needs DrMMD > 0 at the start, got {value:.3g}: the "
                "particles already match the target"
            )
        return AdaptiveState(self.lam, value)

    def __call__(self, particles, state=None, at=None, record: bool = False) -> FieldStep:
        X, fact = particles, self.factorisation
        n = len(X)
        need_x = at is None or record  # the velocity at the particles themselves
        K, v, xx, xy = self._sums(X, need_x, record or self.adaptive)
        mmd2 = fact.mmd2(xx, xy, n) if xx is not None else None
        lam, factor, info = self.lam, 1.0, {}
        if self.adaptive:
            a, _ = fact.solve(v, state.lam)
            ratio = drmmd_value(mmd2, v, a, state.lam) / state.initial_value
            lam = self.lam * math.sqrt(max(ratio, 0.0))
            if not lam > 0:
                raise DrMMDSolveError(
                    f"the adaptive schedule reached lam = {lam:.3g} (DrMMD ratio {ratio:.3g} to "
                    "the start): the particles match the target to rounding"
                )
            factor = max(lam / self.lam, self.min_step_factor)
            state = AdaptiveState(lam, state.initial_value)
            info = {"lam": lam, "step_factor": factor}
        a, residual = fact.solve(v, lam)
        info["residual"] = residual
        w = drmmd_weights(a, n, lam) * factor
        C = np.concatenate([X, self.target])
        v_x = -self._grad(X, C, K, w, True) if need_x else None
        velocity = v_x if at is None else -self._grad(at, C, None, w, False)
        if not record:
            return FieldStep(velocity, state, info)
        return FieldStep(
            velocity,
            state,
            info,
            loss=0.5 * drmmd_value(mmd2, v, a, lam),
            particle_velocity=None if at is None else v_x,
        )


def drmmd_flow(
    X0,
    Y,
    kernel: Kernel,
    *,
    lam: float,
    step: float,
    n_steps: int,
    adaptive: bool = False,
    min_step: float | None = None,
    noise=0.0,
    rng=None,
    record_every: int | None = None,
    progress: bool = False,
    tol: float = RESIDUAL_TOL,
) -> FlowResult:
    """The DrMMD gradient flow of particles X0 (n, d) towards target samples Y (m, d).

    Forward Euler for the Wasserstein-2 gradient flow of F = DrMMD_lam(nu || nu*) / 2:

        X_{k+1} = X_k - step_k grad f_{nu_k}(X_k + beta_k u_k),   u_k ~ N(0, I),

    with f the first variation of F (module docstring) and ``noise`` as for the MMD flow (a
    number or schedule: noise injection; or a perturbation object). At a fixed lam
    (``adaptive=False``) step_k = ``step`` and the target's factorisation is computed once.
    ``adaptive=True`` follows the paper's schedule as the authors' code implements it: lam_k from
    the ratio of DrMMD values, step_k = max(step * lam_k / lam_0, ``min_step``) (module docstring;
    ``min_step=2e-4`` is the authors' floor).

    The authors' ``--lmbda lam --step_size s`` is ``lam=lam, step=2 * lam * s`` here (their h is
    the first variation of DrMMD, twice ours). Every solve is certified to a relative residual
    ``tol`` or the flow raises :class:`~kernelflows.divergences.drmmd.DrMMDSolveError` at that
    step. Returns a :class:`~.engine.FlowResult` with ``loss`` = DrMMD_{lam_k} / 2 at the
    snapshots, the residual of every step in ``step_info["residual"]`` and, when adaptive, lam_k
    and step_k / step in ``step_info["lam"]`` and ``step_info["step_factor"]`` (``result.step``
    is the nominal ``step``; the velocities recorded are the steps taken divided by it).
    """
    X0 = as_samples(X0, "X0")
    Y = as_samples(Y, "Y")
    same_dimension(X0, Y, "X0", "Y")
    step = positive(step, "step")
    floor = 0.0 if min_step is None else positive(min_step, "min_step") / step
    if floor and not adaptive:
        raise ValueError("min_step applies to the adaptive schedule only (adaptive=True)")
    field = DrMMDVelocity(Y, kernel, lam, adaptive=adaptive, min_step_factor=floor, tol=tol)
    return run_flow(
        field,
        X0,
        step=step,
        n_steps=n_steps,
        noise=noise,
        rng=rng,
        record_every=record_every,
        progress=progress,
        desc=f"DrMMD flow (lam={field.lam:g}{', adaptive' if field.adaptive else ''})",
    )
