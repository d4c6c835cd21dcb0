"""The DrMMD flow's experiments (Chen, Mustafi, Glaser, Korba, Gretton, Sriperumbudur, JMLR 2025).

* **Three rings, compared fairly** (:func:`drmmd_three_rings`): the authors' set-up (three rings of
  100 points, radius 0.3, centres (0, 0), (0, -0.75), (0, -1.5); 300 particles from
  N((0, -0.3), 0.01^2 I); Gaussian kernel sigma = 0.15; 20,000 steps). DrMMD with lam = 1e-3 at
  the authors' ``--step_size 0.1`` (step = 2 lam 0.1 = 2e-4 in the package's convention), fixed
  and adaptive (with the authors' floor); the MMD flow at the step the authors' ``--flow mmd``
  baseline inherits from the same flags (lam 0.1 = 1e-4), and at its own best stable step
  (the lowest final MMD^2 over a grid of steps, among the runs that descend, MMD^2 never rising
  between snapshots, as forward Euler on F = MMD^2 / 2 does at a stable step, and lose no
  particle: a step past stability can throw particles far from the rings, where MMD^2 is small
  too). Each run
  reports its final MMD^2, energy distance, stragglers (particles farther than
  :data:`STRAGGLER_DISTANCE` from every target point), particles per ring, the first step at
  which MMD^2 falls below 10% and 1% of its start, and its wall time.
* **Student-teacher** (:func:`drmmd_student_teacher_piece`): the authors' claim that DrMMD beats
  the MMD flow with and without noise injection, at N = 100 with both students, three seeds
  (the reduced results file at the sweep's schedule, 1000 epochs), each flow over a grid of
  learning rates run on the same problems (teacher, student, inputs, batches). The two flows'
  steps differ in kind: DrMMD's first variation carries (1 + lam) / lam = 11 (lam = 0.1, the
  authors') and its step is ``lr`` on it, against ``lr / 2`` for the MMD flow in these modes
  (``loss_scale``), so DrMMD at ``lr`` moves 2 (1 + lam) / lam = 22 times faster than the MMD flow
  at ``lr`` along what it does not de-regularize. The grid pairs them at matched steps: DrMMD at
  :data:`STUDENT_TEACHER_LRS` (0.1 the authors' command line) and the MMD flow at 22 times each.
  The metrics say what each flow reaches at each lr, and at its best stable lr (lowest mean
  training MSE over the seeds, among the lrs at which no seed diverged; validation MSE reported
  beside it). The paper scale (10^4 epochs) runs DrMMD at the authors' lr only, against the MMD
  flow's runs in the reduced student-teacher files (:data:`MMD_BASELINES`);
  :func:`drmmd_student_teacher_table` prints either.

Both are registered with the results files (:data:`THREE_RINGS`, :data:`STUDENT_TEACHER`:
``python -m kernelflows.experiments run drmmd-three-rings``, ``drmmd-student-teacher``).
"""

from __future__ import annotations

import time
from dataclasses import replace

import numpy as np

from ..divergences.mmd import mmd_energy
from ..flows import FlowDivergedError, drmmd_flow, mmd_flow
from ..kernels import GaussianKernel
from .datasets import three_rings_target
from .metrics import STRAGGLER_DISTANCE, first_below, ring_fit
from .registry import Experiment, jsonable, register
from .student_teacher import (
    REDUCED_SETTINGS,
    SWEEP_SETTINGS,
    StudentTeacherSettings,
    run_student_teacher,
    summarise_runs,
)

__all__ = [
    "DRMMD_RINGS_BANDWIDTH",
    "STUDENT_TEACHER",
    "THREE_RINGS",
    "STUDENT_TEACHER_LRS",
    "drmmd_rings_setup",
    "drmmd_student_teacher_combine",
    "drmmd_student_teacher_piece",
    "drmmd_student_teacher_settings",
    "drmmd_student_teacher_summary_of",
    "drmmd_student_teacher_table",
    "drmmd_three_rings",
    "drmmd_three_rings_settings",
    "matched_factor",
    "three_rings_combine",
    "three_rings_piece",
    "three_rings_pieces",
    "three_rings_run_of",
]

#: The authors' three-rings kernel: exp(-||x - y||^2 / (2 sigma^2)), sigma = 0.15.
DRMMD_RINGS_BANDWIDTH = 0.15


