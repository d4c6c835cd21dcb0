"""Grading with nbgrader, the whole round trip on two small lectures (03 and 07): the
solutions get full marks; a planted mistake loses exactly that exercise's points and its
feedback shows the check's diagnosis; a notebook that raises, loops and deletes files loses
those exercises' points without stopping the grading of the others; nothing is written into
the lectures or the students' notebooks."""

import csv
import html
import json
import re
import subprocess
import sys
import time
from pathlib import Path

import numpy as np
import pytest

from kernelflows.course.checks import CheckFailed, check_mmd_flow_step
from kernelflows.course.grade import HEADER, grade
from kernelflows.course.mark import marked

pytest.importorskip("nbgrader")

ROOT = Path(__file__).resolve().parents[1]
LECTURES = ROOT / "lectures"
L03, L07 = "03_mmd_flow.ipynb", "07_phi_divergences.ipynb"


def _solutions(name: str) -> dict:
    return marked(LECTURES / name)


def _replace_in_solution(nb: dict, function: str, body: str) -> dict:
    """``nb`` with the solution cell defining ``function`` replaced by ``body``."""
    for cell in nb["cells"]:
        src = "".join(cell["source"])
        if "solution" in cell["metadata"].get("tags", []) and f"def {function}(" in src:
            cell["source"] = body
            return nb
    raise AssertionError(f"no solution cell defines {function}")


def _wrong_step(X, Y, kernel, step):  # the slide's sign
    n, m = len(X), len(Y)
    weights = np.r_[np.full(n, 1 / n), np.full(m, -1 / m)]
    return X + step * kernel.weighted_grad(X, np.vstack([X, Y]), weights)


WRONG_STEP = """def mmd_flow_step(X, Y, kernel, step):
    n, m = len(X), len(Y)
    weights = np.r_[np.full(n, 1 / n), np.full(m, -1 / m)]
    return X + step * kernel.weighted_grad(X, np.vstack([X, Y]), weights)
"""
RAISES = """def my_tv_js(delta):
    raise RuntimeError("student bug")
"""
LOOPS = """def my_chi2_conjugate(v):
    while True:
        pass
"""
DELETES = """import os

for victim in ["07_phi_divergences.ipynb", "../07_phi_divergences/07_phi_divergences.ipynb"]:
    if os.path.exists(victim):
        os.remove(victim)


def my_kl_critic(mean_p, var_p, mean_q, var_q):
    return lambda z: 0.0 * z
"""


def _text(path: Path) -> str:
    raw = path.read_text()
    return html.unescape(re.sub(r"<[^>]+>", "", raw))


def _write(path: Path, nb: dict) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(json.dumps(nb, indent=1))


def test_round_trip_on_two_lectures(tmp_path):
    subs = tmp_path / "submissions"
    _write(subs / "alice" / L03, _solutions(L03))
    _write(subs / "alice" / L07, _solutions(L07))
    _write(subs / "bob" / L03, _replace_in_solution(_solutions(L03), "mmd_flow_step", WRONG_STEP))
    mallory = _solutions(L07)
    _replace_in_solution(mallory, "my_tv_js", RAISES)
    _replace_in_solution(mallory, "my_chi2_conjugate", LOOPS)
    _replace_in_solution(mallory, "my_kl_critic", DELETES)
    _write(subs / "mallory" / L07, mallory)
    handed_in = {p: p.read_text() for p in subs.rglob("*.ipynb")}
    lectures_before = {p: p.stat().st_mtime_ns for p in LECTURES.glob("*.ipynb")}

    start = time.perf_counter()
    rows = grade(subs, LECTURES, timeout=10, log=lambda *a: None)
    elapsed = time.perf_counter() - start
    assert elapsed < 150, f"the round trip took {elapsed:.0f} s"

    with (subs / "grades.csv").open() as fh:
        table = list(csv.reader(fh))
    assert table[0] == HEADER and len(table) - 1 == len(rows)
    got = {(r.student, r.lecture, r.exercise): (r.points, r.max_points) for r in rows}
    # the solutions: full marks in both lectures
    alice = {k[2]: v for k, v in got.items() if k[0] == "alice"}
    assert alice and all(p == m > 0 for p, m in alice.values()), alice
    # bob: exactly exercise 3.3 lost; 07 not handed in scores 0
    bob03 = {k[2]: v for k, v in got.items() if k[:2] == ("bob", "03_mmd_flow")}
    assert bob03["lec03_ex3"] == (0.0, 1.0)
    assert all(p == m for e, (p, m) in bob03.items() if e != "lec03_ex3")
    assert all(got[k][0] == 0 for k in got if k[:2] == ("bob", "07_phi_divergences"))
    # mallory: raises (7.1), loops (7.2), deletes files (7.3): those lost, 7.4 still graded
    mal = {k[2]: v[0] for k, v in got.items() if k[:2] == ("mallory", "07_phi_divergences")}
    assert mal == {"lec07_ex1": 0, "lec07_ex2": 0, "lec07_ex3": 0, "lec07_ex4": 1}, mal

    # feedback: bob's shows the check's diagnosis of the slide's sign
    with pytest.raises(CheckFailed) as info:
        check_mmd_flow_step(_wrong_step)
    diagnosis = str(info.value)
    feedback = _text(subs / "bob" / "feedback" / "03_mmd_flow.html")
    assert diagnosis[:60] in feedback
    assert (subs / "mallory" / "feedback" / "07_phi_divergences.html").exists()

    # nothing written where it should not be
    assert {p: p.read_text() for p in subs.rglob("*.ipynb")} == handed_in
    assert {p: p.stat().st_mtime_ns for p in LECTURES.glob("*.ipynb")} == lectures_before


def _run(*argv):
    return subprocess.run(
        [sys.executable, "-m", "kernelflows.course.grade", *map(str, argv)],
        capture_output=True,
        text=True,
        cwd=ROOT,
    )


def test_cli_mistakes_are_one_line_with_exit_code_2(tmp_path):
    empty = tmp_path / "empty"
    empty.mkdir()
    taken = tmp_path / "taken"
    (taken / "alice").mkdir(parents=True)
    (taken / "alice" / L07).write_text("{}")
    (taken / "grades.csv").write_text("my own notes\n")
    cases = [
        ((tmp_path / "missing",), "missing"),
        ((empty,), "no student folders"),
        ((LECTURES,), "lectures"),
        ((taken,), "grades.csv"),
    ]
    for argv, named in cases:
        proc = _run(*argv)
        assert proc.returncode == 2, (argv, proc.stderr)
        assert "Traceback" not in proc.stderr
        assert len(proc.stderr.strip().splitlines()) == 1 and named in proc.stderr
    assert (taken / "grades.csv").read_text() == "my own notes\n"
