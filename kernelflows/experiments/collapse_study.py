"""When does a spread source collapse under the noise-free MMD flow? A map, by computation.

The collapse figures start every particle at one point, so their "collapse" is the starting
condition. This study starts from a spread source instead and records where it ends.

Setting (Arbel, Korba, Salim, Gretton, NeurIPS 2019, appendix "learning Gaussians", and around
it): target N(0, I_d), m = n samples; source N(c 1_d, r^2 I_d) with c = D / sqrt(d), so the
source mean is at distance D from the target mean (D = 10 sqrt(d) is the paper's source
N(10 1_d, 0.5^2 I_d)); Gaussian kernel k = exp(-||x - y||^2 / (2 s^2)).

Grid: d in (2, 5, 10, 20, 50), D in (3, 10 sqrt(d)), r in (0.1, 0.5), n in (100, 300) and three
bandwidths per distance: s = 2 (the paper's "bandwidth 2" read literally), s = D / 2 and s = D
(comparable to the distance, so the source feels the target).

Time. The velocity field is Lipschitz with a constant of order 1 / s^2, so the step is
gamma = STEP_FRACTION * s^2 and every setting runs the same flow time in units of s^2:
``n_steps * STEP_FRACTION`` (250 at the paper scale, 50 at the reduced scale).

Long runs. The settings that come close to a collapse in that time are run again for five times
as long (``long``: the same step, 5 n_steps; seed 1000 + j for the j-th), to tell a transient
from a stall: the paper's source with s = D/2 and a narrow far source (r = 0.1) with s = D.

Measures (per setting, at the last step):

* ``mmd2_start``, ``mmd2_final``: plug-in MMD^2 (= 2 F) against the target samples;
  ``mmd2_late``: the same at 80% of the steps (``stall`` = mmd2_final / mmd2_late: near 1 when
  the loss has stopped falling); ``mmd2_floor``: the plug-in MMD^2 between a fresh n-sample of
  the target and the target samples (what an independent sample of the target scores);
* ``spread_ratio``: mean over coordinates of std(particles) / std(target samples);
* ``frac_near``: fraction of particles within NEAR_RADIUS * sqrt(d) of the target mean (half
  the typical distance sqrt(d) of a target sample from its mean);
* ``radius_ratio``: median distance of the particles from the target mean over the same for the
  target samples (robust to a few stragglers, which dominate the std);
* ``mean_offset``: distance of the particles' mean from the target mean;
* ``grad_on``, ``grad_off``: mean |grad f| at the particles and at X + OFF_SIGMA u, u ~ N(0, I)
  (the slide's justification for noise injection: grad f vanishes on a collapsed support but
  not just off it), and their ratio ``grad_off_over_on``.

Classes (thresholds in :data:`THRESHOLDS`):

* ``"does not reach the target"``: radius_ratio > 2: the median particle is more than twice as far
  from the target mean as the median target sample (the mean offset is not used: a few
  stragglers move the mean of a clump that has arrived, and in high d a shift of 3 is inside
  the target's typical set, of radius sqrt(d));
* ``"collapse"``: it arrived, spread_ratio < 0.5 or radius_ratio < 0.5 (the bulk shrank, a
  few stragglers may inflate the std), frac_near >= 0.5 and
  MMD^2 has stalled: it fell by less than 10% over the last fifth of the run (stall > 0.9);
* ``"no collapse"``: everything else that arrived.
"""

from __future__ import annotations

import itertools
import math
import time

import numpy as np

from ..divergences.mmd import mmd_energy, mmd_velocity
from ..flows import mmd2_along, mmd_flow
from ..kernels import GaussianKernel
from .registry import Experiment, register

__all__ = [
    "CLASSES",
    "COLLAPSE_STUDY",
    "EXPERIMENT",
    "NEAR_RADIUS",
    "OFF_SIGMA",
    "STEP_FRACTION",
    "THRESHOLDS",
    "classify",
    "collapse_metrics",
    "collapse_study",
    "run_setting",
    "study_grid",
]

CLASSES = ("collapse", "no collapse", "does not reach the target")

#: gamma = STEP_FRACTION * s^2 for bandwidth s.
STEP_FRACTION = 0.25
#: particles count as near the target mean within NEAR_RADIUS * sqrt(d).
NEAR_RADIUS = 0.5
#: the off-support points are X + OFF_SIGMA * u, u ~ N(0, I).
OFF_SIGMA = 0.1

