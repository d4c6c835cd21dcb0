"""Results files: each published-scale experiment run from one command, with its provenance.

``python -m kernelflows.experiments run ID --scale paper`` runs an experiment and writes
``ID.json`` (``ID.reduced.json`` at the reduced scale) into ``./results`` of the current folder,
or into ``--out DIR``, holding the settings, the metrics, the code version (git commit, or the
package version when it is not run from a checkout), the platform (CPU, BLAS, numpy), the seed,
the start time and the wall time. A rerun never writes into the package by surprise.

The published files ship inside the package, ``kernelflows/results/`` (package data, found with
:mod:`importlib.resources` the same way from a checkout and from an installed wheel):
:func:`load_results` reads them unless it is given a ``directory`` (a user's own rerun), and
the :class:`Results` it returns says which file it read (``path``, and the first words of
:meth:`Results.source`). ``make results`` reruns them all and writes them there
(``--out kernelflows/results``). Lectures and figures that quote a
published-scale number load it with :func:`load_results` and print where it came from; the
reduced run in a lecture calls :func:`compute` (or :func:`compute_runs`, which also returns the
runs, for the lecture's figures), the same code path. A test fails when a
committed results file no longer matches the settings in the code (:func:`stale`).
"""

from __future__ import annotations

import datetime as _dt
import json
import os
import platform
import subprocess
import sys
import time
from collections.abc import Callable, Iterator
from dataclasses import asdict, dataclass, field, is_dataclass, replace
from importlib import resources
from pathlib import Path

import numpy as np

from .._io import atomic_write, output_folder_problem

__all__ = [
    "EXPERIMENTS",
    "ExperimentSpec",
    "Results",
    "compute",
    "compute_runs",
    "load_results",
    "results_path",
    "run_experiment",
    "stale",
]

#: The published results files, shipped inside the package (package data): a folder on disk in
#: a checkout and in an installed wheel alike.
RESULTS_DIR = resources.files("kernelflows").joinpath("results")
#: Where a rerun writes unless told otherwise: ``results`` in the current folder.
DEFAULT_OUT = Path("results")
SCALES = ("paper", "reduced")


@dataclass(frozen=True)
class ExperimentSpec:
    """An experiment: its settings at each scale (JSON-able, from the code) and its run.

    ``run(settings)`` returns the metrics. An experiment whose runs a lecture also draws gives
    ``experiment(settings) -> runs`` and ``summarise(runs, settings) -> metrics`` instead, and
    ``run`` is their composition (:func:`compute_runs` returns both). A long experiment made of
    independent pieces gives ``pieces(settings)``, an iterator of the metrics so far after each
    piece: :func:`run_experiment` writes the file after every piece, so a run cut short leaves
    a file saying which pieces it holds.
    """

    id: str
    description: str
    settings: Callable[[str], dict]
    run: Callable[[dict], dict] | None = None
    experiment: Callable[[dict], object] | None = None
    summarise: Callable[[object, dict], dict] | None = None
    pieces: Callable[[dict], Iterator[dict]] | None = None

    def metrics(self, s: dict) -> dict:
        if self.pieces is not None:
            out = {}
            for metrics in self.pieces(s):
                out = metrics
            return out
        if self.run is not None:
            return self.run(s)
        return self.summarise(self.experiment(s), s)


@dataclass(frozen=True)
class Results:
    """A results file: settings, metrics and provenance of one run."""

    id: str
    scale: str
    settings: dict
    metrics: dict
    provenance: dict = field(default_factory=dict)
    path: str = ""

    @property
    def where(self) -> str:
        """The file it was read from: ``kernelflows/results/NAME`` for a file shipped with the
        package (the same words from a checkout and from a wheel), else its path."""
        if not self.path:
            return self.id
        path = Path(self.path)
        if path.parent == Path(str(RESULTS_DIR)):
            return f"kernelflows/results/{path.name}"
        return str(path)

    def source(self) -> str:
        """One line saying where the numbers came from (file, commit, machine, date)."""
        p = self.provenance
        return (
            f"{self.where}: "
            f"commit {p.get('commit', '?')[:10]}"
            f"{' (+local changes)' if 'local changes' in p.get('commit', '') else ''}, "
            f"{p.get('cpu', '?')}, {p.get('blas', '?')}, numpy {p.get('numpy', '?')}, "
            f"started {p.get('start', '?')[:10]}, {p.get('wall_seconds', float('nan')):.0f} s"
        )


