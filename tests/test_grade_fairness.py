"""One mistake costs one exercise, for every exercise of every lecture.

For each lecture and each exercise K, a hand-in that is the solution (its functions) with only
exercise K broken: its functions raise, or return a wrong value, or (lecture 03's first exercise)
its cell never ends and swallows the KeyboardInterrupt meant to stop it. All are
graded in one run; each must lose exactly exercise K's points and keep every other point. This
also runs every exercise's setup, solution and test cells on their own in a fresh process (the
solutions' full marks), which is the exercise anatomy's promise."""

import pytest
from grading import GRADED, broken, write

from kernelflows.course.grade import grade
from kernelflows.course.sandbox import SandboxUnavailable, probe

pytest.importorskip("nbgrader")

#: The per-cell limit: above the slowest legitimate cell (a lecture's test cell training a
#: network or running three flows, under 20 s on a loaded 2-core machine), far below the default.
TIMEOUT = 45
LOOPING = {"03"}  # lectures whose exercise 1 loops (each loop costs TIMEOUT seconds)


def _mode(lecture: str, number: int) -> str:
    if number == 1 and lecture in LOOPING:
        return "loop"
    return "raises" if number % 2 else "wrong"


def test_each_broken_exercise_costs_exactly_its_points(tmp_path):
    try:
        probe()
    except SandboxUnavailable as exc:
        pytest.skip(f"no sandbox here: {exc}")
    subs = tmp_path / "class"
    expected = {}
    from kernelflows.course.exercises import exercises
    from kernelflows.course.mark import marked

    for path in GRADED:
        nn = path.name[:2]
        for ex in exercises(marked(path)):
            student = f"lec{nn}-ex{ex.number}-{_mode(nn, ex.number)}"
            write(subs / student / path.name, broken(path, ex.number, _mode(nn, ex.number)))
            expected[student] = (path.stem, f"lec{nn}_ex{ex.number}")

    rows = grade(subs, timeout=TIMEOUT, jobs=2, log=lambda *a: None)

    for student, (lecture, lost) in expected.items():
        mine = [r for r in rows if r.student == student and r.lecture == lecture]
        assert mine
        for r in mine:
            want = 0.0 if r.exercise == lost else r.max_points
            assert r.points == want, (
                student,
                r.exercise,
                r.points,
                (subs / "grading-report.txt").read_text(),
            )
    report = (subs / "grading-report.txt").read_text()
    for nn in LOOPING:
        assert f"lec{nn}-ex1-loop: " in report and "was stopped" in report
