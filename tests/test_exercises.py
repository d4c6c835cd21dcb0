"""The exercise anatomy, enforced on every lecture: statement, locked setup, solution(s), optional
written answer, check cell; each exercise reads only names its own cells define (statically here;
that each one runs alone in a fresh kernel is tested by the grading tests, which run it so)."""

import json
from pathlib import Path

import pytest

from kernelflows.course.exercises import (
    anatomy_problems,
    check_names,
    exercises,
    names_of,
    source,
)
from kernelflows.course.mark import marked

ROOT = Path(__file__).resolve().parents[1]
GRADED = [p for p in sorted((ROOT / "lectures").glob("[0-9][0-9]_*.ipynb")) if p.name[:2] != "00"]


def _nb(cells):
    return {"cells": cells, "metadata": {}, "nbformat": 4, "nbformat_minor": 5}


def _md(text, tags=None):
    return {"cell_type": "markdown", "metadata": {"tags": tags or []}, "source": text}


def _code(text, tags=None):
    return {"cell_type": "code", "metadata": {"tags": tags or []}, "source": text, "outputs": []}


GOOD = [
    _md("## Exercises"),
    _md("**Exercise 1 (easy).** Write `f(x)`."),
    _code("import numpy as np\n\ndata = np.arange(3)", ["exercise-setup"]),
    _code("def f(x):\n    return np.sum(x)", ["solution"]),
    _md("Because.", ["answer"]),
    _code("from kernelflows.course.checks import check_f\n\ncheck_f(f)\nprint(f(data))"),
    _md("**Exercise 2 (medium).** Write `g(x)`."),
    _code("import numpy as np", ["exercise-setup"]),
    _code("def g(x):\n    return 2 * x", ["solution"]),
    _code("from kernelflows.course.checks import check_g\n\ncheck_g(g)"),
]


@pytest.mark.parametrize("path", GRADED, ids=[p.stem for p in GRADED])
def test_every_lecture_follows_the_anatomy(path):
    nb = json.loads(path.read_text())
    assert anatomy_problems(nb, int(path.name[:2])) == []
    found = exercises(nb)
    assert [e.number for e in found] == list(range(1, len(found) + 1))
    for ex in found:  # setup right after the statement; the test starts with its check
        assert ex.setup == ex.statement + 1 and ex.solutions and ex.test > max(ex.solutions)
        assert check_names(source(nb["cells"][ex.test]))


@pytest.mark.parametrize("path", GRADED, ids=[p.stem for p in GRADED])
def test_no_graded_cell_reads_a_name_only_another_exercise_defines(path):
    """Each exercise's setup, solution and test cells, run alone in order, define every global
    name they read; so nothing one exercise reads can come from another exercise's cells."""
    nb = json.loads(path.read_text())
    cells = nb["cells"]
    found = exercises(nb)

    def group(ex):
        return [source(cells[i]) for i in [ex.setup, *ex.solutions, ex.test]]

    for ex in found:
        elsewhere = set()  # the names the other exercises' cells set
        for other in found:
            if other is not ex:
                elsewhere |= set().union(*(names_of(src)[1] for src in group(other)))
        own = set()
        for src in group(ex):
            reads, binds = names_of(src)
            borrowed = (reads - own - binds) & elsewhere
            assert not borrowed, f"exercise {ex.number} reads {sorted(borrowed)}, set elsewhere"
            own |= binds


@pytest.mark.parametrize("path", GRADED, ids=[p.stem for p in GRADED])
def test_marks_follow_the_anatomy(path):
    nb = marked(path)
    number = int(path.name[:2])
    cells = nb["cells"]
    for ex in exercises(nb):
        ident = f"lec{number:02d}_ex{ex.number}"
        setup = cells[ex.setup]["metadata"]["nbgrader"]
        assert setup["grade_id"] == f"{ident}_setup" and setup["locked"]
        assert not setup["grade"] and not setup["solution"]
        test = cells[ex.test]["metadata"]["nbgrader"]
        assert test["grade_id"] == ident and test["grade"] and test["locked"]
        ids = [cells[i]["metadata"]["nbgrader"]["grade_id"] for i in ex.solutions]
        assert ids[0] == f"{ident}_solution" and all(
            i == f"{ident}_solution{k}" for k, i in enumerate(ids[1:], start=2)
        )
        if ex.answer is not None:
            answer = cells[ex.answer]
            assert answer["cell_type"] == "markdown"
            meta = answer["metadata"]["nbgrader"]
            assert meta["grade_id"] == f"{ident}_answer" and meta["points"] == 0
            statement = source(cells[ex.statement])
            assert "not graded automatically" in statement


def test_parser_and_checker_on_a_small_notebook():
    nb = _nb(GOOD)
    found = exercises(nb)
    assert [(e.number, e.statement, e.setup, e.solutions, e.answer, e.test) for e in found] == [
        (1, 1, 2, (3,), 4, 5),
        (2, 6, 7, (8,), None, 9),
    ]
    assert anatomy_problems(nb, 1) == []


@pytest.mark.parametrize(
    "change, says",
    [
        (lambda c: c.__setitem__(5, _code("check_f(f)\nprint(data2)")), "'data2'"),
        (lambda c: c.__setitem__(8, _code("def g(x):\n    return data", ["solution"])), "'data'"),
        (lambda c: c.pop(7), "not its 'exercise-setup' cell"),
        (lambda c: c.__setitem__(6, _md("**Exercise 3 (medium).** Write `g(x)`.")), "numbered 3"),
        (lambda c: c.insert(9, _code("h = g")), "untagged code cells"),
        (lambda c: c.__setitem__(9, _code("print(1)\ncheck_g(g)")), "does not start with"),
    ],
)
def test_each_departure_is_named(change, says):
    cells = [dict(c) for c in GOOD]
    change(cells)
    problems = anatomy_problems(_nb(cells), 1)
    assert any(says in p for p in problems), problems


def test_names_of_sees_globals_read_inside_functions():
    reads, binds = names_of("import numpy as np\n\ndef f(x):\n    return np.sum(x) + offset\n")
    assert {"np", "offset"} <= reads and {"np", "f"} <= binds and "x" not in reads
