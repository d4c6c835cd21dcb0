"""Results files: each registered experiment's metrics at a scale, with their provenance.

``python -m kernelflows.experiments run ID --scale paper`` (:func:`run_experiment`) writes
``results/ID.json`` (``results/ID.reduced.json`` at the reduced scale) holding the settings, the
metrics, the code version (git commit), the platform (CPU, BLAS, numpy), the start time and the
wall time; ``make results`` runs them all. An experiment made of pieces is written after every
piece. Lectures and figures that quote a published-scale number read it with
:func:`load_results` and print where it came from (:meth:`Results.source`). A test fails when a
committed results file no longer matches the settings in the code (:func:`stale`).

Every read of a results file goes through :meth:`Results.read`, and every file's place through
:func:`results_path`.
"""

from __future__ import annotations

import datetime as _dt
import json
import os
import platform
import subprocess
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np

from .registry import check_scale, experiment, settings

__all__ = [
    "RESULTS_DIR",
    "Results",
    "load_results",
    "provenance",
    "results_path",
    "run_experiment",
    "stale",
]

#: The folder of the committed results files (beside the package in a source checkout).
RESULTS_DIR = Path(__file__).resolve().parents[2] / "results"


@dataclass(frozen=True)
class Results:
    """A results file: settings, metrics and provenance of one run."""

    id: str
    scale: str
    settings: dict
    metrics: dict
    provenance: dict = field(default_factory=dict)
    path: str = ""

    @classmethod
    def read(cls, path) -> Results:
        """The results file at ``path`` (the one parser of results files)."""
        doc = json.loads(Path(path).read_text())
        return cls(
            doc["id"], doc["scale"], doc["settings"], doc["metrics"], doc["provenance"], str(path)
        )

    def source(self) -> str:
        """One line saying where the numbers came from (file, commit, machine, date)."""
        p = self.provenance
        return (
            f"{Path(self.path).name if self.path else self.id}: "
            f"commit {p.get('commit', '?')[:10]}"
            f"{' (+local changes)' if 'local changes' in p.get('commit', '') else ''}, "
            f"{p.get('cpu', '?')}, {p.get('blas', '?')}, numpy {p.get('numpy', '?')}, "
            f"started {p.get('start', '?')[:10]}, {p.get('wall_seconds', float('nan')):.0f} s"
        )


def stale(res: Results) -> bool:
    """True when a results file's settings differ from the settings the code defines now."""
    return json.loads(json.dumps(res.settings)) != json.loads(
        json.dumps(settings(res.id, res.scale))
    )


def results_path(experiment_id: str, scale: str = "paper", directory=None) -> Path:
    """``results/ID.json`` (paper scale) or ``results/ID.reduced.json``, in ``directory``
    (default :data:`RESULTS_DIR`)."""
    experiment(experiment_id)
    suffix = ".json" if check_scale(scale) == "paper" else ".reduced.json"
    return Path(directory or RESULTS_DIR) / f"{experiment_id}{suffix}"


def load_results(experiment_id: str, scale: str = "paper", directory=None) -> Results:
    """Read a results file; a ``ValueError`` if it is missing or stale (settings changed)."""
    path = results_path(experiment_id, scale, directory)
    if not path.exists():
        raise ValueError(
            f"no results file {path}; run `python -m kernelflows.experiments run "
            f"{experiment_id} --scale {scale}`"
        )
    res = Results.read(path)
    if stale(res):
        raise ValueError(
            f"{path} is stale: its settings differ from the code's; rerun `python -m "
            f"kernelflows.experiments run {experiment_id} --scale {scale}`"
        )
    return res


# -- provenance ----------------------------------------------------------------------------------


def _git_commit() -> str:
    here = Path(__file__).resolve().parent
    try:
        out = subprocess.run(
            ["git", "rev-parse", "HEAD"], cwd=here, capture_output=True, text=True, timeout=10
        )
        dirty = subprocess.run(
            ["git", "status", "--porcelain", "--untracked-files=no"],
            cwd=here,
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
    """Where and when a run happened: commit, CPU, cores, BLAS, numpy, Python, platform, start
    (UTC, from the epoch seconds ``start``) and ``wall`` seconds."""
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


# -- the writer ----------------------------------------------------------------------------------


def run_experiment(
    experiment_id: str,
    scale: str = "paper",
    directory=None,
    *,
    jobs: int = 1,
    fresh: bool = False,
    progress: bool = False,
    settings: dict | None = None,
) -> Results:
    """Run an experiment and write its results file atomically; return what was written.

    The file is written after every piece (its metrics say which pieces are done and which are
    missing). Pieces already in the file, written with the same settings by the same code, are
    kept (``fresh=True`` recomputes them); ``jobs`` worker processes run the others, with results
    identical to a serial run; ``progress`` shows bars. See :func:`.runner.run_experiments`
    (which also runs several files on one set of workers) and :class:`.runner.RunInterrupted`.
    """
    from .runner import run_experiments

    (res,) = run_experiments(
        [(experiment_id, scale)],
        directory,
        jobs=jobs,
        fresh=fresh,
        progress=progress,
        settings=settings,
        quiet=True,
    )
    return res
