"""The feedback a student reads: one HTML page per lecture handed in.

Points per exercise at the top; then, for each exercise, the diagnosis first (the check's
message, whole and wrapped; never the check's code), the statement, and the student's own code
with what it printed and where it stopped. The statements' math is typeset by MathJax, copied
next to the pages (``feedback/mathjax/``) from the ``sphinx-mathjax-offline`` package, as in the
book: the pages read offline.
"""

from __future__ import annotations

import html
import os
import shutil
from pathlib import Path

from .._io import write_text

__all__ = ["MARK", "page", "write_page", "mathjax_source"]

MARK = "<!-- kernelflows feedback: written by python -m kernelflows.course.grade -->"
MATHJAX = "mathjax/tex-svg.js"

_STYLE = """
body { max-width: 62rem; margin: 1.5rem auto; padding: 0 1rem; font: 16px/1.5 system-ui, sans-serif;
       color: #222; }
h1 { font-size: 1.5rem; }
h2 { font-size: 1.2rem; margin-top: 2.2rem; border-bottom: 1px solid #ddd; }
h3 { font-size: 1rem; margin-bottom: .3rem; }
table { border-collapse: collapse; margin: .5rem 0 1rem; }
td, th { border: 1px solid #ccc; padding: .25rem .6rem; text-align: left; vertical-align: top; }
.passed { color: #11752b; } .grader { color: #8a5a00; }
.failed, .timeout, .crashed { color: #b00020; }
.diagnosis { white-space: pre-wrap; overflow-wrap: anywhere; padding: .6rem .8rem; margin: .5rem 0;
             border-left: 4px solid #b00020; background: #fff4f4; }
.diagnosis.passed { border-color: #11752b; background: #f2fbf4; color: #222; }
.statement { background: #f7f7f9; padding: .2rem .8rem; border-radius: 4px; }
pre { white-space: pre-wrap; overflow-wrap: anywhere; background: #f6f8fa; padding: .6rem;
      border-radius: 4px; font-size: 14px; }
pre.error { background: #fff4f4; }
.note { color: #555; font-size: 14px; }
"""

_MATHJAX_CONFIG = """<script>
MathJax = {tex: {inlineMath: [["$", "$"], ["\\\\(", "\\\\)"]], processEscapes: true},
           options: {ignoreHtmlClass: "no-math"}, svg: {fontCache: "global"}};
</script>"""


def mathjax_source() -> Path | None:
    """MathJax's single-file TeX-to-SVG bundle, as shipped by sphinx-mathjax-offline."""
    try:
        from importlib.metadata import PackageNotFoundError, files
    except ImportError:  # pragma: no cover
        return None
    try:
        for entry in files("sphinx-mathjax-offline") or []:
            if entry.name == "tex-svg.js":
                path = Path(entry.locate())
                return path if path.is_file() else None
    except PackageNotFoundError:
        return None
    return None


def _markdown(text: str) -> str:
    """Markdown to HTML, with the math left for MathJax (nbconvert's renderer, which keeps
    ``$...$`` intact); plain escaped text if nbconvert is missing."""
    try:
        from nbconvert.filters.markdown_mistune import markdown2html_mistune
    except ImportError:
        return f"<p>{html.escape(text)}</p>"
    return markdown2html_mistune(text)


def _e(text: str) -> str:
    return html.escape(str(text), quote=True)


def _status_words(result) -> str:
    return {
        "passed": "passed",
        "failed": "not passed",
        "timeout": "stopped: time limit",
        "crashed": "stopped: the process ended",
        "grader": "not graded: grader problem",
    }.get(result.status, result.status)