def _jsonable(x):
    if is_dataclass(x):
        return _jsonable(asdict(x))
    if isinstance(x, dict):
        return {str(k): _jsonable(v) for k, v in x.items()}
    if isinstance(x, (list, tuple)):
        return [_jsonable(v) for v in x]
    if isinstance(x, np.ndarray):
        return _jsonable(x.tolist())
    if isinstance(x, np.integer):
        return int(x)
    if isinstance(x, np.floating):
        return float(x)
    return x


# -- the experiments -----------------------------------------------------------------------------


def _three_rings_settings(scale: str) -> dict:
    from .rings import THREE_RINGS_BANDWIDTH

    return {
        "n_steps": 50_000 if scale == "paper" else 5_000,
        "record_every": 500,
        "kale_lam": 1e-3,
        "kale_step": 1e-4,
        "mmd_lam": 1e4,
        "mmd_step": 1e-3,
        "bandwidth": THREE_RINGS_BANDWIDTH,
        "seed": "published source cloud (legacy RandomState(42), one discarded draw)",
    }


def _three_rings_experiment(s: dict):
    from .rings import three_rings_experiment

    return three_rings_experiment(
        n_steps=s["n_steps"],
        record_every=s["record_every"],
        kale_lam=s["kale_lam"],
        kale_step=s["kale_step"],
        mmd_lam=s["mmd_lam"],
        mmd_step=s["mmd_step"],
    )


def _three_rings_summary(out, s: dict) -> dict:
    return {
        "max_distance": out.max_distance,
        "final_kale": {k: float(r.loss[-1]) for k, r in out.runs.items()},
        "max_duality_gap": {
            k: float(np.max(r.step_info["duality_gap"])) for k, r in out.runs.items()
        },
        "newton_steps_per_step": {
            k: float(r.extras["newton_steps"][-1]) / s["n_steps"] for k, r in out.runs.items()
        },
        "seconds": out.seconds,
    }


def _mixture_settings(scale: str) -> dict:
    from .mixture import MIXTURE_BANDWIDTH

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


def _mixture_experiment(s: dict):
    from .mixture import mixture_experiment

    return mixture_experiment(
        n_steps=s["n_steps"],
        step=s["step"],
        lams=tuple(s["lams"]),
        noise_lam=s["noise_lam"],
        beta=s["beta"],
        record_every=s["record_every"],
        rng=s["seed"],
    )


def _mixture_summary(out, s: dict) -> dict:
    from .datasets import MIXTURE_MEANS

    means = np.asarray(MIXTURE_MEANS)
    counts = {}
    for name, res in out.runs.items():
        nearest = np.argmin(((res.particles[:, None] - means[None]) ** 2).sum(-1), axis=1)
        counts[name] = np.bincount(nearest, minlength=len(means)).tolist()
    return {
        "mmd_start": {k: float(v[0]) for k, v in out.mmd.items()},
        "mmd_final": {k: float(v[-1]) for k, v in out.mmd.items()},
        "particles_nearest_each_mode": counts,
    }


# The student-teacher runs: per-particle and dense students, four noise modes, three seeds. Each
# (seed, modes) piece is written as soon as it is done; the order puts the central comparison
# (injection against the same path without noise) first for every seed.
_ST_GROUPS = (("injection", "none"), ("plain",), ("diffusion",))


def _student_teacher_plan(settings, seeds, groups=_ST_GROUPS) -> dict:
    return {
        "settings": _jsonable(settings),
        "noises": [m for g in groups for m in g],
        "seeds": list(seeds),
        "order": [[list(g), seed] for g in groups for seed in seeds],
    }


def _student_teacher_settings(scale: str) -> dict:
    from .student_teacher import PAPER_SETTINGS, REDUCED_SETTINGS

    return _student_teacher_plan(
        PAPER_SETTINGS if scale == "paper" else REDUCED_SETTINGS, (0, 1, 2)
    )


