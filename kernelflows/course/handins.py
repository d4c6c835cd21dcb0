"""What students handed in: their folders, their notebooks, and the cells of each exercise.

``SUBMISSIONS`` holds one folder per student; each notebook is named like a lecture
(``03_mmd_flow.ipynb``). A name that misses only by what browsers and learning platforms add
(``03_mmd_flow (1).ipynb``, ``03_mmd_flow-Copy1.ipynb``, a different case) is matched and said so;
several candidates for one lecture, a folder or a binary file named like a notebook, a file
that is not a notebook: each is one line of the grading report, and that student's other
notebooks are graded. Nothing here runs a student's code.
"""

from __future__ import annotations

import json
import re
from dataclasses import dataclass, field
from pathlib import Path

from .exercises import check_names, exercises, source
from .mark import MarkError, mark_notebook

__all__ = ["HandIn", "Problem", "find_handins", "read_notebook", "student_cells", "lecture_jobs"]

MAX_NOTEBOOK = 64 * 2**20  # bytes: larger files are not read
#: What gets added to a file name on download or copy: " (1)", "-Copy1", " copy", "_v2", ...
_NOISE = re.compile(r"(\s*\(\d+\)|[-_ ]copy\d*|[-_ ]v\d+|[-_ ]final|[-_ ]\d{1,2})+$", re.IGNORECASE)


@dataclass
class Problem:
    """One line of the grading report about a student's hand-in."""

    student: str
    path: str
    text: str


@dataclass
class HandIn:
    student: str
    lectures: dict[str, Path] = field(default_factory=dict)  # lecture file name -> file
    problems: list[Problem] = field(default_factory=list)


def _normal(stem: str) -> str:
    stem = stem.strip().lower()
    while True:
        new = _NOISE.sub("", stem).strip()
        if new == stem:
            return re.sub(r"[\s\-]+", "_", stem)
        stem = new


def _looks_like_notebook(path: Path) -> bool:
    return path.name.lower().endswith(".ipynb") or path.name.lower().endswith(".ipynb.json")


def find_handins(
    submissions: Path, lecture_names: list[str], selected: list[str] | None = None
) -> list[HandIn]:
    """Every student folder of ``submissions`` (hidden folders and ``feedback`` skipped), with
    the notebook chosen for each lecture of ``selected`` (default: all) and a line for each
    file that could not be used (files of the lectures not selected are left alone)."""
    chosen = set(lecture_names if selected is None else selected)
    stems = {Path(n).stem: n for n in lecture_names}
    by_normal = {_normal(s): n for s, n in stems.items()}
    by_number = {}
    for stem, name in stems.items():
        by_number.setdefault(stem[:2], []).append(name)
    found = []
    for folder in sorted(p for p in submissions.iterdir() if p.is_dir()):
        if folder.name.startswith(".") or folder.name == "feedback":
            continue
        handin = HandIn(folder.name)
        candidates: dict[str, list[Path]] = {}
        for path in sorted(folder.iterdir()):
            if path.name.startswith(".") or path.name == "feedback":
                continue
            if not _looks_like_notebook(path):
                continue
            stem = path.name[: -len(".ipynb.json")] if path.name.endswith(".json") else path.stem
            name = stems.get(stem) or by_normal.get(_normal(stem))
            if name is None and stem[:2] in by_number and len(by_number[stem[:2]]) == 1:
                name = by_number[stem[:2]][0]  # "03 my flow.ipynb": the only lecture 03
            if name is not None and name not in chosen:
                continue  # a lecture not graded this time
            if path.is_dir():
                handin.problems.append(
                    Problem(folder.name, path.name, "a folder named like a notebook: not graded")
                )
                continue
            if name is None:
                handin.problems.append(
                    Problem(folder.name, path.name, "not named like a lecture: not graded")
                )
                continue
            candidates.setdefault(name, []).append(path)
        for name, paths in sorted(candidates.items()):
            exact = [p for p in paths if p.name == name]
            if exact:
                handin.lectures[name] = exact[0]
                for other in paths:
                    if other.name != name:
                        handin.problems.append(
                            Problem(folder.name, other.name, f"ignored: {name} was handed in too")
                        )
            elif len(paths) == 1:
                handin.lectures[name] = paths[0]
                handin.problems.append(
                    Problem(folder.name, paths[0].name, f"graded as {name} (its name differs)")
                )
            else:
                listed = ", ".join(p.name for p in paths)
                handin.problems.append(
                    Problem(
                        folder.name,
                        listed,
                        f"several files could be {name}: none graded; keep one, named {name}",
                    )
                )
        found.append(handin)
    return found


