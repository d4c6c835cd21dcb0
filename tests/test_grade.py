"""Grading, the round trip on two lectures (03 and 07): the solutions get full marks; a planted
mistake loses exactly its exercise and the feedback shows the check's diagnosis (not its code)
first; code that raises, loops or deletes files loses those exercises only; nothing is written
into the lectures or the students' notebooks; the CLI refuses bad calls in one line."""

import csv
import html
import re
import shutil

import numpy as np
import pytest
from grading import LECTURES, replace_solution, solution_notebook, write

from kernelflows.course.checks import CheckFailed, check_mmd_flow_step
from kernelflows.course.grade import HEADER, grade
from kernelflows.course.sandbox import SandboxUnavailable, probe

pytest.importorskip("nbgrader")
L03, L07 = "03_mmd_flow.ipynb", "07_phi_divergences.ipynb"


def _isolation():
    try:
        probe()
    except SandboxUnavailable as exc:
        pytest.skip(f"no sandbox here: {exc}")


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

for victim in ["07_phi_divergences.ipynb", "../07_phi_divergences/07_phi_divergences.ipynb",
               {victims}]:
    try:
        os.remove(victim)
    except OSError:
        pass


def my_kl_critic(mean_p, var_p, mean_q, var_q):
    return lambda z: 0.0 * z
"""


def _text(path) -> str:
    raw = re.sub(r"<(style|script)[^>]*>.*?</\1>", "", path.read_text(), flags=re.S)
    return html.unescape(re.sub(r"<[^>]+>", "", raw))


def test_round_trip_on_two_lectures(tmp_path):
    _isolation()
    subs = tmp_path / "submissions"
    write(subs / "alice" / L03, solution_notebook(LECTURES / L03, lean=False))
    write(subs / "alice" / L07, solution_notebook(LECTURES / L07, lean=False))
    bob = replace_solution(solution_notebook(LECTURES / L03), "mmd_flow_step", WRONG_STEP)
    write(subs / "bob" / L03, bob)
    mallory = solution_notebook(LECTURES / L07)
    replace_solution(mallory, "my_tv_js", RAISES)
    replace_solution(mallory, "my_chi2_conjugate", LOOPS)
    victims = [str(subs / "alice" / L07), str(LECTURES / L07)]
    replace_solution(mallory, "my_kl_critic", DELETES.replace("{victims}", repr(victims)[1:-1]))
    write(subs / "mallory" / L07, mallory)
    handed_in = {p: p.read_text() for p in subs.rglob("*.ipynb")}
    lectures_before = {p: p.read_bytes() for p in LECTURES.glob("*.ipynb")}

    rows = grade(subs, LECTURES, timeout=20, jobs=2, log=lambda *a: None)

    with (subs / "grades.csv").open() as fh:
        table = list(csv.reader(fh))
    assert table[0] == HEADER and len(table) - 1 == len(rows)
    got = {(r.student, r.lecture, r.exercise): (r.points, r.max_points) for r in rows}
    alice = {k[2]: v for k, v in got.items() if k[0] == "alice"}
    assert alice and all(p == m > 0 for p, m in alice.values()), alice
    bob03 = {k[2]: v for k, v in got.items() if k[:2] == ("bob", "03_mmd_flow")}
    assert bob03["lec03_ex3"] == (0.0, 1.0)
    assert all(p == m for e, (p, m) in bob03.items() if e != "lec03_ex3")
    assert all(got[k][0] == 0 for k in got if k[:2] == ("bob", "07_phi_divergences"))
    mal = {k[2]: v[0] for k, v in got.items() if k[:2] == ("mallory", "07_phi_divergences")}
    assert mal == {"lec07_ex1": 0, "lec07_ex2": 0, "lec07_ex3": 0, "lec07_ex4": 1}, mal

    # feedback: bob's shows the check's diagnosis of the slide's sign, before any code
    with pytest.raises(CheckFailed) as info:
        check_mmd_flow_step(_wrong_step)
    diagnosis = str(info.value)
    page = _text(subs / "bob" / "feedback" / "03_mmd_flow.html")
    ex3 = page[page.index("Exercise 3: 0 / 1") :]
    assert ex3.index(diagnosis) < ex3.index("def mmd_flow_step")
    for check_code in ("_reference_flow_step", "def check_", "2 * X - want", "core.py"):
        assert check_code not in page  # the check's message, not its code
    assert (subs / "bob" / "feedback" / "mathjax" / "tex-svg.js").exists()  # math offline
    mal_page = _text(subs / "mallory" / "feedback" / "07_phi_divergences.html")
    assert "student bug" in mal_page and "more than 20 s" in mal_page
    report = (subs / "grading-report.txt").read_text()
    assert "mallory: 07_phi_divergences exercise 2" in report and "bob: 07_phi" in report
    totals = list(csv.reader((subs / "totals.csv").open()))
    assert totals[0] == ["student", "03_mmd_flow", "07_phi_divergences", "total"]
    assert totals[1:] == [
        ["alice", "3", "4", "7"],
        ["bob", "2", "0", "2"],
        ["mallory", "0", "1", "1"],
    ]

    # nothing written where it should not be
    assert {p: p.read_text() for p in subs.rglob("*.ipynb")} == handed_in
    assert {p: p.read_bytes() for p in LECTURES.glob("*.ipynb")} == lectures_before


def test_cli_mistakes_are_one_line_with_exit_code_2(tmp_path, run_module):
    empty = tmp_path / "empty"
    empty.mkdir()
    taken = tmp_path / "taken"
    (taken / "alice").mkdir(parents=True)
    (taken / "alice" / L07).write_text("{}")
    (taken / "grades.csv").write_text("my own notes\n")
    ok = tmp_path / "ok"
    (ok / "alice").mkdir(parents=True)
    cases = [
        ((tmp_path / "missing",), "missing"),
        ((empty,), "no student folders"),
        ((LECTURES,), "lectures"),
        ((taken,), "grades.csv"),
        ((ok, "--timeout", "0"), "--timeout"),
        ((ok, "--timeout", "-1"), "--timeout"),
        ((ok, "--timeout", "nan"), "--timeout"),
        ((ok, "--timeout", "soon"), "--timeout"),
        ((ok, "--jobs", "0"), "--jobs"),
        ((ok, "--lecture", "42"), "--lecture 42"),
    ]
    for argv, named in cases:
        proc = run_module("kernelflows.course.grade", *argv)
        assert proc.returncode == 2, (argv, proc.stderr)
        assert "Traceback" not in proc.stderr
        assert len(proc.stderr.strip().splitlines()) == 1 and named in proc.stderr, proc.stderr
    assert (taken / "grades.csv").read_text() == "my own notes\n"
    assert not (ok / "grades.csv").exists()


def test_refuses_to_grade_without_isolation_unless_asked(tmp_path, monkeypatch):
    subs = tmp_path / "subs"
    write(subs / "alice" / L03, solution_notebook(LECTURES / L03))
    monkeypatch.setattr(shutil, "which", lambda name, *a, **k: None)  # no bwrap on this machine
    with pytest.raises(ValueError, match="bwrap.*--no-isolation"):
        grade(subs, LECTURES, lecture="03", log=lambda *a: None)
    assert not (subs / "grades.csv").exists()
    rows = grade(subs, LECTURES, lecture="03", isolation="none", timeout=30, log=lambda *a: None)
    assert all(r.points == r.max_points for r in rows)
    assert "no isolation" in (subs / "grading-report.txt").read_text()
