"""Lay out the book's Sphinx source tree: ``python book/build.py --out build/book-src``.

``make book`` runs this, then ``sphinx-build`` on the result; ``make book-student`` runs it with
``--student`` for the students' edition. Nothing here executes a notebook:

* the hand-written pages of ``book/`` (conf.py, index, notation, bibliography) are copied;
* each committed lecture of ``lectures/`` is copied with a header (prerequisites, reading and
  run time, from ``book/lectures.csv``), its exercise solutions folded behind "Show solution"
  (cells tagged ``solution``), its ``# NBVAL_...`` markers and nbgrader's ``### BEGIN/END
  SOLUTION`` lines dropped, and each slider demo replaced by the picture it showed when the
  notebook was executed (the slider needs a live kernel);
* an appendix ``lectures/NNa_name.ipynb`` (``NNb_...`` for a second) is copied the same way; its
  header names the lecture ``NN_...`` it belongs to, that lecture's header links to it, and the
  table of contents lists it right after that lecture (names sort that way);
* in the students' edition (``--student``) a lecture with a student version is shown as
  ``assignments/NN.ipynb``: its cells (the solution stubs, the prompts of the written answers)
  with the lecture's outputs where the cell is the lecture's own, and no output under the
  autograded cells; no solution is on any page, folded or not;
* the figure gallery is written from the registry of :mod:`kernelflows.figures`;
* the API reference is written from the public modules and subpackages of :mod:`kernelflows`;
* ``_book.json`` tells conf.py the edition and, for each lecture page, the repository notebook
  it shows (``lectures/NN.ipynb``, or ``assignments/NN.ipynb`` in the students' edition): the
  page's launch buttons open it and its download button serves it.
"""

from __future__ import annotations

import argparse
import ast
import base64
import copy
import csv
import html
import importlib
import importlib.util
import inspect
import json
import math
import os
import pkgutil
import re
import shutil
import sys
import textwrap
from pathlib import Path

os.environ.setdefault("MPLBACKEND", "Agg")  # the gallery and API pages import the package

BOOK = Path(__file__).resolve().parent
ROOT = BOOK.parent
PAGES = ["conf.py", "launch.py", "index.md", "notation.md", "bibliography.md", "references.bib"]
EDITIONS = ("instructor", "student")
SOLUTION_TAG = "solution"
INSTALL_CELL = "install-kernelflows"  # kernelflows.course.install_cell.CELL_ID
ANSWER_TAG = "answer"  # an exercise's written answer (markdown): folded too
#: code lines the reader of the book does not need: nbval's markers, nbgrader's solution regions
DROPPED = ("# NBVAL_", "### BEGIN SOLUTION", "### END SOLUTION")
WIDGET_VIEW = "application/vnd.jupyter.widget-view+json"
WIDGET_STATE = "application/vnd.jupyter.widget-state+json"


# ---------------------------------------------------------------------------------------------
# lectures


def lecture_table(path: Path = BOOK / "lectures.csv") -> dict[str, dict]:
    """``book/lectures.csv`` by notebook stem: prerequisites (stems) and measured run seconds."""
    lines = [ln for ln in path.read_text().splitlines() if ln.strip() and not ln.startswith("#")]
    table = {}
    for row in csv.DictReader(lines):
        table[row["notebook"]] = {
            "prerequisites": row["prerequisites"].split(),
            "run_seconds": int(row["run_seconds"]),
        }
    return table


APPENDIX = re.compile(r"(?P<lecture>\d\d)[a-z]_")


def lecture_of_appendix(stem: str) -> str | None:
    """The stem of the lecture an appendix ``NNa_name`` belongs to (``None`` for a lecture).

    Raises SystemExit when ``lectures/`` holds no lecture ``NN_*`` for it."""
    m = APPENDIX.match(stem)
    if not m:
        return None
    owners = sorted(p.stem for p in (ROOT / "lectures").glob(f"{m['lecture']}_*.ipynb"))
    if len(owners) != 1:
        raise SystemExit(f"lectures/{stem}.ipynb: no single lecture {m['lecture']}_*.ipynb for it")
    return owners[0]