def drmmd_rings_setup(seed: int = 0, n_per_ring: int = 100, n_source: int = 300):
    """(X0, Y) of the authors' three-rings run: the target of
    :func:`~kernelflows.experiments.three_rings_target` with 100 points a ring, and ``n_source``
    particles N((0, -0.3), 0.01^2 I) from ``seed`` (the authors draw them with JAX's generator,
    which differs across JAX versions: the shape of the start, not its draws, is what carries
    over)."""
    Y = three_rings_target(n_per_ring)
    X0 = np.array([0.0, -0.3]) + 0.01 * np.random.default_rng(seed).standard_normal((n_source, 2))
    return X0, Y


def drmmd_three_rings_settings(scale: str) -> dict:
    """The settings of the three-rings comparison (the reduced scale runs a tenth of the steps)."""
    n_steps = 20_000 if scale == "paper" else 2_000
    return {
        "n_steps": n_steps,
        "record_every": n_steps // 40,
        "lam": 1e-3,
        "authors_step_size": 0.1,
        "drmmd_step": 2 * 1e-3 * 0.1,
        "adaptive_min_step": 2e-4,
        "mmd_authors_step": 1e-3 * 0.1,
        "mmd_step_grid": [1e-3, 3e-3, 1e-2, 3e-2, 0.1, 0.3, 1.0],
        "bandwidth": DRMMD_RINGS_BANDWIDTH,
        "straggler_distance": STRAGGLER_DISTANCE,
        "seed": 0,
    }


def _run(name, flow, X0, Y, kernel, s, **kw) -> tuple[dict, object]:
    t0 = time.perf_counter()
    try:
        res = flow(X0, Y, kernel, n_steps=s["n_steps"], record_every=s["record_every"], **kw)
    except FlowDivergedError as exc:
        return {"diverged": str(exc), "seconds": time.perf_counter() - t0}, None
    seconds = time.perf_counter() - t0
    curve = np.array([2.0 * mmd_energy(X, Y, kernel) for X in res.trajectory])
    out = ring_fit(res.particles, Y, kernel)
    out |= {
        "step": kw["step"],
        "seconds": seconds,
        "seconds_per_step": seconds / s["n_steps"],
        "mmd2_start": float(curve[0]),
        "steps_to_10pc": first_below(res.steps, curve, 0.1 * curve[0]),
        "steps_to_1pc": first_below(res.steps, curve, 0.01 * curve[0]),
        # a stable step is a descent: MMD^2 never rises between snapshots (beyond rounding)
        "descent": bool(np.all(np.diff(curve) <= 1e-9 * curve[:-1])),
        "mmd2_curve": curve.tolist(),
        "snapshot_steps": res.steps.tolist(),
    }
    if "lam" in res.step_info:
        out["final_lam"] = float(res.step_info["lam"][-1])
    return out, res


def three_rings_pieces(s: dict) -> list[str]:
    """The runs of the three-rings comparison, one piece each (they are independent, so
    ``--jobs 2`` runs two at once): the DrMMD flow fixed and adaptive, the MMD flow at the
    authors' step, then at each step of its grid."""
    return ["drmmd", "drmmd adaptive", "mmd, authors' step"] + [
        f"mmd, step {step:g}" for step in s["mmd_step_grid"]
    ]


def three_rings_piece(s: dict, piece: str) -> dict:
    """One run of the three-rings comparison (:func:`three_rings_pieces`): its metrics."""
    X0, Y = drmmd_rings_setup(s["seed"])
    dr = {"lam": s["lam"], "step": s["drmmd_step"]}
    runs = {
        "drmmd": (drmmd_flow, dr),
        "drmmd adaptive": (drmmd_flow, dr | {"adaptive": True, "min_step": s["adaptive_min_step"]}),
        "mmd, authors' step": (mmd_flow, {"step": s["mmd_authors_step"]}),
    } | {f"mmd, step {step:g}": (mmd_flow, {"step": step}) for step in s["mmd_step_grid"]}
    if piece not in runs:
        raise ValueError(f"no run {piece!r} in the three-rings comparison")
    flow, kw = runs[piece]
    return _run(piece, flow, X0, Y, GaussianKernel(s["bandwidth"]), s, **kw)[0]


