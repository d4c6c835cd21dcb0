"""Perturbations of a flow step: noise injection (the paper's) and diffusion (the baseline).

Each holds a schedule beta_n (:mod:`.schedules`) and is used by the flow engine, which runs every
particle flow and the student-teacher training (:mod:`kernelflows.networks.training`):

* :class:`NoiseInjection`: evaluate the velocity at X + beta_n u, u ~ N(0, I), and move the
  unperturbed X: Z_{n+1} = Z_n - gamma grad f_{nu*, nu_n}(Z_n + beta_n u_n) (talk, slide "Noise
  injection to improve convergence"; Arbel, Korba, Salim, Gretton, NeurIPS 2019, Section 3);
* :class:`Diffusion`: move X with the velocity at X, then add beta_n u (the slide's "entropic
  regularization"; with beta = sqrt(2 gamma) it is the unadjusted Langevin step).

A number or a schedule where a perturbation is expected means noise injection at that level.
The noise u is drawn in the particles' dtype (:func:`standard_normal`).
"""

from __future__ import annotations

import math
import numbers
from dataclasses import dataclass

import numpy as np

from .._validation import nonnegative
from .schedules import Schedule, as_schedule

__all__ = ["Perturbation", "NoiseInjection", "Diffusion", "as_perturbation", "standard_normal"]


def standard_normal(rng: np.random.Generator, shape, dtype=np.float64) -> np.ndarray:
    """Independent N(0, 1) draws of ``shape`` in ``dtype`` from ``rng``.

    float64: ``rng.standard_normal`` (numpy's ziggurat). float32 (the student-teacher
    training): the Box-Muller transform of float32 uniforms u, v on multiples of 2^-24,
    sqrt(-2 log(1 - u)) (cos 2 pi v, sin 2 pi v), computed in float32, which is how the
    original code's PyTorch draws float32 noise on the CPU; three times faster than numpy's
    float32 ziggurat here (``bench/bench_networks.py``), and a stream of its own. Its tails stop
    at sqrt(2 log 2^24) = 5.77 (numpy's do not), a cut of probability below 1e-8.
    """
    if np.dtype(dtype) != np.float32:
        return rng.standard_normal(shape)
    n = math.prod(shape) if isinstance(shape, tuple) else int(shape)
    half = (n + 1) // 2
    u = rng.random(2 * half, dtype=np.float32)
    radius, angle = u[:half], u[half:]
    np.subtract(np.float32(1.0), radius, out=radius)  # in (0, 1]: its log is finite
    np.log(radius, out=radius)
    radius *= np.float32(-2.0)
    np.sqrt(radius, out=radius)
    angle *= np.float32(2.0 * math.pi)
    out = np.empty(2 * half, dtype=np.float32)
    np.cos(angle, out=out[:half])
    np.sin(angle, out=out[half:])
    out[:half] *= radius
    out[half:] *= radius
    return out[:n].reshape(shape)


@dataclass(frozen=True)
class Perturbation:
    """Base class: a schedule of noise levels, where the noise enters, and one draw of it."""

    schedule: Schedule

    def __post_init__(self):
        object.__setattr__(self, "schedule", as_schedule(self.schedule))

    def level(self, n: int) -> float:
        """beta_n, checked: a custom schedule must give a finite number >= 0."""
        beta = self.schedule(n)
        try:
            return nonnegative(beta, "noise")
        except ValueError as exc:
            raise ValueError(f"the noise schedule gave {beta!r} at step {n}: {exc}") from None

    def evaluation_points(self, X: np.ndarray, beta: float, rng) -> np.ndarray | None:
        """Where to evaluate the velocity (None: at X itself)."""
        return None

    def after_step(self, X: np.ndarray, beta: float, rng) -> np.ndarray:
        """The particles after the Euler step X (which this may change)."""
        return X


class NoiseInjection(Perturbation):
    """Velocity at X + beta_n u, u ~ N(0, I); the unperturbed X moves."""

    def evaluation_points(self, X, beta, rng):
        if beta == 0.0:
            return None
        return X + beta * standard_normal(rng, X.shape, X.dtype)


class Diffusion(Perturbation):
    """X moves with the velocity at X; then beta_n u, u ~ N(0, I), is added (not scaled by
    sqrt(gamma): as on the slide)."""

    def after_step(self, X, beta, rng):
        if beta == 0.0:
            return X
        return X + beta * standard_normal(rng, X.shape, X.dtype)


def as_perturbation(noise) -> Perturbation:
    """A perturbation from a :class:`Perturbation`, a number or a schedule (noise injection)."""
    if isinstance(noise, Perturbation):
        return noise
    if isinstance(noise, numbers.Real) and not isinstance(noise, bool) or callable(noise):
        return NoiseInjection(noise)
    raise ValueError(
        "noise must be a number, a schedule (a callable of the step n) or a perturbation "
        f"(NoiseInjection, Diffusion), got {noise!r}"
    )