def appendices_of(stem: str) -> list[str]:
    """The stems of the appendices ``NNa_...``, ``NNb_...`` of lecture ``NN_name``, in order."""
    if APPENDIX.match(stem) or not re.match(r"\d\d_", stem):
        return []
    return sorted(p.stem for p in (ROOT / "lectures").glob(f"{stem[:2]}[a-z]_*.ipynb"))


def machine_note(path: Path = BOOK / "lectures.csv") -> str:
    notes = [ln.lstrip("# ").strip() for ln in path.read_text().splitlines()]
    return next((n.removeprefix("machine:").strip() for n in notes if n.startswith("machine:")), "")


def _source(cell: dict) -> str:
    src = cell.get("source", "")
    return "".join(src) if isinstance(src, list) else src


# ---------------------------------------------------------------------------------------------
# reading time: counted on what the page holds, at rates from the literature

#: Silent reading of English non-fiction by adults, words per minute: the mean over 190 studies
#: of M. Brysbaert, "How many words do we read per minute? A review and meta-analysis of reading
#: rate", Journal of Memory and Language 109, 104047 (2019), doi:10.1016/j.jml.2019.104047.
PROSE_WORDS_PER_MINUTE = 238
#: Reading aloud, words per minute (the same meta-analysis, 77 studies). Formulas, code and
#: printed numbers are read symbol by symbol, one symbol for one word: at the pace of reading
#: aloud, not of skimming prose.
SYMBOLS_PER_MINUTE = 183
#: A figure: 12 s for the first of a page, one second less for each next one, never below 3 s
#: (the image allowance of Medium's read time, help.medium.com, article "Read time").
FIGURE_SECONDS_FIRST, FIGURE_SECONDS_LEAST = 12, 3

_MATH = re.compile(r"\$\$.*?\$\$|\$[^$\n]+?\$", re.S)
#: TeX commands that typeset rather than say something (fonts, spacing, delimiters' sizes)
_TEX_LAYOUT = {
    *"left right big Big bigg Bigg quad qquad mathrm mathbb mathcal mathbf mathsf".split(),
    *"boldsymbol operatorname text textstyle displaystyle limits nolimits".split(),
    *"begin end label tag".split(),
    *"underbrace overbrace lVert rVert lvert rvert".split(),
}
_TEX_SYMBOL = re.compile(r"\\([A-Za-z]+)|\\[{}|]|[A-Za-z]+|\d+(?:\.\d+)?|[=+\-<>|/*!']")
_CODE_SYMBOL = re.compile(r"[A-Za-z_]\w*|\d+(?:\.\d*)?(?:[eE][-+]?\d+)?|\*\*|[-+*/%@<>=!]=?")
_WORD = re.compile(r"[^\W_][\w'’.-]*")
_IMAGE_TYPES = ("image/png", "image/jpeg", "image/svg+xml", WIDGET_VIEW)


def formula_symbols(tex: str) -> int:
    """The symbols a reader reads in a TeX formula: letters (a run of letters, as in ``MMD``, is
    one), numbers, operators and commands that stand for something (``\\nabla``, ``\\frac``);
    braces, sub/superscript marks and layout commands (``\\mathbb``, ``\\left``) are not read."""
    count = 0
    for m in _TEX_SYMBOL.finditer(tex):
        count += not (m.group(1) and m.group(1) in _TEX_LAYOUT)
    return count


