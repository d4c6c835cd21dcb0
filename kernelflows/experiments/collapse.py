"""The collapse experiment behind ``mmd-flow``, ``noisy-mmd-flow`` and ``mmd-flow-loss``.

Target N(0, I_2); all particles start at (3, 3) (the zero-spread limit of the paper's source,
:func:`kernelflows.experiments.datasets.collapse_setup`); Gaussian kernel of bandwidth 2
(k = exp(-||x - y||^2 / 8)); step 1; 300 steps. Noise injection uses the paper's kind of
schedule, beta = 2 for the first 150 steps, then 0.
"""

from __future__ import annotations

from dataclasses import dataclass
from functools import lru_cache

import numpy as np

from ..flows import FlowResult, mmd_flow, piecewise
from ..kernels import GaussianKernel
from .datasets import collapse_setup

__all__ = ["COLLAPSE", "CollapseRuns", "collapse_runs"]

#: Settings of the collapse experiment at each scale (n = m particles and target samples).
COLLAPSE = {
    "bandwidth": 2.0,
    "step": 1.0,
    "n_steps": 300,
    "noise": piecewise(2.0, 150),
    "n": {"reduced": 200, "paper": 1000},
}


@dataclass(frozen=True)
class CollapseRuns:
    """The noise-free and noise-injected flows of the collapse set-up, recorded at every step:
    ``runs`` = {"no noise": ..., "noise injection": ...}, the target ``Y`` and the kernel."""

    Y: np.ndarray
    kernel: GaussianKernel
    runs: dict[str, FlowResult]


@lru_cache(maxsize=2)
def collapse_runs(scale: str = "reduced") -> CollapseRuns:
    """Both runs at ``scale`` ("reduced": n = m = 200, about a second; "paper": 1000), cached."""
    if scale not in COLLAPSE["n"]:
        raise ValueError(f"scale must be one of {tuple(COLLAPSE['n'])}, got {scale!r}")
    n = COLLAPSE["n"][scale]
    X0, Y = collapse_setup(n=n, m=n, rng=0)
    kernel = GaussianKernel(COLLAPSE["bandwidth"])
    common = dict(step=COLLAPSE["step"], n_steps=COLLAPSE["n_steps"], record_every=1)
    plain = mmd_flow(X0, Y, kernel, **common)
    noisy = mmd_flow(X0, Y, kernel, noise=COLLAPSE["noise"], rng=1, **common)
    return CollapseRuns(Y, kernel, {"no noise": plain, "noise injection": noisy})
