"""Stein variational gradient descent (Liu and Wang, NeurIPS 2016), a score-based flow.

Issue "Beyond the talk", part "Score-based flows". Particles move along the Stein direction

    phi(x_i) = (1/n) sum_j [k(x_j, x_i) grad log p(x_j) + grad_{x_j} k(x_j, x_i)]:

the first term drives them up the target's density (smoothed by the kernel), the second keeps
them apart. phi is the steepest descent direction of KL(nu || p) in the unit ball of the RKHS
H^d, and ||phi||^2_{H^d} = KSD^2(nu | p) (:func:`kernelflows.divergences.ksd2`), the loss recorded.
"""

from __future__ import annotations

from .._validation import as_samples
from ..divergences.stein import check_target, stein_direction
from ..kernels import Kernel, check_kernel
from .engine import FieldStep, FlowResult, evaluated_step, run_flow

__all__ = ["SVGDVelocity", "svgd"]


class SVGDVelocity:
    """The SVGD direction of the particles, as a velocity field (no state).

    With ``record=True`` the loss KSD^2 (V-statistic) of the particles comes from the kernel
    values the direction already computes (at the particles; a second pass with noise injection).
    """

    name = "KSD^2"

    def __init__(self, target, kernel: Kernel):
        self.target = check_target(target)
        self.kernel = check_kernel(kernel)

    def init(self, particles):
        return None

    def __call__(self, particles, state=None, at=None, record: bool = False) -> FieldStep:
        def evaluate(points, with_loss):
            if with_loss:
                return stein_direction(particles, self.target, self.kernel, points, with_ksd2=True)
            return stein_direction(particles, self.target, self.kernel, points), None

        return evaluated_step(evaluate, at, record)


def svgd(
    X0,
    target,
    kernel: Kernel,
    *,
    step: float,
    n_steps: int,
    noise=0.0,
    rng=None,
    record_every: int | None = None,
    progress: bool = False,
) -> FlowResult:
    """SVGD of particles X0 (n, d) towards a target known by its score.

    Forward Euler X <- X + step * phi(X) on the Stein direction phi (module docstring), with
    ``target.score(X) -> (n, d)`` the score grad log p (e.g. a
    :class:`kernelflows.GaussianMixture`) and a kernel with :meth:`~kernelflows.Kernel.stein_parts`
    (Gaussian or IMQ). ``noise`` is the engine's perturbation (a number or schedule means noise
    injection: phi of the particles evaluated at X + beta u). The result's ``loss`` is KSD^2 of
    the particles (V-statistic). Cost O(n^2 d) per step, memory bounded in n.
    """
    X0 = as_samples(X0, "X0")
    return run_flow(
        SVGDVelocity(target, kernel),
        X0,
        step=step,
        n_steps=n_steps,
        noise=noise,
        rng=rng,
        record_every=record_every,
        progress=progress,
        desc="SVGD",
    )
