"""The book's sources (book/) in step with the lectures; build.py's notebook transform.

These need no Sphinx: `make book` and `make test-book` build and check the site itself.
"""

import importlib.util
import json
import re
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]
LECTURES = sorted(p.stem for p in (ROOT / "lectures").glob("*.ipynb"))


@pytest.fixture(scope="module")
def build():
    spec = importlib.util.spec_from_file_location("book_build", ROOT / "book" / "build.py")
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def test_every_lecture_has_a_row_and_its_prerequisites_come_before_it(build):
    table = build.lecture_table()
    assert sorted(table) == LECTURES, "book/lectures.csv must have one row per lecture"
    for stem, row in table.items():
        assert row["run_seconds"] > 0, stem
        for before in row["prerequisites"]:
            assert before in LECTURES and before < stem, f"{stem}: prerequisite {before}"
    assert build.machine_note(), "book/lectures.csv: say on which machine the run times were taken"


def test_book_copy_folds_solutions_and_keeps_the_lecture_otherwise(build):
    table = build.lecture_table()
    stem = next(s for s in LECTURES if "solution" in (ROOT / "lectures" / f"{s}.ipynb").read_text())
    nb = json.loads((ROOT / "lectures" / f"{stem}.ipynb").read_text())
    before = json.dumps(nb)
    out = build.book_notebook(nb, stem, table, "a test machine")
    assert json.dumps(nb) == before, "the committed notebook must not be modified"
    assert len(out["cells"]) == len(nb["cells"]) + 1
    header = [c for c in out["cells"] if "book-header" in c["metadata"].get("tags", [])]
    assert len(header) == 1 and "Prerequisites" in header[0]["source"]
    solutions = [c for c in out["cells"] if "solution" in c["metadata"].get("tags", [])]
    assert solutions, f"{stem} has no solution cell to fold"
    for cell in solutions:
        assert "hide-cell" in cell["metadata"]["tags"]
        assert cell["metadata"]["mystnb"]["code_prompt_show"] == "Show solution"
    assert "widgets" not in out["metadata"]
    assert not any("# NBVAL_" in build._source(c) for c in out["cells"] if c["cell_type"] == "code")
    assert not any("### BEGIN SOLUTION" in build._source(c) for c in out["cells"])


def test_slider_demos_become_their_saved_picture(build):
    picture = "iVBORw0KGgo="  # base64 of a PNG header: enough for the transform
    state = {
        "box": {"model_name": "VBoxModel", "state": {"children": ["IPY_MODEL_img"]}},
        "img": {
            "model_name": "ImageModel",
            "state": {"format": "png"},
            "buffers": [{"data": picture, "encoding": "base64", "path": ["value"]}],
        },
    }
    view = {"application/vnd.jupyter.widget-view+json": {"model_id": "box"}, "text/plain": "VBox"}
    nb = {
        "metadata": {"widgets": {"application/vnd.jupyter.widget-state+json": {"state": state}}},
        "cells": [
            {"cell_type": "markdown", "metadata": {}, "source": "# Title"},
            {"cell_type": "code", "metadata": {}, "source": "demo()", "outputs": [
                {"output_type": "display_data", "metadata": {}, "data": view}]},
        ],
    }  # fmt: skip
    table = {"t": {"prerequisites": [], "run_seconds": 1}}
    out = build.book_notebook(nb, "t", table, "")
    outputs = out["cells"][2]["outputs"]
    assert outputs[0]["data"] == {"image/png": picture}
    assert "Interactive in JupyterLab" in outputs[1]["data"]["text/markdown"]