def _student_teacher_dense_settings(scale: str) -> dict:
    from .student_teacher import DENSE_PAPER_SETTINGS, REDUCED_SETTINGS

    if scale == "paper":
        return _student_teacher_plan(DENSE_PAPER_SETTINGS, (0,), (("injection", "none"),))
    return _student_teacher_plan(replace(REDUCED_SETTINGS, architecture="dense"), (0, 1, 2))


def _run_summary(r) -> dict:
    return {
        "train_mse": float(r.train_loss[-1]),
        "valid_mse": float(r.valid_loss[-1]),
        "min_valid_mse": float(np.nanmin(r.valid_loss)),
        "wall_seconds": float(r.wall_time),
        "epochs": r.epochs.tolist(),
        "train_curve": r.train_loss.tolist(),
        "valid_curve": r.valid_loss.tolist(),
    }


def _student_teacher_pieces(s: dict) -> Iterator[dict]:
    """Metrics ``{"runs": {mode: {seed: run}}, "mean": {mode: {...}}, "done": [...],
    "missing": [...]}`` after each (modes, seed) piece of ``s["order"]``."""
    from .student_teacher import StudentTeacherSettings, run_student_teacher

    settings = StudentTeacherSettings(**s["settings"])
    runs: dict = {}
    done = []
    for modes, seed in s["order"]:
        for mode, r in run_student_teacher(settings, noises=tuple(modes), rng=seed).items():
            runs.setdefault(mode, {})[str(seed)] = _run_summary(r)
        done.append([modes, seed])
        yield _student_teacher_metrics(runs, done, s)


# The sweep: which difference between the original code and the per-particle model produces the
# original's gain from noise injection (the dense layer, its initialisation, float32; the loss
# scaling is the "plain" mode), and whether injection helps the per-particle model at other noise
# levels, schedules or step sizes. It runs at the lecture's schedule (1000 epochs, beta halved
# every 100) with N = 100 (N = 1000 at the paper scale), ten times cheaper than the main runs, and
# holds its own baselines; each variant changes one thing.
def _sweep_variants(n_student: int) -> dict:
    both, all3 = ["injection", "none"], ["injection", "none", "plain"]
    return {
        "dense": ({"architecture": "dense"}, all3),
        "dense, second layer std 1/sqrt(N)": (
            {"architecture": "dense", "second_layer_std": 1.0 / np.sqrt(n_student)},
            both,
        ),
        "dense, float64": ({"architecture": "dense", "dtype": "float64"}, both),
        "per-particle": ({}, all3),
        "per-particle, second layer std sqrt(N)": (
            {"second_layer_std": float(np.sqrt(n_student))},
            both,
        ),
        "per-particle, float64": ({"dtype": "float64"}, both),
        "per-particle, beta0 = 0.1": ({"beta0": 0.1}, ["injection"]),
        "per-particle, beta0 = 3": ({"beta0": 3.0}, ["injection"]),
        "per-particle, beta constant 1": ({"halve_every": 10**6}, ["injection"]),
        "per-particle, lr 0.02": ({"lr": 0.02}, both),
        "per-particle, lr 0.5": ({"lr": 0.5}, both),
    }


def _student_teacher_sweep_settings(scale: str) -> dict:
    from .student_teacher import PAPER_SETTINGS, SWEEP_SETTINGS

    base = SWEEP_SETTINGS
    if scale == "paper":
        base = replace(SWEEP_SETTINGS, n_student=PAPER_SETTINGS.n_student)
    seeds = (0, 1, 2)
    variants = {
        name: {"settings": _jsonable(replace(base, **change)), "noises": noises}
        for name, (change, noises) in _sweep_variants(base.n_student).items()
    }
    return {
        "variants": variants,
        "seeds": list(seeds),
        "order": [[name, seed] for seed in seeds for name in variants],
    }


