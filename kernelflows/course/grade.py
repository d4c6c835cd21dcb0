"""Grade handed-in student notebooks: ``python -m kernelflows.course.grade SUBMISSIONS``.

``SUBMISSIONS`` holds one folder per student, each with notebooks named like the lectures
(``alice/07_phi_divergences.ipynb``; near-misses such as ``07_phi_divergences (1).ipynb`` are
matched and reported). Every exercise of every hand-in runs on its own, in a fresh sandboxed
Python (:mod:`kernelflows.course.sandbox`): the exercise's setup cell from the lecture, the
student's code cells of that exercise, the test cell from the lecture, each cell with a time
limit (``--timeout``). The checks run in the grader, not in the student's process
(:mod:`kernelflows.course.judge`). So one mistake, error, endless loop or hostile cell costs
its own exercise only. Identical exercise code is run once. Writes

* ``SUBMISSIONS/grades.csv``: student, lecture, exercise, points, max_points, one row per
  exercise (a lecture not handed in, or not readable, scores 0);
* ``SUBMISSIONS/totals.csv``: one row per student, one column per lecture, and the total;
* ``SUBMISSIONS/grading-report.txt``: the isolation used, then one line per problem (a file
  that is not a notebook, a near-miss name, a lecture not handed in, an exercise stopped);
* ``SUBMISSIONS/STUDENT/feedback/NN_name.html``: points per exercise, each check's diagnosis,
  the student's code.

Nothing is written anywhere else. ``grades.csv`` is written even when some grading failed. An
existing output file is replaced only if this tool wrote it. Mistakes in the call are one line
on stderr with exit code 2.
"""

from __future__ import annotations

import argparse
import csv
import hashlib
import io
import math
import multiprocessing
import sys
import time
from concurrent.futures import ProcessPoolExecutor
from dataclasses import dataclass
from pathlib import Path

from .._io import write_text
from . import feedback
from .exercises import exercises
from .handins import NotANotebook, find_handins, lecture_jobs, read_notebook, student_cells
from .judge import ExerciseJob, ExerciseResult, run_exercise
from .mark import MarkError, marked
from .sandbox import SandboxUnavailable, probe

__all__ = ["GradeError", "Row", "grade", "main", "HEADER"]

HEADER = ["student", "lecture", "exercise", "points", "max_points"]
REPORT_MARK = "# kernelflows grading report"
FEEDBACK_MARK = feedback.MARK


class GradeError(ValueError):
    """A mistake in how the tool was called (paths, options, files): one line for the user."""


@dataclass(frozen=True)
class Row:
    student: str
    lecture: str
    exercise: str
    points: float
    max_points: float


def _ours(path: Path, first_line: str) -> bool:
    """Whether ``path`` starts as this tool writes it (totals.csv: any lecture columns)."""
    try:
        with path.open(encoding="utf-8") as fh:
            line = fh.readline().rstrip("\n")
    except (OSError, UnicodeDecodeError):
        return False
    if path.name == "totals.csv":
        return line.startswith("student,") and line.endswith(",total")
    return line == first_line


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


def _check_options(timeout, jobs) -> None:
    if not isinstance(timeout, int | float) or not math.isfinite(timeout) or timeout <= 0:
        raise GradeError(f"--timeout {timeout}: must be a positive number of seconds per cell")
    if timeout > 24 * 3600:
        raise GradeError(f"--timeout {timeout}: more than a day per cell")
    if not isinstance(jobs, int) or jobs < 1:
        raise GradeError(f"--jobs {jobs}: must be a positive number of students at once")


def _select(lectures: Path, lecture: str | None) -> list[Path]:
    sources = [p for p in sorted(lectures.glob("[0-9][0-9]_*.ipynb")) if p.name[:2] != "00"]
    if lecture is not None:
        key = str(lecture).removesuffix(".ipynb")
        sources = [p for p in sources if key in (p.stem, p.stem[:2], p.stem[:2].lstrip("0"))]
        if not sources:
            raise GradeError(f"--lecture {lecture}: no such lecture in {lectures}")
    if not sources:
        raise GradeError(f"--lectures {lectures}: no numbered notebooks (NN_name.ipynb)")
    return sources


def _key(job: ExerciseJob, timeout: float) -> str:
    text = repr((job.lecture, job.number, job.setup, job.student_cells, job.test, timeout))
    return hashlib.sha256(text.encode()).hexdigest()


def _work(iso, job: ExerciseJob, timeout: float) -> ExerciseResult:
    return run_exercise(iso, job, timeout)


