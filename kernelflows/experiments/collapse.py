"""The collapse experiment behind ``mmd-flow``, ``noisy-mmd-flow`` and ``mmd-flow-loss``.

Target N(0, I_2); all particles start at (3, 3) (the zero-spread limit of the paper's source,
:func:`kernelflows.experiments.datasets.collapse_setup`); Gaussian kernel of bandwidth 2
(k = exp(-||x - y||^2 / 8)); step 1; 300 steps. Noise injection uses the paper's kind of
schedule, beta = 2 for the first 150 steps, then 0. n = m = 1000 particles and target samples at
the paper scale, 200 at the reduced scale (about a second). The settings at each scale have one
owner, :data:`EXPERIMENT` (built from :data:`COLLAPSE`).
"""

from __future__ import annotations

from dataclasses import dataclass
from functools import lru_cache

import numpy as np

from ..flows import FlowResult, mmd2_along, mmd_flow, piecewise
from ..kernels import GaussianKernel
from .datasets import collapse_setup
from .registry import Experiment, register

__all__ = ["COLLAPSE", "EXPERIMENT", "CollapseRuns", "collapse_experiment", "collapse_runs"]

#: The published constants of the collapse experiment (``n`` = m particles and target samples at
#: each scale); :data:`EXPERIMENT` gives its settings at a scale.
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


def _settings(scale: str) -> dict:
    return {
        "n": COLLAPSE["n"][scale],
        "bandwidth": COLLAPSE["bandwidth"],
        "step": COLLAPSE["step"],
        "n_steps": COLLAPSE["n_steps"],
        "noise": COLLAPSE["noise"],
        "seed": {"data": 0, "noise": 1},
    }


def collapse_experiment(settings="reduced", /, **changes) -> CollapseRuns:
    """Both runs, from a scale or a settings dict of :data:`EXPERIMENT` (``changes`` change
    named settings)."""
    s = EXPERIMENT.resolve(settings, **changes)
    n = s["n"]
    X0, Y = collapse_setup(n=n, m=n, rng=s["seed"]["data"])
    kernel = GaussianKernel(s["bandwidth"])
    common = dict(step=s["step"], n_steps=s["n_steps"], record_every=1)
    plain = mmd_flow(X0, Y, kernel, **common)
    noisy = mmd_flow(X0, Y, kernel, noise=piecewise(**s["noise"]), rng=s["seed"]["noise"], **common)
    return CollapseRuns(Y, kernel, {"no noise": plain, "noise injection": noisy})


@lru_cache(maxsize=2)
def collapse_runs(scale: str = "reduced") -> CollapseRuns:
    """Both runs at ``scale``, cached (the figures and lectures 04 and 05 draw them)."""
    return collapse_experiment(scale)


def _summary(out: CollapseRuns, s: dict) -> dict:
    return {
        name: {
            "mmd2_start": float(mmd2_along(r)[0]),
            "mmd2_final": float(mmd2_along(r)[-1]),
            "particle_spread_final": float(np.mean(np.std(r.particles, axis=0))),
        }
        for name, r in out.runs.items()
    }


#: The results file collapse: settings at each scale, both runs, their summary.
EXPERIMENT = Experiment(
    "collapse",
    "noise-free and noise-injected MMD flows of the collapse set-up",
    _settings,
    collapse_experiment,
    _summary,
)
register(EXPERIMENT)
