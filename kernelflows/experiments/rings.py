"""Three rings: Figure 1 of Glaser, Arbel, Gretton (NeurIPS 2021), at the published scale.

KALE flow with lam = 0.001, step 1e-4, and the "MMD flow" as KALE flow with lam = 1e4, step 1e-3,
50,000 steps each, no noise, from the published source cloud
(:func:`kernelflows.experiments.datasets.three_rings`), Gaussian kernel of bandwidth sqrt(0.05)
(s = 0.1 in the paper's exp(-||x - y||^2 / s)). Both runs take about 30 s together.
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

__all__ = [
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


def three_rings_experiment(
    *,
    n_steps: int = 50_000,
    record_every: int = 500,
    kale_lam: float = 0.001,
    kale_step: float = 1e-4,
    mmd_lam: float = 1e4,
    mmd_step: float = 1e-3,
    progress: bool = False,
) -> ThreeRingsRuns:
    """Both runs of the three-rings figure (deterministic: the published start, no noise)."""
    X0, Y = three_rings()
    kernel = GaussianKernel(THREE_RINGS_BANDWIDTH)
    runs, seconds, cpu, dist = {}, {}, {}, {}
    for name, lam, step in (("kale", kale_lam, kale_step), ("mmd", mmd_lam, mmd_step)):
        t0, c0 = time.perf_counter(), time.process_time()
        res = kale_flow(
            X0,
            Y,
            kernel,
            lam=lam,
            step=step,
            n_steps=n_steps,
            record_every=record_every,
            progress=progress,
        )
        seconds[name] = time.perf_counter() - t0
        cpu[name] = time.process_time() - c0
        runs[name] = res
        dist[name] = max_distance_to_target(res.particles, Y)
    return ThreeRingsRuns(X0, Y, kernel, runs, seconds, cpu, dist)


@lru_cache(maxsize=2)
def three_rings_runs(n_steps: int = 50_000) -> ThreeRingsRuns:
    """:func:`three_rings_experiment` recorded every 500 steps, cached (figure and lecture)."""
    return three_rings_experiment(n_steps=n_steps, record_every=500)