def _run_all(iso, jobs: list[ExerciseJob], timeout: float, workers: int, log) -> list:
    """Each job's result, identical jobs run once, ``workers`` at a time."""
    unique: dict[str, ExerciseJob] = {}
    for job in jobs:
        unique.setdefault(_key(job, timeout), job)
    done: dict[str, ExerciseResult] = {}
    context = multiprocessing.get_context("forkserver")  # workers forked from a clean process
    with ProcessPoolExecutor(max_workers=workers, mp_context=context) as pool:
        futures = {key: pool.submit(_work, iso, job, timeout) for key, job in unique.items()}
        for key, future in futures.items():
            job = unique[key]
            try:
                done[key] = future.result()
            except Exception as exc:  # the grader's own failure: said, never silent
                done[key] = ExerciseResult(
                    job.student, job.lecture, job.number, job.grade_id, 0.0, job.max_points,
                    "grader", f"The grader failed on this exercise ({type(exc).__name__}: {exc}).",
                )  # fmt: skip
    out = []
    for job in jobs:
        base = done[_key(job, timeout)]
        out.append(ExerciseResult(**{**base.__dict__, "student": job.student}))
    return out


def grade(
    submissions: Path,
    lectures: Path = Path("lectures"),
    *,
    lecture: str | None = None,
    timeout: float = 60,
    jobs: int = 2,
    isolation: str = "auto",
    log=print,
) -> list[Row]:
    """Grade every student folder of ``submissions`` (see the module docstring); returns the
    rows of ``grades.csv``. ``isolation="none"`` runs students' code unconfined."""
    submissions, lectures = Path(submissions), Path(lectures)
    _check_options(timeout, jobs)
    _check_paths(submissions, lectures)
    sources = _select(lectures, lecture)
    names = [p.name for p in sources]
    every = [p.name for p in _select(lectures, None)]
    handins = find_handins(submissions, every, names)
    if not handins:
        raise GradeError(
            f"{submissions}: no student folders (expected SUBMISSIONS/STUDENT/NN_name.ipynb)"
        )
    if lecture is None:  # the lectures somebody handed in
        sources = [p for p in sources if any(p.name in h.lectures for h in handins)]
        names = [p.name for p in sources]
        if not sources:
            raise GradeError(
                f"{submissions}: no student folders with notebooks named like the lectures "
                "(expected SUBMISSIONS/STUDENT/NN_name.ipynb)"
            )
    outputs = {
        submissions / "grades.csv": ",".join(HEADER),
        submissions / "totals.csv": ",".join(["student", *[p.stem for p in sources], "total"]),
        submissions / "grading-report.txt": REPORT_MARK,
    }
    for path, first in outputs.items():
        if path.exists() and not _ours(path, first):
            raise GradeError(f"{path} exists and was not written by this tool: move it away")
    for h in handins:
        for name in names:
            dest = submissions / h.student / "feedback" / name.replace(".ipynb", ".html")
            if dest.exists() and not _ours(dest, FEEDBACK_MARK):
                raise GradeError(f"{dest} exists and was not written by this tool: move it away")
    try:
        iso = probe(isolation)
    except SandboxUnavailable as exc:
        raise GradeError(str(exc)) from None
    start = time.monotonic()
    log(f"isolation: {iso.description}")
    plans = {}
    for path in sources:
        try:
            nb = marked(path)
        except MarkError as exc:
            raise GradeError(str(exc)) from None
        plans[path.name] = (nb, lecture_jobs(nb, path.stem))
    report = [REPORT_MARK, f"isolation: {iso.description}", f"time limit per cell: {timeout:g} s"]
    all_jobs, unread = [], {}
    for h in handins:
        for p in h.problems:
            report.append(f"{p.student}: {p.path}: {p.text}")
        for name in names:
            nb_lecture, shared = plans[name]
            path = h.lectures.get(name)
            if path is None:
                report.append(f"{h.student}: {name}: not handed in (0 points)")
                continue
            try:
                nb = read_notebook(path)
                cells = student_cells(nb, int(name[:2]))
            except NotANotebook as exc:
                report.append(f"{h.student}: {path.name} {exc} (0 points for {Path(name).stem})")
                unread[(h.student, name)] = f"{path.name} {exc}: it could not be graded."
                continue
            text = path.read_text(encoding="utf-8", errors="replace")
            for j in shared:
                all_jobs.append(
                    ExerciseJob(
                        h.student,
                        Path(name).stem,
                        j["number"],
                        j["grade_id"],
                        j["max_points"],
                        j["setup"],
                        tuple(cells.get(j["number"], [])),
                        j["test"],
                        j["checks"],
                        ((name, text),),
                    )  # fmt: skip
                )
    results = _run_all(iso, all_jobs, timeout, jobs, log)
    by_handin: dict[tuple[str, str], list[ExerciseResult]] = {}
    for r in results:
        by_handin.setdefault((r.student, r.lecture), []).append(r)
        if r.status in ("timeout", "crashed", "grader"):
            report.append(f"{r.student}: {r.lecture} exercise {r.number}: {r.diagnosis}")
    rows: list[Row] = []
    for h in handins:
        for path in sources:
            got = {r.grade_id: r for r in by_handin.get((h.student, path.stem), [])}
            for j in plans[path.name][1]:
                points = got[j["grade_id"]].points if j["grade_id"] in got else 0.0
                rows.append(Row(h.student, path.stem, j["grade_id"], points, j["max_points"]))
    _write(submissions / "grades.csv", _csv([HEADER] + [_row(r) for r in rows]))
    _write(submissions / "totals.csv", _csv(_totals(rows, [p.stem for p in sources])))
    for h in handins:
        for path in sources:
            name, stem = path.name, path.stem
            nb_lecture, shared = plans[name]
            got = {r.grade_id: r for r in by_handin.get((h.student, stem), [])}
            if (h.student, stem) in by_handin or (h.student, name) in unread:
                title = _title(nb_lecture, stem)
                statements = {j["number"]: j["statement"] for j in shared}
                problems = [p.text for p in h.problems if name in p.text or p.path == name]
                if (h.student, name) in unread:
                    problems.append(unread[(h.student, name)])
                page = feedback.page(
                    h.student, title, by_handin.get((h.student, stem), []), statements, problems
                )
                dest = submissions / h.student / "feedback" / name.replace(".ipynb", ".html")
                try:
                    feedback.write_page(dest, page)
                except OSError as exc:
                    report.append(f"{h.student}: no feedback for {name} ({exc.strerror or exc})")
            points = sum(r.points for r in got.values())
            if got:
                log(f"{h.student}: {name} {points:g} / {sum(j['max_points'] for j in shared):g}")
    elapsed = time.monotonic() - start
    report.append(f"graded {len(handins)} students, {len(all_jobs)} exercises in {elapsed:.0f} s")
    _write(submissions / "grading-report.txt", "\n".join(report) + "\n")
    log(f"wrote {submissions / 'grades.csv'}, totals.csv, grading-report.txt ({elapsed:.0f} s)")
    return rows