def three_rings_combine(s: dict, done: list) -> dict:
    """The comparison's metrics from the runs done (``[(piece, metrics), ...]``): ``runs`` by
    name (with ``mmd, best stable step``, the grid's best stable run, once a grid run is done),
    ``mmd_step_grid`` (each grid step's final MMD^2, stragglers, lost, descent, divergence),
    ``best_mmd_step``, and ``grid_runs``, every grid run's metrics (what a resumed run keeps)."""
    by_piece = dict(done)
    runs = {name: by_piece[name] for name in three_rings_pieces(s)[:3] if name in by_piece}
    grid = {p.removeprefix("mmd, step "): r for p, r in done if p.startswith("mmd, step ")}
    grid = {f"{st:g}": grid[f"{st:g}"] for st in s["mmd_step_grid"] if f"{st:g}" in grid}
    keys = ("mmd2", "stragglers", "lost", "descent", "diverged")
    out = {"runs": runs, "grid_runs": grid}
    out["mmd_step_grid"] = {k: {key: r.get(key) for key in keys} for k, r in grid.items()}
    stable = {k: r for k, r in grid.items() if r.get("descent") and r["lost"] == 0}
    if stable:
        best = min(stable, key=lambda k: stable[k]["mmd2"])
        runs["mmd, best stable step"] = stable[best]
        out["best_mmd_step"] = float(best)
    return out


def three_rings_run_of(s: dict, metrics: dict, piece: str) -> dict:
    """A done run's metrics read back from the comparison's metrics."""
    if piece.startswith("mmd, step "):
        return metrics["grid_runs"][piece.removeprefix("mmd, step ")]
    return metrics["runs"][piece]


def drmmd_three_rings(settings="paper", /, **changes) -> dict:
    """The fair comparison on the three rings (module docstring), every run in turn: metrics.
    ``settings``: a scale or settings dict of :data:`THREE_RINGS`, ``changes`` (``n_steps=20``)."""
    s = THREE_RINGS.resolve(settings, **changes)
    done = [(piece, three_rings_piece(s, piece)) for piece in three_rings_pieces(s)]
    return three_rings_combine(s, done)


# -- student-teacher ---------------------------------------------------------------------------

#: The authors' command line for their student-teacher run: ``--lmbda 0.1``.
STUDENT_TEACHER_LAM = 0.1
_ST_MODES = ("injection", "none")
#: DrMMD's learning rates in the reduced student-teacher comparison (lam = 0.1); the MMD flow runs
#: at :func:`matched_factor` (22) times each, the same effective step (module docstring). 0.1 is
#: the authors' command line.
STUDENT_TEACHER_LRS = (0.02, 0.1, 0.5)

#: The MMD flow's runs on the very same problems (settings, seeds, batches), already in results
#: files, by scale and name: their learning rate and, per student, [experiment id, results
#: scale, sweep variant or None]. Only the paper scale reads them (the reduced scale runs both
#: flows over its grid).
MMD_BASELINES = {
    "reduced": {},
    "paper": {
        "mmd, lr 0.1": {
            "lr": 0.1,
            "files": {
                "per-particle": ["student-teacher", "reduced", None],
                "dense": ["student-teacher-dense", "reduced", None],
            },
        },
    },
}


def matched_factor(lam: float) -> float:
    """How much faster DrMMD at learning rate lr moves than the MMD flow at lr, along what it
    does not de-regularize, in the student-teacher modes "injection" and "none":
    2 (1 + lam) / lam (its first variation carries (1 + lam) / lam, its step is lr against the
    MMD flow's lr / 2)."""
    return round(2.0 * (1.0 + lam) / lam, 12)


def drmmd_student_teacher_settings(scale: str) -> dict:
    """N = 100 at both scales: the reduced scale at the sweep's schedule (``SWEEP_SETTINGS``:
    1000 epochs, beta halved every 100) with both flows over their grids of learning rates
    (``lr_pairs``: DrMMD's lr and the MMD flow's at the matched step), the paper scale at the
    package's reduced student-teacher settings (``REDUCED_SETTINGS``: 10^4 epochs, beta halved
    every 1000) with DrMMD at the authors' lam and lr, against the MMD flow's runs at the same
    settings read from :data:`MMD_BASELINES` (their settings are checked)."""
    base = REDUCED_SETTINGS if scale == "paper" else SWEEP_SETTINGS
    lam = STUDENT_TEACHER_LAM
    seeds = (0, 1, 2)
    students = {a: jsonable(replace(base, architecture=a)) for a in ("per-particle", "dense")}
    if scale == "paper":
        pairs = []
        flows = {f"drmmd, lr {base.lr:g}": {"lam": lam, "lr": base.lr}}
    else:
        pairs = [[lr, round(matched_factor(lam) * lr, 12)] for lr in STUDENT_TEACHER_LRS]
        flows = {f"drmmd, lr {d:g}": {"lam": lam, "lr": d} for d, _ in pairs}
        flows |= {f"mmd, lr {m:g}": {"lam": None, "lr": m} for _, m in pairs}
    return {
        "students": students,
        "flows": flows,
        "lr_pairs": pairs,
        "modes": list(_ST_MODES),
        "seeds": list(seeds),
        # the dense student's pieces first: the longest (about three times the per-particle's)
        "order": [[a, seed] for a in ("dense", "per-particle") for seed in seeds],
        "mmd_baseline": MMD_BASELINES[scale],
    }


