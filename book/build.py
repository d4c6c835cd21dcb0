"""Lay out the book's Sphinx source tree: ``python book/build.py --out build/book-src``.

``make book`` runs this, then ``sphinx-build`` on the result. Nothing here executes a notebook:

* the hand-written pages of ``book/`` (conf.py, index, notation, bibliography) are copied;
* each committed lecture of ``lectures/`` is copied with a header (prerequisites, reading and
  run time, from ``book/lectures.csv``), its exercise solutions folded behind "Show solution"
  (cells tagged ``solution``), its ``# NBVAL_...`` markers and nbgrader's ``### BEGIN/END
  SOLUTION`` lines dropped, and each slider demo replaced by the picture it showed when the
  notebook was executed (the slider needs a live kernel);
* the figure gallery is written from the registry of :mod:`kernelflows.figures`;
* the API reference is written from the public modules and subpackages of :mod:`kernelflows`.
"""

from __future__ import annotations

import argparse
import ast
import base64
import copy
import csv
import html
import importlib
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
PAGES = ["conf.py", "index.md", "notation.md", "bibliography.md", "references.bib"]
SOLUTION_TAG = "solution"
ANSWER_TAG = "answer"  # an exercise's written answer (markdown): folded too
#: code lines the reader of the book does not need: nbval's markers, nbgrader's solution regions
DROPPED = ("# NBVAL_", "### BEGIN SOLUTION", "### END SOLUTION")
WIDGET_VIEW = "application/vnd.jupyter.widget-view+json"
WIDGET_STATE = "application/vnd.jupyter.widget-state+json"
READING_WORDS_PER_MINUTE = 120  # prose dense with formulas, and code to follow


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


def machine_note(path: Path = BOOK / "lectures.csv") -> str:
    notes = [ln.lstrip("# ").strip() for ln in path.read_text().splitlines()]
    return next((n.removeprefix("machine:").strip() for n in notes if n.startswith("machine:")), "")


def _source(cell: dict) -> str:
    src = cell.get("source", "")
    return "".join(src) if isinstance(src, list) else src


def reading_minutes(nb: dict) -> int:
    cells = [c for c in nb["cells"] if c["cell_type"] in ("markdown", "code")]
    words = sum(len(_source(c).split()) for c in cells)
    return max(5, 5 * math.ceil(words / READING_WORDS_PER_MINUTE / 5))


def _duration(seconds: int) -> str:
    if seconds < 90:
        return f"about {seconds} s"
    return f"about {round(seconds / 60)} min"


def header_cell(stem: str, nb: dict, table: dict[str, dict], machine: str) -> dict:
    entry = table.get(stem)
    if entry is None:
        raise SystemExit(f"book/lectures.csv has no row for lectures/{stem}.ipynb: add one")
    prereqs = entry["prerequisites"]
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
    folded = ""
    if SOLUTION_TAG in tags:  # a lecture without exercises says nothing about solutions
        answers = " and written answers" if ANSWER_TAG in tags else ""
        show = "*Show solution*" + (" or *Show answer*" if answers else "")
        folded = f"\nExercise solutions{answers} are folded: try first, then press {show}."
    text = f"""\
```{{admonition}} Before you start
:class: tip

**Prerequisites:** {needs}.

**Reading time:** about {reading_minutes(nb)} min.
**Run time:** {_duration(entry["run_seconds"])} for *Run all*{on}.

This page is the executed notebook `lectures/{stem}.ipynb`, shown as it was run (nothing is
re-run to build the book). To run it{sliders}: `.venv/bin/jupyter lab lectures/`.{folded}
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


def book_notebook(nb: dict, stem: str, table: dict[str, dict], machine: str) -> dict:
    """The copy of a lecture that the book renders (the input is not modified)."""
    out = copy.deepcopy(nb)
    for cell in out["cells"]:
        meta = cell.setdefault("metadata", {})
        if cell["cell_type"] == "markdown" and ANSWER_TAG in meta.get("tags", []):
            cell["source"] = folded_answer(_source(cell))
        if cell["cell_type"] != "code":
            continue
        lines = _source(cell).splitlines(keepends=True)
        cell["source"] = "".join(ln for ln in lines if not ln.lstrip().startswith(DROPPED))
        if SOLUTION_TAG in meta.get("tags", []):
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
    title = next(i for i, c in enumerate(out["cells"]) if c["cell_type"] == "markdown")
    out["cells"].insert(title + 1, header_cell(stem, nb, table, machine))
    return out


def copy_lectures(dest: Path) -> list[str]:
    table, machine = lecture_table(), machine_note()
    dest.mkdir(parents=True, exist_ok=True)
    stems = []
    for path in sorted((ROOT / "lectures").glob("*.ipynb")):
        nb = json.loads(path.read_text())
        book_nb = book_notebook(nb, path.stem, table, machine)
        (dest / path.name).write_text(json.dumps(book_nb, indent=1, ensure_ascii=False) + "\n")
        stems.append(path.stem)
    unknown = sorted(set(table) - set(stems))
    if unknown:
        raise SystemExit(f"book/lectures.csv lists lectures that do not exist: {unknown}")
    return stems


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


def prepare(out: Path) -> None:
    if out.exists():
        shutil.rmtree(out)
    out.mkdir(parents=True)
    for page in PAGES:
        shutil.copy2(BOOK / page, out / page)
    if (BOOK / "_static").is_dir():
        shutil.copytree(BOOK / "_static", out / "_static")
    stems = copy_lectures(out / "lectures")
    gallery_page(out, stems)
    api_page(out)


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(prog="python book/build.py", description=__doc__)
    parser.add_argument("--out", default="build/book-src", help="Sphinx source tree to write")
    args = parser.parse_args(argv)
    prepare(Path(args.out))
    return 0


if __name__ == "__main__":
    sys.exit(main())
