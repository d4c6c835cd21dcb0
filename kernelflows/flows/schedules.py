"""Noise-level schedules beta_n for noise injection (Arbel, Korba, Salim, Gretton, NeurIPS 2019).

A schedule is a callable of the step (or epoch) index n = 0, 1, 2, ... returning beta_n >= 0.
Proposition 8 of the paper needs sum_n beta_n^2 = infinity: ``constant`` and ``inverse_sqrt``
satisfy it (the latter only just: sum beta_0^2 / (n + 1) grows like log n); ``halving`` and
``piecewise`` with a final zero do not, so the proposition says nothing about them, although they
are what the paper's experiments use.
"""

from __future__ import annotations

import numbers
from collections.abc import Callable
from dataclasses import dataclass

import numpy as np

from .._validation import nonnegative, positive_int

__all__ = ["Schedule", "constant", "halving", "inverse_sqrt", "piecewise", "as_schedule"]


class Schedule:
    """Base class: ``schedule(n) -> beta_n``; ``schedule.values(N)`` gives beta_0 .. beta_{N-1}."""

    def __call__(self, n: int) -> float:  # pragma: no cover - abstract
        raise NotImplementedError

    def values(self, n_steps: int) -> np.ndarray:
        return np.array([self(n) for n in range(n_steps)], dtype=float)

    #: True when sum_n beta_n^2 diverges (the condition of Proposition 8).
    square_summable_divergent: bool = False


@dataclass(frozen=True)
class constant(Schedule):
    """beta_n = beta for every n."""

    beta: float

    def __post_init__(self):
        nonnegative(self.beta, "beta")

    def __call__(self, n: int) -> float:
        return float(self.beta)

    @property
    def square_summable_divergent(self) -> bool:
        return self.beta > 0


@dataclass(frozen=True)
class halving(Schedule):
    """beta_n = beta0 / 2^floor(n / every): the paper's student-teacher schedule (every = 1000)."""

    beta0: float
    every: int

    def __post_init__(self):
        nonnegative(self.beta0, "beta0")
        positive_int(self.every, "every")

    def __call__(self, n: int) -> float:
        return float(self.beta0) * 0.5 ** (int(n) // int(self.every))

    square_summable_divergent = False


@dataclass(frozen=True)
class inverse_sqrt(Schedule):
    """beta_n = beta0 / sqrt(n + 1): sum beta_n^2 = beta0^2 H_N diverges like log N."""

    beta0: float

    def __post_init__(self):
        nonnegative(self.beta0, "beta0")

    def __call__(self, n: int) -> float:
        return float(self.beta0) / np.sqrt(n + 1.0)

    @property
    def square_summable_divergent(self) -> bool:
        return self.beta0 > 0


@dataclass(frozen=True)
class piecewise(Schedule):
    """beta_n = beta for n < until, then ``after`` (the collapse experiment: 10, then 0)."""

    beta: float
    until: int
    after: float = 0.0

    def __post_init__(self):
        nonnegative(self.beta, "beta")
        nonnegative(self.after, "after")
        positive_int(self.until, "until")

    def __call__(self, n: int) -> float:
        return float(self.beta) if n < self.until else float(self.after)

    @property
    def square_summable_divergent(self) -> bool:
        return self.after > 0


def as_schedule(noise) -> Callable[[int], float]:
    """A float means a constant schedule; a callable of n is used as it is."""
    if isinstance(noise, numbers.Real) and not isinstance(noise, bool):
        return constant(nonnegative(noise, "noise"))
    if callable(noise):
        return noise
    raise ValueError(f"noise must be a non-negative float or a callable of n, got {noise!r}")
