"""After the talk: the flows of KALE's sequels side by side on the three rings and the mixture.

:func:`after_the_talk_experiment` runs, from one start per problem, the flows of
:data:`AFTER_FLOWS`: the MMD flow (with and without noise injection), KALE flow, the flows of two
MMD-regularized f-divergences (chi^2 and Tsallis of order 3; Stein, Neumayer, Rux, Steidl, arXiv
2402.04613, 2024) and the DrMMD flow at a fixed and an adaptive lambda (Chen, Mustafi, Glaser,
Korba, Gretton, Sriperumbudur, JMLR 2025), on two problems:

* ``"three rings"``: the published three-rings start and target of KALE flow (240 particles in a
  small cloud on the first ring, 80 points on each of three rings; Glaser, Arbel, Gretton,
  NeurIPS 2021), Gaussian kernel of bandwidth sqrt(0.05); no randomness but the noise injection;
* ``"mixture"``: the four-Gaussian mixture of the mixture experiment (``n`` particles from
  N((-0.18, -0.18), 0.2^2 I), ``n`` target samples), Gaussian kernel of bandwidth 0.5.

Every regularized divergence uses the same lambda (:data:`AFTER_LAM`, the regime close to the
f-divergence); each flow has its own step (:data:`AFTER_STEPS`, chosen once per problem on a grid
of steps a factor 10 apart: the lowest final MMD^2 among the steps at which the flow descends).
Each run is measured with yardsticks that are none of the flows' own losses: the MMD^2 (the
problem's Gaussian kernel) and the energy distance (the energy kernel's MMD^2) from the
particles' empirical measure to the target (:func:`distance_to_target`: the ring points are the
target itself; the mixture is known through ``n_heldout`` held-out samples), the modes
covered (a ring or a Gaussian counts as covered when at least :data:`COVERAGE_THRESHOLD` of the
particles are nearer to its centre than to any other), stragglers on the rings (particles farther
than :data:`~.metrics.STRAGGLER_DISTANCE` from every ring point), the first recorded step at which
MMD^2 is below 10% and 1% of its start, the wall time per step and its ratio to the MMD flow's in
the same run, and each flow's certificates (the largest duality gap of the regularized solves,
the largest residual of the DrMMD solves).
"""

from __future__ import annotations

import time
from dataclasses import dataclass

import numpy as np
from scipy.spatial import cKDTree

from .._validation import as_rng, positive_int
from ..densities import GaussianMixture
from ..divergences import tsallis
from ..flows import FlowResult, drmmd_flow, kale_flow, mmd_flow, regularized_flow
from ..kernels import EnergyKernel, GaussianKernel
from .beyond import COVERAGE_THRESHOLD, mode_fractions
from .datasets import (
    MIXTURE_MEANS,
    MIXTURE_STD,
    THREE_RINGS_CENTRES,
    mixture_of_gaussians,
    three_rings,
)
from .metrics import STRAGGLER_DISTANCE, first_below
from .mixture import MIXTURE_BANDWIDTH
from .registry import Experiment, register
from .rings import THREE_RINGS_BANDWIDTH

__all__ = [
    "AFTER_FLOWS",
    "AFTER_LAM",
    "AFTER_NOISE",
    "AFTER_PROBLEMS",
    "AFTER_STEPS",
    "AfterTheTalkRuns",
    "ProblemRuns",
    "after_the_talk_experiment",
    "after_the_talk_problem",
    "after_the_talk_run",
    "after_the_talk_settings",
    "after_the_talk_summary",
    "distance_to_target",
]

#: The flows compared, in the order of the tables and figures.
AFTER_FLOWS = (
    "MMD",
    "MMD, noise",
    "KALE",
    "chi^2, regularized",
    "Tsallis 3, regularized",
    "DrMMD",
    "DrMMD, adaptive",
)

#: The two problems, in the order of the tables and figures.
AFTER_PROBLEMS = ("three rings", "mixture")

#: The lambda of KALE, of the two regularized f-divergences and of DrMMD (its start, adaptive).
AFTER_LAM = 0.01

