"""The command line of the results files:
``python -m kernelflows.experiments {list, run ID... [--scale paper|reduced] [--jobs J] [--fresh]
[--out DIR] [--settings JSON], check}``.

``run`` keeps the pieces a results file already holds (same settings, same code) and runs the
missing ones in ``--jobs`` worker processes; Ctrl-C or SIGTERM stops it with one line saying what
was kept (exit status 130). Progress bars show on a terminal (``--progress`` / ``--no-progress``
decide otherwise). ``list`` gives each experiment's estimated time at each scale from the times
its results files record (each piece's CPU seconds where recorded), and the time of ``make
results`` and ``make results-reduced`` (:data:`MAKE_TARGETS`) with every piece in one pool,
longest first, as the runner hands them out; it names the files without an estimate.
"""

from __future__ import annotations

import argparse
import json
import signal
import sys
import threading
from pathlib import Path

from .._io import output_folder_problem
from .estimates import duration, estimated_seconds, piece_estimates, schedule_seconds
from .files import DEFAULT_OUT, RESULTS_DIR, Results, results_path, stale
from .registry import EXPERIMENTS, SCALES, experiment
from .runner import RunInterrupted, run_experiments

__all__ = ["MAKE_TARGETS", "main"]

#: The Makefile's results targets: the results files each runs, in one command whose pieces
#: all share the workers (a test checks the Makefile's recipes against them). ``make results``:
#: every experiment at the paper scale; ``make results-reduced``: the N = 100 files lectures 06,
#: 06a and 11 (and ``make figures``) load beside them.
MAKE_TARGETS = {
    "results": (tuple(EXPERIMENTS), "paper"),
    "results-reduced": (
        (
            "student-teacher",
            "student-teacher-dense",
            "student-teacher-sweep",
            "drmmd-student-teacher",
        ),
        "reduced",
    ),
}


def _parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="python -m kernelflows.experiments",
        description="Run the published experiments and write results files with provenance. "
        "The published files ship with the package (kernelflows/results/); a run writes into "
        "./results of the current folder, or --out DIR, and never into the package unless "
        "--out names its folder.",
    )
    sub = parser.add_subparsers(dest="command", required=True)
    lst = sub.add_parser(
        "list",
        help="the experiments, the results files shipped with the package and estimated times",
    )
    lst.add_argument("--jobs", type=int, default=2, help="worker processes of the estimate")
    run = sub.add_parser(
        "run",
        help="run experiments and write ./results/ID.json (or --out DIR/ID.json)",
        description="Run experiments and write ID.json (ID.reduced.json at the reduced scale) "
        "into ./results of the current folder, or --out DIR. The files shipped with the package "
        "are never written unless --out names their folder (make results does, in a checkout). "
        "Pieces a file already holds (same settings, same code) are kept; Ctrl-C stops with a "
        "line saying what was kept.",
    )
    run.add_argument("ids", nargs="+", help="experiment IDs, or 'all'")
    run.add_argument("--scale", choices=SCALES, default="paper")
    run.add_argument(
        "--out",
        default=None,
        help=f"folder of the results files to write (default: ./{DEFAULT_OUT} in the current "
        "folder, created if missing)",
    )
    run.add_argument(
        "--jobs", type=int, default=1, help="worker processes, one BLAS thread each (default 1)"
    )
    run.add_argument(
        "--fresh", action="store_true", help="recompute the pieces a results file already holds"
    )
    run.add_argument(
        "--settings",
        default=None,
        metavar="JSON",
        help="a JSON file of settings to run instead of the scale's (one ID; needs --out)",
    )
    run.add_argument(
        "--progress",
        action=argparse.BooleanOptionalAction,
        default=None,
        help="progress bars (default: when stderr is a terminal)",
    )
    sub.add_parser("check", help="fail if a results file shipped with the package is stale")
    return parser


def _list(jobs: int) -> int:
    cpus = set()
    print(f"{'experiment':24s} {'scale':8s} {'1 process':>10s} {f'{jobs} processes':>12s}  about")
    for e in EXPERIMENTS.values():
        for k, scale in enumerate(SCALES):
            path = results_path(e.id, scale)
            if path.exists():
                cpus.add(Results.read(path).provenance.get("cpu", "?"))
            one, many = estimated_seconds(path, 1), estimated_seconds(path, jobs)
            name = e.id if k == 0 else ""
            about = e.description if k == 0 else ""
            if len(about) > 60:
                about = about[:57] + "..."
            print(f"{name:24s} {scale:8s} {duration(one):>10s} {duration(many):>12s}  {about}")
    for target, (ids, scale) in MAKE_TARGETS.items():
        one, packed, serial, unknown = _target_seconds(ids, scale, jobs)
        print(
            f"{'make ' + target:24s} {scale:8s} {duration(one):>10s} {duration(packed):>12s}"
            f"  (one experiment after another on {jobs}: {duration(serial)})"
        )
        if unknown:
            print(f"{'':34s} pieces without an estimate (no results file): {', '.join(unknown)}")
    print(
        f"Estimated from the results files in {RESULTS_DIR}: each piece's CPU seconds (its "
        "wall time on a core of its own; the wall seconds where a file has no CPU times), on "
        f"{', '.join(sorted(cpus)) or 'no machine yet'}; '?': no file at that scale."
    )
    return 0


