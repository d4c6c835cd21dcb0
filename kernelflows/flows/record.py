"""What a flow records and returns: the snapshots' steps, the :class:`Recorder` that collects
them while :func:`~kernelflows.flows.run_flow` runs, and the :class:`FlowResult` every flow
returns.

A snapshot is taken before the step of its index: the particles, the field's loss at them, the
mean squared speeds of :func:`~kernelflows.divergences.mean_speed2` (computed by the engine) and
the perturbation's noise level; the field's per-step information (scalars under the same names at
every step) is kept at the snapshots and at every step.
"""

from __future__ import annotations

import dataclasses
import math
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

import numpy as np

from .._validation import positive_int
from ..divergences.velocity import FieldStep

__all__ = ["FlowResult", "Recorder", "snapshot_steps"]


@dataclass(frozen=True)
class FlowResult:
    """What every flow returns.

    Attributes
    ----------
    particles : (n, d) final particles (after ``n_steps`` steps).
    trajectory : (T, n, d) snapshots, taken before the step of the same index.
    steps : (T,) step index of each snapshot; first 0, last n_steps.
    loss : (T,) the field's loss at each snapshot (its meaning is ``loss_name``).
    speed2 : (T,) the mean squared speed (:func:`~kernelflows.divergences.mean_speed2`) of the
        velocity at the unperturbed particles (MMD flow: mean ||grad f||^2, the dissipation rate
        of the slide "Consistency (2)").
    step_speed2 : (T,) the mean squared speed of the step taken from each snapshot (with noise
        injection: of the velocity at X + beta u, one draw of u; NaN at the last snapshot).
    beta : (T,) the noise level beta_n of the perturbation's schedule at each snapshot.
    step : the step size gamma.
    field : the velocity field that ran (``loss_name`` is its ``name``).
    extras : (T,) arrays by name at the snapshots: the field's per-step information.
    step_info : (n_steps,) arrays by name: the field's per-step information at every step
        (KALE flow: the duality gap of every step's solve).
    """

    particles: np.ndarray
    trajectory: np.ndarray
    steps: np.ndarray
    loss: np.ndarray
    speed2: np.ndarray
    step_speed2: np.ndarray
    beta: np.ndarray
    step: float
    field: Any = dataclasses.field(default=None, compare=False, repr=False)
    extras: Mapping[str, np.ndarray] = dataclasses.field(default_factory=dict)
    step_info: Mapping[str, np.ndarray] = dataclasses.field(default_factory=dict)

    @property
    def loss_name(self) -> str:
        """What ``loss`` is: the field's ``name`` (e.g. ``"F = MMD^2 / 2"``)."""
        return getattr(self.field, "name", "")

    @property
    def times(self) -> np.ndarray:
        """Flow time t = gamma * n of each snapshot."""
        return self.step * self.steps

    def snapshot(self, step: int) -> np.ndarray:
        """The particles before step ``step`` (the snapshot recorded at that step index)."""
        hits = np.flatnonzero(self.steps == int(step))
        if len(hits) == 0:
            raise ValueError(f"step {step} was not recorded; recorded steps: {self.steps[:8]}...")
        return self.trajectory[hits[0]]


def snapshot_steps(n_steps: int, *, record_every: int | None = None) -> np.ndarray:
    """Step indices of the snapshots: 0, every ``record_every`` steps, and ``n_steps``.

    ``record_every=None`` picks the smallest spacing giving at most 101 snapshots.
    """
    if record_every is None:
        record_every = max(1, math.ceil(n_steps / 100))
    record_every = positive_int(record_every, "record_every")
    return np.unique(np.append(np.arange(0, n_steps, record_every), n_steps))


class Recorder:
    """Collects snapshots (particles, loss, mean squared speeds, beta, field information).

    A field's information has the same names at every step: a name that appears or disappears
    along the run is an error (a column of the result would otherwise be missing values).
    """

    def __init__(self, steps: np.ndarray, n_steps: int):
        self.steps = np.asarray(steps)
        self._due = {int(s) for s in self.steps}
        self.n_steps = n_steps
        self.rows: list[tuple] = []
        self.extras: dict[str, list] = {}
        self.step_speed2: list[float] = []
        self.per_step: dict[str, np.ndarray] = {}
        self._names: tuple | None = None

    def due(self, n: int) -> bool:
        return n in self._due

    def _check_names(self, n: int, info) -> None:
        names = tuple(sorted(info))
        if self._names is None:
            self._names = names
        elif names != self._names:
            raise ValueError(
                f"the velocity field's info names changed at step {n}: {list(names)} instead of "
                f"{list(self._names)} (a field reports the same names at every step)"
            )

    def record(self, n: int, X, out: FieldStep, speed2: float, beta: float) -> None:
        self._check_names(n, out.info)
        self.rows.append((X.copy(), float(out.loss), speed2, float(beta)))
        for key, value in out.info.items():
            self.extras.setdefault(key, []).append(float(value))

    def step_info(self, n: int, out: FieldStep, step_speed2: float | None) -> None:
        self._check_names(n, out.info)
        for key, value in out.info.items():
            column = self.per_step.get(key)
            if column is None:
                column = self.per_step[key] = np.full(self.n_steps, np.nan)
            column[n] = float(value)
        if step_speed2 is not None:
            self.step_speed2.append(step_speed2)

    def result(self, step: float, field_) -> FlowResult:
        traj = np.stack([r[0] for r in self.rows])
        T = len(self.rows)
        return FlowResult(
            particles=traj[-1].copy(),
            trajectory=traj,
            steps=self.steps.copy(),
            loss=np.array([r[1] for r in self.rows]),
            speed2=np.array([r[2] for r in self.rows]),
            step_speed2=np.asarray(self.step_speed2 + [np.nan] * (T - len(self.step_speed2))),
            beta=np.array([r[3] for r in self.rows]),
            step=step,
            field=field_,
            extras={k: np.asarray(v) for k, v in self.extras.items()},
            step_info=dict(self.per_step),
        )