def test_bibliography_has_the_course_papers_with_a_link_or_venue():
    bib = (ROOT / "book" / "references.bib").read_text()
    entries = re.findall(r"@(\w+)\{(\w+),(.*?)\n\}", bib, flags=re.S)
    keys = [key for _, key, _ in entries]
    assert len(keys) == len(set(keys)), "duplicate keys in book/references.bib"
    for key in ["arbel2019mmdflow", "glaser2021kale", "gretton2012kernel", "nguyen2010estimating"]:
        assert key in keys
    for _, key, body in entries:
        linked = re.search(r"^\s*(doi|eprint|url)\s*=", body, flags=re.M)
        venue = re.search(r"^\s*(journal|booktitle|publisher)\s*=", body, flags=re.M)
        assert linked or venue, f"{key}: give a DOI, an arXiv id, a URL or at least the venue"
        if m := re.search(r"^\s*eprint\s*=\s*\{([^}]*)\}", body, flags=re.M):
            assert re.fullmatch(r"\d{4}\.\d{4,5}", m.group(1)), f"{key}: arXiv id {m.group(1)}"
        if m := re.search(r"^\s*doi\s*=\s*\{([^}]*)\}", body, flags=re.M):
            assert m.group(1).startswith("10."), f"{key}: DOI {m.group(1)}"


def test_book_copy_folds_written_answers_and_keeps_their_math(build):
    table = build.lecture_table()
    nb = json.loads((ROOT / "lectures" / "03_mmd_flow.ipynb").read_text())
    out = build.book_notebook(nb, "03_mmd_flow", table, "a test machine")
    answers = [c for c in out["cells"] if "answer" in c["metadata"].get("tags", [])]
    assert answers
    for cell in answers:
        text = build._source(cell)
        assert text.startswith("<details>") and "<summary>Show answer</summary>" in text
        assert "$" not in text  # inline math became Sphinx's math spans
    assert r'<span class="math notranslate nohighlight">\(f = \mu_\nu' in build._source(answers[1])


def _load(name):
    spec = importlib.util.spec_from_file_location(name, ROOT / "book" / f"{name}.py")
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def test_unrendered_markup_is_found_and_rendered_markup_is_not():
    find = _load("check_html").unrendered_markup
    raw = [
        "<p>| slide | lecture |\n|---|---|\n| Outline | 00 |</p>",  # a table as a paragraph
        "<p>The $\\phi$ -divergences</p>",
        "<p>as in {cite}<code>gretton2012kernel</code></p>",
        "<p>```{note}\nnot a note</p>",
    ]
    for html in raw:
        assert find(html), html
    rendered = [
        "<table><tr><td><p>Outline</p></td><td><p>00</p></td></tr></table>",
        '<p>The <span class="math notranslate nohighlight">\\(\\phi\\)</span>-divergences</p>',
        "<pre>| a | b |\n|---|---|\n$x$ {cite}`k`</pre>",  # code keeps its characters
        "<p>costs <code>$HOME</code>, norms ||f||_H and |x - y|, sets {1, 2}</p>",
        '<div class="highlight"><pre>print(f"{x}")</pre></div>',
    ]
    for html in rendered:
        assert not find(html), html


def test_markdown_outputs_are_rendered_as_myst():
    # lecture outputs in text/markdown hold tables and $ math, which CommonMark does not render
    outputs = [
        "".join(o["data"]["text/markdown"])
        for stem in LECTURES
        for c in json.loads((ROOT / "lectures" / f"{stem}.ipynb").read_text())["cells"]
        for o in c.get("outputs", [])
        if "text/markdown" in o.get("data", {})
    ]
    if any("|---" in text or "$" in text for text in outputs):
        conf = (ROOT / "book" / "conf.py").read_text()
        assert re.search(r'^nb_render_markdown_format = "myst"$', conf, flags=re.M)


def test_header_mentions_solutions_only_where_there_are_some(build):
    table = build.lecture_table()
    for stem in LECTURES:
        nb = json.loads((ROOT / "lectures" / f"{stem}.ipynb").read_text())
        header = build.header_cell(stem, nb, table, "")["source"]
        has = any("solution" in c.get("metadata", {}).get("tags", []) for c in nb["cells"])
        assert ("Show solution" in header) == has, stem
