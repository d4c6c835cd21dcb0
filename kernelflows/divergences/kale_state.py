"""What a KALE dual solve hands to the next (:class:`DualState`), and where a flow's next solve
starts: the extrapolation of its last corrected solutions (:class:`Trend`).

Along a flow the dual solution u = log(m alpha) moves smoothly with the particles. A solver made
with ``KaleNewton(extrapolate=True)`` (KALE flow's) starts each warm solve from the linear
extrapolation of its last two Newton-corrected solutions instead of the last solution: the
error of that guess is second order in the flow step, and where its duality gap is already
below the tolerance the solve returns it with no Newton step (certified as any other answer;
three rings, lam = 1e-3: 0.10 Newton steps per flow step instead of 0.99). Only corrected
solutions enter the line, so the error of an accepted guess (within the tolerance, not exact)
does not feed the later guesses.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import numpy as np

__all__ = ["EXTRAPOLATE_MAX", "DualState", "Trend", "extrapolated_guess", "next_trend"]

#: The extrapolated start is used when it moves u by at most this much in every coordinate from
#: the last solution (a smooth path); else the solve starts from the last solution.
EXTRAPOLATE_MAX = 0.1


@dataclass(frozen=True)
class Trend:
    """``u`` the last solution that a Newton step corrected, ``slope`` the change of u per solve
    between it and the corrected one before, ``age`` the solves since (accepted without a Newton
    step). The next solve starts at u + (age + 1) slope."""

    u: np.ndarray
    slope: np.ndarray
    age: int

    def guess(self) -> np.ndarray:
        return self.u + (self.age + 1) * self.slope


@dataclass(frozen=True)
class DualState:
    """A certified dual iterate, carried from one solve to the next along a flow.

    ``u = log(m alpha)`` (= f*(y_i) at the optimum), ``K_alpha = K alpha``, ``f_q`` the witness
    at the Q samples, ``gap`` the certified duality gap (KALE units), the preconditioner
    ``reference``, and cumulative counters ``newton_steps``, ``cholesky`` (factorisations) and
    ``cg_iterations`` (over all the solves that led to it: warm starts carry them on). In general
    u = log(z / w), ``log_w`` (None: -log m), ``tau`` the barrier, ``t`` the witness's scaling.
    ``trend``: a :class:`Trend`, where ``KaleNewton(extrapolate=True)`` starts.
    """

    u: np.ndarray
    K_alpha: np.ndarray
    f_q: np.ndarray
    gap: float
    reference: object | None  # kale_newton._Reference: the preconditioner
    newton_steps: int = 0
    cholesky: int = 0
    cg_iterations: int = 0
    tau: float = 0.0
    t: float = 1.0
    log_w: np.ndarray | float | None = None
    trend: Trend | None = None

    @property
    def alpha(self) -> np.ndarray:
        return np.exp(self.log_alpha)

    @property
    def log_alpha(self) -> np.ndarray:
        if self.log_w is None:
            return self.u - math.log(len(self.u))
        return self.u + self.log_w


def extrapolated_guess(trend: Trend | None, u: np.ndarray):
    """The trend's guess for the solve after the solution u, or None (no trend, another size,
    or a guess more than :data:`EXTRAPOLATE_MAX` from u)."""
    if trend is None or trend.u.shape != u.shape:
        return None
    guess = trend.guess()
    return guess if float(np.max(np.abs(guess - u))) <= EXTRAPOLATE_MAX else None


def next_trend(before: Trend | None, u_start: np.ndarray, u: np.ndarray, corrected: bool):
    """The trend after a solve from the solution ``u_start`` (its trend ``before``) to ``u``,
    ``corrected`` when it took a Newton step."""
    if not corrected:
        return None if before is None else Trend(before.u, before.slope, before.age + 1)
    if before is None:  # the start itself is the last known solution
        return Trend(u, u - u_start, 0)
    return Trend(u, (u - before.u) / (before.age + 1), 0)
