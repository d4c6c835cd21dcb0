"""Grade handed-in student notebooks: ``python -m kernelflows.course.grade SUBMISSIONS``.

``SUBMISSIONS`` holds one folder per student, each with student notebooks named like the
lectures (``alice/07_phi_divergences.ipynb``, ...). For every lecture handed in, the lecture
is marked in memory and made an nbgrader assignment of a temporary course directory; each
student is then graded in a copy of that directory of their own (nbgrader ``autograde``: the
test cells are restored from the lecture, every cell runs with a time limit, an error or a
timeout costs that exercise's points and grading goes on) and gets nbgrader's feedback. Writes

* ``SUBMISSIONS/grades.csv``: student, lecture, exercise, points, max_points (a lecture that a
  student did not hand in, or whose grading failed, scores 0);
* ``SUBMISSIONS/STUDENT/feedback/NN_name.html``: the graded notebook with each check's
  message.

Nothing is written anywhere else: not into the lectures, not into the students' notebooks.
An existing ``grades.csv`` or feedback file is replaced only if this tool wrote it.
Mistakes in the call are one line on stderr with exit code 2.
"""

from __future__ import annotations

import argparse
import csv
import io
import json
import shutil
import sys
import tempfile
import warnings
from dataclasses import dataclass
from pathlib import Path

from .mark import MarkError, lecture_number, mark_notebook
from .nbgrading import NbgraderError, api, generate, run

__all__ = ["GradeError", "Row", "grade", "main"]

HEADER = ["student", "lecture", "exercise", "points", "max_points"]
FEEDBACK_MARK = "<!-- kernelflows feedback: written by python -m kernelflows.course.grade -->"


class GradeError(ValueError):
    """A mistake in how the tool was called (paths, files): one line for the user."""


@dataclass(frozen=True)
class Row:
    student: str
    lecture: str
    exercise: str
    points: float
    max_points: float


def _students(submissions: Path, lectures: dict[str, Path]) -> dict[str, list[str]]:
    found = {}
    for folder in sorted(p for p in submissions.iterdir() if p.is_dir()):
        if folder.name.startswith(".") or folder.name == "feedback":
            continue
        names = sorted(p.name for p in folder.glob("*.ipynb") if p.name in lectures)
        if names:
            found[folder.name] = names
    return found


def _grade_cells(nb: dict) -> list[tuple[str, float]]:
    cells = []
    for cell in nb["cells"]:
        meta = cell.get("metadata", {}).get("nbgrader", {})
        if meta.get("grade"):
            cells.append((meta["grade_id"], float(meta.get("points", 0))))
    return cells


def _ours_csv(path: Path) -> bool:
    try:
        first = path.read_text().splitlines()[:1]
    except (OSError, UnicodeDecodeError):
        return False
    return first == [",".join(HEADER)]


def _ours_html(path: Path) -> bool:
    try:
        return FEEDBACK_MARK in path.read_text()[:2000]
    except (OSError, UnicodeDecodeError):
        return False


def _check_paths(submissions: Path, lectures: Path) -> None:
    if not lectures.is_dir():
        raise GradeError(f"--lectures {lectures}: no such directory")
    if not submissions.is_dir():
        raise GradeError(f"{submissions}: no such directory of submissions")
    sub, lec = submissions.resolve(), lectures.resolve()
    if sub == lec or lec in sub.parents or sub in lec.parents:
        raise GradeError(
            f"{submissions} is, contains or lies inside --lectures {lectures}: refusing to "
            "grade there (no grading step writes next to the lecture sources)"
        )


def _scores(root: Path, stem: str, name: str, student: str, cells) -> dict[str, float]:
    from nbgrader.api import Gradebook

    scores = {}
    with Gradebook(f"sqlite:///{root}/gradebook.db") as gb:
        for grade_id, _ in cells:
            grade = gb.find_grade(grade_id, Path(name).stem, stem, student)
            scores[grade_id] = float(grade.score or 0.0)
    return scores


