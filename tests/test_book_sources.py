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


def test_appendices_belong_to_a_lecture_and_follow_it_in_the_book(build):
    assert build.lecture_of_appendix("04_failure_modes") is None
    assert build.lecture_of_appendix("04a_anything") == "04_failure_modes"
    assert build.lecture_of_appendix("04b_anything") == "04_failure_modes"
    with pytest.raises(SystemExit, match="no single lecture 99"):
        build.lecture_of_appendix("99a_nothing")
    # the toctree globs lectures/* and sorts names: each appendix right after its lecture
    for i, stem in enumerate(LECTURES):
        if lecture := build.lecture_of_appendix(stem):
            before = LECTURES[LECTURES.index(lecture) + 1 : i]
            assert all(build.lecture_of_appendix(s) == lecture for s in before), stem
            assert stem in build.appendices_of(lecture)


def test_appendix_header_names_its_lecture_and_the_lecture_links_back(build, monkeypatch):
    stems = [s for s in LECTURES if build.lecture_of_appendix(s)]
    if not stems:  # a made-up appendix of lecture 04, to test the header before one exists
        monkeypatch.setattr(build, "appendices_of", lambda stem: ["04a_map"] * (stem[:2] == "04"))
        stems = ["04a_map"]
    table = build.lecture_table() | {
        "04a_map": {"prerequisites": ["04_failure_modes"], "run_seconds": 3}
    }
    nb = {"cells": [{"cell_type": "markdown", "metadata": {}, "source": "# Appendix"}]}
    for stem in stems:
        lecture = build.lecture_of_appendix(stem)
        header = build.header_cell(stem, nb, table, "")["source"]
        assert f"**Appendix to** {{doc}}`{lecture}`" in header and "Show solution" not in header
        lecture_nb = json.loads((ROOT / "lectures" / f"{lecture}.ipynb").read_text())
        assert f"{{doc}}`{stem}`" in build.header_cell(lecture, lecture_nb, table, "")["source"]
    bad = table | {"04a_map": {"prerequisites": [], "run_seconds": 3}}
    with pytest.raises(SystemExit, match="must list its lecture 04_failure_modes"):
        build.header_cell("04a_map", nb, bad, "")


def _md(text):
    return {"cell_type": "markdown", "metadata": {}, "source": text}


def _code(text, outputs=()):
    return {"cell_type": "code", "metadata": {}, "source": text, "outputs": list(outputs)}


def test_reading_time_counts_prose_formulas_code_and_figures_at_the_stated_rates(build):
    # 476 words of prose: two minutes at 238 words a minute
    assert build.reading_seconds(build.page_content([_md("word " * 476)])) == pytest.approx(120)
    # E_nu f: three symbols (E, nu, f); \mathbb, the braces and _ are not read
    assert build.formula_symbols(r"\mathbb{E}_{\nu} f") == 3
    assert build.formula_symbols(r"\left(\frac{a}{b}\right)^2 \le 1") == 6  # frac a b 2 <= 1
    content = build.page_content([_md(r"So $\mathbb E_\nu f$ is it.")])
    assert (content["prose_words"], content["formula_symbols"]) == (3, 3)
    # code and what it prints, symbol by symbol at 183 a minute; a figure's repr is not read
    png = {"output_type": "display_data", "data": {"image/png": "", "text/plain": "<Figure>"}}
    out = {"output_type": "stream", "name": "stdout", "text": "F = 0.5\n"}
    cell = _code("x = np.ones(3)\n\n# a note\n", [out, png])
    content = build.page_content([cell])
    assert content["code_lines"] == 2 and content["code_symbols"] == 7  # x = np ones 3 a note
    assert content["output_symbols"] == 3 and content["figures"] == 1  # F = 0.5
    assert build.reading_seconds(content) == pytest.approx(60 * 10 / 183 + 12)
    # figures: 12 s, then one second less each, never below 3 s
    for n, seconds in [(1, 12), (3, 12 + 11 + 10), (12, 75 + 2 * 3), (20, 75 + 10 * 3)]:
        figures = build.page_content([_md("![a plot](b.png)\n" * n)])
        assert build.reading_seconds(figures) == pytest.approx(seconds), n


def test_reading_time_splits_the_exercises_off_the_main_line(build):
    nb = {
        "cells": [
            _md("# Lecture\n" + "word " * 237),
            _md("## Exercises\n" + "word " * 475),
            _md("**Exercise 1 (easy).** " + "word " * 500),
            _md("## Summary\n" + "word " * 237),
        ]
    }
    main, exercises = build.split_exercises(nb)
    assert [len(main), len(exercises)] == [2, 2]
    assert build.reading_minutes(nb) == (2, 5)  # 476 words; 979 words, rounded up
    header = build.header_cell("t", nb, {"t": {"prerequisites": [], "run_seconds": 1}}, "")
    assert "**Reading time:** about 2 min, and 5 min for the exercises." in header["source"]


@pytest.mark.parametrize("stem", LECTURES)
def test_each_lecture_main_line_reads_in_40_minutes_or_less(build, stem):
    nb = json.loads((ROOT / "lectures" / f"{stem}.ipynb").read_text())
    main, _ = build.reading_minutes(nb)
    assert main <= 40, f"{stem}: {main} min; move maps, sweeps and audits to an appendix"