class NotANotebook(ValueError):
    """A hand-in that cannot be read as a notebook; the message says why, in a few words."""


def read_notebook(path: Path) -> dict:
    """The notebook at ``path`` as parsed JSON; :class:`NotANotebook` says what is wrong."""
    try:
        size = path.stat().st_size
    except OSError as exc:
        raise NotANotebook(f"cannot be read ({exc.strerror or exc})") from None
    if size > MAX_NOTEBOOK:
        raise NotANotebook(f"is {size >> 20} MB, more than a notebook should be")
    try:
        raw = path.read_bytes()
    except OSError as exc:
        raise NotANotebook(f"cannot be read ({exc.strerror or exc})") from None
    if b"\x00" in raw[:4096]:
        raise NotANotebook("is a binary file, not a notebook")
    try:
        nb = json.loads(raw.decode("utf-8"))
    except UnicodeDecodeError:
        raise NotANotebook("is not text (not UTF-8): not a notebook") from None
    except (ValueError, RecursionError) as exc:
        raise NotANotebook(f"is not valid JSON ({str(exc)[:80]}): not a notebook") from None
    if not isinstance(nb, dict) or not isinstance(nb.get("cells"), list):
        raise NotANotebook("is JSON but not a notebook (no list of cells)")
    cells = nb["cells"]
    for cell in cells:
        if not isinstance(cell, dict) or not isinstance(cell.get("cell_type"), str):
            raise NotANotebook("has a cell that is not a notebook cell")
        src = cell.get("source", "")
        if not (
            isinstance(src, str) or (isinstance(src, list) and all(isinstance(s, str) for s in src))
        ):
            raise NotANotebook("has a cell whose source is not text")
        if not isinstance(cell.get("metadata", {}), dict):
            raise NotANotebook("has a cell whose metadata is not a dictionary")
    return nb


def _grade_id(cell: dict) -> str:
    meta = (cell.get("metadata") or {}).get("nbgrader")
    return str(meta.get("grade_id", "")) if isinstance(meta, dict) else ""


def student_cells(nb: dict, number: int) -> dict[int, list[str]]:
    """The code the student wrote for each exercise K of lecture ``number``: its solution cells
    (grade ids ``lecNN_exK_solution*``) and the untagged code cells they added inside the
    exercise, in notebook order. A notebook that lost its nbgrader metadata is marked again from
    its tags. The student's copies of the setup and test cells are not used."""
    if not any(_grade_id(c) for c in nb["cells"]):
        try:
            nb = mark_notebook(nb, number)
        except (MarkError, ValueError, TypeError, KeyError):
            pass
    pattern = re.compile(rf"^lec{number:02d}_ex(\d+)(_setup|_solution\d*|_answer)?$")
    out: dict[int, list[str]] = {}
    current = None
    for cell in nb["cells"]:
        match = pattern.match(_grade_id(cell))
        if match:
            k, part = int(match.group(1)), match.group(2) or ""
            if part.startswith("_solution") and cell.get("cell_type") == "code":
                out.setdefault(k, []).append(source(cell))
            current = k + 1 if part == "" else k  # after a test cell: the next exercise
        elif cell.get("cell_type") == "code" and current is not None and not _grade_id(cell):
            out.setdefault(current, []).append(source(cell))
    return out


def lecture_jobs(lecture: dict, stem: str) -> list[dict]:
    """For each exercise of the marked lecture ``lecture``: its grade id, points, setup and
    test sources and the checks its test cell calls (what every student's run shares)."""
    cells = lecture["cells"]
    jobs = []
    for ex in exercises(lecture):
        test = cells[ex.test]
        meta = test["metadata"]["nbgrader"]
        jobs.append(
            {
                "number": ex.number,
                "grade_id": meta["grade_id"],
                "max_points": float(meta["points"]),
                "setup": source(cells[ex.setup]) if ex.setup is not None else "",
                "test": source(test),
                "checks": tuple(check_names(source(test))),
                "statement": source(cells[ex.statement]) if ex.statement is not None else "",
                "stem": stem,
            }
        )
    return jobs
