"""The KL flow, for comparison: the unadjusted Langevin algorithm on a known density.

Talk, slide "Wasserstein gradient flow on KALE" (the comparison "linear rate for Wasserstein-2
flow on KL"): the Wasserstein gradient flow of KL(nu || pi) is the Fokker-Planck equation of the
Langevin diffusion; its Euler-Maruyama scheme is a drift grad log pi plus a diffusion.
"""

from __future__ import annotations

import math

import numpy as np

from .._validation import positive
from .engine import FieldStep, FlowResult, run_flow
from .perturbations import Diffusion

__all__ = ["KLVelocity", "kl_flow"]


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

    name = "E[-log pi]"

    def init(self, particles):
        return None

    def _drift(self, Z):
        v = np.asarray(self.grad_log_density(Z), dtype=np.float64)
        if v.shape != Z.shape:
            raise ValueError(f"grad_log_density returned shape {v.shape}, expected {Z.shape}")
        return v

    def __call__(self, particles, state=None, at=None, record: bool = False) -> FieldStep:
        v = self._drift(particles if at is None else at)
        if not record:
            return FieldStep(v)
        v_x = v if at is None else self._drift(particles)
        loss = math.nan
        if self.log_density is not None:
            loss = float(-np.mean(self.log_density(particles)))
        return FieldStep(v, loss=loss, speed2=float(np.mean(np.sum(v_x**2, axis=1))))


def kl_flow(
    X0,
    grad_log_density,
    *,
    step: float,
    n_steps: int,
    log_density=None,
    rng=None,
    record_every: int | None = None,
    progress: bool = False,
) -> FlowResult:
    """The KL flow by unadjusted Langevin: X <- X + step grad log pi(X) + sqrt(2 step) u.

    Run on the engine as a drift plus a :class:`~.perturbations.Diffusion` of constant level
    beta = sqrt(2 step). Under a log-Sobolev inequality with constant rho, the continuous flow
    has d/dt KL(nu_t || pi) <= -2 rho KL(nu_t || pi) (talk, slide "Consistency (2)"; see
    :func:`kernelflows.theory.gaussian_kl_flow` for the closed form in the Gaussian case); the
    scheme adds a bias of order step.
    """
    step = positive(step, "step")
    field = KLVelocity(grad_log_density, log_density)
    return run_flow(
        field,
        X0,
        step=step,
        n_steps=n_steps,
        noise=Diffusion(math.sqrt(2.0 * step)),
        rng=rng,
        record_every=record_every,
        progress=progress,
        desc="KL flow (ULA)",
    )