def _cell_html(cell, index: int, verdict_failed: bool) -> str:
    label = {"student": f"Your cell {index}", "test": "The check cell", "setup": "The setup cell"}
    parts = []
    if cell.kind == "student":
        parts.append(f'<pre class="no-math">{_e(cell.source)}</pre>')
    output = (cell.stdout + cell.stderr).strip()
    if output:
        parts.append(f'<p class="note">printed:</p><pre class="no-math">{_e(output)}</pre>')
    if cell.stopped:
        parts.append(f'<pre class="error no-math">Stopped: this cell {_e(cell.stopped)}.</pre>')
    elif not cell.ok and not (cell.kind == "test" and verdict_failed):
        parts.append(f'<pre class="error no-math">{_e(cell.traceback or cell.error)}</pre>')
    if not parts:
        return ""
    return f"<h3>{_e(label.get(cell.kind, cell.kind))}</h3>\n" + "\n".join(parts)


def page(student: str, title: str, results: list, statements: dict[int, str], problems=()) -> str:
    """The feedback page of one lecture for one student (``results``: ExerciseResult list)."""
    got = sum(r.points for r in results)
    total = sum(r.max_points for r in results)
    rows = "\n".join(
        f'<tr><td><a href="#ex{r.number}">Exercise {r.number}</a></td>'
        f"<td>{r.points:g} / {r.max_points:g}</td>"
        f'<td class="{_e(r.status)}">{_e(_status_words(r))}</td></tr>'
        for r in results
    )
    out = [
        MARK,
        "<!DOCTYPE html>",
        '<html lang="en"><head><meta charset="utf-8">',
        '<meta name="viewport" content="width=device-width, initial-scale=1">',
        f"<title>{_e(title)}: feedback for {_e(student)}</title>",
        f"<style>{_STYLE}</style>",
        _MATHJAX_CONFIG,
        f'<script src="{MATHJAX}" async></script>',
        "</head><body>",
        f"<h1>{_e(title)}</h1>",
        f"<p>Feedback for <b>{_e(student)}</b>: <b>{got:g} / {total:g}</b> points.</p>",
        "<table><tr><th>exercise</th><th>points</th><th>result</th></tr>",
        rows,
        "</table>",
    ]
    for problem in problems:
        out.append(f'<p class="grader no-math">{_e(problem)}</p>')
    out.append(
        '<p class="note">Each exercise was run on its own, in a fresh Python: its setup cell, '
        "then the code cells you wrote in it, then its check cell. Written answers are read by "
        "your teacher; they are not part of these points.</p>"
    )
    for r in results:
        cls = "passed" if r.status == "passed" else "failed"
        out.append(f'<section id="ex{r.number}">')
        out.append(
            f"<h2>Exercise {r.number}: {r.points:g} / {r.max_points:g} "
            f'<span class="{_e(r.status)}">({_e(_status_words(r))})</span></h2>'
        )
        out.append(f'<div class="diagnosis {cls} no-math">{_e(r.diagnosis)}</div>')
        for _name, ok, message in r.checks:
            if ok and message:
                out.append(f'<p class="note no-math">{_e(message)}</p>')
        if r.detail:
            out.append("<h3>Where your function raised</h3>")
            out.append(f'<pre class="error no-math">{_e(r.detail)}</pre>')
        statement = statements.get(r.number, "")
        if statement:
            out.append(f'<div class="statement">{_markdown(statement)}</div>')
        index = 0
        for cell in r.cells:
            if cell.kind == "student":
                index += 1
            if cell.kind != "setup" or not cell.ok or cell.stopped:
                failed = any(not ok for _, ok, _ in r.checks)
                out.append(_cell_html(cell, index, failed))
        if not any(c.kind == "student" for c in r.cells):
            out.append('<p class="note">No code of yours was found for this exercise.</p>')
        out.append("</section>")
    out.append("</body></html>")
    return "\n".join(out) + "\n"


def write_page(dest: Path, text: str) -> None:
    """Write the page and, next to it, MathJax (a hard link where possible)."""
    dest.parent.mkdir(parents=True, exist_ok=True)
    write_text(dest, text)
    source = mathjax_source()
    target = dest.parent / MATHJAX
    if source is not None and not target.exists():
        target.parent.mkdir(parents=True, exist_ok=True)
        try:
            os.link(source, target)
        except OSError:
            shutil.copyfile(source, target)
