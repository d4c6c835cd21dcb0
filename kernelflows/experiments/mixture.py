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
from .metrics import mmd_to_target

__all__ = ["MIXTURE_BANDWIDTH", "MixtureRuns", "mixture_experiment"]

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


def mixture_experiment(
    *,
    n_steps: int = 50_000,
    step: float = 1e-3,
    lams=(1e4, 0.1, 0.001),
    noise_lam: float = 0.1,
    beta: float = 0.3,
    record_every: int | None = None,
    rng=0,
    progress: bool = False,
) -> MixtureRuns:
    """All runs of the mixture experiment from one seed.

    ``rng`` (a Generator or a seed) is split with ``spawn`` into independent streams: one for
    the data and one per noisy run, so that no run's noise depends on what another drew.
    """
    data_rng, noise_rng, langevin_rng = as_rng(rng).spawn(3)
    X0, Y = mixture_of_gaussians(rng=data_rng)
    kernel = GaussianKernel(MIXTURE_BANDWIDTH)
    kw = dict(step=step, n_steps=n_steps, record_every=record_every, progress=progress)
    runs = {"MMD flow": mmd_flow(X0, Y, kernel, **kw)}
    for lam in lams:
        runs[f"KALE lam={lam:g}"] = kale_flow(X0, Y, kernel, lam=lam, **kw)
    runs[f"KALE lam={noise_lam:g}, noise {beta:g}"] = kale_flow(
        X0, Y, kernel, lam=noise_lam, noise=beta, rng=noise_rng, **kw
    )
    target = GaussianMixture(MIXTURE_MEANS, MIXTURE_STD)
    runs["KL flow (ULA)"] = kl_flow(X0, target, rng=langevin_rng, **kw)
    mmd = {name: mmd_to_target(res, Y, kernel) for name, res in runs.items()}
    return MixtureRuns(X0, Y, kernel, runs, mmd)