def drmmd_student_teacher_piece(s: dict, piece) -> dict:
    """One piece ``[student, seed]``: every flow in every mode on the same problem (the seed's
    teacher, student, inputs and batches), ``{flow: {mode: summary}}``; a run whose weights stop
    being finite is recorded as diverged. BLAS is held to one thread: the products are small,
    and two processes each spinning two BLAS threads on two shared cores ran a 1000-epoch
    per-particle run 43 times slower (2160 s against 50 s)."""
    from threadpoolctl import threadpool_limits

    student, seed = piece
    settings = StudentTeacherSettings(**s["students"][student])
    out: dict = {}
    for name, flow in s["flows"].items():
        for mode in s["modes"]:
            try:
                with threadpool_limits(1):
                    r = run_student_teacher(
                        replace(settings, lr=flow["lr"]),
                        noises=(mode,),
                        rng=seed,
                        lam=flow["lam"],
                    )[mode]
                out.setdefault(name, {})[mode] = summarise_runs({mode: r})[mode]
            except (FloatingPointError, FlowDivergedError) as exc:
                out.setdefault(name, {})[mode] = {"diverged": str(exc)}
    return out


def drmmd_student_teacher_combine(s: dict, done: list) -> dict:
    """The metrics of the pieces done (``[(piece, summary), ...]``): ``{"runs": {flow:
    {student: {mode: {seed: summary}}}}, "mean": {flow: {student: {mode: means}}},
    "mmd_baseline": {name: {student: {"source", "runs": {mode: {seed: MSEs}}, "mean"}}}}``."""
    runs: dict = {}
    for (student, seed), summary in done:
        for flow, by_mode in summary.items():
            for mode, r in by_mode.items():
                runs.setdefault(flow, {}).setdefault(student, {}).setdefault(mode, {})[
                    str(seed)
                ] = r
    mean = _means(runs)
    return {
        "runs": runs,
        "mean": mean,
        "best": _best(s, mean),
        "mmd_baseline": _mmd_baseline(s),
    }


def _best(s: dict, mean: dict) -> dict:
    """Each flow's best stable learning rate per student and mode: ``{"drmmd" | "mmd": {student:
    {mode: {"flow", "lr", "train_mse", "valid_mse"}}}}``, the lowest mean training MSE among the
    flow's lrs run on every seed with none diverged (absent while none qualifies)."""
    out: dict = {}
    for name, flow in s["flows"].items():
        family = "mmd" if flow["lam"] is None else "drmmd"
        for student, by_mode in mean.get(name, {}).items():
            for mode, r in by_mode.items():
                if r["diverged"] or r["seeds"] < len(s["seeds"]):
                    continue
                best = out.setdefault(family, {}).setdefault(student, {}).get(mode)
                if best is None or r["train_mse"] < best["train_mse"]:
                    out[family][student][mode] = {
                        "flow": name,
                        "lr": flow["lr"],
                        "train_mse": r["train_mse"],
                        "valid_mse": r["valid_mse"],
                    }
    return out


def drmmd_student_teacher_summary_of(s: dict, metrics: dict, piece) -> dict:
    """A done piece's summary read back from the metrics (what a resumed run keeps)."""
    student, seed = piece
    return {
        flow: {mode: metrics["runs"][flow][student][mode][str(seed)] for mode in s["modes"]}
        for flow in s["flows"]
    }