#: Noise injection level of the noisy MMD flow on each problem (a sixth of a ring's radius; the
#: mixture's level of lectures 09 and 10).
AFTER_NOISE = {"three rings": 0.05, "mixture": 0.3}

#: The step of each flow on each problem, chosen once on short runs (400 steps on the rings,
#: 300 on the mixture, seed 0) from 1e-3, 1e-2, 0.1, 1 (twice those for
#: DrMMD, whose step is twice its authors' learning rate in the package's convention): the step
#: with the lowest final MMD^2 among those whose MMD^2 never rises between snapshots (forward
#: Euler at a stable step descends; a step past stability throws particles away). The noisy MMD
#: flow takes the MMD flow's step.
AFTER_STEPS = {
    "three rings": {
        "MMD": 0.1,
        "MMD, noise": 0.1,
        "KALE": 1e-2,
        "chi^2, regularized": 1e-2,
        "Tsallis 3, regularized": 1e-3,
        "DrMMD": 2e-3,
        "DrMMD, adaptive": 2e-3,
    },
    "mixture": {
        "MMD": 0.1,
        "MMD, noise": 0.1,
        "KALE": 0.1,
        "chi^2, regularized": 1e-2,
        "Tsallis 3, regularized": 1e-2,
        "DrMMD": 2e-2,
        "DrMMD, adaptive": 0.2,
    },
}


@dataclass(frozen=True)
class ProblemRuns:
    """The runs of one problem: ``X0``, ``Y`` (what the flows see), ``reference`` (the sample the
    yardsticks compare with), ``centres`` (the modes), the ``kernel``; per flow name ``runs``
    (FlowResult) and ``seconds_per_step``."""

    name: str
    X0: np.ndarray
    Y: np.ndarray
    reference: np.ndarray
    centres: np.ndarray
    kernel: GaussianKernel
    runs: dict[str, FlowResult]
    seconds_per_step: dict[str, float]


@dataclass(frozen=True)
class AfterTheTalkRuns:
    """:func:`after_the_talk_experiment`: one :class:`ProblemRuns` per problem name."""

    problems: dict[str, ProblemRuns]


def _flow_calls(problem: str, lam: float, noise_rng) -> dict:
    s = AFTER_STEPS[problem]
    beta = AFTER_NOISE[problem]
    return {
        "MMD": lambda X0, Y, k, kw: mmd_flow(X0, Y, k, step=s["MMD"], **kw),
        "MMD, noise": lambda X0, Y, k, kw: mmd_flow(
            X0, Y, k, step=s["MMD, noise"], noise=beta, rng=noise_rng, **kw
        ),
        "KALE": lambda X0, Y, k, kw: kale_flow(X0, Y, k, lam=lam, step=s["KALE"], **kw),
        "chi^2, regularized": lambda X0, Y, k, kw: regularized_flow(
            X0, Y, k, "chi2", lam=lam, step=s["chi^2, regularized"], **kw
        ),
        "Tsallis 3, regularized": lambda X0, Y, k, kw: regularized_flow(
            X0, Y, k, tsallis(3.0), lam=lam, step=s["Tsallis 3, regularized"], **kw
        ),
        "DrMMD": lambda X0, Y, k, kw: drmmd_flow(X0, Y, k, lam=lam, step=s["DrMMD"], **kw),
        "DrMMD, adaptive": lambda X0, Y, k, kw: drmmd_flow(
            X0, Y, k, lam=lam, step=s["DrMMD, adaptive"], adaptive=True, **kw
        ),
    }


