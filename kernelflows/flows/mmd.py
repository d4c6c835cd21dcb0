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
from ..divergences.mmd import mmd_velocity_and_energy
from ..kernels import EnergyKernel, Kernel, check_kernel
from .engine import FieldStep, FlowResult, evaluated_step, run_flow
from .sliced import SlicedMMDVelocity, sliced_mmd_flow

__all__ = ["MMDVelocity", "mmd_flow", "mmd2_along"]


class MMDVelocity:
    """The MMD flow's velocity field -grad f, f = mu_nu - mu_nu* (no state).

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
        return None

    def __call__(self, particles, state=None, at=None, record: bool = False) -> FieldStep:
        def evaluate(points, with_loss):  # the energy comes with the velocity at the particles
            return mmd_velocity_and_energy(
                particles, self.target, self.kernel, points, self.target_total
            )

        return evaluated_step(evaluate, at, record)


def mmd_flow(
    X0,
    Y,
    kernel: Kernel,
    *,
    step: float,
    n_steps: int,
    noise=0.0,
    rng=None,
    record_every: int | None = None,
    progress: bool = False,
    n_projections: int | None = None,
) -> FlowResult:
    """The MMD gradient flow of particles X0 (n, d) towards target samples Y (m, d).

    Forward Euler for the Wasserstein-2 gradient flow of F(nu) = 1/2 MMD^2(nu, nu*):

        X_{n+1} = X_n - step * grad f_{nu*, nu_n}(X_n + beta_n u_n),  f = mu_nu - mu_nu*,

    with u_n ~ N(0, I) (noise injection, Section 3 of Arbel, Korba, Salim, Gretton, NeurIPS 2019;
    ``noise=0`` gives the plain scheme of the slide "Wasserstein gradient flow on the MMD").
    ``noise`` is a number or a schedule (noise injection) or a perturbation object
    (:class:`~kernelflows.flows.Diffusion` for the baseline X_{n+1} = X_n - step grad f(X_n) +
    beta_n u_n). Velocities are computed in blocks (memory bounded in n and m). The result's
    ``loss`` is F = MMD^2 / 2 (plug-in); :func:`mmd2_along` gives MMD^2.

    ``n_projections=P`` (energy kernel only) runs the sliced flow of :mod:`.sliced`
    (Hertrich, Wald, Altekrueger, Hagemann, ICLR 2024): the unbiased sliced estimate of the same
    velocity from P random directions per step, one sort of n + m projections each,
    O(P (n + m) log(n + m)) per step; the loss is then the sliced estimate of F.
    """
    if n_projections is not None:
        if not isinstance(check_kernel(kernel), EnergyKernel):
            raise ValueError(
                "n_projections needs the EnergyKernel: the slicing identity "
                "||v|| = c_d E|<xi, v>| that makes the sliced velocity unbiased holds for the "
                f"energy kernel (Riesz, r = 1), not for {kernel!r}"
            )
        return sliced_mmd_flow(
            X0,
            Y,
            n_projections=n_projections,
            step=step,
            n_steps=n_steps,
            noise=noise,
            rng=rng,
            record_every=record_every,
            progress=progress,
        )
    X0 = as_samples(X0, "X0")
    Y = as_samples(Y, "Y")
    same_dimension(X0, Y, "X0", "Y")
    return run_flow(
        MMDVelocity(Y, kernel),
        X0,
        step=step,
        n_steps=n_steps,
        noise=noise,
        rng=rng,
        record_every=record_every,
        progress=progress,
        desc="MMD flow",
    )


def mmd2_along(result: FlowResult) -> np.ndarray:
    """MMD^2 = 2 F at each snapshot of an MMD flow (an error for a flow of another loss).

    For a sliced flow this is the sliced estimate of MMD^2 recorded by the flow.
    """
    if result.loss_name not in (MMDVelocity.name, SlicedMMDVelocity.name):
        raise ValueError(f"mmd2_along needs an MMD flow's result, got a flow of {result.loss_name}")
    return 2.0 * np.asarray(result.loss)