def page_content(cells: list[dict]) -> dict[str, int]:
    """What a reader of these cells reads: prose words and formula symbols (markdown), code
    symbols and lines, the symbols of printed outputs (text and markdown tables), and figures
    (images, slider demos shown as their picture, markdown images)."""
    out = dict.fromkeys(
        ("prose_words", "formula_symbols", "code_lines", "code_symbols", "output_symbols"), 0
    )
    out["figures"] = 0
    for cell in cells:
        text = _source(cell)
        if cell["cell_type"] == "markdown":
            text = re.sub(r"```.*?```", " ", text, flags=re.S)
            images = re.compile(r"!\[[^\]]*\]\([^)]*\)")  # looked at, alt text not read
            out["figures"] += len(images.findall(text))
            text = images.sub(" ", text)
            out["formula_symbols"] += sum(formula_symbols(m.group(0)) for m in _MATH.finditer(text))
            prose = re.sub(r"\]\([^)]*\)", "]", _MATH.sub(" ", text))  # [words](target): words
            out["prose_words"] += len(_WORD.findall(prose))
        elif cell["cell_type"] == "code":
            out["code_lines"] += sum(1 for line in text.splitlines() if line.strip())
            out["code_symbols"] += len(_CODE_SYMBOL.findall(text))
            for o in cell.get("outputs", []):
                data = o.get("data", {})
                if any(kind in data for kind in _IMAGE_TYPES):
                    out["figures"] += 1  # its text/plain is the repr of the figure object
                    continue
                shown = _source({"source": o.get("text", data.get("text/markdown", ""))})
                out["output_symbols"] += len(_CODE_SYMBOL.findall(shown))
    return out


def reading_seconds(content: dict[str, int]) -> float:
    """Seconds to read once what :func:`page_content` counted: prose at
    ``PROSE_WORDS_PER_MINUTE``, formulas, code and outputs at ``SYMBOLS_PER_MINUTE``, figures by
    Medium's allowance. The time to read a page once, not to work through it."""
    symbols = content["formula_symbols"] + content["code_symbols"] + content["output_symbols"]
    figures = sum(
        max(FIGURE_SECONDS_FIRST - i, FIGURE_SECONDS_LEAST) for i in range(content["figures"])
    )
    return (
        60 * content["prose_words"] / PROSE_WORDS_PER_MINUTE
        + 60 * symbols / SYMBOLS_PER_MINUTE
        + figures
    )


def split_exercises(nb: dict) -> tuple[list[dict], list[dict]]:
    """(main line, exercises) of a notebook: the exercises are the cells from a level-2 heading
    ``## Exercises`` up to the next level 1-2 heading (the summary, the reading that follows)."""
    main, exercises, inside = [], [], False
    for cell in nb["cells"]:
        text = _source(cell)
        if cell["cell_type"] == "markdown" and re.match(r"\s*#{1,2}\s", text):
            inside = bool(re.match(r"\s*##\s+Exercises\b", text))
        if cell["cell_type"] in ("markdown", "code"):
            (exercises if inside else main).append(cell)
    return main, exercises


def reading_minutes(nb: dict) -> tuple[int, int]:
    """Minutes to read the main line and the exercises of a notebook once (rounded up)."""
    main, exercises = split_exercises(nb)
    return tuple(math.ceil(reading_seconds(page_content(part)) / 60) for part in (main, exercises))


def _duration(seconds: int) -> str:
    if seconds < 90:
        return f"about {seconds} s"
    return f"about {round(seconds / 60)} min"