THRESHOLDS = {
    "reach_radius_ratio": 2.0,  # does not reach: radius ratio above this
    "spread_ratio": 0.5,  # collapse: spread ratio (or radius ratio) below this ...
    "frac_near": 0.5,  # ... and at least this fraction near the target mean ...
    "stall": 0.9,  # ... and MMD^2 over the last fifth of the run falls by less than 10%
}

#: The grid at each scale (bandwidths are per distance: "literal" s = 2, "D/2", "D").
COLLAPSE_STUDY = {
    "paper": {
        "dims": [2, 5, 10, 20, 50],
        "distances": ["3", "10 sqrt(d)"],
        "spreads": [0.1, 0.5],
        "bandwidths": ["2", "D/2", "D"],
        "ns": [100, 300],
        "n_steps": 1000,
        "long": {
            "cases": [
                [2, 0.5, "D/2"],
                [10, 0.5, "D/2"],
                [20, 0.5, "D/2"],
                [10, 0.1, "D"],
                [20, 0.1, "D"],
                [50, 0.1, "D"],
            ],
            "n": 300,
            "n_steps": 5000,
        },
    },
    "reduced": {
        "dims": [2, 10, 50],
        "distances": ["3", "10 sqrt(d)"],
        "spreads": [0.1, 0.5],
        "bandwidths": ["2", "D/2", "D"],
        "ns": [40],
        "n_steps": 200,
        "long": {"cases": [[2, 0.5, "D/2"], [50, 0.1, "D"]], "n": 40, "n_steps": 1000},
    },
}


def _distance(rule: str, d: int) -> float:
    if rule == "3":
        return 3.0
    if rule == "10 sqrt(d)":
        return 10.0 * math.sqrt(d)
    raise ValueError(f"unknown distance rule {rule!r}")


def _bandwidth(rule: str, D: float) -> float:
    if rule == "2":
        return 2.0
    if rule == "D/2":
        return D / 2.0
    if rule == "D":
        return D
    raise ValueError(f"unknown bandwidth rule {rule!r}")


def study_grid(settings: dict) -> list[dict]:
    """The settings of the study, one dict per run (d, distance, spread, bandwidth, n, step)."""
    rows = []
    for d, dist, r, bw, n in itertools.product(
        settings["dims"],
        settings["distances"],
        settings["spreads"],
        settings["bandwidths"],
        settings["ns"],
    ):
        D = _distance(dist, d)
        s = _bandwidth(bw, D)
        rows.append(
            {
                "d": d,
                "distance_rule": dist,
                "distance": D,
                "spread": r,
                "bandwidth_rule": bw,
                "bandwidth": s,
                "n": n,
                "step": STEP_FRACTION * s**2,
                "n_steps": settings["n_steps"],
            }
        )
    return rows


def collapse_metrics(X, Y, kernel, *, rng=None, off_sigma: float = OFF_SIGMA) -> dict:
    """The collapse measures of particles X (n, d) against target samples Y (m, d).

    Returns spread_ratio, radius_ratio, frac_near (within NEAR_RADIUS sqrt(d) of mean(Y)),
    mean_offset, grad_on and grad_off (mean |grad f| at X and at X + off_sigma u) and their ratio.
    """
    X = np.asarray(X, dtype=float)
    Y = np.asarray(Y, dtype=float)
    d = X.shape[1]
    centre = Y.mean(axis=0)
    spread_ratio = float(np.mean(X.std(axis=0) / Y.std(axis=0)))
    radius = NEAR_RADIUS * math.sqrt(d)
    rx = np.linalg.norm(X - centre, axis=1)
    frac_near = float(np.mean(rx <= radius))
    radius_ratio = float(np.median(rx) / np.median(np.linalg.norm(Y - centre, axis=1)))
    rng = np.random.default_rng(rng)
    off = X + off_sigma * rng.standard_normal(X.shape)
    grad_on = float(np.mean(np.linalg.norm(mmd_velocity(X, Y, kernel).velocity, axis=1)))
    grad_off = float(np.mean(np.linalg.norm(mmd_velocity(X, Y, kernel, at=off).velocity, axis=1)))
    return {
        "spread_ratio": spread_ratio,
        "frac_near": frac_near,
        "near_radius": radius,
        "radius_ratio": radius_ratio,
        "mean_offset": float(np.linalg.norm(X.mean(axis=0) - centre)),
        "grad_on": grad_on,
        "grad_off": grad_off,
        "grad_off_over_on": grad_off / grad_on if grad_on > 0 else math.inf,
    }