def grade(
    submissions: Path, lectures: Path = Path("lectures"), timeout: int = 120, log=print
) -> list[Row]:
    """Grade every student folder of ``submissions``; writes ``grades.csv`` and the feedback
    (see the module docstring) and returns the rows of ``grades.csv``."""
    warnings.filterwarnings("ignore", module="nbgrader")  # SQLAlchemy notes from its gradebook
    submissions, lectures = Path(submissions), Path(lectures)
    _check_paths(submissions, lectures)
    sources = {p.name: p for p in sorted(lectures.glob("[0-9][0-9]_*.ipynb"))}
    students = _students(submissions, sources)
    if not students:
        raise GradeError(
            f"{submissions}: no student folders with notebooks named like the lectures "
            "(expected SUBMISSIONS/STUDENT/NN_name.ipynb)"
        )
    csv_path = submissions / "grades.csv"
    if csv_path.exists() and not _ours_csv(csv_path):
        raise GradeError(f"{csv_path} exists and was not written by this tool: move it away")
    handed_in = sorted({n for names in students.values() for n in names})
    for student in students:
        for name in handed_in:
            dest = submissions / student / "feedback" / name.replace(".ipynb", ".html")
            if dest.exists() and not _ours_html(dest):
                raise GradeError(f"{dest} exists and was not written by this tool: move it away")
    rows: list[Row] = []
    with tempfile.TemporaryDirectory(prefix="kernelflows-grade-") as tmp:
        template = Path(tmp) / "template"
        try:
            generate(template, [sources[n] for n in handed_in])
        except NbgraderError as exc:
            raise GradeError(str(exc)) from None
        cells = {
            n: _grade_cells(json.loads((template / "source" / Path(n).stem / n).read_text()))
            for n in handed_in
        }
        for student, names in students.items():
            root = Path(tmp) / "students" / student
            shutil.copytree(template, root, ignore=shutil.ignore_patterns("release"))
            grader = api(root, timeout)
            for name in handed_in:
                stem = Path(name).stem
                scores: dict[str, float] = {}
                if name in names:
                    scores = _grade_one(submissions, root, grader, student, name, cells, log)
                else:
                    log(f"{student}: {name} not handed in (0 points)")
                for grade_id, max_points in cells[name]:
                    rows.append(Row(student, stem, grade_id, scores.get(grade_id, 0.0), max_points))
    _write_csv(csv_path, rows)
    log(f"wrote {csv_path}")
    return rows


def _grade_one(submissions, root, grader, student, name, cells, log) -> dict[str, float]:
    stem = Path(name).stem
    dest_dir = root / "submitted" / student / stem
    dest_dir.mkdir(parents=True, exist_ok=True)
    (dest_dir / name).write_text(_with_marks(submissions / student / name))
    try:
        run(f"autograde {student}/{name}", grader.autograde, stem, student)
        scores = _scores(root, stem, name, student, cells[name])
    except Exception as exc:  # one student's broken submission never stops the others
        log(f"{student}: {name} could not be graded (0 points): {_one_line(exc)}")
        return {}
    total = sum(scores.values())
    log(f"{student}: {name} {total:g} / {sum(p for _, p in cells[name]):g}")
    try:
        run(f"generate_feedback {student}/{name}", grader.generate_feedback, stem, student)
        html = root / "feedback" / student / stem / name.replace(".ipynb", ".html")
        _write_feedback(submissions / student / "feedback" / html.name, html.read_text())
    except Exception as exc:
        log(f"{student}: no feedback for {name}: {_one_line(exc)}")
    return scores


def _with_marks(path: Path) -> str:
    """The submitted notebook's text; if no cell carries nbgrader metadata (a notebook copied
    from the lecture, or whose metadata was lost), the marks are derived again from its tags
    and check calls, as for the lecture (the student's code is left as it is)."""
    text = path.read_text()
    try:
        nb = json.loads(text)
        if any("nbgrader" in c.get("metadata", {}) for c in nb["cells"]):
            return text
        return json.dumps(mark_notebook(nb, lecture_number(path)), indent=1)
    except (ValueError, KeyError, TypeError, AttributeError, MarkError):
        return text  # nbgrader reports what is wrong with it


def _one_line(exc: BaseException) -> str:
    text = str(exc).strip().splitlines()
    return f"{type(exc).__name__}: {text[-1] if text else ''}"


def _write_feedback(dest: Path, html: str) -> None:
    dest.parent.mkdir(parents=True, exist_ok=True)
    if dest.exists() and not _ours_html(dest):
        raise GradeError(f"{dest} exists and was not written by this tool")
    dest.write_text(FEEDBACK_MARK + "\n" + html)


def _write_csv(path: Path, rows: list[Row]) -> None:
    buf = io.StringIO()
    writer = csv.writer(buf, lineterminator="\n")
    writer.writerow(HEADER)
    for r in rows:
        writer.writerow([r.student, r.lecture, r.exercise, f"{r.points:g}", f"{r.max_points:g}"])
    try:
        path.write_text(buf.getvalue())
    except OSError as exc:
        raise GradeError(f"{path}: cannot write ({exc.strerror or exc})") from None


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(prog="python -m kernelflows.course.grade", description=__doc__)
    parser.add_argument("submissions", help="one folder per student, notebooks named like lectures")
    parser.add_argument("--lectures", default="lectures", help="the lecture sources (lectures/)")
    parser.add_argument("--timeout", type=int, default=120, help="seconds per cell (120)")
    args = parser.parse_args(argv)
    try:
        grade(Path(args.submissions), Path(args.lectures), timeout=args.timeout)
    except (GradeError, OSError) as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 2
    return 0


if __name__ == "__main__":
    sys.exit(main())