def header_cell(
    stem: str, nb: dict, table: dict[str, dict], machine: str, notebook: str | None = None
) -> dict:
    """The "Before you start" box; ``notebook`` is the repository notebook the page shows
    (``lectures/STEM.ipynb`` by default, the student version in the students' edition)."""
    notebook = notebook or f"lectures/{stem}.ipynb"
    student = notebook.startswith("assignments/")
    entry = table.get(stem)
    if entry is None:
        raise SystemExit(f"book/lectures.csv has no row for lectures/{stem}.ipynb: add one")
    prereqs = entry["prerequisites"]
    lecture = lecture_of_appendix(stem)
    if lecture and lecture not in prereqs:
        raise SystemExit(f"book/lectures.csv: appendix {stem} must list its lecture {lecture}")
    if prereqs:
        missing = [p for p in prereqs if not (ROOT / "lectures" / f"{p}.ipynb").exists()]
        if missing:
            raise SystemExit(f"book/lectures.csv: {stem} needs unknown lectures {missing}")
        needs = ", ".join(f"{{doc}}`{p}`" for p in prereqs)
    else:
        needs = "none: the course starts here (some linear algebra and probability)"
    on = f" on {machine}" if machine else ""
    demos = any(WIDGET_VIEW in o.get("data", {}) for c in nb["cells"] for o in c.get("outputs", []))
    sliders = " and move the slider of its demo" if demos else ""
    tags = [t for c in nb["cells"] for t in c.get("metadata", {}).get("tags", [])]
    exercises = ""
    if student:
        shown = (
            f"This page is the student version `{notebook}`, shown with the lecture's outputs "
            "(nothing is re-run to build the book)."
        )
        if SOLUTION_TAG in tags:
            exercises = (
                "\nThe exercises are yours: write your code where it says `YOUR CODE HERE`; the "
                "cell after each checks it."
            )
    else:
        shown = (
            f"This page is the executed notebook `{notebook}`, shown as it was run (nothing is "
            "re-run to build the book)."
        )
        if SOLUTION_TAG in tags:  # a lecture without exercises says nothing about solutions
            answers = " and written answers" if ANSWER_TAG in tags else ""
            show = "*Show solution*" + (" or *Show answer*" if answers else "")
            exercises = f"\nExercise solutions{answers} are folded: try first, then press {show}."
    folder = notebook.split("/")[0]
    main_minutes, exercise_minutes = reading_minutes(nb)
    reading = f"about {main_minutes} min" + (
        f", and {exercise_minutes} min for the exercises" if exercise_minutes else ""
    )
    appendix, more = "", ""
    if lecture:
        appendix = (
            f"**Appendix to** {{doc}}`{lecture}`: the maps, sweeps and audits behind that "
            "lecture, kept out of its main line. No exercises.\n\n"
        )
    elif appendices_of(stem):
        listed = ", ".join(f"{{doc}}`{a}`" for a in appendices_of(stem))
        more = f"\n**Appendix:** {listed} (the maps and audits behind this lecture)."
    text = f"""\
```{{admonition}} Before you start
:class: tip

{appendix}**Prerequisites:** {needs}.

**Reading time:** {reading}.
**Run time:** {_duration(entry["run_seconds"])} for *Run all*{on}.{more}

{shown}
**To run it**{sliders}: the rocket button at the top opens `{notebook}` in Binder, Colab or a
JupyterHub; or download it (the download button) into any Jupyter: its first cell installs
kernelflows where it is missing. From a clone: `.venv/bin/jupyter lab {folder}/`.{exercises}
```"""
    return {
        "cell_type": "markdown",
        "id": "book-header",
        "metadata": {"tags": ["book-header"]},
        "source": text,
    }


def _widget_picture(nb: dict, output: dict) -> str | None:
    """The base64 PNG that a slider demo's saved widget state shows, if it has one."""
    state = nb.get("metadata", {}).get("widgets", {}).get(WIDGET_STATE, {}).get("state", {})
    todo = [output["data"][WIDGET_VIEW].get("model_id")]
    while todo:
        model = state.get(todo.pop(0))
        if not model:
            continue
        fields = model.get("state", {})
        if model.get("model_name") == "ImageModel" and fields.get("format", "png") == "png":
            for buffer in model.get("buffers", []):  # the bytes of Image.value, base64
                if buffer.get("path") == ["value"] and buffer.get("encoding") == "base64":
                    return buffer.get("data")
        for child in fields.get("children", []) or []:
            if isinstance(child, str) and child.startswith("IPY_MODEL_"):
                todo.append(child.removeprefix("IPY_MODEL_"))
    return None