def _student_teacher_sweep_pieces(s: dict) -> Iterator[dict]:
    """Metrics ``{"variants": {name: metrics as the main runs'}, "done", "missing"}``."""
    from .student_teacher import StudentTeacherSettings, run_student_teacher

    runs: dict = {name: {} for name in s["variants"]}
    done = []
    for name, seed in s["order"]:
        v = s["variants"][name]
        settings = StudentTeacherSettings(**v["settings"])
        for mode, r in run_student_teacher(settings, noises=tuple(v["noises"]), rng=seed).items():
            runs[name].setdefault(mode, {})[str(seed)] = _run_summary(r)
        done.append([name, seed])
        yield {
            "variants": {
                k: _student_teacher_metrics(
                    r, [[k, sd] for k2, sd in done if k2 == k], {"order": []}
                )
                for k, r in runs.items()
                if r
            },
            "done": done,
            "missing": [p for p in s["order"] if p not in done],
        }


def _student_teacher_metrics(runs: dict, done: list, s: dict) -> dict:
    mean = {
        mode: {
            key: float(np.mean([r[key] for r in by_seed.values()]))
            for key in ("train_mse", "valid_mse", "min_valid_mse")
        }
        | {"seeds": sorted(int(k) for k in by_seed)}
        for mode, by_seed in runs.items()
    }
    return {
        "runs": runs,
        "mean": mean,
        "done": done,
        "missing": [p for p in s["order"] if p not in done],
    }


def _collapse_settings(scale: str) -> dict:
    from .collapse import COLLAPSE

    return {
        "n": COLLAPSE["n"][scale],
        "bandwidth": COLLAPSE["bandwidth"],
        "step": COLLAPSE["step"],
        "n_steps": COLLAPSE["n_steps"],
        "noise": _jsonable(COLLAPSE["noise"]),
        "seed": {"data": 0, "noise": 1},
    }


def _collapse_run(s: dict) -> dict:
    from ..flows import mmd2_along
    from .collapse import collapse_runs

    scale = "paper" if s["n"] == 1000 else "reduced"
    out = collapse_runs(scale)
    return {
        name: {
            "mmd2_start": float(mmd2_along(r)[0]),
            "mmd2_final": float(mmd2_along(r)[-1]),
            "particle_spread_final": float(np.mean(np.std(r.particles, axis=0))),
        }
        for name, r in out.runs.items()
    }


def _beyond_settings(scale: str) -> dict:
    from .beyond import BEYOND_STEPS, COVERAGE_THRESHOLD

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


def _beyond_experiment(s: dict):
    from .beyond import beyond_experiment

    return beyond_experiment(
        n=s["n"],
        n_steps=s["n_steps"],
        n_heldout=s["n_heldout"],
        beta=s["beta"],
        lam=s["lam"],
        n_projections=s["n_projections"],
        rng=s["seed"],
    )


def _beyond_summary(out, s: dict) -> dict:
    return {
        "energy_start": out.energy_start,
        "energy_final": out.energy,
        "modes_covered": out.covered,
        "mode_fractions": out.fractions,
        "seconds_per_step": out.seconds_per_step,
    }


def _collapse_map_settings(scale: str) -> dict:
    from .collapse_study import COLLAPSE_STUDY, NEAR_RADIUS, OFF_SIGMA, STEP_FRACTION, THRESHOLDS

    return {
        **COLLAPSE_STUDY[scale],
        "step_fraction": STEP_FRACTION,
        "near_radius": NEAR_RADIUS,
        "off_sigma": OFF_SIGMA,
        "thresholds": THRESHOLDS,
        "seed": "setting i of the grid uses seed i",
    }


def _collapse_map_run(s: dict) -> dict:
    from .collapse_study import collapse_study

    return collapse_study(s)


