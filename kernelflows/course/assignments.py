"""Student versions of the lectures: ``python -m kernelflows.course.assignments``.

Every lecture ends with exercises whose solutions sit in code cells tagged ``solution``, each
followed by a cell that calls the exercise's ``check_*`` function. The student version of
``lectures/NN_name.ipynb`` is ``assignments/NN_name.ipynb``, made by nbgrader's
``generate_assignment`` (see :mod:`kernelflows.course.nbgrading`) from the lecture marked by
:mod:`kernelflows.course.mark` (in memory: the lecture file is only read):

* in each solution cell the ``### BEGIN SOLUTION`` / ``### END SOLUTION`` regions become
  nbgrader's stub (``raise NotImplementedError()``): imports, ``def`` lines and docstrings
  stay, so a stub states the signature, the shapes and what to return;
* the check cells are nbgrader's autograded test cells (locked, worth points);
* every output and execution count is cleared, markdown kept as it is;
* ``metadata["kernelflows"]["student_version_of"] = "NN_name.ipynb"`` is set: the tool
  overwrites only files carrying this marker, writes nothing but the student versions,
  deletes nothing, and refuses an ``--out`` equal to (or inside) ``--lectures``.

The source stays one notebook per lecture; the student versions are committed and
``tests/test_assignments.py`` fails when they are out of date (``--check`` does the same).
``python -m kernelflows.course.grade`` grades what students hand back.
"""

from __future__ import annotations

import argparse
import json
import sys
import tempfile
from pathlib import Path

from .._io import notebook_json, write_text
from .nbgrading import NbgraderError, generate, student_version

SOLUTION_TAG = "solution"
#: Key of ``metadata["kernelflows"]`` in every student version: the lecture it was made from.
MARKER = "student_version_of"

__all__ = ["student_notebooks", "build", "main"]


def student_notebooks(lectures: list[Path]) -> dict[str, dict]:
    """The student version of each lecture file, by file name (nothing is written outside a
    temporary nbgrader course directory)."""
    with tempfile.TemporaryDirectory(prefix="kernelflows-assign-") as tmp:
        try:
            released = generate(Path(tmp), list(lectures))
        except NbgraderError as exc:
            raise AssignmentsError(str(exc)) from None
        out = {}
        for path in lectures:
            nb = json.loads(released[path.stem].read_text())
            out[path.name] = _marked(student_version(nb), path.name)
        return out


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


def _has_exercises(path: Path) -> bool:
    """Whether the lecture has solution cells (a malformed notebook raises, one line)."""
    try:
        nb = json.loads(path.read_text())
    except (OSError, UnicodeDecodeError, ValueError) as exc:
        raise AssignmentsError(f"{path}: not a readable notebook ({exc})") from None
    if not isinstance(nb, dict) or not isinstance(nb.get("cells"), list):
        raise AssignmentsError(f"{path}: not a notebook (no list of cells)")
    return any(
        isinstance(c, dict) and SOLUTION_TAG in (c.get("metadata") or {}).get("tags", [])
        for c in nb["cells"]
    )


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
    sources = [src for src in sources if _has_exercises(src)]  # lecture 00 has none
    texts = {name: notebook_json(nb) for name, nb in student_notebooks(sources).items()}
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
            write_text(dest, texts[dest.name])
    except OSError as exc:
        raise AssignmentsError(f"--out {out}: cannot write ({exc.strerror or exc})") from None
    return changed


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