def _static_widget_outputs(nb: dict, output: dict) -> list[dict]:
    picture = _widget_picture(nb, output)
    note = (
        "*Interactive in JupyterLab: the slider redraws this picture. The book shows the picture "
        "at the slider's starting value.*"
    )
    outs = [{"output_type": "display_data", "metadata": {}, "data": {"text/markdown": note}}]
    if picture:
        try:
            base64.b64decode(picture, validate=True)
        except ValueError:
            picture = None
    if picture:
        outs.insert(
            0,
            {"output_type": "display_data", "metadata": {}, "data": {"image/png": picture}},
        )
    return outs


def folded_answer(text: str) -> str:
    """An exercise's written answer (markdown) as a folded "Show answer" block: raw HTML, with
    its inline math in Sphinx's math spans so that MathJax still typesets it."""
    out = []
    for part in re.split(r"(\$[^$]+\$)", text.strip()):
        if len(part) > 1 and part.startswith("$") and part.endswith("$"):
            math = html.escape(part[1:-1], quote=False)
            out.append(rf'<span class="math notranslate nohighlight">\({math}\)</span>')
        else:
            words = html.escape(part, quote=False)
            words = re.sub(r"`([^`]+)`", r"<code>\1</code>", words)
            out.append(re.sub(r"\*([^*\s][^*]*)\*", r"<em>\1</em>", words))
    body = "".join(out)
    return f"<details>\n<summary>Show answer</summary>\n<p>{body}</p>\n</details>\n"


def _graded(cell: dict) -> bool:
    """An autograded test cell (nbgrader: graded, not a solution)."""
    grader = cell.get("metadata", {}).get("nbgrader", {})
    return bool(grader.get("grade")) and not grader.get("solution")


def _is_solution(cell: dict) -> bool:
    meta = cell.get("metadata", {})
    return SOLUTION_TAG in meta.get("tags", []) or bool(meta.get("nbgrader", {}).get("solution"))


def student_page(nb: dict, student: dict) -> dict:
    """The student version ``student`` with the lecture's outputs: each of its cells keeps the
    outputs of the lecture cell with the same id and the same source; a cell the student
    version changed (a solution stub, an answer prompt) and an autograded cell have none."""
    lecture = {c.get("id"): c for c in nb["cells"]}
    stubbed = [c.get("id") for c in nb["cells"] if _is_solution(c)]
    missing = [i for i in stubbed if i not in {c.get("id") for c in student["cells"]}]
    if missing:
        raise SystemExit(f"the student version lacks the solution cells {missing}: "
                         "run make assignments")  # fmt: skip
    out = copy.deepcopy(student)
    for cell in out["cells"]:
        if cell["cell_type"] != "code":
            continue
        mine = lecture.get(cell.get("id"))
        same = mine is not None and _source(mine) == _source(cell)
        shown = same and not _graded(cell)
        cell["outputs"] = copy.deepcopy(mine.get("outputs", [])) if shown else []
        cell["execution_count"] = mine.get("execution_count") if same else None
    out["metadata"] = copy.deepcopy(nb.get("metadata", {}))  # the widget state of the outputs
    return out


