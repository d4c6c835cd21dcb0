"""Student versions of the lectures: ``python -m kernelflows.course.assignments``.

Every lecture ends with exercises whose solutions sit in code cells tagged ``solution``. The
student version of ``lectures/NN_name.ipynb`` is ``assignments/NN_name.ipynb`` with

* each solution cell replaced by a stub: its imports, and the ``def`` lines and docstrings of
  the functions it defines, are kept, and the function bodies raise ``NotImplementedError``;
  a solution cell that defines no function becomes one ``raise NotImplementedError``;
* every output and execution count cleared, markdown kept as it is;
* ``metadata["kernelflows"]["student_version_of"] = "NN_name.ipynb"`` set: the tool overwrites
  only files carrying this marker, writes nothing but the student versions, deletes nothing,
  and refuses an ``--out`` equal to (or inside) ``--lectures``.

The source stays one notebook per lecture; the student versions are committed and
``tests/test_assignments.py`` fails when they are out of date (``--check`` does the same).
"""

from __future__ import annotations

import argparse
import ast
import json
import os
import sys
import tempfile
from pathlib import Path

SOLUTION_TAG = "solution"
#: Key of ``metadata["kernelflows"]`` in every student version: the lecture it was made from.
MARKER = "student_version_of"
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


class AssignmentsError(ValueError):
    """A mistake in how the tool was called (paths, notebooks): one line for the user."""


def _marked(nb: dict, name: str) -> dict:
    """``nb`` with the marker saying it is the student version of lecture ``name``."""
    nb.setdefault("metadata", {}).setdefault("kernelflows", {})[MARKER] = name
    return nb


def _written_by_us(path: Path) -> bool:
    """Whether ``path`` carries the marker that this tool writes into every student version."""
    try:
        meta = json.loads(path.read_text()).get("metadata", {})
    except (OSError, UnicodeDecodeError, ValueError, AttributeError):
        return False
    return isinstance(meta, dict) and MARKER in (meta.get("kernelflows") or {})


def _check_paths(lectures: Path, out: Path) -> None:
    if not lectures.is_dir():
        raise AssignmentsError(f"--lectures {lectures}: no such directory")
    lec, dst = lectures.resolve(), out.resolve()
    if dst == lec or lec in dst.parents:
        raise AssignmentsError(
            f"--out {out} is --lectures {lectures} or lies inside it: refusing to write student "
            "versions next to the lectures (use a separate directory, e.g. assignments/)"
        )
    if out.exists() and not out.is_dir():
        raise AssignmentsError(f"--out {out} exists and is not a directory")


def _read_notebook(path: Path) -> dict:
    try:
        nb = json.loads(path.read_text())
    except (OSError, UnicodeDecodeError, ValueError) as exc:
        raise AssignmentsError(f"{path}: not a readable notebook ({exc})") from None
    if not isinstance(nb, dict) or not isinstance(nb.get("cells"), list):
        raise AssignmentsError(f"{path}: not a notebook (no list of cells)")
    try:
        return student_notebook(nb)
    except (KeyError, TypeError, AttributeError) as exc:
        raise AssignmentsError(f"{path}: malformed notebook ({exc!r})") from None


def build(lectures: Path, out: Path, check: bool = False, force: bool = False) -> list[Path]:
    """Write (or with ``check``, compare) the student version of every lecture.

    Writes ``out/NN_name.ipynb`` for each ``lectures/NN_name.ipynb`` and nothing else; deletes
    nothing. Every student version carries ``metadata["kernelflows"]["student_version_of"]``;
    an existing file in ``out`` without that marker was not written here and is not
    overwritten (``AssignmentsError``) unless ``force``. ``out`` may not be ``lectures`` or lie
    inside it. Every lecture is read, and every destination checked, before anything is
    written. Returns the paths written, or out of date when ``check`` is true.
    """
    lectures, out = Path(lectures), Path(out)
    _check_paths(lectures, out)
    sources = sorted(lectures.glob("[0-9][0-9]_*.ipynb"))
    if not sources:
        raise AssignmentsError(f"--lectures {lectures}: no numbered notebooks (NN_name.ipynb)")
    texts = {src.name: _dumps(_marked(_read_notebook(src), src.name)) for src in sources}
    changed = []
    for name, text in texts.items():
        dest = out / name
        try:
            same = dest.exists() and dest.read_text() == text
        except (OSError, UnicodeDecodeError):
            same = False
        if same:
            continue
        if not check and dest.exists() and not force and not _written_by_us(dest):
            raise AssignmentsError(
                f"{dest} exists and was not written by this tool (no metadata.kernelflows."
                f"{MARKER}): move it away, or pass --force to replace it"
            )
        changed.append(dest)
    if check:
        return changed
    try:
        out.mkdir(parents=True, exist_ok=True)
        for dest in changed:
            fd, tmp = tempfile.mkstemp(dir=out, prefix=f".{dest.name}.", suffix=".tmp")
            try:
                with os.fdopen(fd, "w") as fh:
                    fh.write(texts[dest.name])
                os.chmod(tmp, 0o666 & ~_umask())
                os.replace(tmp, dest)
            except BaseException:
                Path(tmp).unlink(missing_ok=True)
                raise
    except OSError as exc:
        raise AssignmentsError(f"--out {out}: cannot write ({exc.strerror or exc})") from None
    return changed


def _umask() -> int:
    mask = os.umask(0)
    os.umask(mask)
    return mask


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(
        prog="python -m kernelflows.course.assignments", description=__doc__
    )
    parser.add_argument("--lectures", default="lectures", help="source notebooks (lectures/)")
    parser.add_argument("--out", default="assignments", help="student versions (assignments/)")
    parser.add_argument("--check", action="store_true", help="fail if any is out of date")
    parser.add_argument(
        "--force", action="store_true", help="replace files in --out not written by this tool"
    )
    args = parser.parse_args(argv)
    try:
        changed = build(Path(args.lectures), Path(args.out), check=args.check, force=args.force)
    except AssignmentsError as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 2
    for path in changed:
        print(("out of date: " if args.check else "wrote ") + str(path))
    return 1 if (args.check and changed) else 0


if __name__ == "__main__":
    sys.exit(main())
