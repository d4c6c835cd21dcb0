"""The one velocity contract: what every velocity of the package returns, and its mean square.

Every velocity, a divergence's primitive (:func:`~kernelflows.divergences.mmd_velocity`,
:func:`~kernelflows.divergences.sliced_velocity`, :func:`~kernelflows.divergences.svgd_velocity`,
:func:`~kernelflows.divergences.ksd_velocity`) or a flow's velocity field
(:class:`kernelflows.flows.VelocityField`), is called the same way::

    velocity(X, <the target: samples Y, or an object with a score>, <kernel>, *, at=None,
             record=False, <options>)        (a field: field(X, state, at=None, record=False))

and returns a :class:`FieldStep`: the velocity of the field built from the particles X at the
points ``at`` (default: at X itself; noise injection evaluates it at X + beta u), and, with
``record=True``, the loss at X and the velocity at X, from the same kernel sums where they can
be shared. The mean squared speed of a velocity is :func:`mean_speed2`, the one function that
computes it.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

import numpy as np

from .._validation import as_samples, flag, same_dimension

__all__ = ["FieldStep", "checked_points", "evaluated_step", "mean_speed2"]


@dataclass(frozen=True)
class FieldStep:
    """One evaluation of a velocity.

    ``velocity`` : (len(at), d) the velocity at the evaluation points (``at``; default the
        particles).
    ``state`` : a velocity field's state after this evaluation (e.g. KALE's dual iterate).
    ``info`` : scalars of this evaluation, the same names at every step of a flow (e.g. a
        duality gap).
    ``loss`` : the loss at the particles (with ``record=True``; else None).
    ``particle_velocity`` : the velocity at the particles themselves, when it is not
        ``velocity`` (with ``record=True`` and ``at`` given; else None).
    """

    velocity: np.ndarray
    state: Any = None
    info: Mapping[str, float] = field(default_factory=dict)
    loss: float | None = None
    particle_velocity: np.ndarray | None = None

    def at_particles(self) -> np.ndarray:
        """The velocity at the particles: ``particle_velocity``, else ``velocity``."""
        return self.velocity if self.particle_velocity is None else self.particle_velocity


def mean_speed2(v) -> float:
    """The mean squared speed (1/n) sum_i ||v_i||^2 of velocities v of shape (n, d).

    Along a flow with velocity -grad f at the particles it is the dissipation rate
    -dF/dt = E ||grad f||^2 (talk, slide "Consistency (2)"). Computed in float64 whatever the
    dtype of v (a float32 flow's speeds are summed without its rounding).
    """
    v = np.asarray(v, dtype=np.float64)
    return float(np.mean(np.sum(v**2, axis=1)))


def checked_points(at, X: np.ndarray) -> np.ndarray | None:
    """``at`` checked against the particles X: an (n', d) array, or None (the particles)."""
    if at is None:
        return None
    at = as_samples(at, "at")
    same_dimension(at, X, "at", "X")
    return at


def evaluated_step(evaluate, at=None, record: bool = False, state=None, info=None) -> FieldStep:
    """The :class:`FieldStep` of a velocity whose work is one function of the evaluation points.

    ``evaluate(points, with_loss) -> (velocity, loss)`` gives the velocity at ``points`` (None:
    at the particles) and, with ``with_loss``, the loss at the particles from the same kernel
    sums. Unrecorded evaluations cost one call; a recorded one at other points two (the
    velocity at ``at``, and the loss and velocity at the particles).
    """
    info = {} if info is None else info
    if not flag(record, "record"):
        return FieldStep(evaluate(at, False)[0], state, info)
    v_x, loss = evaluate(None, True)
    if at is None:
        return FieldStep(v_x, state, info, loss=loss)
    return FieldStep(evaluate(at, False)[0], state, info, loss=loss, particle_velocity=v_x)
