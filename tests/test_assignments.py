"""Student versions: solutions stubbed, outputs cleared, committed copies up to date, and each
student notebook runs until its first stub, where the error says so plainly.

Executing the student notebooks would run again the lecture code that ``make notebooks`` (strict
nbval over lectures/) already runs: the unit tests check statically that a student version's
code before its first stub is the lecture's, cell by cell; the execution itself is marked
``slow`` (``pytest -m slow tests/test_assignments.py``), which ``make unit`` leaves out."""

import json
import os
from pathlib import Path

import pytest

from kernelflows.course.assignments import build, main, student_notebooks

ROOT = Path(__file__).resolve().parents[1]
#: the lectures with exercises (lecture 00, the overview, has none and no student version)
LECTURES = [
    p
    for p in sorted((ROOT / "lectures").glob("[0-9][0-9]_*.ipynb"))
    if not p.name.startswith("00_")
]


def test_student_version_keeps_signature_docstring_and_imports_and_clears_the_rest(tmp_path):
    lectures = tmp_path / "lectures"
    lectures.mkdir()
    nb = {
        "cells": [
            {"cell_type": "markdown", "id": "m", "metadata": {}, "source": "## Exercise 1"},
            {"cell_type": "code", "id": "s", "metadata": {"tags": ["solution"]},
             "source": "import numpy as np\n\n\ndef my_mmd2(X, Y, kernel):\n"
                       '    """Unbiased MMD^2."""\n    n = len(X)\n    return np.sum(X)\n\n\n'
                       "value = my_mmd2(1, 2, 3)\n",
             "outputs": [{"output_type": "stream", "name": "stdout", "text": "2"}],
             "execution_count": 3},
            {"cell_type": "code", "id": "c", "metadata": {}, "source": "check_mmd2(my_mmd2)",
             "outputs": [], "execution_count": 4},
        ],
        "metadata": {},
        "nbformat": 4,
        "nbformat_minor": 5,
    }  # fmt: skip
    (lectures / "01_intro.ipynb").write_text(json.dumps(nb))
    before = (lectures / "01_intro.ipynb").read_text()
    out = student_notebooks([lectures / "01_intro.ipynb"])["01_intro.ipynb"]
    assert (lectures / "01_intro.ipynb").read_text() == before  # the source is left alone
    md, sol, check = out["cells"]
    assert "".join(md["source"]) == "## Exercise 1"
    stub = "".join(sol["source"])
    assert "import numpy as np" in stub
    assert 'def my_mmd2(X, Y, kernel):\n    """Unbiased MMD^2."""\n' in stub
    assert "np.sum" not in stub and "value =" not in stub and "raise NotImplementedError" in stub
    assert sol["metadata"]["nbgrader"]["solution"] and "solution" in sol["metadata"]["tags"]
    assert check["metadata"]["nbgrader"]["grade"] and check["metadata"]["nbgrader"]["locked"]
    assert check["metadata"]["nbgrader"]["grade_id"] == "lec01_ex1"
    assert all(c.get("outputs") == [] and c["execution_count"] is None for c in (sol, check))
    assert "# YOUR CODE HERE: the computations" in stub  # top-level code: a prompt, no raise
    ns = {}
    exec(stub, ns)
    with pytest.raises(NotImplementedError):
        ns["my_mmd2"](1, 2, 3)


@pytest.mark.skipif(not LECTURES, reason="no lectures yet")
def test_committed_student_versions_are_up_to_date():
    stale = build(ROOT / "lectures", ROOT / "assignments", check=True)
    assert not stale, f"run `make assignments`: out of date {[p.name for p in stale]}"


@pytest.mark.parametrize("path", LECTURES, ids=[p.stem for p in LECTURES])
def test_every_lecture_ends_with_exercises_with_solutions(path):
    nb = json.loads(path.read_text())
    tagged = [c for c in nb["cells"] if "solution" in c.get("metadata", {}).get("tags", [])]
    assert tagged, f"{path.name} has no cell tagged 'solution'"
    text = " ".join("".join(c["source"]) for c in nb["cells"] if c["cell_type"] == "markdown")
    assert "Exercise" in text


