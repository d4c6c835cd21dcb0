"""The command line of the results files:
``python -m kernelflows.experiments {list, run ID... [--scale paper|reduced] [--out DIR], check}``.
"""

from __future__ import annotations

import argparse
import sys

from .files import DEFAULT_OUT, Results, results_path, run_experiment, stale
from .registry import EXPERIMENTS, SCALES, experiment

__all__ = ["main"]


def _parser() -> argparse.ArgumentParser:
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
    return parser


def main(argv=None) -> int:
    args = _parser().parse_args(argv)
    if args.command == "list":
        for e in EXPERIMENTS.values():
            there = [s for s in SCALES if results_path(e.id, s).exists()]
            print(f"{e.id:16s} {e.description} [shipped: {', '.join(there) or 'none'}]")
        return 0
    if args.command == "check":
        bad = [
            p
            for e in EXPERIMENTS.values()
            for p in (results_path(e.id, s) for s in SCALES)
            if p.exists() and stale(Results.read(p))
        ]
        for p in bad:
            print(f"stale: {p}", file=sys.stderr)
        return 1 if bad else 0
    ids = list(EXPERIMENTS) if args.ids == ["all"] else args.ids
    for i in ids:
        try:
            experiment(i)
        except ValueError as exc:
            print(f"error: {exc}", file=sys.stderr)
            return 2
    for i in ids:
        res = run_experiment(i, args.scale, args.out)
        print(f"wrote {res.path} ({res.provenance['wall_seconds']:.0f} s)")
    return 0
