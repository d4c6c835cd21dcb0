"""The KL flow, for comparison: the unadjusted Langevin algorithm on a known density.

Talk, slide "Wasserstein gradient flow on KALE" (the comparison "linear rate for Wasserstein-2
flow on KL"): the Wasserstein gradient flow of KL(nu || pi) is the Fokker-Planck equation of the
Langevin diffusion; its Euler-Maruyama scheme is a drift grad log pi plus a diffusion.
"""

from __future__ import annotations

import math

import numpy as np

from .._validation import callback_output
from ..divergences.stein import check_target, check_target_dimension, target_score
from ..divergences.velocity import evaluated_step
from .engine import FieldStep, flow_entry_point
from .perturbations import Diffusion

__all__ = ["KLVelocity", "kl_flow"]


class KLVelocity:
    """The KL flow's drift grad log pi = ``target.score`` (the engine adds the diffusion
    sqrt(2 step) u; no state).

    The Wasserstein gradient flow of KL(nu || pi) is d_t nu = div(nu grad log(nu / pi)), the
    Fokker-Planck equation of the Langevin diffusion dX = grad log pi(X) dt + sqrt(2) dW; its
    Euler-Maruyama scheme is the unadjusted Langevin algorithm (talk, slide "Wasserstein gradient
    flow on KALE": the comparison "linear rate for Wasserstein-2 flow on KL"). ``target`` has
    ``score(X) -> (n, d)`` (e.g. a :class:`kernelflows.GaussianMixture`), like the targets of
    SVGD and KSD descent. ``loss`` is the potential energy E_nu[-log pi] when the target also
    has ``log_density(X) -> (n,)`` (the entropy part of the KL is not available from
    particles), else NaN.
    """

    name = "E[-log pi]"

    def __init__(self, target):
        self.target = check_target(target)

    def init(self, particles):
        check_target_dimension(self.target, particles)
        return None

    def __call__(self, particles, state=None, at=None, record: bool = False) -> FieldStep:
        def evaluate(points, with_loss):
            drift = target_score(self.target, particles if points is None else points)
            if not with_loss:
                return drift, None
            log_density = getattr(self.target, "log_density", None)
            if log_density is None:
                return drift, math.nan
            values = callback_output(
                log_density(particles), "target.log_density", (len(particles),), allow_neg_inf=True
            )
            return drift, float(-np.mean(values))

        return evaluated_step(evaluate, at, record)


@flow_entry_point("KL flow (ULA)", noise=lambda step: Diffusion(math.sqrt(2.0 * step)))
def kl_flow(target) -> KLVelocity:
    """The KL flow by unadjusted Langevin: X <- X + step grad log pi(X) + sqrt(2 step) u.

    ``kl_flow(X0, target, *, step, n_steps, rng=None, record_every=None, progress=False)``, with
    ``target.score`` the score grad log pi (and ``target.log_density`` for the recorded loss).
    Run on the engine as a drift plus a :class:`~.perturbations.Diffusion` of constant level
    beta = sqrt(2 step), so it has no ``noise`` option. Under a log-Sobolev inequality with
    constant rho, the continuous flow has d/dt KL(nu_t || pi) <= -2 rho KL(nu_t || pi) (talk,
    slide "Consistency (2)"; see :func:`kernelflows.theory.gaussian_kl_flow` for the closed form
    in the Gaussian case); the scheme adds a bias of order step.
    """
    return KLVelocity(target)