@pytest.mark.parametrize("path", LECTURES, ids=[p.stem for p in LECTURES])
def test_student_version_before_its_first_stub_is_the_lecture(path):
    # nbval runs the lecture without error: so does the student version up to its first stub
    # when every code cell before it is the lecture's cell of the same id, unchanged
    lecture = {c["id"]: c for c in json.loads(path.read_text())["cells"]}
    student = json.loads((ROOT / "assignments" / path.name).read_text())["cells"]
    code = [c for c in student if c["cell_type"] == "code"]
    first = next(
        (i for i, c in enumerate(code) if "raise NotImplementedError" in "".join(c["source"])), None
    )
    assert first is not None, f"{path.name}: the student version has no stub"
    assert "solution" in code[first]["metadata"].get("tags", [])  # the stub is a solution's
    for cell in code[:first]:
        assert cell["id"] in lecture, f"{path.name}: cell {cell['id']} is not the lecture's"
        assert "".join(cell["source"]) == "".join(lecture[cell["id"]]["source"]), cell["id"]


@pytest.mark.slow
@pytest.mark.parametrize("path", LECTURES, ids=[p.stem for p in LECTURES])
def test_student_version_runs_to_the_first_stub(path, tmp_path):
    nbformat = pytest.importorskip("nbformat")
    from nbclient import NotebookClient
    from nbclient.exceptions import CellExecutionError

    student = ROOT / "assignments" / path.name
    nb = nbformat.read(student, as_version=4)
    client = NotebookClient(nb, timeout=300, kernel_name="python3",
                            resources={"metadata": {"path": str(ROOT / "lectures")}})  # fmt: skip
    with pytest.raises(CellExecutionError) as info:
        client.execute()
    assert info.value.ename in ("NotImplementedError", "NotImplementedYet"), info.value.ename
    failing = next(c for c in nb.cells if c.cell_type == "code" and any(
        o.get("output_type") == "error" for o in c.get("outputs", [])))  # fmt: skip
    solution_seen = False
    for cell in nb.cells:
        if cell is failing:
            break
        solution_seen |= "raise NotImplementedError" in cell.source
    # the error comes from the first stub, or from the check called right after it
    assert solution_seen or "raise NotImplementedError" in failing.source


# -- nothing a user made is lost ------------------------------------------------------------------
def _lecture(tmp_path, name="01_intro.ipynb"):
    lectures = tmp_path / "lectures"
    lectures.mkdir(exist_ok=True)
    nb = {
        "cells": [
            {"cell_type": "code", "id": "s1", "metadata": {"tags": ["solution"]},
             "source": "x = 1\n", "outputs": [], "execution_count": 1},
        ],
        "metadata": {},
        "nbformat": 4,
        "nbformat_minor": 5,
    }  # fmt: skip
    (lectures / name).write_text(json.dumps(nb))
    return lectures


def test_student_versions_carry_the_marker_and_siblings_work(tmp_path):
    lectures = _lecture(tmp_path)
    out = tmp_path / "assignments"
    assert main(["--lectures", str(lectures), "--out", str(out)]) == 0
    nb = json.loads((out / "01_intro.ipynb").read_text())
    assert nb["metadata"]["kernelflows"]["student_version_of"] == "01_intro.ipynb"
    # a second run overwrites its own file without complaint
    (lectures / "01_intro.ipynb").write_text(
        (lectures / "01_intro.ipynb").read_text().replace("x = 1", "def f():\\n    return 1")
    )
    assert main(["--lectures", str(lectures), "--out", str(out)]) == 0
    assert "def f" in (out / "01_intro.ipynb").read_text()


