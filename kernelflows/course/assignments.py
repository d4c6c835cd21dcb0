"""Student versions of the lectures: ``python -m kernelflows.course.assignments``.

Every lecture ends with exercises whose solutions sit in code cells tagged ``solution``. The
student version of ``lectures/NN_name.ipynb`` is ``assignments/NN_name.ipynb`` with

* each solution cell replaced by a stub: its imports, and the ``def`` lines and docstrings of
  the functions it defines, are kept, and the function bodies raise ``NotImplementedError``;
  a solution cell that defines no function becomes one ``raise NotImplementedError``;
* every output and execution count cleared, markdown kept as it is.

The source stays one notebook per lecture; the student versions are committed and
``tests/test_assignments.py`` fails when they are out of date (``--check`` does the same).
"""

from __future__ import annotations

import argparse
import ast
import json
import sys
from pathlib import Path

SOLUTION_TAG = "solution"
STUB_MESSAGE = "Exercise: replace this stub with your solution"

__all__ = ["stub_source", "student_notebook", "build", "main"]


def _function_stub(source: str, node: ast.FunctionDef | ast.AsyncFunctionDef) -> list[str]:
    lines = source.splitlines()
    header_end = node.body[0].lineno - 1  # lines before the first statement of the body
    doc = ast.get_docstring(node, clean=False)
    header = lines[node.lineno - 1 - len(node.decorator_list) : header_end]
    body_indent = " " * node.body[0].col_offset
    out = list(header)
    if doc is not None:
        out += lines[node.body[0].lineno - 1 : node.body[0].end_lineno]
    out.append(f'{body_indent}raise NotImplementedError("{node.name}: {STUB_MESSAGE}")')
    return out


def stub_source(source: str) -> str:
    """The student stub of a solution cell's source (see the module docstring)."""
    try:
        tree = ast.parse(source)
    except SyntaxError:
        tree = None
    functions = [
        n
        for n in (tree.body if tree else [])
        if isinstance(n, ast.FunctionDef | ast.AsyncFunctionDef)
    ]
    if not functions:
        return f'# Your solution here.\nraise NotImplementedError("{STUB_MESSAGE}")\n'
    lines = source.splitlines()
    imports = [
        "\n".join(lines[n.lineno - 1 : n.end_lineno])
        for n in tree.body
        if isinstance(n, ast.Import | ast.ImportFrom)
    ]
    blocks = ["\n".join(_function_stub(source, f)) for f in functions]
    head = "\n".join(imports) + "\n\n\n" if imports else ""
    return head + "\n\n\n".join(blocks) + "\n"


def _is_solution(cell: dict) -> bool:
    return SOLUTION_TAG in cell.get("metadata", {}).get("tags", [])


def student_notebook(nb: dict) -> dict:
    """A student version of a notebook given as parsed JSON (the input is not modified)."""
    out = json.loads(json.dumps(nb))
    for cell in out["cells"]:
        if cell["cell_type"] != "code":
            cell.get("metadata", {}).pop("execution", None)
            continue
        if _is_solution(cell):
            cell["source"] = stub_source("".join(cell["source"]))
        cell["outputs"] = []
        cell["execution_count"] = None
        meta = cell.get("metadata", {})
        meta.pop("execution", None)
    return out


def _dumps(nb: dict) -> str:
    return json.dumps(nb, indent=1, sort_keys=True, ensure_ascii=False) + "\n"


def build(lectures: Path, out: Path, check: bool = False) -> list[Path]:
    """Write (or with ``check``, compare) the student version of every lecture.

    Returns the paths that were written, or that are out of date when ``check`` is true.
    """
    lectures, out = Path(lectures), Path(out)
    sources = sorted(lectures.glob("[0-9][0-9]_*.ipynb"))
    if not sources:
        raise ValueError(f"lectures: no numbered notebooks found in {lectures}")
    changed = []
    if not check:
        out.mkdir(parents=True, exist_ok=True)
    for src in sources:
        text = _dumps(student_notebook(json.loads(src.read_text())))
        dest = out / src.name
        if dest.exists() and dest.read_text() == text:
            continue
        changed.append(dest)
        if not check:
            tmp = dest.with_suffix(".ipynb.tmp")
            tmp.write_text(text)
            tmp.replace(dest)
    if not check:
        expected = {s.name for s in sources}
        for stale in out.glob("*.ipynb"):
            if stale.name not in expected:
                stale.unlink()
                changed.append(stale)
    return changed


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(
        prog="python -m kernelflows.course.assignments", description=__doc__
    )
    parser.add_argument("--lectures", default="lectures", help="source notebooks (lectures/)")
    parser.add_argument("--out", default="assignments", help="student versions (assignments/)")
    parser.add_argument("--check", action="store_true", help="fail if any is out of date")
    args = parser.parse_args(argv)
    changed = build(Path(args.lectures), Path(args.out), check=args.check)
    for path in changed:
        print(("out of date: " if args.check else "wrote ") + str(path))
    return 1 if (args.check and changed) else 0


if __name__ == "__main__":
    sys.exit(main())
