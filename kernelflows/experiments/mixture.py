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
from .registry import Experiment, merge_runs, register, run_of

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


def run_names(s: dict) -> list[str]:
    """The names of the experiment's runs with settings ``s``, in order (its pieces)."""
    return (
        ["MMD flow"]
        + [f"KALE lam={lam:g}" for lam in s["lams"]]
        + [f"KALE lam={s['noise_lam']:g}, noise {s['beta']:g}", "KL flow (ULA)"]
    )


def mixture_experiment(
    settings="paper", /, *, progress: bool = False, runs=None, **changes
) -> MixtureRuns:
    """All runs of the mixture experiment from one seed, or those named in ``runs``
    (:func:`run_names`; each is the same alone as among the others).

    ``settings``: a scale ("paper": 50,000 steps; "reduced": 5,000) or a settings dict of
    :data:`EXPERIMENT`; ``changes`` change named settings (``n_steps=10``, ``seed=5``). The
    ``seed`` is split with ``spawn`` into independent streams: one for the data and one per
    noisy run, so that no run's noise depends on what another drew.
    """
    s = EXPERIMENT.resolve(settings, **changes)
    names = run_names(s)
    wanted = names if runs is None else list(runs)
    unknown = [r for r in wanted if r not in names]
    if unknown or not wanted:
        raise ValueError(f"runs must name some of {names}, got {runs!r}")
    data_rng, noise_rng, langevin_rng = as_rng(s["seed"]).spawn(3)
    X0, Y = mixture_of_gaussians(rng=data_rng)
    kernel = GaussianKernel(s["bandwidth"])
    kw = dict(
        step=s["step"], n_steps=s["n_steps"], record_every=s["record_every"], progress=progress
    )
    noise_lam, beta = s["noise_lam"], s["beta"]
    target = GaussianMixture(MIXTURE_MEANS, MIXTURE_STD)
    make = {"MMD flow": lambda: mmd_flow(X0, Y, kernel, **kw)}
    for lam in s["lams"]:
        make[f"KALE lam={lam:g}"] = lambda lam=lam: kale_flow(X0, Y, kernel, lam=lam, **kw)
    make[f"KALE lam={noise_lam:g}, noise {beta:g}"] = lambda: kale_flow(
        X0, Y, kernel, lam=noise_lam, noise=beta, rng=noise_rng, **kw
    )
    make["KL flow (ULA)"] = lambda: kl_flow(X0, target, rng=langevin_rng, **kw)
    results = {name: make[name]() for name in names if name in wanted}
    mmd = {name: mmd_to_target(res, Y, kernel) for name, res in results.items()}
    return MixtureRuns(X0, Y, kernel, results, mmd)


def _summary(out: MixtureRuns, s: dict) -> dict:
    return {
        "mmd_start": {k: float(v[0]) for k, v in out.mmd.items()},
        "mmd_final": {k: float(v[-1]) for k, v in out.mmd.items()},
        "particles_nearest_each_mode": {
            name: nearest_mode_counts(res.particles, MIXTURE_MEANS).tolist()
            for name, res in out.runs.items()
        },
    }


#: The results file mixture: settings at each scale, the runs (its pieces, independent of each
#: other: each draws its noise from its own stream), their summary.
EXPERIMENT = Experiment(
    "mixture",
    "MMD, KALE (three lambdas, and with noise) and KL flows on a mixture of four Gaussians",
    _settings,
    lambda s, piece: mixture_experiment(s, runs=piece),
    _summary,
    pieces=lambda s: [[name] for name in run_names(s)],
    combine=merge_runs,
    summary_of=run_of,
    run_all=True,
)
register(EXPERIMENT)