EXPERIMENTS: dict[str, ExperimentSpec] = {
    spec.id: spec
    for spec in (
        ExperimentSpec(
            "three-rings",
            "KALE flow vs MMD-like flow on three rings (Glaser, Arbel, Gretton, NeurIPS 2021, "
            "Fig. 1)",
            _three_rings_settings,
            experiment=_three_rings_experiment,
            summarise=_three_rings_summary,
        ),
        ExperimentSpec(
            "mixture",
            "MMD, KALE (three lambdas, and with noise) and KL flows on a mixture of four Gaussians",
            _mixture_settings,
            experiment=_mixture_experiment,
            summarise=_mixture_summary,
        ),
        ExperimentSpec(
            "student-teacher",
            "per-particle student network trained as an MMD flow: noise injection, the same path "
            "without noise, the original code's plain path, diffusion (Arbel et al., NeurIPS "
            "2019, Fig. 1)",
            _student_teacher_settings,
            pieces=_student_teacher_pieces,
        ),
        ExperimentSpec(
            "student-teacher-dense",
            "the original code's dense student (one (N H) x N second layer), same noise modes "
            "(Arbel et al., NeurIPS 2019, Fig. 1)",
            _student_teacher_dense_settings,
            pieces=_student_teacher_pieces,
        ),
        ExperimentSpec(
            "student-teacher-sweep",
            "which difference gives the original code its gain from noise injection, and noise "
            "levels, schedules and steps for the per-particle student",
            _student_teacher_sweep_settings,
            pieces=_student_teacher_sweep_pieces,
        ),
        ExperimentSpec(
            "collapse",
            "noise-free and noise-injected MMD flows of the collapse set-up",
            _collapse_settings,
            _collapse_run,
        ),
        ExperimentSpec(
            "beyond",
            "MMD (with and without noise), KALE, sliced MMD, SVGD, KSD descent and Langevin flows "
            "on the four-Gaussian mixture: energy distance, modes covered, time per step",
            _beyond_settings,
            experiment=_beyond_experiment,
            summarise=_beyond_summary,
        ),
        ExperimentSpec(
            "collapse-map",
            "where a spread source collapses under the noise-free MMD flow: dimension, "
            "distance, source spread, bandwidth, n",
            _collapse_map_settings,
            _collapse_map_run,
        ),
    )
}


def _spec(experiment_id: str) -> ExperimentSpec:
    if experiment_id not in EXPERIMENTS:
        raise ValueError(
            f"unknown experiment {experiment_id!r}; known: {', '.join(sorted(EXPERIMENTS))}"
        )
    return EXPERIMENTS[experiment_id]


def _scale(scale: str) -> str:
    if scale not in SCALES:
        raise ValueError(f"scale must be one of {SCALES}, got {scale!r}")
    return scale


def settings(experiment_id: str, scale: str = "paper") -> dict:
    """The settings of an experiment at a scale, as the code defines them (JSON-able)."""
    return _jsonable(_spec(experiment_id).settings(_scale(scale)))


def compute(experiment_id: str, scale: str = "reduced") -> dict:
    """Run an experiment and return its metrics, writing nothing (what a lecture calls)."""
    return _jsonable(_spec(experiment_id).metrics(settings(experiment_id, scale)))


def compute_runs(experiment_id: str, scale: str = "reduced") -> tuple[dict, object]:
    """Run an experiment, write nothing, and return ``(metrics, runs)``: the metrics exactly as
    :func:`compute` and the results file have them, and the runs they summarise (for figures)."""
    spec = _spec(experiment_id)
    if spec.experiment is None:
        raise ValueError(f"experiment {experiment_id!r} does not expose its runs; use compute()")
    s = settings(experiment_id, scale)
    runs = spec.experiment(s)
    return _jsonable(spec.summarise(runs, s)), runs


# -- provenance, files -------------------------------------------------------------------------


def _git_commit() -> str:
    """The checkout's commit, or the package's version when it does not run from a checkout
    of kernelflows (an installed wheel inside someone's own repository is no checkout of it)."""
    from .. import __version__
    from .._project import _from_pyproject

    if not _from_pyproject():
        return f"kernelflows {__version__} (installed package, no git checkout)"
    try:
        out = subprocess.run(
            ["git", "rev-parse", "HEAD"],
            cwd=Path(__file__).resolve().parent,
            capture_output=True,
            text=True,
            timeout=10,
        )
        dirty = subprocess.run(
            ["git", "status", "--porcelain", "--untracked-files=no"],
            cwd=Path(__file__).resolve().parent,
            capture_output=True,
            text=True,
            timeout=10,
        )
    except (OSError, subprocess.SubprocessError):
        return "unknown"
    commit = out.stdout.strip() or "unknown"
    return commit + ("+local changes" if dirty.stdout.strip() else "")


def _cpu() -> str:
    try:
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.startswith("model name"):
                return line.split(":", 1)[1].strip()
    except OSError:
        pass
    return platform.processor() or platform.machine()


