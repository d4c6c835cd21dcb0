"""Three rings: Figure 1 of Glaser, Arbel, Gretton (NeurIPS 2021), and its results file.

KALE flow with lam = 0.001, step 1e-4, and the "MMD flow" as KALE flow with lam = 1e4, step 1e-3,
no noise, from the published source cloud (:func:`kernelflows.experiments.datasets.three_rings`),
Gaussian kernel of bandwidth sqrt(0.05) (s = 0.1 in the paper's exp(-||x - y||^2 / s)); 50,000
steps each at the paper scale (both runs together take about half a minute, so the figure draws
this scale), 5,000 at the reduced scale (lecture 09's own run). The settings at each scale have
one owner, :data:`EXPERIMENT`.
"""

from __future__ import annotations

import math
import time
from dataclasses import dataclass
from functools import lru_cache

import numpy as np

from ..flows import FlowResult, kale_flow
from ..kernels import GaussianKernel
from .datasets import three_rings
from .metrics import max_distance_to_target
from .registry import Experiment, merge_runs, register, run_of

__all__ = [
    "EXPERIMENT",
    "THREE_RINGS_BANDWIDTH",
    "THREE_RINGS_FRAMES",
    "ThreeRingsRuns",
    "three_rings_experiment",
    "three_rings_runs",
]

#: Kernel of the three-rings experiment: s = 0.1 in the paper's exp(-|x - y|^2 / s).
THREE_RINGS_BANDWIDTH = math.sqrt(0.05)
#: The figure's columns (Glaser, Arbel, Gretton, NeurIPS 2021, Figure 1).
THREE_RINGS_FRAMES = (0, 1000, 15000, 49500)


@dataclass(frozen=True)
class ThreeRingsRuns:
    """Both runs of the three-rings figure: ``runs`` = {"kale": ..., "mmd": ...}, the start and
    target, the kernel, wall-clock and CPU seconds of each run, and ``max_distance`` (farthest
    final particle from the target) of each."""

    X0: np.ndarray
    Y: np.ndarray
    kernel: GaussianKernel
    runs: dict[str, FlowResult]
    seconds: dict[str, float]
    cpu_seconds: dict[str, float]
    max_distance: dict[str, float]


def _settings(scale: str) -> dict:
    return {
        "n_steps": 50_000 if scale == "paper" else 5_000,
        "record_every": 500,
        "kale_lam": 1e-3,
        "kale_step": 1e-4,
        "mmd_lam": 1e4,
        "mmd_step": 1e-3,
        "bandwidth": THREE_RINGS_BANDWIDTH,
        "seed": "published source cloud (legacy RandomState(42), one discarded draw)",
    }


#: The two runs: KALE flow at lam = 1e-3 and its MMD-like limit at lam = 1e4 (the pieces of the
#: results file, independent of each other).
RUNS = ("kale", "mmd")


def three_rings_experiment(
    settings="paper", /, *, progress: bool = False, runs=RUNS, **changes
) -> ThreeRingsRuns:
    """Both runs of the three-rings figure (deterministic: the published start, no noise), or
    those named in ``runs``.

    ``settings``: a scale ("paper": 50,000 steps; "reduced": 5,000) or a settings dict of
    :data:`EXPERIMENT`; ``changes`` change named settings (``n_steps=20``)."""
    s = EXPERIMENT.resolve(settings, **changes)
    unknown = [r for r in runs if r not in RUNS]
    if unknown or not runs:
        raise ValueError(f"runs must name some of {RUNS}, got {runs!r}")
    X0, Y = three_rings()
    kernel = GaussianKernel(s["bandwidth"])
    results, seconds, cpu, dist = {}, {}, {}, {}
    for name in runs:
        t0, c0 = time.perf_counter(), time.process_time()
        res = kale_flow(
            X0,
            Y,
            kernel,
            lam=s[f"{name}_lam"],
            step=s[f"{name}_step"],
            n_steps=s["n_steps"],
            record_every=s["record_every"],
            progress=progress,
        )
        seconds[name] = time.perf_counter() - t0
        cpu[name] = time.process_time() - c0
        results[name] = res
        dist[name] = max_distance_to_target(res.particles, Y)
    return ThreeRingsRuns(X0, Y, kernel, results, seconds, cpu, dist)


def _summary(out: ThreeRingsRuns, s: dict) -> dict:
    return {
        "max_distance": out.max_distance,
        "final_kale": {k: float(r.loss[-1]) for k, r in out.runs.items()},
        "max_duality_gap": {
            k: float(np.max(r.step_info["duality_gap"])) for k, r in out.runs.items()
        },
        "newton_steps_per_step": {
            k: float(r.extras["newton_steps"][-1]) / s["n_steps"] for k, r in out.runs.items()
        },
        "seconds": out.seconds,
    }


#: The results file three-rings: settings at each scale, its two runs (the pieces, which can run
#: at once on two cores), their summary.
EXPERIMENT = Experiment(
    "three-rings",
    "KALE flow vs MMD-like flow on three rings (Glaser, Arbel, Gretton, NeurIPS 2021, Fig. 1)",
    _settings,
    lambda s, piece: three_rings_experiment(s, runs=RUNS if piece is None else tuple(piece)),
    _summary,
    pieces=lambda s: [[name] for name in RUNS],
    combine=merge_runs,
    summary_of=run_of,
    run_all=True,
)
register(EXPERIMENT)


@lru_cache(maxsize=2)
def three_rings_runs(scale: str = "paper") -> ThreeRingsRuns:
    """:func:`three_rings_experiment` at a scale, cached (the figure draws the paper scale)."""
    return three_rings_experiment(scale)
