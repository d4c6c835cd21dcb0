"""Bad hand-ins get a clear line in the grading report and the rest is graded: a notebook that
is not JSON, a binary file, a folder named like a notebook, JSON that is not a notebook, a
near-miss name (matched and said so), two candidates for one lecture (reported), an empty folder;
``grades.csv`` is always written. Also the parts that need no sandbox: name matching, reading
notebooks, which cells belong to which exercise, and what crosses the sandbox's channel."""

import csv
import json

import numpy as np
import pytest
from grading import LECTURES, solution_notebook, write

from kernelflows.course.grade import grade
from kernelflows.course.handins import (
    NotANotebook,
    find_handins,
    read_notebook,
    student_cells,
)
from kernelflows.course.wire import Handle, ProtocolError, decode, encode

L03, L07 = "03_mmd_flow.ipynb", "07_phi_divergences.ipynb"
NAMES = [p.name for p in sorted(LECTURES.glob("[0-9][0-9]_*.ipynb")) if p.name[:2] != "00"]


def test_bad_hand_ins_are_reported_and_the_rest_graded(tmp_path):
    pytest.importorskip("nbgrader")
    subs = tmp_path / "class"
    good = solution_notebook(LECTURES / L03)
    write(subs / "ann" / "03_mmd_flow (1).ipynb", good)  # a browser's copy: matched
    (subs / "ann" / L07).write_text('{"cells": [{"cell_type": "code", "source": 3}]')
    (subs / "ben" / L03).parent.mkdir(parents=True)
    (subs / "ben" / L03).write_bytes(b"\x89PNG\r\n\x1a\n\x00\x00binary")
    (subs / "ben" / L07).mkdir()  # a folder named like a notebook
    write(subs / "cat" / L03, good)
    write(subs / "cat" / "03_mmd_flow-Copy1.ipynb", good)  # exact name wins, the copy reported
    write(subs / "dan" / "03_mmd_flow (1).ipynb", good)
    write(subs / "dan" / "03_mmd_flow (2).ipynb", good)  # two candidates: neither graded
    (subs / "eve").mkdir()
    (subs / "fay").mkdir()
    (subs / "fay" / L03).write_text("this is not json")
    (subs / "fay" / "notes.ipynb").write_text("{}")

    rows = grade(subs, LECTURES, lecture="03", timeout=30, jobs=2, log=lambda *a: None)

    table = list(csv.reader((subs / "grades.csv").open()))
    students = {r[0] for r in table[1:]}
    assert students == {"ann", "ben", "cat", "dan", "eve", "fay"}
    total = {s: sum(r.points for r in rows if r.student == s) for s in students}
    assert total["ann"] == total["cat"] == 3 and total["ben"] == total["dan"] == 0
    assert total["eve"] == total["fay"] == 0
    report = (subs / "grading-report.txt").read_text()
    lines = {
        "ann": "03_mmd_flow (1).ipynb: graded as 03_mmd_flow.ipynb",
        "ben": "03_mmd_flow.ipynb is a binary file",
        "cat": "03_mmd_flow-Copy1.ipynb: ignored: 03_mmd_flow.ipynb was handed in too",
        "dan": "several files could be 03_mmd_flow.ipynb",
        "eve": "03_mmd_flow.ipynb: not handed in",
        "fay": "03_mmd_flow.ipynb is not valid JSON",
    }
    for student, text in lines.items():
        mine = [line for line in report.splitlines() if line.startswith(f"{student}: ")]
        assert any(text in line for line in mine), (student, report)
    assert "fay: notes.ipynb: not named like a lecture" in report
    assert "07_phi" not in report  # lecture 07 was not asked for: its files are left alone
    assert (subs / "fay" / "feedback" / "03_mmd_flow.html").exists()  # says why: not graded


def test_name_matching(tmp_path):
    for student, files in {
        "a": ["03_MMD_Flow.ipynb", "07_phi_divergences_final.ipynb", "10 beyond.ipynb"],
        "b": ["Untitled.ipynb", "03_mmd_flow.ipynb.json"],
    }.items():
        (tmp_path / student).mkdir()
        for name in files:
            (tmp_path / student / name).write_text("{}")
    found = {h.student: h for h in find_handins(tmp_path, NAMES)}
    assert sorted(found["a"].lectures) == ["03_mmd_flow.ipynb", "07_phi_divergences.ipynb",
                                           "10_beyond.ipynb"]  # fmt: skip
    assert sorted(found["b"].lectures) == ["03_mmd_flow.ipynb"]
    assert [p.path for p in found["b"].problems] == ["Untitled.ipynb", "03_mmd_flow.ipynb.json"]


@pytest.mark.parametrize(
    "content, says",
    [
        (b"", "not valid JSON"),
        (b"[1, 2]", "not a notebook"),
        (b'{"cells": "x"}', "not a notebook"),
        (b'{"cells": [{"cell_type": "code", "source": [1]}]}', "source is not text"),
        (b"\xff\xfe{}", "not text"),
        (b"[" * 100000 + b"]" * 100000, "not valid JSON"),
    ],
)
def test_read_notebook_says_what_is_wrong(tmp_path, content, says):
    path = tmp_path / "x.ipynb"
    path.write_bytes(content)
    with pytest.raises(NotANotebook, match=says):
        read_notebook(path)


def test_student_cells_follow_grade_ids_and_keep_added_cells():
    nb = solution_notebook(LECTURES / L03)
    cells = nb["cells"]
    at = next(i for i, c in enumerate(cells) if c["metadata"].get("nbgrader", {}).get("grade_id")
              == "lec03_ex2_solution")  # fmt: skip
    cells.insert(at, {"cell_type": "code", "metadata": {}, "source": "helper = 1", "outputs": []})
    out = student_cells(nb, 3)
    assert sorted(out) == [1, 2, 3]
    assert out[2][0] == "helper = 1" and "def first_variation_at" in out[2][1]
    stripped = json.loads(json.dumps(nb))  # a notebook that lost its nbgrader metadata
    for cell in stripped["cells"]:
        cell["metadata"].pop("nbgrader", None)
    assert [len(v) for k, v in sorted(student_cells(stripped, 3).items())] == [1, 2, 1]


def test_what_crosses_the_channel():
    table = []
    value = {"x": np.arange(6.0).reshape(2, 3), "n": 3, "t": (1.5, np.float64(2.0), None),
             "f": len, "s": "text", "b": True}  # fmt: skip
    data = json.loads(json.dumps(encode(value, lambda obj: table.append(obj) or len(table))))
    back = decode(data)
    assert np.array_equal(back["x"], value["x"]) and back["n"] == 3 and back["s"] == "text"
    assert back["t"][0] == 1.5 and isinstance(back["t"][1], np.float64) and back["t"][2] is None
    assert isinstance(back["f"], Handle) and back["f"].callable and table == [len]
    assert back["b"] is True
    for bad in [
        {"nd": ["|O", [1], "AAAAAAAAAAA="]},  # object arrays
        {"nd": ["<f8", [2], "AAAAAAAAAAA="]},  # size does not match the shape
        {"pickle": "gASVAAAA"},
        {"f": "nan", "x": 1},
        [1, 2],
        {"np": ["<U1", "QQAAAA=="]},
    ]:
        with pytest.raises(ProtocolError):
            decode(bad)