def _blas() -> str:
    try:
        from threadpoolctl import threadpool_info
    except ImportError:
        return "unknown"
    libs = [
        f"{i.get('internal_api')} {i.get('version')} ({i.get('num_threads')} threads)"
        for i in threadpool_info()
        if i.get("user_api") == "blas"
    ]
    return "; ".join(libs) or "unknown"


def provenance(start: float, wall: float, commit: str | None = None) -> dict:
    return {
        "commit": _git_commit() if commit is None else commit,
        "cpu": _cpu(),
        "cores": os.cpu_count(),
        "blas": _blas(),
        "numpy": np.__version__,
        "python": platform.python_version(),
        "platform": platform.platform(),
        "start": _dt.datetime.fromtimestamp(start, _dt.timezone.utc).isoformat(timespec="seconds"),
        "wall_seconds": wall,
    }


def results_path(experiment_id: str, scale: str = "paper", directory=None) -> Path:
    """``DIR/ID.json`` (paper scale) or ``DIR/ID.reduced.json``; ``DIR`` is ``directory``, or
    the folder of the results files shipped with the package."""
    _spec(experiment_id)
    suffix = ".json" if _scale(scale) == "paper" else ".reduced.json"
    folder = RESULTS_DIR if directory is None else directory
    return Path(str(folder)) / f"{experiment_id}{suffix}"


def run_experiment(experiment_id: str, scale: str = "paper", directory=None) -> Results:
    """Run an experiment and write its results file atomically into ``directory`` (default
    ``./results``, never the package's own folder unless named); return what was written.

    An experiment made of pieces is written after every piece (its metrics say which pieces
    are done); the commit is the one checked out when the run started."""
    spec = _spec(experiment_id)
    path = results_path(experiment_id, scale, DEFAULT_OUT if directory is None else directory)
    path.parent.mkdir(parents=True, exist_ok=True)
    s = settings(experiment_id, scale)
    start, t0 = time.time(), time.perf_counter()
    commit = _git_commit()

    def write(metrics) -> Results:
        metrics = _jsonable(metrics)
        doc = {
            "id": experiment_id,
            "scale": scale,
            "description": spec.description,
            "settings": s,
            "metrics": metrics,
            "provenance": provenance(start, time.perf_counter() - t0, commit),
        }
        text = json.dumps(doc, indent=1, sort_keys=True) + "\n"
        atomic_write(path, lambda tmp: Path(tmp).write_text(text))
        return Results(experiment_id, scale, s, metrics, doc["provenance"], str(path))

    if spec.pieces is not None:
        res = None
        for metrics in spec.pieces(s):
            res = write(metrics)
        return res
    return write(spec.metrics(s))


#: The keys of a results file and the JSON type each holds.
RESULTS_KEYS = {"id": str, "scale": str, "settings": dict, "metrics": dict, "provenance": dict}


def read_results_file(path, experiment_id: str | None = None, scale: str | None = None) -> Results:
    """The results file at ``path``; a ``ValueError`` naming the file and what is wrong with it
    (unreadable, not JSON, not an object, a key missing or of the wrong type, an unknown
    experiment or scale, or another experiment or scale than its name says)."""
    path = Path(path)
    try:
        text = path.read_text(encoding="utf-8")
    except (OSError, UnicodeDecodeError) as exc:
        raise ValueError(f"{path}: cannot be read ({exc})") from None
    try:
        doc = json.loads(text)
    except json.JSONDecodeError as exc:
        raise ValueError(
            f"{path}: not valid JSON ({exc.msg} at line {exc.lineno}, column {exc.colno})"
        ) from None
    if not isinstance(doc, dict):
        raise ValueError(f"{path}: must hold a JSON object, got {type(doc).__name__}")
    missing = [k for k in RESULTS_KEYS if k not in doc]
    if missing:
        raise ValueError(f"{path}: incomplete, missing {', '.join(missing)}")
    for key, kind in RESULTS_KEYS.items():
        if not isinstance(doc[key], kind):
            raise ValueError(
                f"{path}: {key} must be a JSON {'string' if kind is str else 'object'}, got "
                f"{type(doc[key]).__name__}"
            )
    if doc["id"] not in EXPERIMENTS:
        raise ValueError(f"{path}: unknown experiment id {doc['id']!r}")
    if doc["scale"] not in SCALES:
        raise ValueError(f"{path}: unknown scale {doc['scale']!r} (one of {SCALES})")
    for key, expected in (("id", experiment_id), ("scale", scale)):
        if expected is not None and doc[key] != expected:
            raise ValueError(f"{path}: holds {key} {doc[key]!r}, its name says {expected!r}")
    return Results(
        doc["id"], doc["scale"], doc["settings"], doc["metrics"], doc["provenance"], str(path)
    )


