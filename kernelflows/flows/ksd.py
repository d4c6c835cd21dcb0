"""KSD descent (Korba, Aubin-Frankowski, Majewski, Ablin, ICML 2021), a score-based flow.

Issue "Beyond the talk", part "Score-based flows". The Wasserstein gradient flow of
F(nu) = KSD^2(nu | p) = E_{x, y ~ nu} u_p(x, y) (:mod:`kernelflows.divergences.stein`): its first
variation is 2 E_{y ~ nu} u_p(., y), and particles move with velocity

    v(x) = -grad_x 2 (1/n) sum_j u_p(x, x_j),

which at a particle x_i is -n times the gradient of the V-statistic KSD^2 in x_i. Unlike SVGD it
needs the Hessian of log p (``target.score_jacobian``) and third derivatives of the kernel.
"""

from __future__ import annotations

from .._validation import as_samples
from ..divergences.stein import check_ksd_kernel, check_target, ksd_velocity
from ..kernels import Kernel, check_kernel
from .engine import FieldStep, FlowResult, evaluated_step, run_flow

__all__ = ["KSDVelocity", "ksd_descent"]


class KSDVelocity:
    """The velocity of KSD descent (no state); the loss KSD^2 comes from the same kernel values."""

    name = "KSD^2"

    def __init__(self, target, kernel: Kernel):
        self.target = check_target(target, jacobian=True)
        self.kernel = check_ksd_kernel(check_kernel(kernel))

    def init(self, particles):
        return None

    def __call__(self, particles, state=None, at=None, record: bool = False) -> FieldStep:
        def evaluate(points, with_loss):
            if with_loss:
                return ksd_velocity(particles, self.target, self.kernel, points, with_ksd2=True)
            return ksd_velocity(particles, self.target, self.kernel, points), None

        return evaluated_step(evaluate, at, record)


def ksd_descent(
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
    """KSD descent of particles X0 (n, d): forward Euler X <- X + step * v(X) (module docstring).

    ``target`` has ``score(X) -> (n, d)`` and ``score_jacobian(X) -> (n, d, d)`` (e.g. a
    :class:`kernelflows.GaussianMixture`); ``kernel`` is a GaussianKernel or an IMQKernel (a
    ``ValueError`` otherwise). The result's ``loss`` is KSD^2 of the particles (V-statistic).

    Step convention: ours is the Wasserstein flow's time step, v = -n grad_{x_i} KSD^2. The
    authors' ``ksddescent`` package steps on the raw gradient of the V-statistic,
    x_i <- x_i - s grad_{x_i} KSD^2, so its step s is our step s / n.
    """
    X0 = as_samples(X0, "X0")
    return run_flow(
        KSDVelocity(target, kernel),
        X0,
        step=step,
        n_steps=n_steps,
        noise=noise,
        rng=rng,
        record_every=record_every,
        progress=progress,
        desc="KSD descent",
    )