def _title(nb: dict, stem: str) -> str:
    for cell in nb.get("cells", []):
        src = "".join(cell.get("source", []))
        if cell.get("cell_type") == "markdown" and src.startswith("# "):
            return src.splitlines()[0][2:].strip()
    return stem


def _row(r: Row) -> list[str]:
    return [r.student, r.lecture, r.exercise, f"{r.points:g}", f"{r.max_points:g}"]


def _totals(rows: list[Row], stems: list[str]) -> list[list[str]]:
    table: dict[str, dict[str, float]] = {}
    for r in rows:
        table.setdefault(r.student, {}).setdefault(r.lecture, 0.0)
        table[r.student][r.lecture] += r.points
    out = [["student", *stems, "total"]]
    for student, points in table.items():
        out.append(
            [student, *[f"{points.get(s, 0.0):g}" for s in stems], f"{sum(points.values()):g}"]
        )
    return out


def _csv(rows) -> str:
    buf = io.StringIO()
    csv.writer(buf, lineterminator="\n").writerows(rows)
    return buf.getvalue()


def _write(path: Path, text: str) -> None:
    try:
        write_text(path, text)
    except OSError as exc:
        raise GradeError(f"{path}: cannot write ({exc.strerror or exc})") from None


def points_table(lectures: Path = Path("lectures")) -> str:
    """The points of every exercise, one markdown table row per lecture."""
    lines = ["| lecture | points per exercise | total |", "|---|---|---|"]
    for path in _select(lectures, None):
        nb = marked(path)
        points = [nb["cells"][ex.test]["metadata"]["nbgrader"]["points"] for ex in exercises(nb)]
        per = ", ".join(f"{k}: {p:g}" for k, p in enumerate(points, start=1))
        lines.append(f"| `{path.stem}` | {per} | {sum(points):g} |")
    return "\n".join(lines)


def _number(text: str) -> float:
    try:
        return float(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"{text!r} is not a number") from None


class _Parser(argparse.ArgumentParser):
    def error(self, message):  # one line, exit code 2 (argparse prints the usage too)
        print(f"error: {message}", file=sys.stderr)
        raise SystemExit(2)


def main(argv=None) -> int:
    parser = _Parser(prog="python -m kernelflows.course.grade", description=__doc__,
                     formatter_class=argparse.RawDescriptionHelpFormatter)  # fmt: skip
    parser.add_argument("submissions", nargs="?", help="one folder per student")
    parser.add_argument("--lectures", default="lectures", help="the lecture sources (lectures/)")
    parser.add_argument("--lecture", help="grade this lecture only (03, or 03_mmd_flow)")
    parser.add_argument("--timeout", type=_number, default=60, help="seconds per cell (60)")
    parser.add_argument("--jobs", type=int, default=2, help="exercises graded at once (2)")
    parser.add_argument("--no-isolation", action="store_true",
                        help="run students' code unconfined (trusted code only)")  # fmt: skip
    parser.add_argument("--points-table", action="store_true", help="print the points table")
    try:
        args = parser.parse_args(argv)
    except SystemExit as exc:
        return int(exc.code or 0)
    try:
        if args.points_table:
            print(points_table(Path(args.lectures)))
            return 0
        if not args.submissions:
            raise GradeError("give the folder of submissions (SUBMISSIONS/STUDENT/NN_name.ipynb)")
        grade(
            Path(args.submissions), Path(args.lectures), lecture=args.lecture,
            timeout=args.timeout, jobs=args.jobs,
            isolation="none" if args.no_isolation else "auto",
        )  # fmt: skip
    except (GradeError, OSError) as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 2
    return 0


if __name__ == "__main__":
    sys.exit(main())
