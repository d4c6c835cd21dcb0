"""How long a results file takes: the seconds of its pieces, as its file records them, and
their wall time on a number of workers, longest first (how :mod:`.runner` hands them out when
their times are known; ``python -m kernelflows.experiments list`` prints them)."""

from __future__ import annotations

import json
from pathlib import Path

from .registry import experiment

__all__ = ["estimated_seconds", "piece_estimates", "schedule_seconds"]


def _piece_seconds(doc: dict) -> tuple[list[float], int]:
    """The seconds of each piece a results file records and how many pieces it has in all:
    each piece's CPU seconds where recorded (a piece runs on one thread: its CPU time is its
    wall time on a core of its own, where the wall time of a run on a shared machine counts
    the other programs' turns too), else its wall seconds (older files: their wall time
    shared out evenly among the pieces they hold)."""
    e = experiment(doc["id"])
    n = len(e.piece_list(doc["settings"]))
    records = doc.get("pieces")
    if records and all(_finite_number(r.get("cpu_seconds")) for r in records):
        return [float(r["cpu_seconds"]) for r in records], n
    if records and all("seconds" in r for r in records):
        return [float(r["seconds"]) for r in records], n
    done = len(doc["metrics"]["done"]) if "done" in doc["metrics"] else n  # complete
    wall = float(doc["provenance"].get("wall_seconds", float("nan")))
    return [wall / max(done, 1)] * done, n


def _finite_number(x) -> bool:
    try:
        return x is not None and float(x) == float(x) and abs(float(x)) != float("inf")
    except (TypeError, ValueError):
        return False


def piece_estimates(path) -> list[float] | None:
    """The seconds of every piece of the results file at ``path``: those it records, and the
    pieces it lacks (a run cut short) taken as long as the mean of those it has. ``None``
    without a readable file."""
    try:
        doc = json.loads(Path(path).read_text())
        seconds, n = _piece_seconds(doc)
    except (OSError, ValueError, KeyError):
        return None
    if not seconds:
        return None
    mean = sum(seconds) / len(seconds)
    return seconds + [mean] * (n - len(seconds))


def schedule_seconds(pieces, jobs: int = 1) -> float:
    """The wall time of pieces of these seconds on ``jobs`` workers, longest first (how the
    runner hands them out when their times are known)."""
    loads = [0.0] * jobs
    for s in sorted(pieces, reverse=True):
        loads[loads.index(min(loads))] += s
    return max(loads)


def estimated_seconds(path, jobs: int = 1) -> float | None:
    """The wall time of the results file ``path`` on ``jobs`` workers from the seconds of its
    pieces (:func:`piece_estimates`, :func:`schedule_seconds`); ``None`` without a file."""
    pieces = piece_estimates(path)
    return None if pieces is None else schedule_seconds(pieces, jobs)