def book_notebook(
    nb: dict, stem: str, table: dict[str, dict], machine: str, student: dict | None = None
) -> dict:
    """The copy of a lecture that the book renders (the input is not modified); with
    ``student`` (its student version), the students' page: no solution at all."""
    notebook = f"lectures/{stem}.ipynb"
    if student is not None:
        out, notebook = student_page(nb, student), f"assignments/{stem}.ipynb"
    else:
        out = copy.deepcopy(nb)
    for cell in out["cells"]:
        meta = cell.setdefault("metadata", {})
        if (
            student is None
            and cell["cell_type"] == "markdown"
            and ANSWER_TAG in meta.get("tags", [])
        ):
            cell["source"] = folded_answer(_source(cell))  # the student edition has prompts
        if cell["cell_type"] != "code":
            continue
        lines = _source(cell).splitlines(keepends=True)
        cell["source"] = "".join(ln for ln in lines if not ln.lstrip().startswith(DROPPED))
        if student is None and SOLUTION_TAG in meta.get("tags", []):
            meta["tags"] = [*meta["tags"], "hide-cell"]
            meta["mystnb"] = {
                "code_prompt_show": "Show solution",
                "code_prompt_hide": "Hide solution",
            }
        outputs = []
        for o in cell.get("outputs", []):
            if WIDGET_VIEW in o.get("data", {}):
                outputs += _static_widget_outputs(nb, o)
            else:
                outputs.append(o)
        cell["outputs"] = outputs
    out.get("metadata", {}).pop("widgets", None)  # no widget JavaScript from a CDN
    # the install cell (first in the notebook, for Colab) goes below the title and the header
    install = [c for c in out["cells"] if c.get("id") == INSTALL_CELL]
    out["cells"] = [c for c in out["cells"] if c.get("id") != INSTALL_CELL]
    title = next(i for i, c in enumerate(out["cells"]) if c["cell_type"] == "markdown")
    out["cells"][title + 1 : title + 1] = [
        header_cell(stem, nb, table, machine, notebook),
        *install,
    ]
    return out


def copy_lectures(dest: Path, edition: str = "instructor") -> dict[str, str]:
    """Write the lecture pages; ``{stem: the repository notebook each page shows}``."""
    table, machine = lecture_table(), machine_note()
    dest.mkdir(parents=True, exist_ok=True)
    shown = {}
    for path in sorted((ROOT / "lectures").glob("*.ipynb")):
        nb = json.loads(path.read_text())
        student = None
        if edition == "student":
            version = ROOT / "assignments" / path.name
            if version.exists():
                student = json.loads(version.read_text())
            elif any(_is_solution(c) for c in nb["cells"]):
                raise SystemExit(f"{path.name} has solutions and no student version in "
                                 "assignments/: run make assignments")  # fmt: skip
        book_nb = book_notebook(nb, path.stem, table, machine, student)
        (dest / path.name).write_text(json.dumps(book_nb, indent=1, ensure_ascii=False) + "\n")
        shown[path.stem] = f"{'assignments' if student else 'lectures'}/{path.name}"
    unknown = sorted(set(table) - set(shown))
    if unknown:
        raise SystemExit(f"book/lectures.csv lists lectures that do not exist: {unknown}")
    return shown


# ---------------------------------------------------------------------------------------------
# figure gallery


def _depends_on_scale(func) -> bool | None:
    """Whether a figure function reads its ``scale`` argument (None when its source is hidden)."""
    try:
        tree = ast.parse(textwrap.dedent(inspect.getsource(func)))
    except (OSError, TypeError, SyntaxError):
        return None
    body = tree.body[0].body if tree.body and hasattr(tree.body[0], "body") else []
    return any(
        isinstance(node, ast.Name) and node.id == "scale"
        for stmt in body
        for node in ast.walk(stmt)
    )


def _figure_users(stems: list[str]) -> dict[str, list[str]]:
    """Figure ID -> lectures whose code cells name it (``draw("ID")`` and friends)."""
    users: dict[str, list[str]] = {}
    for stem in stems:
        nb = json.loads((ROOT / "lectures" / f"{stem}.ipynb").read_text())
        code = "\n".join(_source(c) for c in nb["cells"] if c["cell_type"] == "code")
        for fid in set(re.findall(r"""["']([a-z0-9]+(?:-[a-z0-9]+)+)["']""", code)):
            users.setdefault(fid, []).append(stem)
    return users


