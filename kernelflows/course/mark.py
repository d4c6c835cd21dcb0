"""Mark the lectures for nbgrader: ``python -m kernelflows.course.mark LECTURES...``.

The marks are derived from what the lectures already say, so the tool can be run again at any
time and changes nothing the second time:

* a code cell tagged ``solution`` becomes an nbgrader *solution* cell (the tag stays: the book
  folds these cells). Inside it, everything but the imports and the ``def`` lines with their
  docstrings is wrapped in ``### BEGIN SOLUTION`` / ``### END SOLUTION`` regions, one per
  function body and one per stretch of top-level code, so that the student version keeps the
  signatures and docstrings and nbgrader replaces the rest by a stub;
* the cells of each exercise are found as :mod:`kernelflows.course.exercises` describes (the
  exercise anatomy): the setup cell (tag ``exercise-setup``) becomes a locked read-only cell, the
  answer cell (markdown, tag ``answer``) nbgrader's manually graded answer worth 0 points (not
  graded automatically: the student version shows a prompt to write there), and the cell that
  calls the ``check_*`` function(s) an autograded *test* cell, worth one point per function the
  exercise's solution cells define;
* grade ids are ``lecNN_exK`` (test cell of exercise K of lecture NN), ``lecNN_exK_setup``,
  ``lecNN_exK_solution`` (``..._solution2`` for a second solution cell) and ``lecNN_exK_answer``;
* docstrings listed in ``kernelflows/course/extras/stub_docstrings.json``
  (``{lecture stem or number: {function: docstring}}``) replace those in the solution cells,
  so that a stub states the signature, shapes and what to return, not the formula.

Only cell metadata, the solution regions and the listed docstrings change; outputs are kept.
"""

from __future__ import annotations

import argparse
import ast
import copy
import json
import re
import sys
from pathlib import Path

from .._io import notebook_json, update_text
from .exercises import exercises, role

SOLUTION_TAG = "solution"
BEGIN = "### BEGIN SOLUTION"
END = "### END SOLUTION"
SCHEMA_VERSION = 3
DOCSTRINGS = Path(__file__).with_name("extras") / "stub_docstrings.json"

__all__ = [
    "MarkError",
    "lecture_number",
    "solution_regions",
    "replace_docstrings",
    "mark_notebook",
    "mark_file",
    "main",
]


class MarkError(ValueError):
    """A notebook or path the tool cannot mark: one line for the user."""


def lecture_number(path: str | Path) -> int:
    """The lecture number NN of ``NN_name.ipynb``."""
    m = re.match(r"^(\d{2})_", Path(path).name)
    if not m:
        raise MarkError(f"{path}: not a lecture (expected a name like 03_mmd_flow.ipynb)")
    return int(m.group(1))


def _source(cell: dict) -> str:
    src = cell.get("source", "")
    return "".join(src) if isinstance(src, list) else src


def _parse(source: str, where: str) -> ast.Module:
    try:
        return ast.parse(source)
    except SyntaxError as exc:
        raise MarkError(f"{where}: the solution cell is not valid Python ({exc.msg})") from None


def _docstring_node(fn: ast.FunctionDef | ast.AsyncFunctionDef):
    first = fn.body[0]
    if (
        isinstance(first, ast.Expr)
        and isinstance(first.value, ast.Constant)
        and isinstance(first.value.value, str)
    ):
        return first
    return None


def _functions(tree: ast.Module):
    return [n for n in tree.body if isinstance(n, ast.FunctionDef | ast.AsyncFunctionDef)]


def replace_docstrings(source: str, docstrings: dict[str, str], where: str = "cell") -> str:
    """``source`` with the docstrings of its top-level functions named in ``docstrings``
    replaced (a function without a docstring gets one); the code is left alone."""
    if not docstrings:
        return source
    tree = _parse(source, where)
    lines = source.split("\n")
    edits = []
    for fn in _functions(tree):
        if fn.name not in docstrings:
            continue
        text = docstrings[fn.name]
        if '"""' in text or "\\" in text:
            raise MarkError(f"{where}: the docstring of {fn.name} may not contain '\"\"\"' or '\\'")
        doc = _docstring_node(fn)
        indent = " " * fn.body[0].col_offset
        new = f'{indent}"""{text}"""'
        if doc is not None:
            edits.append((doc.lineno - 1, doc.end_lineno, [new]))
        else:
            edits.append((fn.body[0].lineno - 1, fn.body[0].lineno - 1, [new]))
    for start, stop, new in sorted(edits, reverse=True):
        lines[start:stop] = new
    return "\n".join(lines)


def solution_regions(source: str, where: str = "cell") -> str:
    """``source`` with everything but imports, ``def`` lines and docstrings inside solution
    regions (unchanged if it has regions already)."""
    if BEGIN in source:
        return source
    tree = _parse(source, where)
    lines = source.split("\n")
    kept = [False] * len(lines)  # lines outside every region
    regions = []  # (first, last, indent), 0-based inclusive
    owned = [False] * len(lines)  # lines of an import or a function
    for node in tree.body:
        first = node.decorator_list[0].lineno if getattr(node, "decorator_list", None) else None
        start = (first or node.lineno) - 1
        if isinstance(node, ast.Import | ast.ImportFrom):
            for i in range(start, node.end_lineno):
                kept[i] = owned[i] = True
        elif isinstance(node, ast.FunctionDef | ast.AsyncFunctionDef):
            for i in range(start, node.end_lineno):
                owned[i] = True
            doc = _docstring_node(node)
            head_end = doc.end_lineno if doc is not None else node.body[0].lineno - 1
            for i in range(start, head_end):
                kept[i] = True
            body = [i for i in range(head_end, node.end_lineno) if lines[i].strip()]
            if body:
                regions.append((body[0], body[-1], " " * node.body[-1].col_offset))
    # top-level code and comments outside imports and functions: one region per stretch
    stretch: list[int] = []
    for i in range(len(lines) + 1):
        free = i < len(lines) and not owned[i]
        if free:
            stretch.append(i)
            continue
        body = [j for j in stretch if lines[j].strip()]
        if body:
            regions.append((body[0], body[-1], ""))
        stretch = []
    for first, last, indent in sorted(regions, reverse=True):
        lines[last + 1 : last + 1] = [indent + END]
        lines[first:first] = [indent + BEGIN]
    return "\n".join(lines)


