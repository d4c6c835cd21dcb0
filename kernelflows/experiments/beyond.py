"""Beyond the talk: the flows of the course side by side, and two known failure modes.

* :func:`beyond_experiment` - on the four-Gaussian mixture of the mixture experiment, from one
  start: the MMD flow (with and without noise injection), KALE flow and the sliced MMD flow
  (energy kernel), which see the target only through samples, and SVGD, KSD descent and the
  Langevin algorithm (KL flow), which use its score. Each run is measured by the energy distance
  to held-out target samples, the modes it covers and its wall time per step.
* :func:`svgd_variance_by_dimension` - SVGD on a standard Gaussian in growing dimension with a
  fixed number of particles: the particles' variance per coordinate falls below 1.
* :func:`ksd_one_sided` - KSD descent on two well separated Gaussians, started on one side: the
  particles settle on one mode and KSD^2 falls to almost nothing, blind to the missing mode.
"""

from __future__ import annotations

import time
from dataclasses import dataclass

import numpy as np

from .._validation import as_rng, positive_int
from ..densities import GaussianMixture
from ..divergences import ksd2
from ..flows import FlowResult, kale_flow, kl_flow, ksd_descent, mmd_flow, sliced_mmd_flow, svgd
from ..kernels import GaussianKernel, median_heuristic
from .datasets import MIXTURE_MEANS, MIXTURE_STD, mixture_of_gaussians
from .metrics import energy_distance, mode_fractions
from .registry import Experiment, register

__all__ = [
    "BEYOND_FLOWS",
    "BEYOND_STEPS",
    "COVERAGE_THRESHOLD",
    "BeyondRuns",
    "EXPERIMENT",
    "KSDOneSided",
    "SVGDVariance",
    "beyond_experiment",
    "energy_distance",
    "ksd_one_sided",
    "svgd_variance_by_dimension",
]

#: The flows compared, in the order of the tables and figures.
BEYOND_FLOWS = (
    "MMD flow",
    "MMD flow, noise",
    "KALE flow",
    "sliced MMD flow",
    "SVGD",
    "KSD descent",
    "Langevin (KL flow)",
)

#: Step size of each flow (chosen once on this problem so that every flow moves in a few hundred
#: steps and none diverges; the Gaussian kernels have the mixture experiment's bandwidth 0.5).
BEYOND_STEPS = {
    "MMD flow": 1.0,
    "MMD flow, noise": 1.0,
    "KALE flow": 0.1,
    "sliced MMD flow": 0.05,
    "SVGD": 0.05,
    "KSD descent": 0.01,
    "Langevin (KL flow)": 0.01,
}

#: A mode counts as covered when at least this fraction of the particles is nearest to it.
COVERAGE_THRESHOLD = 0.05


@dataclass(frozen=True)
class BeyondRuns:
    """The runs of :func:`beyond_experiment` and their measures.

    ``X0`` the start, ``Y`` the target samples the sample-based flows see, ``Y_heldout`` the
    independent target samples of the energy distance, ``target`` the mixture (its score drives
    the score-based flows); per flow name: ``runs`` (FlowResult), ``energy`` (final energy
    distance to ``Y_heldout``), ``fractions`` (fraction of particles nearest each mode),
    ``covered`` (modes with at least ``COVERAGE_THRESHOLD`` of the particles) and
    ``seconds_per_step``; ``energy_start`` is the energy distance of the start.
    """

    X0: np.ndarray
    Y: np.ndarray
    Y_heldout: np.ndarray
    target: GaussianMixture
    runs: dict[str, FlowResult]
    energy: dict[str, float]
    fractions: dict[str, np.ndarray]
    covered: dict[str, int]
    seconds_per_step: dict[str, float]
    energy_start: float


def _settings(scale: str) -> dict:
    return {
        "n": 300 if scale == "paper" else 200,
        "n_steps": 3000 if scale == "paper" else 500,
        "n_heldout": 1000,
        "beta": 0.3,
        "lam": 0.1,
        "n_projections": 20,
        "steps": dict(BEYOND_STEPS),
        "coverage_threshold": COVERAGE_THRESHOLD,
        "seed": 0,
    }


