"""Per-lecture additions (kernelflows.course.extras): every lecture from 01 on has its further
reading and questions, a "Lecture N — Title" title and a Next that points somewhere real; the
tool is idempotent and changes only markdown."""

import json
import re
import shutil
from pathlib import Path

import pytest

from kernelflows.course.extras import QUESTIONS, READING, applied, apply_file, load

ROOT = Path(__file__).resolve().parents[1]
LECTURES = sorted((ROOT / "lectures").glob("[0-9][0-9]_*.ipynb"))
WITH_EXTRAS = [p for p in LECTURES if not p.name.startswith("00_")]


def _code(nb):
    return [(c["source"], c.get("outputs")) for c in nb["cells"] if c["cell_type"] == "code"]


def _markdown(nb):
    return ["".join(c["source"]) for c in nb["cells"] if c["cell_type"] == "markdown"]


@pytest.mark.parametrize("path", WITH_EXTRAS, ids=[p.stem for p in WITH_EXTRAS])
def test_every_lecture_gets_reading_questions_and_its_title(path):
    extras = load(int(path.name[:2]))
    assert extras is not None, f"add kernelflows/course/extras/{path.name[:2]}.md"
    assert extras.title.startswith(f"Lecture {int(path.name[:2])} — ")
    assert len(re.findall(r"^- ", extras.reading, flags=re.M)) >= 2  # papers, one per line
    assert 2 <= len(re.findall(r"^\d\. ", extras.questions, flags=re.M)) <= 3
    assert "```" not in extras.questions, "questions are conceptual: no code"
    nb = applied(path)
    text = _markdown(nb)
    assert text[0].startswith(f"# {extras.title}\n")
    assert text[-2].startswith(READING) and text[-1].startswith(QUESTIONS)
    assert "KALE as a GAN critic, where" not in "".join(text)  # lecture 09's dangling Next
    assert _code(json.loads(path.read_text())) == _code(nb)  # only markdown changes


def test_the_overview_has_reading_and_questions_and_the_title_form():
    text = _markdown(json.loads((ROOT / "lectures" / "00_overview.ipynb").read_text()))
    assert text[0].startswith("# Lecture 0 — ")
    assert any(t.startswith(READING) for t in text) and any(t.startswith(QUESTIONS) for t in text)


def test_the_tool_is_idempotent(tmp_path):
    for name in ("05_noise_injection.ipynb", "09_kale_flow.ipynb"):
        shutil.copy(ROOT / "lectures" / name, tmp_path / name)
        apply_file(tmp_path / name)
        once = (tmp_path / name).read_text()
        assert apply_file(tmp_path / name) is False and (tmp_path / name).read_text() == once
        nb = json.loads(once)
        assert sum(READING in t for t in _markdown(nb)) == 1


def test_cli_errors_are_one_line(tmp_path, run_module):
    bad = tmp_path / "notes.ipynb"
    bad.write_text("{}")
    proc = run_module("kernelflows.course.extras", bad)
    assert proc.returncode == 2 and "Traceback" not in proc.stderr
    assert len(proc.stderr.strip().splitlines()) == 1


def test_every_extras_file_keeps_its_text_whole():
    """Each section's text is the file's text under its heading, not a character less."""
    from kernelflows.course.extras import EXTRAS_DIR, QUESTIONS, READING, load

    for path in sorted(EXTRAS_DIR.glob("[0-9][0-9].md")):
        ex = load(int(path.stem))
        raw = path.read_text()
        assert raw.split(QUESTIONS)[1].strip() == ex.questions, path.name
        assert raw.split(READING)[1].split(QUESTIONS)[0].strip() == ex.reading, path.name
        assert ex.questions.startswith("1."), path.name
