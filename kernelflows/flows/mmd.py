"""The MMD gradient flow (Arbel, Korba, Salim, Gretton, NeurIPS 2019).

Talk, slides "Wasserstein gradient flow on MMD" to "Noise injected MMD flow in practice".

Convention (stated once, used everywhere in the package): the energy is
F(nu) = 1/2 MMD^2(nu, nu*), with nu the particles and nu* the target. Its first variation is the
(unnormalised) witness

    f(z) = f_{nu*, nu}(z) = mu_nu(z) - mu_nu*(z) = E_{X ~ nu} k(X, z) - E_{Y ~ nu*} k(Y, z),

and particles move with velocity -grad f(z): attracted by the data (confinement, the -mu_nu*
term) and repelled by each other (interaction, the mu_nu term). The slide "Wasserstein gradient
flow on MMD" writes f = 2 (mu_nu* - mu_nu): a factor 2 too many and the opposite sign; its flow
d_t nu = div(nu grad f) then needs our sign to be a descent (lecture 03 checks this numerically).
"""

from __future__ import annotations

import numpy as np

from .._validation import as_samples, same_dimension
from ..divergences.mmd import mmd_velocity
from ..kernels import Kernel, check_kernel
from .engine import FieldStep, flow_entry_point
from .record import FlowResult
from .sliced import SlicedMMDVelocity

__all__ = ["MMDVelocity", "mmd_flow", "mmd2_along"]


class MMDVelocity:
    """The MMD flow's velocity field -grad f, f = mu_nu - mu_nu* (no state):
    :func:`~kernelflows.divergences.mmd_velocity` with the target Y and the kernel bound.

    With ``record=True`` the loss F = 1/2 MMD^2 (plug-in) comes from the kernel values the
    velocity already computes (the target's own sum is computed once, here).
    """

    name = "F = MMD^2 / 2"

    def __init__(self, Y, kernel: Kernel):
        self.target = as_samples(Y, "Y").copy()
        self.target.setflags(write=False)
        self.kernel = check_kernel(kernel)
        self.target_total = float(self.kernel.total(self.target))

    def init(self, particles):
        same_dimension(as_samples(particles, "X0"), self.target, "X0", "Y")
        return None

    def __call__(self, particles, state=None, at=None, record: bool = False) -> FieldStep:
        return mmd_velocity(
            particles,
            self.target,
            self.kernel,
            at=at,
            record=record,
            target_total=self.target_total,
        )


@flow_entry_point("MMD flow")
def mmd_flow(Y, kernel: Kernel) -> MMDVelocity:
    """The MMD gradient flow of particles X0 (n, d) towards target samples Y (m, d).

    ``mmd_flow(X0, Y, kernel, *, step, n_steps, noise=0.0, rng=None, record_every=None,
    progress=False)``: forward Euler for the Wasserstein-2 gradient flow of
    F(nu) = 1/2 MMD^2(nu, nu*),

        X_{n+1} = X_n - step * grad f_{nu*, nu_n}(X_n + beta_n u_n),  f = mu_nu - mu_nu*,

    with u_n ~ N(0, I) (noise injection, Section 3 of Arbel, Korba, Salim, Gretton, NeurIPS 2019;
    ``noise=0`` gives the plain scheme of the slide "Wasserstein gradient flow on the MMD").
    ``noise`` is a number or a schedule (noise injection) or a perturbation object
    (:class:`~kernelflows.flows.Diffusion` for the baseline X_{n+1} = X_n - step grad f(X_n) +
    beta_n u_n). Velocities are computed in blocks (memory bounded in n and m). The result's
    ``loss`` is F = MMD^2 / 2 (plug-in); :func:`mmd2_along` gives MMD^2. For the energy kernel
    at large n, :func:`~kernelflows.flows.sliced_mmd_flow` estimates the same velocity by
    sorting projections.
    """
    return MMDVelocity(Y, kernel)


def mmd2_along(result: FlowResult) -> np.ndarray:
    """MMD^2 = 2 F at each snapshot of an MMD flow (an error for a flow of another loss).

    For a sliced flow this is the sliced estimate of MMD^2 recorded by the flow.
    """
    if not isinstance(result.field, (MMDVelocity, SlicedMMDVelocity)):
        raise ValueError(f"mmd2_along needs an MMD flow's result, got a flow of {result.loss_name}")
    return 2.0 * np.asarray(result.loss)