def beyond_experiment(settings="reduced", /, **changes) -> BeyondRuns:
    """All seven flows of :data:`BEYOND_FLOWS` from one start, ``n_steps`` steps each.

    ``settings``: a scale ("paper": 300 particles, 3000 steps; "reduced": 200, 500) or a
    settings dict of :data:`EXPERIMENT`; ``changes`` change named settings (``n=30``).

    Start: ``n`` points of N((-0.18, -0.18), 0.2^2 I); target: the mixture of the mixture
    experiment (four Gaussians of std 0.25), ``n`` samples for the sample-based flows and
    ``n_heldout`` more for the energy distance. Gaussian kernel of bandwidth 0.5 for the MMD,
    KALE, SVGD and KSD flows; the energy kernel with ``n_projections`` directions per step for
    the sliced flow; noise level ``beta`` for the noisy MMD flow; ``lam`` for KALE flow; each
    flow's step from ``steps`` (:data:`BEYOND_STEPS`); a mode is covered by at least
    ``coverage_threshold`` of the particles.

    The ``seed`` is split with ``spawn`` into independent streams: the data, the held-out
    samples, the noise injection, the sliced flow's directions and the Langevin noise, so no
    run's randomness depends on another run.
    """
    s = EXPERIMENT.resolve(settings, **changes)
    n = positive_int(s["n"], "n")
    n_steps = positive_int(s["n_steps"], "n_steps")
    beta, n_projections, steps = s["beta"], s["n_projections"], s["steps"]
    data_rng, heldout_rng, noise_rng, sliced_rng, langevin_rng = as_rng(s["seed"]).spawn(5)
    X0, Y = mixture_of_gaussians(n_target=n, n_source=n, rng=data_rng)
    target = GaussianMixture(MIXTURE_MEANS, MIXTURE_STD)
    Y_heldout = target.sample(positive_int(s["n_heldout"], "n_heldout"), rng=heldout_rng)
    k = GaussianKernel(0.5)
    calls = {
        "MMD flow": lambda: mmd_flow(X0, Y, k, step=steps["MMD flow"], n_steps=n_steps),
        "MMD flow, noise": lambda: mmd_flow(
            X0, Y, k, step=steps["MMD flow, noise"], n_steps=n_steps, noise=beta, rng=noise_rng
        ),
        "KALE flow": lambda: kale_flow(
            X0, Y, k, lam=s["lam"], step=steps["KALE flow"], n_steps=n_steps
        ),
        "sliced MMD flow": lambda: sliced_mmd_flow(
            X0,
            Y,
            n_projections=n_projections,
            step=steps["sliced MMD flow"],
            n_steps=n_steps,
            rng=sliced_rng,
        ),
        "SVGD": lambda: svgd(X0, target, k, step=steps["SVGD"], n_steps=n_steps),
        "KSD descent": lambda: ksd_descent(
            X0, target, k, step=steps["KSD descent"], n_steps=n_steps
        ),
        "Langevin (KL flow)": lambda: kl_flow(
            X0, target, step=steps["Langevin (KL flow)"], n_steps=n_steps, rng=langevin_rng
        ),
    }
    runs, seconds = {}, {}
    for name in BEYOND_FLOWS:
        t0 = time.perf_counter()
        runs[name] = calls[name]()
        seconds[name] = (time.perf_counter() - t0) / n_steps
    energy = {name: energy_distance(r.particles, Y_heldout) for name, r in runs.items()}
    fractions = {name: mode_fractions(r.particles, target.means) for name, r in runs.items()}
    covered = {name: int(np.sum(f >= s["coverage_threshold"])) for name, f in fractions.items()}
    return BeyondRuns(
        X0,
        Y,
        Y_heldout,
        target,
        runs,
        energy,
        fractions,
        covered,
        seconds,
        energy_distance(X0, Y_heldout),
    )


