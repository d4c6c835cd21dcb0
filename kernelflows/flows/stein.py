"""The score-based flows: SVGD and KSD descent, two velocity fields of one kind.

Issue "Beyond the talk", part "Score-based flows". Both move particles towards a target p known
by its score s = grad log p (``target.score(X) -> (n, d)``, e.g. a
:class:`kernelflows.GaussianMixture`), with a kernel with second derivatives, and record the loss
KSD^2(nu | p) (V-statistic, :mod:`kernelflows.divergences.stein`). They differ only in the
velocity:

* **SVGD** (Liu and Wang, NeurIPS 2016) moves along the Stein direction

      phi(x_i) = (1/n) sum_j [k(x_j, x_i) grad log p(x_j) + grad_{x_j} k(x_j, x_i)]:

  the first term drives the particles up the target's density (smoothed by the kernel), the
  second keeps them apart. phi is the steepest descent direction of KL(nu || p) in the unit ball
  of the RKHS H^d, and ||phi||^2_{H^d} = KSD^2(nu | p)
  (:func:`~kernelflows.divergences.svgd_velocity`);
* **KSD descent** (Korba, Aubin-Frankowski, Majewski, Ablin, ICML 2021) is the Wasserstein
  gradient flow of F(nu) = KSD^2(nu | p) = E_{x, y ~ nu} u_p(x, y): its first variation is
  2 E_{y ~ nu} u_p(., y), and particles move with velocity v(x) = -grad_x 2 (1/n) sum_j
  u_p(x, x_j), at a particle x_i -n times the gradient of the V-statistic KSD^2 in x_i
  (:func:`~kernelflows.divergences.ksd_velocity`). Unlike SVGD it needs the Hessian of log p
  (``target.score_jacobian``) and third derivatives of the kernel.
"""

from __future__ import annotations

from ..divergences.stein import (
    check_ksd_kernel,
    check_stein_kernel,
    check_target,
    check_target_dimension,
    ksd_velocity,
    svgd_velocity,
)
from ..kernels import Kernel
from .engine import FieldStep, flow_entry_point

__all__ = ["KSDVelocity", "SVGDVelocity", "ScoreVelocity", "ksd_descent", "svgd"]


class ScoreVelocity:
    """A score-based velocity field (no state): a velocity of :mod:`kernelflows.divergences.stein`
    with the target and the kernel bound. With ``record=True`` the loss KSD^2 of the particles
    comes from the kernel values the velocity already computes at the particles."""

    name = "KSD^2"
    #: the velocity, ``velocity(X, target, kernel, *, at, record) -> FieldStep``
    velocity = staticmethod(svgd_velocity)

    def __init__(self, target, kernel: Kernel):
        self.target = check_target(target)
        self.kernel = check_stein_kernel(kernel)

    def init(self, particles):
        check_target_dimension(self.target, particles)
        return None

    def __call__(self, particles, state=None, at=None, record: bool = False) -> FieldStep:
        return self.velocity(particles, self.target, self.kernel, at=at, record=record)


class SVGDVelocity(ScoreVelocity):
    """The SVGD direction of the particles, as a velocity field."""


class KSDVelocity(ScoreVelocity):
    """The velocity of KSD descent (the target needs ``score_jacobian``, the kernel three
    derivatives of its radial profile: Gaussian or IMQ)."""

    velocity = staticmethod(ksd_velocity)

    def __init__(self, target, kernel: Kernel):
        super().__init__(check_target(target, jacobian=True), check_ksd_kernel(kernel))


@flow_entry_point("SVGD")
def svgd(target, kernel: Kernel) -> SVGDVelocity:
    """SVGD of particles X0 (n, d) towards a target known by its score.

    ``svgd(X0, target, kernel, *, step, n_steps, noise=0.0, rng=None, record_every=None,
    progress=False)``: forward Euler X <- X + step * phi(X) on the Stein direction phi (module
    docstring), with ``target.score(X) -> (n, d)`` the score grad log p (e.g. a
    :class:`kernelflows.GaussianMixture`) and a kernel with
    :meth:`~kernelflows.Kernel.stein_parts` (Gaussian, IMQ or polynomial; a ``ValueError`` up
    front otherwise). ``noise`` is the engine's perturbation (a number or schedule means noise
    injection: phi of the particles evaluated at X + beta u). The result's ``loss`` is KSD^2 of
    the particles (V-statistic). Cost O(n^2 d) per step, memory bounded in n.
    """
    return SVGDVelocity(target, kernel)


@flow_entry_point("KSD descent")
def ksd_descent(target, kernel: Kernel) -> KSDVelocity:
    """KSD descent of particles X0 (n, d): forward Euler X <- X + step * v(X) (module docstring).

    ``ksd_descent(X0, target, kernel, *, step, n_steps, noise=0.0, rng=None, record_every=None,
    progress=False)``. ``target`` has ``score(X) -> (n, d)`` and ``score_jacobian(X) -> (n, d,
    d)`` (e.g. a :class:`kernelflows.GaussianMixture`); ``kernel`` is a GaussianKernel or an
    IMQKernel (a ``ValueError`` otherwise). The result's ``loss`` is KSD^2 of the particles
    (V-statistic).

    Step convention: ours is the Wasserstein flow's time step, v = -n grad_{x_i} KSD^2. The
    authors' ``ksddescent`` package steps on the raw gradient of the V-statistic,
    x_i <- x_i - s grad_{x_i} KSD^2, so its step s is our step s / n.
    """
    return KSDVelocity(target, kernel)
