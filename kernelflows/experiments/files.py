"""Results files: each registered experiment's metrics at a scale, with their provenance.

``python -m kernelflows.experiments run ID --scale paper`` (:func:`run_experiment`) writes
``ID.json`` (``ID.reduced.json`` at the reduced scale) into ``./results`` of the current folder,
or into ``--out DIR``, holding the settings, the metrics, the code version (git commit, or the
package version when it is not run from a checkout), the platform (CPU, BLAS, numpy), the start
time and the wall time. A rerun never writes into the package by surprise. An experiment made of
pieces is written after every piece, in this process or in worker processes, and a rerun keeps
the pieces a file already holds when the same code wrote them with the same settings
(:mod:`.runner`).

The published files ship inside the package, ``kernelflows/results/`` (package data, found with
:mod:`importlib.resources` the same way from a checkout and from an installed wheel):
:func:`load_results` reads them unless it is given a ``directory`` (a user's own rerun), and the
:class:`Results` it returns says which file it read (``path``, and the first words of
:meth:`Results.source`). ``make results`` (every experiment at the paper scale) and ``make
results-reduced`` (the reduced files lectures load) rerun them and write them there (``--out
kernelflows/results``). Lectures and figures that quote a published-scale number read it with
:func:`load_results` and print where it came from. A test fails when a shipped results file no
longer matches the settings in the code (:func:`stale`).

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
from importlib import resources
from pathlib import Path

import numpy as np

from .registry import check_scale, experiment, settings

__all__ = [
    "DEFAULT_OUT",
    "RESULTS_DIR",
    "Results",
    "git_commit",
    "load_results",
    "provenance",
    "results_path",
    "run_experiment",
    "stale",
]

#: The published results files, shipped inside the package (package data): a folder on disk in
#: a checkout and in an installed wheel alike.
RESULTS_DIR = resources.files("kernelflows").joinpath("results")
#: The keys of a results file and the JSON type each holds (checked by :meth:`Results.read`).
RESULTS_KEYS = {"id": str, "scale": str, "settings": dict, "metrics": dict, "provenance": dict}
#: Where a rerun writes unless told otherwise: ``results`` in the current folder.
DEFAULT_OUT = Path("results")


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
        """The results file at ``path`` (the one parser of results files); a ``ValueError``
        naming the file and what is wrong with it: unreadable, not JSON, not an object, a key of
        :data:`RESULTS_KEYS` missing or of the wrong type, an unknown experiment or scale."""
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
        try:
            experiment(doc["id"])
            check_scale(doc["scale"])
        except ValueError as exc:
            raise ValueError(f"{path}: {exc}") from None
        return cls(
            doc["id"], doc["scale"], doc["settings"], doc["metrics"], doc["provenance"], str(path)
        )

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
        """One line saying where the numbers came from (file, commit, machine, date) and what
        they cost: the CPU seconds of the file's pieces (the wall seconds of the run for a file
        written before pieces were recorded)."""
        p = self.provenance
        cost = (
            f"{p['cpu_seconds']:.0f} CPU-s"
            if "cpu_seconds" in p
            else f"{p.get('wall_seconds', float('nan')):.0f} s"
        )
        return (
            f"{self.where}: "
            f"commit {p.get('commit', '?')[:10]}"
            f"{' (+local changes)' if 'local changes' in p.get('commit', '') else ''}, "
            f"{p.get('cpu', '?')}, {p.get('blas', '?')}, numpy {p.get('numpy', '?')}, "
            f"started {p.get('start', '?')[:10]}, {cost}"
        )


def stale(res: Results) -> bool:
    """True when a results file's settings differ from the settings the code defines now."""
    return json.loads(json.dumps(res.settings)) != json.loads(
        json.dumps(settings(res.id, res.scale))
    )


def results_path(experiment_id: str, scale: str = "paper", directory=None) -> Path:
    """``DIR/ID.json`` (paper scale) or ``DIR/ID.reduced.json``; ``DIR`` is ``directory``, or
    the folder of the results files shipped with the package (:data:`RESULTS_DIR`)."""
    experiment(experiment_id)
    suffix = ".json" if check_scale(scale) == "paper" else ".reduced.json"
    folder = RESULTS_DIR if directory is None else directory
    return Path(str(folder)) / f"{experiment_id}{suffix}"


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
    res = Results.read(path)
    if stale(res):
        raise ValueError(
            f"{path} is stale: its settings differ from the code's; rerun `python -m "
            f"kernelflows.experiments run {experiment_id} --scale {scale}`"
        )
    return res


# -- provenance ----------------------------------------------------------------------------------


def git_commit() -> str:
    """The checkout's commit, or the package's version when it does not run from a checkout
    of kernelflows (an installed wheel inside someone's own repository is no checkout of it)."""
    from .. import __version__
    from .._project import checkout_urls

    if not checkout_urls():
        return f"kernelflows {__version__} (installed package, no git checkout)"
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
        "commit": git_commit() if commit is None else commit,
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
    """Run an experiment and write its results file atomically into ``directory`` (default
    ``./results``, never the package's own folder unless named); return what was written.

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
