"""The command line of the results files:
``python -m kernelflows.experiments {list, run ID... [--scale paper|reduced] [--out DIR], check}``.
"""

from __future__ import annotations

import argparse
import sys

from .files import Results, results_path, run_experiment, stale
from .registry import EXPERIMENTS, SCALES, experiment

__all__ = ["main"]


def _parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="python -m kernelflows.experiments",
        description="Run the published experiments and write results files with provenance.",
    )
    sub = parser.add_subparsers(dest="command", required=True)
    sub.add_parser("list", help="the experiments and their results files")
    run = sub.add_parser("run", help="run experiments and write results/ID.json")
    run.add_argument("ids", nargs="+", help="experiment IDs, or 'all'")
    run.add_argument("--scale", choices=SCALES, default="paper")
    run.add_argument("--out", default=None, help="folder of the results files (default results/)")
    sub.add_parser("check", help="fail if a committed results file is stale")
    return parser


def main(argv=None) -> int:
    args = _parser().parse_args(argv)
    if args.command == "list":
        for e in EXPERIMENTS.values():
            there = [s for s in SCALES if results_path(e.id, s).exists()]
            print(f"{e.id:16s} {e.description} [results: {', '.join(there) or 'none'}]")
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