def _nbgrader(grade_id: str, *, grade=False, solution=False, locked=False, points=None) -> dict:
    meta = {
        "grade": grade,
        "grade_id": grade_id,
        "locked": locked,
        "schema_version": SCHEMA_VERSION,
        "solution": solution,
        "task": False,
    }
    if points is not None:
        meta["points"] = points
    return meta


def _lines(text: str) -> list[str]:
    return text.splitlines(keepends=True)


def mark_notebook(nb: dict, number: int, docstrings: dict[str, str] | None = None) -> dict:
    """A marked copy of the lecture notebook ``nb`` (parsed JSON) of lecture ``number``."""
    out = copy.deepcopy(nb)
    cells = out.get("cells")
    if not isinstance(cells, list) or not all(isinstance(c, dict) for c in cells):
        raise MarkError(f"lecture {number:02d}: not a notebook (no list of cells)")
    found = exercises(out)
    marks: dict[int, dict] = {}
    solutions = {i: ex.number for ex in found for i in ex.solutions}
    trailing = [  # solution cells after the last check cell: the next exercise, still unchecked
        i for i, c in enumerate(cells) if role(c) == "solution" and i not in solutions
    ]
    solutions.update({i: len(found) + 1 for i in trailing})
    functions: dict[int, int] = {}
    for i, exercise in sorted(solutions.items()):
        where = f"lecture {number:02d}, exercise {exercise}"
        cell = cells[i]
        src = replace_docstrings(_source(cell), docstrings or {}, where)
        src = solution_regions(src, where)
        cell["source"] = _lines(src)
        rank = sum(1 for j, e in solutions.items() if e == exercise and j < i)
        suffix = str(rank + 1) if rank else ""
        marks[i] = _nbgrader(f"lec{number:02d}_ex{exercise}_solution{suffix}", solution=True)
        functions[exercise] = functions.get(exercise, 0) + len(_functions(_parse(src, where)))
    for ex in found:
        ident = f"lec{number:02d}_ex{ex.number}"
        if ex.setup is not None:
            marks[ex.setup] = _nbgrader(f"{ident}_setup", locked=True)
        if ex.answer is not None:  # a written answer: nbgrader's manually graded markdown, 0 points
            marks[ex.answer] = _nbgrader(f"{ident}_answer", grade=True, solution=True, points=0)
        points = max(1, functions.get(ex.number, 0))
        marks[ex.test] = _nbgrader(ident, grade=True, locked=True, points=points)
    for i, cell in enumerate(cells):
        meta = cell.setdefault("metadata", {})
        if i in marks:
            meta["nbgrader"] = marks[i]
        else:
            meta.pop("nbgrader", None)
    return out


def load_docstrings(path: Path = DOCSTRINGS) -> dict[int, dict[str, str]]:
    """The stub docstrings by lecture number (keys of the file: "NN" or "NN_name")."""
    if not path.exists():
        return {}
    try:
        raw = json.loads(path.read_text())
    except ValueError as exc:
        raise MarkError(f"{path}: not valid JSON ({exc})") from None
    return {int(str(key)[:2]): value for key, value in raw.items()}


def read_notebook(path: Path) -> dict:
    try:
        nb = json.loads(Path(path).read_text())
    except (OSError, UnicodeDecodeError, ValueError) as exc:
        raise MarkError(f"{path}: not a readable notebook ({exc})") from None
    if not isinstance(nb, dict) or not isinstance(nb.get("cells"), list):
        raise MarkError(f"{path}: not a notebook (no list of cells)")
    return nb


def marked(path: Path, docstrings: dict[int, dict[str, str]] | None = None) -> dict:
    """The marked version of the lecture at ``path`` (nothing is written)."""
    number = lecture_number(path)
    if docstrings is None:
        docstrings = load_docstrings()
    return mark_notebook(read_notebook(path), number, docstrings.get(number, {}))


def mark_file(path: Path, docstrings: dict[int, dict[str, str]] | None = None) -> bool:
    """Mark the lecture at ``path`` in place; returns whether the file changed."""
    return update_text(path, notebook_json(marked(path, docstrings)))


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(prog="python -m kernelflows.course.mark", description=__doc__)
    parser.add_argument("lectures", nargs="+", help="lecture notebooks (lectures/NN_name.ipynb)")
    args = parser.parse_args(argv)
    try:
        docstrings = load_docstrings()
        paths = [Path(p) for p in args.lectures]
        for p in paths:
            lecture_number(p)
            if not p.is_file():
                raise MarkError(f"{p}: no such file")
        results = {p: marked(p, docstrings) for p in paths}  # everything checked first
        for p, nb in results.items():
            print(f"{'marked' if update_text(p, notebook_json(nb)) else 'unchanged'} {p}")
    except (MarkError, OSError) as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 2
    return 0


if __name__ == "__main__":
    sys.exit(main())