def gallery_page(dest: Path, stems: list[str]) -> None:
    from kernelflows.figures import figures

    (dest / "figures").mkdir(parents=True, exist_ok=True)
    users = _figure_users(stems)
    lines = [
        "# Figure gallery",
        "",
        "Every figure of the talk, by its stable ID, as committed in `figures/`. This page is",
        "written when the book is built, from the registry of `kernelflows.figures`",
        "(`python -m kernelflows.figures --list`). `make figures` regenerates all of them at the",
        "reduced scale; a figure drawn at a reduced scale says so on itself.",
        "",
    ]
    for spec in figures().values():
        lines += [f"({spec.id})=", f"## `{spec.id}`", ""]
        lines += [f"**Slide:** *{spec.slide}*", "", spec.caption, ""]
        shown = False
        for ext in ("gif", "png"):
            src = ROOT / "figures" / f"{spec.id}.{ext}"
            if src.exists() and not shown:
                shutil.copy2(src, dest / "figures" / src.name)
                alt = f"{spec.id} ({'animation' if ext == 'gif' else 'figure'})"
                lines += [f"![{alt}](figures/{src.name})", ""]
                shown = True
        if not shown:
            lines += ["*Not in `figures/` yet: run `make figures`.*", ""]
        scaled = _depends_on_scale(spec.func)
        command = f"python -m kernelflows.figures --only {spec.id}"
        if scaled:
            scale = (
                "reduced in `make figures` where the published run is slow (the picture says "
                "so); `--scale paper` runs the published scale"
            )
            regen = f"`{command}` (published scale: `{command} --scale paper`)"
        elif scaled is None:
            scale = "see the picture"
            regen = f"`{command}`"
        else:
            scale = "one scale: the figure does not depend on `--scale`"
            regen = f"`{command}`"
        lines += [f"**Scale:** {scale}.", "", f"**Regenerate:** {regen}", ""]
        drawn = users.get(spec.id, [])
        if drawn:
            lines += ["**In the lectures:** " + ", ".join(f"{{doc}}`lectures/{s}`" for s in drawn)]
            lines += [""]
    (dest / "gallery.md").write_text("\n".join(lines))


# ---------------------------------------------------------------------------------------------
# API reference


def _public_modules(package: str = "kernelflows") -> list[str]:
    """The package and every module or subpackage under it with no ``_``-prefixed part."""
    pkg = importlib.import_module(package)
    names = [package]
    for info in pkgutil.walk_packages(pkg.__path__, prefix=f"{package}."):
        if any(part.startswith("_") for part in info.name.split(".")[1:]):
            continue
        names.append(info.name)
    # in the order the package's docstring lists them (the talk's outline), then the others
    listed = re.findall(rf":mod:`~?({re.escape(package)}\.[\w.]+)`", pkg.__doc__ or "")
    rank = {name: i for i, name in reversed(list(enumerate(listed)))}

    def key(name: str):
        top = ".".join(name.split(".")[:2])
        return (name != package, rank.get(top, len(rank)), top, name.count("."), name)

    return sorted(names, key=key)


def _exported(module) -> list[str]:
    """What autodoc would document: ``__all__``, or the public names the module defines."""
    if hasattr(module, "__all__"):
        return [n for n in module.__all__ if hasattr(module, n)]
    return [
        name
        for name, obj in vars(module).items()
        if not name.startswith("_")
        and (inspect.isfunction(obj) or inspect.isclass(obj))
        and getattr(obj, "__module__", None) == module.__name__
    ]


