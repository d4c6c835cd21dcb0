"""The mixture-of-Gaussians experiment of KALE flow (Glaser, Arbel, Gretton, NeurIPS 2021).

Target: 240 points of the four-Gaussian mixture; source: 240 points of N((-0.18, -0.18),
0.2^2 I) (:func:`kernelflows.experiments.datasets.mixture_of_gaussians`); Gaussian kernel of
bandwidth 0.5; step 1e-3. Runs: the MMD flow; KALE flow for each lam; KALE flow with noise
injection; the KL flow (unadjusted Langevin on the known mixture density). Measured by the MMD to
the target (the paper uses Sinkhorn distances).
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from .._validation import as_rng
from ..densities import GaussianMixture
from ..flows import FlowResult, kale_flow, kl_flow, mmd_flow
from ..kernels import GaussianKernel
from .datasets import MIXTURE_MEANS, MIXTURE_STD, mixture_of_gaussians
from .metrics import mmd_to_target, nearest_mode_counts
from .registry import Experiment, register

__all__ = ["EXPERIMENT", "MIXTURE_BANDWIDTH", "MixtureRuns", "mixture_experiment"]

#: Kernel of the mixture experiment: s = 0.5 in the paper's exp(-|x - y|^2 / s).
MIXTURE_BANDWIDTH = 0.5


@dataclass(frozen=True)
class MixtureRuns:
    """The runs of :func:`mixture_experiment`: ``runs`` (name -> FlowResult) and ``mmd`` (name
    -> MMD to the target at each snapshot), with the start, target and kernel."""

    X0: np.ndarray
    Y: np.ndarray
    kernel: GaussianKernel
    runs: dict[str, FlowResult]
    mmd: dict[str, np.ndarray]


def _settings(scale: str) -> dict:
    n = 50_000 if scale == "paper" else 5_000
    return {
        "n_steps": n,
        "record_every": n // 20,
        "step": 1e-3,
        "lams": [1e4, 0.1, 0.001],
        "noise_lam": 0.1,
        "beta": 0.3,
        "bandwidth": MIXTURE_BANDWIDTH,
        "seed": 0,
    }


def mixture_experiment(settings="paper", /, *, progress: bool = False, **changes) -> MixtureRuns:
    """All runs of the mixture experiment from one seed.

    ``settings``: a scale ("paper": 50,000 steps; "reduced": 5,000) or a settings dict of
    :data:`EXPERIMENT`; ``changes`` change named settings (``n_steps=10``, ``seed=5``). The
    ``seed`` is split with ``spawn`` into independent streams: one for the data and one per
    noisy run, so that no run's noise depends on what another drew.
    """
    s = EXPERIMENT.resolve(settings, **changes)
    data_rng, noise_rng, langevin_rng = as_rng(s["seed"]).spawn(3)
    X0, Y = mixture_of_gaussians(rng=data_rng)
    kernel = GaussianKernel(s["bandwidth"])
    kw = dict(
        step=s["step"], n_steps=s["n_steps"], record_every=s["record_every"], progress=progress
    )
    runs = {"MMD flow": mmd_flow(X0, Y, kernel, **kw)}
    for lam in s["lams"]:
        runs[f"KALE lam={lam:g}"] = kale_flow(X0, Y, kernel, lam=lam, **kw)
    noise_lam, beta = s["noise_lam"], s["beta"]
    runs[f"KALE lam={noise_lam:g}, noise {beta:g}"] = kale_flow(
        X0, Y, kernel, lam=noise_lam, noise=beta, rng=noise_rng, **kw
    )
    target = GaussianMixture(MIXTURE_MEANS, MIXTURE_STD)
    runs["KL flow (ULA)"] = kl_flow(X0, target, rng=langevin_rng, **kw)
    mmd = {name: mmd_to_target(res, Y, kernel) for name, res in runs.items()}
    return MixtureRuns(X0, Y, kernel, runs, mmd)


def _summary(out: MixtureRuns, s: dict) -> dict:
    return {
        "mmd_start": {k: float(v[0]) for k, v in out.mmd.items()},
        "mmd_final": {k: float(v[-1]) for k, v in out.mmd.items()},
        "particles_nearest_each_mode": {
            name: nearest_mode_counts(res.particles, MIXTURE_MEANS).tolist()
            for name, res in out.runs.items()
        },
    }


#: The results file mixture: settings at each scale, the runs, their summary.
EXPERIMENT = Experiment(
    "mixture",
    "MMD, KALE (three lambdas, and with noise) and KL flows on a mixture of four Gaussians",
    _settings,
    mixture_experiment,
    _summary,
)
register(EXPERIMENT)
