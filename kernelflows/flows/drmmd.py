"""The DrMMD flow (Chen, Mustafi, Glaser, Korba, Gretton, Sriperumbudur, JMLR 2025).

The Wasserstein gradient flow of F = DrMMD_lam(nu || nu*) / 2 (the package's convention, as
F = MMD^2 / 2 for the MMD flow; :mod:`kernelflows.divergences.drmmd`): particles move with
velocity -grad f,

    f(z) = (1 + lam) / lam [ mu_nu(z) - mu_nu*(z) - sum_i a_i k(y_i, z) ],
    a = (K + m lam I)^-1 v,   v_i = (mu_nu - mu_nu*)(y_i),

the MMD flow's witness minus its projection on the target's span. Each step evaluates the kernel
between the particles and the target once and between the particles themselves once (by the
kernel's symmetric fast path: together the kernel values an MMD flow step evaluates; see
:class:`~kernelflows.divergences.drmmd.TargetFactorisation`) and solves once with the target's
factorisation, computed once before the flow (at a fixed lam, one product with
(K + m lam I)^-1, formed once); every solve is certified by its measured residual
(``FlowResult.step_info["residual"]``) or the flow stops with
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
    FUSED_MAX_ELEMENTS,
    RESIDUAL_TOL,
    DrMMDSolveError,
    TargetFactorisation,
    drmmd_value,
)
from ..kernels import Kernel
from .engine import FieldStep, flow_entry_point

__all__ = ["AdaptiveState", "DrMMDVelocity", "drmmd_flow"]


@dataclass(frozen=True)
class AdaptiveState:
    """The adaptive schedule's state: lam of the last step and DrMMD_{lam_0}(nu_0)."""

    lam: float
    initial_value: float


class DrMMDVelocity:
    """The DrMMD flow's velocity field -grad f (no state at a fixed lam; the adaptive schedule's
    lam travels in :class:`AdaptiveState`): :func:`~kernelflows.divergences.drmmd_velocity` with
    the target's factorisation computed once.

    With ``record=True`` the loss is F = DrMMD_lam / 2 at the particles (at the current lam),
    from the kernel values the velocity already computes. The step's information is the solve's
    ``residual``, and with the adaptive schedule ``lam`` and ``step_factor`` (step_k / step): the
    velocity returned is then -(step_k / step) grad f, so that the engine's
    X <- X + step * velocity takes the step step_k. The kernel values are held as one matrix or
    summed in tiles as :class:`~kernelflows.divergences.drmmd.TargetFactorisation` says
    (``max_elements``).
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
        self.lam = positive(lam, "lam")
        if not isinstance(adaptive, (bool, np.bool_)):
            raise ValueError(f"adaptive must be True or False, got {adaptive!r}")
        self.adaptive = bool(adaptive)
        self.min_step_factor = float(min_step_factor)
        self.factorisation = TargetFactorisation(Y, kernel, tol=tol, max_elements=max_elements)
        self.kernel = self.factorisation.kernel
        self.target = self.factorisation.target

    def init(self, particles):
        X = as_samples(particles, "X0")
        same_dimension(X, self.target, "X0", "Y")
        if not self.adaptive:
            return None
        sums = self.factorisation.sums(X, velocity=False, value=True)
        a, _ = self.factorisation.solve(sums.v, self.lam)
        value = drmmd_value(sums.mmd2, sums.v, a, self.lam)
        if not value > 0:
            raise ValueError(
                f"the adaptive schedule needs DrMMD > 0 at the start, got {value:.3g}: the "
                "particles already match the target"
            )
        return AdaptiveState(self.lam, value)

    def __call__(self, particles, state=None, at=None, record: bool = False) -> FieldStep:
        X, fact = particles, self.factorisation
        sums = fact.sums(X, velocity=at is None or record, value=record or self.adaptive)
        lam, factor, info = self.lam, 1.0, {}
        if self.adaptive:
            a, _ = fact.solve(sums.v, state.lam)
            ratio = drmmd_value(sums.mmd2, sums.v, a, state.lam) / state.initial_value
            lam = self.lam * math.sqrt(max(ratio, 0.0))
            if not lam > 0:
                raise DrMMDSolveError(
                    f"the adaptive schedule reached lam = {lam:.3g} (DrMMD ratio {ratio:.3g} to "
                    "the start): the particles match the target to rounding"
                )
            factor = max(lam / self.lam, self.min_step_factor)
            state = AdaptiveState(lam, state.initial_value)
            info = {"lam": lam, "step_factor": factor}
        return fact.field_step(
            X,
            sums,
            lam,
            at=at,
            record=record,
            scale=factor,
            info=info,
            reuse=not self.adaptive,
            state=state,
        )


def _desc(field: DrMMDVelocity) -> str:
    return f"DrMMD flow (lam={field.lam:g}{', adaptive' if field.adaptive else ''})"


@flow_entry_point(_desc)
def drmmd_flow(
    Y,
    kernel: Kernel,
    *,
    step: float,
    lam: float,
    adaptive: bool = False,
    min_step: float | None = None,
    tol: float = RESIDUAL_TOL,
) -> DrMMDVelocity:
    """The DrMMD gradient flow of particles X0 (n, d) towards target samples Y (m, d).

    ``drmmd_flow(X0, Y, kernel, *, step, n_steps, noise=0.0, rng=None, record_every=None,
    progress=False, lam, adaptive=False, min_step=None, tol=RESIDUAL_TOL)``: forward Euler for
    the Wasserstein-2 gradient flow of F = DrMMD_lam(nu || nu*) / 2:

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
    step. Returns a :class:`~.record.FlowResult` with ``loss`` = DrMMD_{lam_k} / 2 at the
    snapshots, the residual of every step in ``step_info["residual"]`` and, when adaptive, lam_k
    and step_k / step in ``step_info["lam"]`` and ``step_info["step_factor"]`` (``result.step``
    is the nominal ``step``; the velocities recorded are the steps taken divided by it).
    """
    floor = 0.0 if min_step is None else positive(min_step, "min_step") / step
    if floor and not adaptive:
        raise ValueError("min_step applies to the adaptive schedule only (adaptive=True)")
    return DrMMDVelocity(Y, kernel, lam, adaptive=adaptive, min_step_factor=floor, tol=tol)