def classify(m: dict) -> str:
    """The class of a setting from its measures (see :data:`THRESHOLDS`)."""
    t = THRESHOLDS
    if m["radius_ratio"] > t["reach_radius_ratio"]:
        return "does not reach the target"
    if (
        min(m["spread_ratio"], m["radius_ratio"]) < t["spread_ratio"]
        and m["frac_near"] >= t["frac_near"]
        and m["stall"] > t["stall"]
    ):
        return "collapse"
    return "no collapse"


def run_setting(row: dict, seed: int) -> dict:
    """One noise-free MMD flow of the study and its measures (``row`` from :func:`study_grid`)."""
    rng = np.random.default_rng(seed)
    d, n = row["d"], row["n"]
    Y = rng.standard_normal((n, d))
    X0 = row["distance"] / math.sqrt(d) + row["spread"] * rng.standard_normal((n, d))
    fresh = rng.standard_normal((n, d))
    kernel = GaussianKernel(row["bandwidth"])
    t0 = time.perf_counter()
    n_steps = row["n_steps"]
    res = mmd_flow(X0, Y, kernel, step=row["step"], n_steps=n_steps, record_every=n_steps // 5)
    mmd2 = mmd2_along(res)
    late = int(np.searchsorted(res.steps, 4 * n_steps // 5))
    out = {
        "mmd2_start": float(mmd2[0]),
        "mmd2_late": float(mmd2[late]),
        "mmd2_final": float(mmd2[-1]),
        "stall": float(mmd2[-1] / mmd2[late]),
        "mmd2_floor": 2.0 * mmd_energy(fresh, Y, kernel),
        "start_spread_ratio": float(np.mean(X0.std(axis=0) / Y.std(axis=0))),
    }
    out.update(collapse_metrics(res.particles, Y, kernel, rng=rng))
    out["class"] = classify(out)
    out["seconds"] = time.perf_counter() - t0
    return out


def _settings(scale: str) -> dict:
    return {
        **COLLAPSE_STUDY[scale],
        "step_fraction": STEP_FRACTION,
        "near_radius": NEAR_RADIUS,
        "off_sigma": OFF_SIGMA,
        "thresholds": THRESHOLDS,
        "seed": "setting i of the grid uses seed i",
    }


def collapse_study(settings="reduced", /, **changes) -> dict:
    """Run every setting of the grid; ``{"rows": [setting + measures + class, ...], "counts":
    {class: number}, "long_rows": [...]}``.

    ``settings``: a scale or a settings dict of :data:`EXPERIMENT`; ``changes`` change named
    settings. Setting i uses seed i (target, source, fresh target sample, off-support noise).
    """
    settings = EXPERIMENT.resolve(settings, **changes)
    rows = []
    for i, row in enumerate(study_grid(settings)):
        rows.append({**row, **run_setting(row, seed=i)})
    counts = {c: sum(r["class"] == c for r in rows) for c in CLASSES}
    return {"rows": rows, "counts": counts, "long_rows": _long_runs(settings.get("long"))}


def _long_runs(long: dict | None) -> list[dict]:
    """The long runs of the near-collapse settings (source at distance 10 sqrt(d))."""
    if not long:
        return []
    rows = []
    for j, (d, spread, bw) in enumerate(long["cases"]):
        D = _distance("10 sqrt(d)", d)
        s = _bandwidth(bw, D)
        row = {
            "d": d,
            "distance_rule": "10 sqrt(d)",
            "distance": D,
            "spread": spread,
            "bandwidth_rule": bw,
            "bandwidth": s,
            "n": long["n"],
            "step": STEP_FRACTION * s**2,
            "n_steps": long["n_steps"],
        }
        rows.append({**row, **run_setting(row, seed=1000 + j)})
    return rows


#: The results file collapse-map: the grid at each scale, its runs and measures (the rows are
#: the summary).
EXPERIMENT = Experiment(
    "collapse-map",
    "where a spread source collapses under the noise-free MMD flow: dimension, "
    "distance, source spread, bandwidth, n",
    _settings,
    collapse_study,
    lambda out, s: out,  # collapse_study's rows and counts are the metrics
)
register(EXPERIMENT)
