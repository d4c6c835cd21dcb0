"""The nbgrader marks derived from the lectures: setup, solution, answer and test cells, unique
grade ids, points, solution regions, stub docstrings without the formulas, idempotence."""

import json
import shutil
from pathlib import Path

import pytest

from kernelflows.course.mark import (
    BEGIN,
    END,
    load_docstrings,
    mark_file,
    marked,
    replace_docstrings,
    solution_regions,
)

ROOT = Path(__file__).resolve().parents[1]
LECTURES = sorted((ROOT / "lectures").glob("[0-9][0-9]_*.ipynb"))
GRADED = [p for p in LECTURES if not p.name.startswith("00_")]


def test_regions_keep_imports_defs_and_docstrings():
    src = (
        "from math import comb\n\n\n"
        "def f(x):\n"
        '    """Doc."""\n'
        "    y = x + 1\n\n"
        "    return y\n\n\n"
        "print(f(1))\n"
        "# an answer in words\n"
    )
    out = solution_regions(src)
    assert out.startswith('from math import comb\n\n\ndef f(x):\n    """Doc."""\n    ' + BEGIN)
    assert f"    return y\n    {END}\n" in out
    assert out.rstrip().endswith(f"{BEGIN}\nprint(f(1))\n# an answer in words\n{END}")
    assert solution_regions(out) == out


def test_docstring_replacement():
    src = 'def f(x):\n    """x + 1, the formula."""\n    return x + 1\n'
    out = replace_docstrings(src, {"f": "What f returns, shape (n,)."})
    assert out == 'def f(x):\n    """What f returns, shape (n,)."""\n    return x + 1\n'
    assert replace_docstrings(out, {"f": "What f returns, shape (n,)."}) == out


@pytest.mark.parametrize("path", GRADED, ids=[p.stem for p in GRADED])
def test_every_lecture_is_marked_consistently(path):
    nb = marked(path)
    assert marked(path) == nb
    number = int(path.name[:2])
    metas = [c["metadata"]["nbgrader"] for c in nb["cells"] if "nbgrader" in c["metadata"]]
    ids = [m["grade_id"] for m in metas]
    assert len(ids) == len(set(ids)), "grade ids must be unique"
    tests = [m for m in metas if m["grade"] and not m["solution"]]  # answers: grade + solution
    assert tests and [m["grade_id"] for m in tests] == [
        f"lec{number:02d}_ex{k}" for k in range(1, len(tests) + 1)
    ]
    assert all(m["locked"] and m["points"] >= 1 for m in tests)
    answers = [m for m in metas if m["grade"] and m["solution"]]
    assert all(m["points"] == 0 and m["grade_id"].endswith("_answer") for m in answers)
    setups = [m for m in metas if m["grade_id"].endswith("_setup")]
    assert len(setups) == len(tests) and all(m["locked"] and not m["grade"] for m in setups)
    for cell in nb["cells"]:
        if "solution" in cell["metadata"].get("tags", []):
            assert cell["metadata"]["nbgrader"]["solution"]
            assert BEGIN in "".join(cell["source"])


def test_stub_docstrings_name_functions_of_the_lectures():
    docstrings = load_docstrings()
    assert docstrings
    for number, functions in docstrings.items():
        (path,) = [p for p in LECTURES if p.name.startswith(f"{number:02d}_")]
        nb = marked(path)
        solutions = "".join(
            "".join(c["source"]) for c in nb["cells"] if "solution" in c["metadata"].get("tags", [])
        )
        for function, text in functions.items():
            assert f"def {function}(" in solutions, (path.name, function)
            assert f'"""{text}"""' in solutions


def test_mark_file_is_idempotent_and_changes_only_marks(tmp_path):
    src = ROOT / "lectures" / "07_phi_divergences.ipynb"
    dst = tmp_path / src.name
    shutil.copy(src, dst)
    mark_file(dst)
    once = dst.read_text()
    assert mark_file(dst) is False and dst.read_text() == once
    before, after = json.loads(src.read_text()), json.loads(once)
    assert [c.get("outputs") for c in before["cells"]] == [c.get("outputs") for c in after["cells"]]


def test_cli_errors_are_one_line(tmp_path, run_module):
    bad = tmp_path / "notes.ipynb"
    bad.write_text("{}")
    proc = run_module("kernelflows.course.mark", bad)
    assert proc.returncode == 2 and "Traceback" not in proc.stderr
    assert len(proc.stderr.strip().splitlines()) == 1
