"""How long results files take: the seconds of each piece, as a results file records them, and
the wall time of pieces on a number of workers handed out longest first.

The runner (:mod:`.runner`) hands the pieces of every results file it runs to one set of
workers in the order :func:`longest_first` gives (pieces without an estimate first: one of them
may be the longest, and a long piece started last keeps one worker busy alone at the end);
``python -m kernelflows.experiments list`` prints the wall time of that schedule
(:func:`schedule_seconds`) for each file and for the ``make results`` targets.
"""

from __future__ import annotations

import json
from pathlib import Path

from .registry import experiment

__all__ = [
    "duration",
    "estimated_seconds",
    "handed_out_seconds",
    "longest_first",
    "piece_estimates",
    "schedule_seconds",
]


def _key(piece) -> str:
    return json.dumps(piece, sort_keys=True)


def _recorded(doc: dict) -> tuple[dict[str, float], list[str]]:
    """The seconds of each piece a results file records (by piece), and every piece of its
    settings: each piece's CPU seconds where recorded (a piece runs on one thread: its CPU time
    is its wall time on a core of its own, where the wall time of a run on a shared machine
    counts the other programs' turns too), else its wall seconds (older files: their wall time
    shared out evenly among the pieces they hold)."""
    every = [_key(p) for p in experiment(doc["id"]).piece_list(doc["settings"])]
    records = doc.get("pieces")
    if records and all(_finite_number(r.get("cpu_seconds")) for r in records):
        return {_key(r["piece"]): float(r["cpu_seconds"]) for r in records}, every
    if records and all("seconds" in r for r in records):
        return {_key(r["piece"]): float(r["seconds"]) for r in records}, every
    done = [_key(p) for p in doc["metrics"]["done"]] if "done" in doc["metrics"] else every
    wall = float(doc["provenance"].get("wall_seconds", float("nan")))
    return {k: wall / max(len(done), 1) for k in done}, every


def _finite_number(x) -> bool:
    try:
        return x is not None and float(x) == float(x) and abs(float(x)) != float("inf")
    except (TypeError, ValueError):
        return False


def _read(path) -> tuple[dict[str, float], list[str]] | None:
    try:
        found = _recorded(json.loads(Path(path).read_text()))
    except (OSError, ValueError, KeyError, TypeError):
        return None
    return found if found[0] else None


def piece_estimates(path, pieces=None, fallback=None) -> list[float] | None:
    """The seconds of each of ``pieces`` (default: every piece of the file's own settings) by
    the results file at ``path``: those it records for that piece, else those ``fallback`` (the
    file shipped with the package) records, and for a piece neither records (a run cut short,
    other settings) the mean of those the first readable file records. ``None`` without a
    readable file."""
    found = [r for r in (_read(path), None if fallback is None else _read(fallback)) if r]
    if not found:
        return None
    recorded, every = found[0]
    mean = sum(recorded.values()) / len(recorded)
    both = {k: s for r, _ in reversed(found) for k, s in r.items()}  # path's own win
    keys = every if pieces is None else [_key(p) for p in pieces]
    return [both.get(k, mean) for k in keys]


def longest_first(seconds) -> list[int]:
    """The order in which pieces of these estimated ``seconds`` are handed out: those without
    an estimate (``None``) first, as given, then the longest first (ties as given)."""
    unknown = [i for i, s in enumerate(seconds) if s is None]
    known = sorted((i for i, s in enumerate(seconds) if s is not None), key=lambda i: -seconds[i])
    return unknown + known


def handed_out_seconds(seconds, jobs: int = 1) -> float:
    """The wall time of pieces of these ``seconds`` handed out in this order to ``jobs``
    workers, each next piece to the first worker free (how a pool feeds its workers)."""
    loads = [0.0] * jobs
    for s in seconds:
        loads[loads.index(min(loads))] += s
    return max(loads)


def schedule_seconds(pieces, jobs: int = 1) -> float:
    """The wall time of pieces of these seconds on ``jobs`` workers, longest first (how the
    runner hands out the pieces it has estimates for)."""
    return handed_out_seconds(sorted(pieces, reverse=True), jobs)


def estimated_seconds(path, jobs: int = 1) -> float | None:
    """The wall time of the results file ``path`` on ``jobs`` workers from the seconds of its
    pieces (:func:`piece_estimates`, :func:`schedule_seconds`); ``None`` without a file."""
    pieces = piece_estimates(path)
    return None if pieces is None else schedule_seconds(pieces, jobs)


def duration(seconds) -> str:
    """Seconds as a person reads them: ``"40 s"``, ``"62 min"``, ``"2.1 h"``; ``"?"`` for
    ``None``."""
    if seconds is None:
        return "?"
    if seconds < 100:
        return f"{seconds:.0f} s"
    if seconds < 6000:
        return f"{seconds / 60:.0f} min"
    return f"{seconds / 3600:.1f} h"