def _target_seconds(ids, scale: str, jobs: int, directory=None):
    """The estimated seconds of a make target's files at ``scale`` (by the results files in
    ``directory``, default the package's): on one process, on ``jobs`` with every piece in one
    pool longest first (what the runner does), and on ``jobs`` one experiment after another; and
    the experiments whose pieces have no estimate."""
    pieces, serial, unknown = [], 0.0, []
    for i in ids:
        e = experiment(i)
        mine = e.piece_list(e.settings(scale))
        found = piece_estimates(results_path(i, scale, directory), mine)
        if found is None:
            unknown.append(f"{i} ({len(mine)} piece{'s' * (len(mine) > 1)})")
            continue
        pieces += found
        serial += schedule_seconds(found, jobs)
    return sum(pieces), schedule_seconds(pieces, jobs), serial, unknown


def _interrupt_on_sigterm(signum, frame):
    """SIGTERM handler: stop as Ctrl-C does (the runner stops its workers and says what was
    kept; ``atomic_write`` removes a temporary file)."""
    raise KeyboardInterrupt


def main(argv=None) -> int:
    args = _parser().parse_args(argv)
    if args.command == "list":
        return _list(max(1, args.jobs))
    if args.command == "check":
        bad = []
        for e in EXPERIMENTS.values():
            for s in SCALES:
                p = results_path(e.id, s)
                if not p.exists():
                    continue
                try:  # a malformed or incomplete file: its name and what is wrong
                    res = Results.read(p)
                except ValueError as exc:
                    bad.append(f"malformed: {exc}")
                    continue
                if (res.id, res.scale) != (e.id, s):
                    bad.append(
                        f"malformed: {p}: holds id {res.id!r} at scale {res.scale!r}, its name "
                        f"says {e.id!r} at {s!r}"
                    )
                elif stale(res):
                    bad.append(f"stale: {p}")
        for line in bad:
            print(line, file=sys.stderr)
        return 1 if bad else 0
    ids = list(EXPERIMENTS) if args.ids == ["all"] else args.ids
    for i in ids:
        try:
            experiment(i)
        except ValueError as exc:
            print(f"error: {exc}", file=sys.stderr)
            return 2
    settings = None
    if args.settings is not None:
        if len(ids) != 1 or args.out is None:
            print("error: --settings runs one experiment into an --out folder", file=sys.stderr)
            return 2
        try:
            settings = json.loads(Path(args.settings).read_text())
        except (OSError, UnicodeDecodeError, json.JSONDecodeError) as exc:
            print(f"error: --settings {args.settings}: {exc}", file=sys.stderr)
            return 2
    if args.jobs < 1:
        print(f"error: --jobs must be at least 1, got {args.jobs}", file=sys.stderr)
        return 2
    problem = output_folder_problem(DEFAULT_OUT if args.out is None else Path(args.out))
    if problem:  # one line, before computing anything
        print(f"error: {problem}", file=sys.stderr)
        return 2
    progress = sys.stderr.isatty() if args.progress is None else args.progress
    if threading.current_thread() is threading.main_thread():
        previous = signal.signal(signal.SIGTERM, _interrupt_on_sigterm)
    else:  # pragma: no cover - the CLI runs in the main thread
        previous = None
    try:
        written = run_experiments(
            [(i, args.scale) for i in ids],
            args.out,
            jobs=args.jobs,
            fresh=args.fresh,
            progress=progress,
            settings=settings,
        )
    except RunInterrupted as exc:
        print(exc, file=sys.stderr)
        return 130
    finally:
        if previous is not None:
            signal.signal(signal.SIGTERM, previous)
    for res in written:
        p = res.provenance
        cost = f"{p['cpu_seconds']:.0f} CPU-s in its pieces, " if "cpu_seconds" in p else ""
        print(f"{res.path}: complete ({cost}{p['wall_seconds']:.0f} s of wall time in all)")
    return 0
