"""Hand-ins made up for the grading tests: the lectures' solutions, with one exercise broken."""

from __future__ import annotations

import ast
import json
from pathlib import Path

from kernelflows.course.exercises import exercises, source
from kernelflows.course.mark import marked

ROOT = Path(__file__).resolve().parents[1]
LECTURES = ROOT / "lectures"
GRADED = [p for p in sorted(LECTURES.glob("[0-9][0-9]_*.ipynb")) if p.name[:2] != "00"]

#: A cell that never ends and swallows the interrupt meant to stop it.
LOOP = """
while True:
    try:
        while True:
            pass
    except BaseException:
        pass
"""

WRONG = """
import numpy as _np


def _wrong(value):
    if callable(value):
        return lambda *a, **k: _wrong(value(*a, **k))
    if isinstance(value, tuple):
        return tuple(_wrong(v) for v in value)
    if isinstance(value, int) and not isinstance(value, bool):
        return value + 1
    value = _np.asarray(value, dtype=float)
    return value + 0.1 * (1 + _np.abs(value))  # no fixed point: every value moves


for _name in {names!r}:
    globals()[_name] = (lambda f: lambda *a, **k: _wrong(f(*a, **k)))(globals()[_name])
"""

RAISES = """
def _raise(*args, **kwargs):
    raise RuntimeError("a planted mistake")


for _name in {names!r}:
    globals()[_name] = _raise
"""


def functions_only(src: str) -> str:
    """A solution cell reduced to its imports and definitions (its explorations left out)."""
    tree = ast.parse(src)
    keep = (ast.Import, ast.ImportFrom, ast.FunctionDef, ast.ClassDef)
    lines = src.split("\n")
    parts = [
        "\n".join(lines[n.lineno - 1 : n.end_lineno]) for n in tree.body if isinstance(n, keep)
    ]
    return "\n\n\n".join(parts) + "\n"


def defined(src: str) -> list[str]:
    return [n.name for n in ast.parse(src).body if isinstance(n, ast.FunctionDef)]


def solution_notebook(path: Path, lean: bool = True) -> dict:
    """The marked lecture: a hand-in with every exercise solved (``lean``: explorations out)."""
    nb = marked(path)
    if lean:
        for ex in exercises(nb):
            for i in ex.solutions:
                cell = nb["cells"][i]
                cell["source"] = functions_only(source(cell))
    return nb


def broken(path: Path, number: int, mode: str, lean: bool = True) -> dict:
    """The solution with exercise ``number`` broken: "raises", "wrong" (returns a wrong value)
    or "loop" (a cell that never ends and swallows KeyboardInterrupt)."""
    nb = solution_notebook(path, lean)
    ex = exercises(nb)[number - 1]
    last = nb["cells"][max(ex.solutions)]
    names = [n for i in ex.solutions for n in defined(source(nb["cells"][i]))]
    text = {"raises": RAISES, "wrong": WRONG, "loop": LOOP}[mode].format(names=names)
    last["source"] = source(last) + "\n\n" + text
    return nb


def write(path: Path, nb: dict) -> Path:
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(json.dumps(nb, indent=1))
    return path


def replace_solution(nb: dict, function: str, body: str) -> dict:
    """``nb`` with the solution cell defining ``function`` replaced by ``body``."""
    for cell in nb["cells"]:
        if "solution" in cell["metadata"].get("tags", []) and f"def {function}(" in source(cell):
            cell["source"] = body
            return nb
    raise AssertionError(f"no solution cell defines {function}")
