"""Sphinx configuration of the kernelflows book (``make book``; sources laid out by build.py).

The lectures are rendered from their committed outputs (myst-nb, execution off); MathJax is
served from the site itself (sphinx-mathjax-offline), so the book reads offline. build.py says
which edition this is (the instructor's, or the students' of ``make book-student``) and which
repository notebook each lecture page shows, in ``_book.json``: each lecture page gets launch
buttons for that notebook (:mod:`launch`: Binder, Colab, a JupyterHub) and its download button
serves that very file.
"""

import json
import os
import re
import shutil
import sys
from pathlib import Path

from docutils import nodes

sys.path.insert(0, str(Path(__file__).resolve().parent))
from launch import launch_links  # noqa: E402  (book/launch.py, copied beside this file)

_BOOK = json.loads((Path(__file__).resolve().parent / "_book.json").read_text())

os.environ.setdefault("MPLBACKEND", "Agg")  # autodoc imports the package

project = "kernelflows: Gradient Flows on Kernel Divergence Measures"
if _BOOK["edition"] == "student":
    project += " (student edition)"
author = "the kernelflows authors"
copyright = "the kernelflows authors; after the talk by A. Gretton (2022)"

extensions = [
    "myst_nb",
    "sphinx.ext.autodoc",
    "sphinx.ext.napoleon",
    "sphinx.ext.mathjax",
    "sphinxcontrib.bibtex",
    "sphinx-mathjax-offline",
]

exclude_patterns = ["_build", "**.ipynb_checkpoints"]

# Notebooks: rendered as committed, never executed here.
nb_execution_mode = "off"
nb_output_stderr = "show"
nb_ipywidgets_js = {}  # build.py replaces the slider demos by their pictures
nb_merge_streams = True
# text/markdown outputs (lecture 00's slide map and tables) are MyST like the markdown cells:
# the default, CommonMark, has no tables and no $ math, and printed them as one paragraph
nb_render_markdown_format = "myst"
myst_enable_extensions = ["dollarmath", "amsmath"]
myst_dmath_double_inline = True  # $$...$$ inside a paragraph is display math, as in Jupyter
myst_heading_anchors = 3

# Every displayed equation gets a number.
numfig = True
math_numfig = True
math_number_all = True
math_eqref_format = "({number})"
mathjax_path = "mathjax/tex-chtml.js"  # from sphinx-mathjax-offline, copied into _static

# API reference: numpydoc docstrings.
autodoc_member_order = "bysource"
autodoc_typehints = "description"
autodoc_default_options = {"show-inheritance": True}
napoleon_google_docstring = False
napoleon_numpy_docstring = True
napoleon_use_rtype = False
# Short names in docstrings (``Y``, :mod:`mmd`) can match several objects; the first is fine.
suppress_warnings = ["ref.python"]
napoleon_use_ivar = True  # dataclass fields are documented once, in the class's Attributes


bibtex_bibfiles = ["references.bib"]
bibtex_default_style = "plain"  # sorted by author
bibtex_reference_style = "author_year"

html_theme = "sphinx_book_theme"
html_title = "kernelflows"
html_static_path = ["_static"]
html_css_files = ["book.css"]
html_favicon = "_static/favicon.svg"  # else browsers ask for /favicon.ico and log a 404
html_context = {"default_mode": "light"}  # the figures have white backgrounds
html_last_updated_fmt = None  # no build date: the same sources give the same site
html_theme_options = {
    "show_toc_level": 2,
    "use_download_button": True,
    "use_fullscreen_button": False,
    "use_repository_button": bool(_BOOK["repository"]),
    "repository_url": _BOOK["repository"],
    "repository_branch": _BOOK["branch"],
    "use_source_button": False,
    "navigation_with_keys": False,
}
html_show_sphinx = False


# The package's docstrings write formulas as plain text (|x|, ||f||_H, delta_a): escape what
# reStructuredText would read as substitutions or link targets, outside literals and roles.
_LITERALS = re.compile(r"(``.*?``|:[a-z:]+:`[^`]*`|`[^`]*`_?)")


def _escape_plain_formulas(app, what, name, obj, options, lines):
    literal_indent = None  # inside a literal block (after "::") deeper than this indent
    for i, line in enumerate(lines):
        indent = len(line) - len(line.lstrip())
        if literal_indent is not None:
            if not line.strip() or indent > literal_indent:
                continue
            literal_indent = None
        if line.lstrip().startswith(">>>"):
            continue
        parts = _LITERALS.split(line)
        for j in range(0, len(parts), 2):
            parts[j] = parts[j].replace("|", r"\|")
            parts[j] = re.sub(r"(?<=\w)_(?=[^\w]|$)", r"\\_", parts[j])
        lines[i] = "".join(parts)
        if line.rstrip().endswith("::"):
            literal_indent = indent


# Sphinx's math_number_all numbers the ``math`` directive only; MyST's $$ blocks need the same.
def _number_display_math(app, doctree):
    env = app.env
    domain = env.get_domain("math")
    for node in doctree.findall(nodes.math_block):
        if node.get("label") or "amsmath" in node["classes"]:
            continue  # labelled, or numbered by the amsmath extension
        seq = env.new_serialno("sphinx.ext.math#equations")
        node["label"] = f"{env.docname}:{seq}"
        domain.note_equation(env.docname, node["label"], location=node)
        node["number"] = domain.get_equation_number_for(node["label"])
        node["docname"] = env.docname
        node["ids"].append(nodes.make_id(f"equation-{node['label']}"))


# Launch buttons and downloads: each lecture page opens, and offers for download, the repository
# notebook it shows (the student version in the student edition).
_ICONS = {
    "Binder": "_static/images/logo_binder.svg",
    "Colab": "_static/images/logo_colab.png",
    "JupyterHub": "_static/images/logo_jupyterhub.svg",
}
_DOWNLOADS: dict[str, str] = {}  # file under _sources/ -> repository notebook


def _launch_buttons(app, pagename, templatename, context, doctree):
    notebook = _BOOK["notebooks"].get(pagename)
    if not notebook:
        return
    buttons = [
        {
            "type": "link",
            "text": link["text"],
            "url": link["url"],
            "tooltip": f"Open {notebook} in {link['text']}",
            "icon": _ICONS[link["text"]],
            "label": f"launch-{link['text'].lower()}-button",
        }
        for link in launch_links(_BOOK["repository"], notebook)
    ]
    if buttons and "header_buttons" in context:
        context["header_buttons"].append(
            {
                "type": "group",
                "tooltip": f"Run {notebook}",
                "icon": "fas fa-rocket",
                "buttons": buttons,
                "label": "launch-buttons",
            }
        )
    for name in (context.get("ipynb_source"), context.get("sourcename")):
        if name and name.split(".")[-1] in ("ipynb", "txt"):
            _DOWNLOADS[name] = notebook


def _serve_repository_notebooks(app, exception):
    if exception is not None or app.builder.format != "html":
        return
    root = Path(_BOOK["root"])
    for name, notebook in _DOWNLOADS.items():
        target = Path(app.outdir) / "_sources" / name
        if target.exists():
            shutil.copyfile(root / notebook, target)


def setup(app):
    app.connect("html-page-context", _launch_buttons, priority=600)  # after the theme's (501)
    app.connect("build-finished", _serve_repository_notebooks)
    # after napoleon (priority 500) has turned the numpydoc sections into fields
    app.connect("autodoc-process-docstring", _escape_plain_formulas, priority=600)
    app.connect("doctree-read", _number_display_math, priority=400)