def _mmd_baseline(s: dict) -> dict:
    """The MMD flow's final MSEs per name, student, mode and seed from the baseline results
    files (and their means), or why they cannot be used."""
    from .files import load_results

    out: dict = {}
    for name, baseline in s["mmd_baseline"].items():
        for student, (exp_id, scale, variant) in baseline["files"].items():
            if student not in s["students"]:
                continue
            try:
                res = load_results(exp_id, scale)
            except ValueError as exc:
                out.setdefault(name, {})[student] = {"unavailable": str(exc)}
                continue
            m = res.metrics["variants"][variant] if variant else res.metrics
            theirs = res.settings["variants"][variant] if variant else res.settings
            if theirs["settings"] != s["students"][student] | {"lr": baseline["lr"]}:
                out.setdefault(name, {})[student] = {
                    "unavailable": f"{res.source()}: its settings differ"
                }
                continue
            runs = {
                mode: {
                    k: {key: r[key] for key in ("train_mse", "valid_mse")} for k, r in by.items()
                }
                for mode, by in m["runs"].items()
                if mode in s["modes"]
            }
            out.setdefault(name, {})[student] = {
                "source": res.source(),
                "runs": runs,
                "mean": {
                    mode: {
                        key: float(np.mean([r[key] for r in by.values()]))
                        for key in ("train_mse", "valid_mse")
                    }
                    for mode, by in runs.items()
                },
            }
    return out


def _means(runs: dict) -> dict:
    out: dict = {}
    for flow, by_student in runs.items():
        for student, by_mode in by_student.items():
            for mode, by_seed in by_mode.items():
                ok = [r for r in by_seed.values() if "diverged" not in r]
                out.setdefault(flow, {}).setdefault(student, {})[mode] = {
                    key: float(np.mean([r[key] for r in ok])) if ok else None
                    for key in ("train_mse", "valid_mse")
                } | {"seeds": len(ok), "diverged": len(by_seed) - len(ok)}
    return out


def drmmd_student_teacher_table(metrics: dict) -> str:
    """A text table of the results file's metrics: per student and noise mode, the final
    validation MSE (mean over seeds, then each seed) of DrMMD and of the MMD flow's runs."""
    lines = [f"{'student':>12} {'mode':>9}  {'flow':<16} {'mean':>8}   seeds (final valid MSE)"]
    rows = {
        name: {st: {mode: (by, None) for mode, by in b.items()} for st, b in by_st.items()}
        for name, by_st in metrics["runs"].items()
    }
    for name, by_st in metrics.get("mmd_baseline", {}).items():
        if name not in rows:  # a flow run here is shown, not the file's
            rows[name] = {
                st: {mode: (by, st) for mode, by in b.get("runs", {}).items()}
                for st, b in by_st.items()
            }
    for student in ("per-particle", "dense"):
        for mode in ("injection", "none"):
            for name, by_st in rows.items():
                if mode not in by_st.get(student, {}):
                    continue
                by_seed = by_st[student][mode][0]
                ok = [r["valid_mse"] for r in by_seed.values() if "diverged" not in r]
                seeds = "  ".join(
                    "diverged" if "diverged" in by_seed[k] else f"{by_seed[k]['valid_mse']:.2e}"
                    for k in sorted(by_seed, key=int)
                )
                mean = f"{np.mean(ok):.2e}" if ok else "-"
                lines.append(f"{student:>12} {mode:>9}  {name:<16} {mean:>8}   {seeds}")
    return "\n".join(lines)


#: The results file drmmd-three-rings: one piece per run (:func:`three_rings_pieces`).
THREE_RINGS = Experiment(
    "drmmd-three-rings",
    "DrMMD flow (fixed and adaptive lambda) against the MMD flow at the authors' step and at its "
    "own best stable step, on the authors' three rings (Chen et al., JMLR 2025)",
    drmmd_three_rings_settings,
    three_rings_piece,
    lambda metrics, s: metrics,
    pieces=three_rings_pieces,
    combine=three_rings_combine,
    summary_of=three_rings_run_of,
)

#: The results file drmmd-student-teacher: pieces [student, seed].
STUDENT_TEACHER = Experiment(
    "drmmd-student-teacher",
    "DrMMD flow against the MMD flow, with and without noise injection, for both students "
    "(Chen et al., JMLR 2025, student-teacher claim)",
    drmmd_student_teacher_settings,
    drmmd_student_teacher_piece,
    lambda summary, s: summary,
    pieces=lambda s: s["order"],
    combine=drmmd_student_teacher_combine,
    summary_of=drmmd_student_teacher_summary_of,
)

register(THREE_RINGS, STUDENT_TEACHER)