def test_never_deletes_and_never_overwrites_a_user_file(tmp_path):
    lectures = _lecture(tmp_path)
    out = tmp_path / "assignments"
    out.mkdir()
    mine = out / "my_notes.ipynb"
    mine.write_text("{}")
    assert main(["--lectures", str(lectures), "--out", str(out)]) == 0
    assert mine.read_text() == "{}"  # not deleted
    (lectures / "02_more.ipynb").write_text((lectures / "01_intro.ipynb").read_text())
    clash = out / "02_more.ipynb"
    clash.write_text('{"cells": [], "metadata": {}}')  # the user's own file of that name
    assert main(["--lectures", str(lectures), "--out", str(out)]) == 2
    assert clash.read_text() == '{"cells": [], "metadata": {}}'


@pytest.mark.parametrize("where", ["same", "inside"])
def test_refuses_out_equal_to_or_inside_lectures(tmp_path, where, run_module):
    lectures = _lecture(tmp_path)
    before = (lectures / "01_intro.ipynb").read_text()
    out = lectures if where == "same" else lectures / "sub"
    proc = run_module("kernelflows.course.assignments", "--lectures", lectures, "--out", out)
    assert proc.returncode == 2
    assert "Traceback" not in proc.stderr and len(proc.stderr.strip().splitlines()) == 1
    assert "--out" in proc.stderr
    assert (lectures / "01_intro.ipynb").read_text() == before
    assert not (lectures / "sub").exists()


def test_cli_mistakes_are_one_line_with_exit_code_2(tmp_path, run_module):
    lectures = _lecture(tmp_path)
    a_file = tmp_path / "file.txt"
    a_file.write_text("x")
    bad = tmp_path / "bad"
    bad.mkdir()
    (bad / "01_broken.ipynb").write_text("{not json")
    cases = [
        (("--lectures", lectures, "--out", a_file), str(a_file)),
        (("--lectures", tmp_path / "missing", "--out", tmp_path / "o"), "missing"),
        (("--lectures", bad, "--out", tmp_path / "o2"), "01_broken.ipynb"),
    ]
    if os.geteuid() != 0:  # root writes anywhere
        locked = tmp_path / "locked"
        locked.mkdir(mode=0o500)
        cases.append((("--lectures", lectures, "--out", locked), str(locked)))
    for argv, named in cases:
        proc = run_module("kernelflows.course.assignments", *argv)
        assert proc.returncode == 2, (argv, proc.stderr)
        assert "Traceback" not in proc.stderr
        assert len(proc.stderr.strip().splitlines()) == 1 and named in proc.stderr


def test_a_lecture_without_exercises_gets_no_student_version(tmp_path):
    lectures = _lecture(tmp_path)
    nb = {"cells": [{"cell_type": "markdown", "id": "m", "metadata": {}, "source": "# Overview"}],
          "metadata": {}, "nbformat": 4, "nbformat_minor": 5}  # fmt: skip
    (lectures / "00_overview.ipynb").write_text(json.dumps(nb))
    out = tmp_path / "assignments"
    assert main(["--lectures", str(lectures), "--out", str(out)]) == 0
    assert sorted(p.name for p in out.iterdir()) == ["01_intro.ipynb"]


@pytest.mark.parametrize("path", LECTURES, ids=[p.stem for p in LECTURES])
def test_student_version_follows_the_anatomy(path):
    """Setup cells locked, answer cells a prompt (no raise), stubs without giveaway imports."""
    import ast

    from kernelflows.course.exercises import exercises, source
    from kernelflows.course.nbgrading import ANSWER_PROMPT

    nb = json.loads((ROOT / "assignments" / path.name).read_text())
    cells = nb["cells"]
    found = exercises(nb)
    assert found
    for ex in found:
        setup = cells[ex.setup]
        assert (
            setup["metadata"].get("editable") is False and setup["metadata"]["nbgrader"]["locked"]
        )
        for i in ex.solutions:
            tree = ast.parse(source(cells[i]))
            imports = [n for n in tree.body if isinstance(n, ast.Import | ast.ImportFrom)]
            assert not imports, f"exercise {ex.number}: the stub imports {ast.unparse(imports[0])}"
            top = [n for n in tree.body if isinstance(n, ast.Raise)]
            assert not top, f"exercise {ex.number}: a top-level raise stops Run All"
        if ex.answer is not None:
            assert source(cells[ex.answer]).strip() == ANSWER_PROMPT