def api_page(dest: Path, package: str = "kernelflows") -> None:
    """One ``automodule`` per public module; each object documented once, where it is shallowest.

    The top level re-exports the most used names; they are listed there with a link to where
    they are documented, so that no object is described twice (Sphinx warns on duplicates).
    """
    names = _public_modules(package)
    modules = {n: importlib.import_module(n) for n in names}
    home: dict[tuple[str, int], str] = {}
    for name in sorted(names[1:], key=lambda n: n.count(".")):  # shallowest first; top only links
        for attr in _exported(modules[name]):
            obj = getattr(modules[name], attr)
            if inspect.ismodule(obj):
                continue
            home.setdefault((attr, id(obj)), name)

    lines = [
        "# API reference",
        "",
        f"Generated when the book is built from the docstrings of `{package}` and of each of its",
        "public modules and subpackages (names starting with `_` are private).",
        "",
        f"## `{package}`",
        "",
        "```{eval-rst}",
        f".. automodule:: {package}",
        "   :no-members:",
        "```",
        "",
    ]
    root = modules[package]
    top = [a for a in _exported(root) if not inspect.ismodule(getattr(root, a))]
    if top:
        lines += [f"Imported by `from {package} import ...`:", ""]
        for attr in top:
            where = home.get((attr, id(getattr(root, attr))))
            target = f"{where}.{attr}" if where else f"{package}.{attr}"
            lines.append(f"- {{py:obj}}`{attr} <{target}>`")
        lines.append("")
    documented = {f"{where}.{attr}" for (attr, _), where in home.items()}
    for name in names[1:]:
        mine = [
            a
            for a in _exported(modules[name])
            if not inspect.ismodule(getattr(modules[name], a))
            and home.get((a, id(getattr(modules[name], a)))) == name
        ]
        lines += [f"## `{name}`", "", "```{eval-rst}", f".. automodule:: {name}"]
        lines += [f"   :members: {', '.join(mine)}", "   :undoc-members:"] if mine else []
        lines += ["   :show-inheritance:"]
        if name in documented:  # a module named like a function of its package (pkg.kale)
            lines += ["   :no-index:"]
        lines += ["```", ""]
    (dest / "api.md").write_text("\n".join(lines))


# ---------------------------------------------------------------------------------------------


def edition_text(text: str, edition: str) -> str:
    """A page for one edition: ``<!-- book:EDITION -->`` ... ``<!-- /book:EDITION -->`` blocks
    of the other edition are dropped, the markers of this one removed."""
    for other in EDITIONS:
        block = rf"<!-- book:{other} -->\n(.*?)<!-- /book:{other} -->\n"
        keep = r"\1" if other == edition else ""
        text = re.sub(block, keep, text, flags=re.S)
    return text


def prepare(out: Path, edition: str = "instructor") -> None:
    from kernelflows._project import repository_url

    if edition not in EDITIONS:
        raise SystemExit(f"edition must be one of {EDITIONS}, got {edition!r}")
    if out.exists():
        shutil.rmtree(out)
    out.mkdir(parents=True)
    for page in PAGES:
        if page.endswith(".md"):
            (out / page).write_text(edition_text((BOOK / page).read_text(), edition))
        else:
            shutil.copy2(BOOK / page, out / page)
    if (BOOK / "_static").is_dir():
        shutil.copytree(BOOK / "_static", out / "_static")
    shown = copy_lectures(out / "lectures", edition)
    gallery_page(out, list(shown))
    api_page(out)
    spec = importlib.util.spec_from_file_location("book_launch", BOOK / "launch.py")
    launch = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(launch)
    book = {
        "edition": edition,
        "repository": repository_url(),
        "branch": launch.settings()["branch"],
        "root": str(ROOT),
        "notebooks": {f"lectures/{stem}": notebook for stem, notebook in shown.items()},
    }
    (out / "_book.json").write_text(json.dumps(book, indent=1) + "\n")


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(prog="python book/build.py", description=__doc__)
    parser.add_argument("--out", default="build/book-src", help="Sphinx source tree to write")
    parser.add_argument(
        "--student",
        action="store_true",
        help="the students' edition: no solutions, the student versions of assignments/",
    )
    args = parser.parse_args(argv)
    prepare(Path(args.out), "student" if args.student else "instructor")
    return 0


if __name__ == "__main__":
    sys.exit(main())
