"""Time each lecture's full run (what a reader waits for after "Run all"): prints CSV rows.

    .venv/bin/python book/measure_runtimes.py [lectures/NN_name.ipynb ...]

Each notebook is executed once, in a fresh kernel, on a copy (nothing committed is written);
paste the seconds into ``book/lectures.csv`` with a note of the machine.
"""

from __future__ import annotations

import os
import sys
import time
from pathlib import Path

import nbformat
from nbclient import NotebookClient

ROOT = Path(__file__).resolve().parents[1]


def run_seconds(path: Path) -> float:
    nb = nbformat.read(path, as_version=4)
    client = NotebookClient(
        nb, timeout=1800, kernel_name="python3", resources={"metadata": {"path": str(path.parent)}}
    )
    start = time.perf_counter()
    client.execute()
    return time.perf_counter() - start


def main(argv: list[str]) -> int:
    os.environ.pop("MPLBACKEND", None)  # the inline backend, as for a reader
    paths = [Path(a) for a in argv] or sorted((ROOT / "lectures").glob("*.ipynb"))
    for path in paths:
        print(f"{path.stem},{run_seconds(path):.0f}", flush=True)
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