def after_the_talk_problem(
    problem: str,
    *,
    n: int = 200,
    n_steps: int = 300,
    n_heldout: int = 1000,
    lam: float = AFTER_LAM,
    flows=AFTER_FLOWS,
    rng=0,
) -> ProblemRuns:
    """The flows ``flows`` (names of :data:`AFTER_FLOWS`) on one problem of
    :data:`AFTER_PROBLEMS`, ``n_steps`` steps each, snapshots every ``n_steps // 20`` steps.

    ``n`` (particles and target samples) and ``n_heldout`` apply to the mixture only (the rings'
    start and target are the published arrays). ``rng`` (a Generator or a seed) is split with
    ``spawn`` into the data, the held-out samples and the noise injection, so no run's randomness
    depends on another's.
    """
    if problem not in AFTER_PROBLEMS:
        raise ValueError(f"problem must be one of {AFTER_PROBLEMS}, got {problem!r}")
    unknown = [f for f in flows if f not in AFTER_FLOWS]
    if unknown:
        raise ValueError(f"unknown flow(s) {unknown}; known: {AFTER_FLOWS}")
    n_steps = positive_int(n_steps, "n_steps")
    data_rng, heldout_rng, noise_rng = as_rng(rng).spawn(3)
    if problem == "three rings":
        X0, Y = three_rings()
        reference = Y
        centres = np.asarray(THREE_RINGS_CENTRES, dtype=float)
        kernel = GaussianKernel(THREE_RINGS_BANDWIDTH)
    else:
        n = positive_int(n, "n")
        X0, Y = mixture_of_gaussians(n_target=n, n_source=n, rng=data_rng)
        target = GaussianMixture(MIXTURE_MEANS, MIXTURE_STD)
        reference = target.sample(positive_int(n_heldout, "n_heldout"), rng=heldout_rng)
        centres = np.asarray(MIXTURE_MEANS, dtype=float)
        kernel = GaussianKernel(MIXTURE_BANDWIDTH)
    calls = _flow_calls(problem, lam, noise_rng)
    kw = {"n_steps": n_steps, "record_every": max(n_steps // 20, 1)}
    runs, seconds = {}, {}
    for name in flows:
        t0 = time.perf_counter()
        runs[name] = calls[name](X0, Y, kernel, kw)
        seconds[name] = (time.perf_counter() - t0) / n_steps
    return ProblemRuns(problem, X0, Y, reference, centres, kernel, runs, seconds)


def after_the_talk_experiment(
    *,
    ring_steps: int = 300,
    mixture_steps: int = 200,
    n: int = 200,
    n_heldout: int = 1000,
    lam: float = AFTER_LAM,
    flows=AFTER_FLOWS,
    rng=0,
) -> AfterTheTalkRuns:
    """Every flow of ``flows`` on both problems: ``ring_steps`` steps on the three rings,
    ``mixture_steps`` on the mixture (:func:`after_the_talk_problem`; the mixture's streams come
    from ``rng``)."""
    return AfterTheTalkRuns(
        {
            "three rings": after_the_talk_problem(
                "three rings", n_steps=ring_steps, lam=lam, flows=flows, rng=rng
            ),
            "mixture": after_the_talk_problem(
                "mixture",
                n=n,
                n_steps=mixture_steps,
                n_heldout=n_heldout,
                lam=lam,
                flows=flows,
                rng=rng,
            ),
        }
    )


def distance_to_target(X, T, kernel, *, target_is_sample: bool) -> float:
    """MMD^2 between the empirical measure of the particles X (n, d) and a target T (m, d).

    The particles are a measure (their self-term keeps its diagonal, as the flows see it). The
    target is either the measure of its points (``target_is_sample=False``: the plug-in value,
    >= 0) or known through independent samples (``True``: its self-term drops the diagonal, an
    unbiased estimate of the MMD^2 of the particles' measure to the target's law, which can be
    slightly negative at a close fit).
    """
    X = np.asarray(X, dtype=np.float64)
    T = np.asarray(T, dtype=np.float64)
    m = len(T)
    ktt = kernel(T, T)
    if target_is_sample:
        if m < 2:
            raise ValueError("T needs at least 2 samples when target_is_sample is True")
        tt = (ktt.sum() - np.trace(ktt)) / (m * (m - 1))
    else:
        tt = ktt.mean()
    return float(kernel(X, X).mean() - 2.0 * kernel(X, T).mean() + tt)


def after_the_talk_settings(scale: str) -> dict:
    """The settings of the results file ``after-the-talk`` at a scale ("paper": 10,000 steps on
    the rings, 3000 on the mixture with 300 particles; "reduced": 300 and 200, 200 particles)."""
    if scale not in ("paper", "reduced"):
        raise ValueError(f"scale must be 'paper' or 'reduced', got {scale!r}")
    return {
        "ring_steps": 10_000 if scale == "paper" else 300,
        "mixture_steps": 3000 if scale == "paper" else 200,
        "n": 300 if scale == "paper" else 200,
        "n_heldout": 1000,
        "lam": AFTER_LAM,
        "flows": list(AFTER_FLOWS),
        "steps": AFTER_STEPS,
        "noise": AFTER_NOISE,
        "coverage_threshold": COVERAGE_THRESHOLD,
        "straggler_distance": STRAGGLER_DISTANCE,
        "seed": 0,
    }


def after_the_talk_run(s: dict) -> AfterTheTalkRuns:
    """The runs of the results file from its settings ``s`` (:func:`after_the_talk_settings`)."""
    return after_the_talk_experiment(
        ring_steps=s["ring_steps"],
        mixture_steps=s["mixture_steps"],
        n=s["n"],
        n_heldout=s["n_heldout"],
        lam=s["lam"],
        flows=tuple(s["flows"]),
        rng=s["seed"],
    )


def _certificate(run: FlowResult) -> dict:
    info = run.step_info
    out = {}
    if "duality_gap" in info:
        out["max_duality_gap"] = float(np.max(info["duality_gap"]))
    if "residual" in info:
        out["max_residual"] = float(np.max(info["residual"]))
    if "lam" in info:
        out["final_lam"] = float(info["lam"][-1])
    return out


def after_the_talk_summary(out: AfterTheTalkRuns, s: dict | None = None) -> dict:
    """The metrics of the results file, per problem and per flow (module docstring); ``s`` the
    settings (their ``coverage_threshold``; default :data:`COVERAGE_THRESHOLD`)."""
    threshold = COVERAGE_THRESHOLD if s is None else s["coverage_threshold"]
    metrics = {}
    for pname, p in out.problems.items():
        sample = pname != "three rings"

        def dist(X, kernel, p=p, sample=sample):
            return distance_to_target(X, p.reference, kernel, target_is_sample=sample)

        start_mmd2 = dist(p.X0, p.kernel)
        flows = {}
        base = p.seconds_per_step.get("MMD")
        for name, run in p.runs.items():
            curve = np.array([dist(X, p.kernel) for X in run.trajectory])
            fractions = mode_fractions(run.particles, p.centres)
            m = {
                "mmd2": float(curve[-1]),
                "mmd2_curve": curve.tolist(),
                "snapshot_steps": run.steps.tolist(),
                "energy": dist(run.particles, EnergyKernel()),
                "mode_fractions": fractions.tolist(),
                "modes_covered": int(np.sum(fractions >= threshold)),
                "steps_to_10pc": first_below(run.steps, curve, 0.1 * start_mmd2),
                "steps_to_1pc": first_below(run.steps, curve, 0.01 * start_mmd2),
                "seconds_per_step": p.seconds_per_step[name],
                "time_ratio_to_mmd": (
                    p.seconds_per_step[name] / base if base is not None else None
                ),
            }
            if pname == "three rings":
                nearest, _ = cKDTree(p.reference).query(run.particles)
                m["stragglers"] = int(np.sum(nearest > STRAGGLER_DISTANCE))
            flows[name] = m | _certificate(run)
        metrics[pname] = {
            "mmd2_start": start_mmd2,
            "energy_start": dist(p.X0, EnergyKernel()),
            "n_particles": len(p.X0),
            "n_steps": int(next(iter(p.runs.values())).steps[-1]) if p.runs else 0,
            "flows": flows,
        }
    return metrics


#: The results file after-the-talk: settings at each scale, the runs, their summary.
EXPERIMENT = Experiment(
    "after-the-talk",
    "MMD (with and without noise), KALE, regularized chi^2 and Tsallis-3, DrMMD (fixed and "
    "adaptive lambda) flows on the three rings and the four-Gaussian mixture: MMD^2 and energy "
    "distance to the target, modes covered, time per step",
    after_the_talk_settings,
    after_the_talk_run,
    after_the_talk_summary,
)
register(EXPERIMENT)
