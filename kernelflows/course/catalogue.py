"""The lecture catalogue shipped with the package: ``python -m kernelflows.course.catalogue``.

The notebooks live in the repository (``lectures/``, their student versions in
``assignments/``), not in the package; the package carries their list,
``kernelflows/course/lectures.json`` (file name and title of every ``lectures/*.ipynb``, and
whether it has a student version), so that ``python -m kernelflows`` can say what there is to
open. ``make assignments`` rewrites it with the student versions, and
``tests/test_catalogue.py`` fails when it is out of date (``--check`` does the same).
"""

from __future__ import annotations

import argparse
import json
import sys
from importlib import resources
from pathlib import Path

from .._io import write_text

__all__ = ["CATALOGUE", "build", "lectures", "main", "title"]

#: The file, inside the package.
CATALOGUE = "lectures.json"


def _source(cell: dict) -> str:
    src = cell.get("source", "")
    return "".join(src) if isinstance(src, list) else src


def title(nb: dict) -> str:
    """The first level-1 heading (a line starting "# ") of a notebook's markdown, or ""."""
    for cell in nb.get("cells", []):
        if cell.get("cell_type") == "markdown":
            for line in _source(cell).splitlines():
                if line.startswith("# "):
                    return line[2:].strip()
    return ""


def build(lectures_dir, assignments_dir=None) -> list[dict]:
    """``[{"notebook", "title", "student_version"}]`` for every ``*.ipynb`` of ``lectures_dir``
    (in file-name order, so appendix notebooks take their place by name)."""
    lectures_dir = Path(lectures_dir)
    if not lectures_dir.is_dir():
        raise ValueError(f"lectures_dir: no folder {lectures_dir}")
    assignments = Path(assignments_dir) if assignments_dir is not None else None
    rows = []
    for path in sorted(lectures_dir.glob("*.ipynb")):
        nb = json.loads(path.read_text())
        rows.append(
            {
                "notebook": path.name,
                "title": title(nb) or path.stem,
                "student_version": bool(assignments and (assignments / path.name).exists()),
            }
        )
    return rows


def _dumps(rows: list[dict]) -> str:
    return json.dumps({"lectures": rows}, indent=1, ensure_ascii=False) + "\n"


def lectures() -> list[dict]:
    """The catalogue shipped with the package (the same from a checkout and from a wheel)."""
    text = resources.files("kernelflows.course").joinpath(CATALOGUE).read_text(encoding="utf-8")
    return json.loads(text)["lectures"]


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(
        prog="python -m kernelflows.course.catalogue",
        description="Write the lecture catalogue shipped with the package "
        "(kernelflows/course/lectures.json) from the lecture notebooks.",
    )
    parser.add_argument("--lectures", default="lectures", help="folder of the lectures")
    parser.add_argument("--assignments", default="assignments", help="their student versions")
    parser.add_argument("--check", action="store_true", help="fail if the file is out of date")
    args = parser.parse_args(argv)
    try:
        text = _dumps(build(args.lectures, args.assignments))
    except ValueError as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 2
    target = Path(__file__).resolve().parent / CATALOGUE
    if not (target.parents[2] / "pyproject.toml").is_file():
        print(f"error: {target} is not in a source checkout; the tool writes only there",
              file=sys.stderr)  # fmt: skip
        return 2
    if args.check:
        if not target.exists() or target.read_text(encoding="utf-8") != text:
            print(f"{target} is out of date: run `make assignments`", file=sys.stderr)
            return 1
        return 0
    if not target.exists() or target.read_text(encoding="utf-8") != text:
        write_text(target, text)
        print(f"wrote {target}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