def load_results(experiment_id: str, scale: str = "paper", directory=None) -> Results:
    """Read a results file: the one shipped with the package, or ``directory``'s (a rerun's).

    The answer says which file it read (``path``, :attr:`Results.where`); a ``ValueError`` if
    the file is missing or stale (its settings differ from the code's)."""
    path = results_path(experiment_id, scale, directory)
    if not path.exists():
        out = "" if directory is None else f" --out {directory}"
        raise ValueError(
            f"no results file {path}; run `python -m kernelflows.experiments run "
            f"{experiment_id} --scale {scale}{out}`"
        )
    res = read_results_file(path, experiment_id, _scale(scale))
    if stale(res):
        raise ValueError(
            f"{path} is stale: its settings differ from the code's; rerun `python -m "
            f"kernelflows.experiments run {experiment_id} --scale {scale}`"
        )
    return res


def stale(res: Results) -> bool:
    """True when a results file's settings differ from the settings the code defines now."""
    return json.loads(json.dumps(res.settings)) != json.loads(
        json.dumps(settings(res.id, res.scale))
    )


def main(argv=None) -> int:
    import argparse

    parser = argparse.ArgumentParser(
        prog="python -m kernelflows.experiments",
        description="Run the published experiments and write results files with provenance. "
        "The published files ship with the package (kernelflows/results/); a run writes into "
        "./results of the current folder, or --out DIR, and never into the package unless "
        "--out names its folder.",
    )
    sub = parser.add_subparsers(dest="command", required=True)
    sub.add_parser("list", help="the experiments and the results files shipped with the package")
    run = sub.add_parser(
        "run",
        help="run experiments and write ./results/ID.json (or --out DIR/ID.json)",
        description="Run experiments and write ID.json (ID.reduced.json at the reduced scale) "
        "into ./results of the current folder, or --out DIR. The files shipped with the package "
        "are never written unless --out names their folder (make results does, in a checkout).",
    )
    run.add_argument("ids", nargs="+", help="experiment IDs, or 'all'")
    run.add_argument("--scale", choices=SCALES, default="paper")
    run.add_argument(
        "--out",
        default=None,
        help=f"folder of the results files to write (default: ./{DEFAULT_OUT} in the current "
        "folder, created if missing)",
    )
    sub.add_parser("check", help="fail if a results file shipped with the package is stale")
    args = parser.parse_args(argv)
    if args.command == "list":
        for spec in EXPERIMENTS.values():
            there = [s for s in SCALES if results_path(spec.id, s).exists()]
            print(f"{spec.id:16s} {spec.description} [shipped: {', '.join(there) or 'none'}]")
        return 0
    if args.command == "check":
        bad = []
        for spec in EXPERIMENTS.values():
            for s in SCALES:
                p = results_path(spec.id, s)
                if p.exists():
                    try:
                        if stale(read_results_file(p, spec.id, s)):
                            bad.append(f"stale: {p}")
                    except ValueError as exc:  # names the file and what is wrong
                        bad.append(f"malformed: {exc}")
        for line in bad:
            print(line, file=sys.stderr)
        return 1 if bad else 0
    ids = list(EXPERIMENTS) if args.ids == ["all"] else args.ids
    for i in ids:
        try:
            _spec(i)
        except ValueError as exc:
            print(f"error: {exc}", file=sys.stderr)
            return 2
    problem = output_folder_problem(results_path(ids[0], args.scale, args.out).parent)
    if problem:  # one line, before computing anything
        print(f"error: {problem}", file=sys.stderr)
        return 2
    for i in ids:
        res = run_experiment(i, args.scale, args.out)
        print(f"wrote {res.path} ({res.provenance['wall_seconds']:.0f} s)")
    return 0