def _summary(out: BeyondRuns, s: dict) -> dict:
    return {
        "energy_start": out.energy_start,
        "energy_final": out.energy,
        "modes_covered": out.covered,
        "mode_fractions": out.fractions,
        "seconds_per_step": out.seconds_per_step,
    }


#: The results file beyond: settings at each scale, the seven runs, their summary.
EXPERIMENT = Experiment(
    "beyond",
    "MMD (with and without noise), KALE, sliced MMD, SVGD, KSD descent and Langevin flows "
    "on the four-Gaussian mixture: energy distance, modes covered, time per step",
    _settings,
    beyond_experiment,
    _summary,
)
register(EXPERIMENT)


@dataclass(frozen=True)
class SVGDVariance:
    """:func:`svgd_variance_by_dimension`: ``dims`` and the final mean variance per coordinate of
    the particles in each (``variance``), with the bandwidths used (median heuristic at start)."""

    dims: tuple[int, ...]
    variance: np.ndarray
    bandwidth: np.ndarray
    n: int
    n_steps: int


def svgd_variance_by_dimension(
    dims=(1, 5, 20, 50), *, n: int = 50, n_steps: int = 500, step: float = 0.1, rng=0
) -> SVGDVariance:
    """SVGD towards N(0, I_d) from ``n`` exact samples of it, for each d in ``dims``.

    The Gaussian kernel's bandwidth is the median heuristic of the start. The start has
    variance 1 per coordinate; the returned ``variance`` is the particles' mean variance per
    coordinate after ``n_steps`` steps. One independent stream per dimension (``spawn``).
    """
    dims = tuple(positive_int(d, "d") for d in dims)
    streams = as_rng(rng).spawn(len(dims))
    var, bw = [], []
    for d, r in zip(dims, streams, strict=True):
        X0 = r.standard_normal((positive_int(n, "n"), d))
        h = median_heuristic(X0)
        target = GaussianMixture(np.zeros((1, d)), 1.0)
        out = svgd(X0, target, GaussianKernel(h), step=step, n_steps=n_steps)
        var.append(float(np.mean(np.var(out.particles, axis=0))))
        bw.append(h)
    return SVGDVariance(dims, np.array(var), np.array(bw), n, n_steps)


@dataclass(frozen=True)
class KSDOneSided:
    """:func:`ksd_one_sided`: the run, the target, the fraction of particles on the right mode
    (x > 0), KSD^2 along the run and KSD^2 of a fresh sample of the target of the same size."""

    run: FlowResult
    target: GaussianMixture
    right_fraction: float
    ksd2_path: np.ndarray
    ksd2_target_sample: float


def ksd_one_sided(
    *, n: int = 50, n_steps: int = 2000, step: float = 0.05, bandwidth: float = 1.0, rng=0
) -> KSDOneSided:
    """KSD descent towards 1/2 N(-2, 0.5^2) + 1/2 N(2, 0.5^2) from N(-3, 0.3^2) (one side).

    The Stein kernel of a Gaussian kernel sees the target only through its score, and the score
    of a mixture of separated modes is, near each mode, that mode's score alone: the particles
    settle on the left mode and KSD^2 falls far below that of a true sample of the target, which
    puts half of its points on the right. Streams: the start, the reference sample (``spawn``).
    """
    start_rng, ref_rng = as_rng(rng).spawn(2)
    target = GaussianMixture(np.array([[-2.0], [2.0]]), 0.5)
    X0 = -3.0 + 0.3 * start_rng.standard_normal((positive_int(n, "n"), 1))
    k = GaussianKernel(bandwidth)
    run = ksd_descent(X0, target, k, step=step, n_steps=n_steps, record_every=max(n_steps // 20, 1))
    ref = ksd2(target.sample(n, rng=ref_rng), target, k)
    return KSDOneSided(run, target, float(np.mean(run.particles[:, 0] > 0)), run.loss, ref)
