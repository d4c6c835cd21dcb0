"""The two editions of the book as built files (``make test-book`` builds both first).

* The students' edition (build/book-student) holds no solution text anywhere: not a line of any
  solution cell's code, nor of any model answer, in any file of the site (pages, sources,
  search index). The same search finds every one of those lines in the instructor's edition,
  where they are folded: the search can fail.
* Each lecture page of both editions has launch buttons (Binder, Colab, JupyterHub) whose links
  are well formed and open the repository notebook the page shows, which exists: the student
  version of ``assignments/`` in the students' edition where there is one. The page's download
  button serves that very file.
"""

from __future__ import annotations

import html
import json
import os
import re
from functools import cache
from pathlib import Path
from urllib.parse import parse_qs, urlsplit

import pytest

ROOT = Path(__file__).resolve().parents[1]
EDITIONS = {"instructor": ROOT / "build" / "book", "student": ROOT / "build" / "book-student"}
LECTURES = sorted((ROOT / "lectures").glob("*.ipynb"))
MIN_LINE = 12  # shorter code lines ("return f", "n = len(X)") could come from anywhere


def _site(edition: str) -> Path:
    site = EDITIONS[edition]
    if not (site / "index.html").exists():
        pytest.skip(f"no {site}/index.html: run `make test-book`")
    return site


def _source(cell) -> str:
    src = cell.get("source", "")
    return "".join(src) if isinstance(src, list) else src


def _squash(text: str) -> str:
    return re.sub(r"\s+", " ", text).strip()


def _shown(stem: str, edition: str) -> str:
    student = ROOT / "assignments" / f"{stem}.ipynb"
    return f"assignments/{stem}.ipynb" if edition == "student" and student.exists() else (
        f"lectures/{stem}.ipynb"
    )  # fmt: skip


def _secret_lines(path: Path) -> dict[str, str]:
    """``{line: where}``: the lines of a lecture's solutions and model answers.

    Solution code is what nbgrader replaces (between BEGIN and END SOLUTION; the whole cell when
    it has no markers), model answers are the ``answer`` markdown cells. Lines shorter than
    MIN_LINE and comments are left out."""
    secret: dict[str, str] = {}
    for cell in json.loads(path.read_text())["cells"]:
        tags = cell.get("metadata", {}).get("tags", [])
        text = _source(cell)
        if "solution" in tags and cell["cell_type"] == "code":
            regions = re.findall(r"### BEGIN SOLUTION\n(.*?)### END SOLUTION", text, re.S) or [text]
            lines = [ln for region in regions for ln in region.splitlines()]
        elif "answer" in tags:
            lines = text.splitlines()
        else:
            continue
        for line in lines:
            line = _squash(line)
            if len(line) >= MIN_LINE and not line.startswith("#"):
                secret[line] = f"{path.stem}, cell {cell.get('id')}"
    return secret


def _public_text() -> str:
    """Every cell that is no solution nor model answer, of every lecture and student version:
    a line found there is not a secret ("n, m = len(X), len(Y)" is in lecture 03's code)."""
    cells = []
    for path in LECTURES + sorted((ROOT / "assignments").glob("*.ipynb")):
        for cell in json.loads(path.read_text())["cells"]:
            tags = cell.get("metadata", {}).get("tags", [])
            if path.parent.name == "assignments" or not {"solution", "answer"} & set(tags):
                cells.append(_source(cell))
    return _squash("\n".join(cells))


@cache
def _site_text(edition: str) -> str:
    """Every text file of the site, tags stripped from HTML and entities decoded, squashed."""
    chunks = []
    for path in sorted(_site(edition).rglob("*")):
        if not path.is_file() or path.suffix not in (".html", ".ipynb", ".txt", ".js", ".json"):
            continue
        text = path.read_text(errors="replace")
        if path.suffix == ".html":
            text = html.unescape(re.sub(r"<[^>]+>", "", text))
        elif path.suffix == ".ipynb":  # the sources of the cells, as a reader would see them
            try:
                text = "\n".join(_source(c) for c in json.loads(text).get("cells", []))
            except ValueError:
                pass
        chunks.append(_squash(text))
    return "\n".join(chunks)


_PUBLIC = _public_text()
SECRETS = {
    p.stem: {line: where for line, where in _secret_lines(p).items() if line not in _PUBLIC}
    for p in LECTURES
}
WITH_SOLUTIONS = [stem for stem, lines in SECRETS.items() if lines]


def test_there_are_solutions_to_look_for():
    assert WITH_SOLUTIONS, "no lecture has a solution cell: the search below checks nothing"


@pytest.mark.parametrize("stem", WITH_SOLUTIONS)
def test_the_instructor_book_holds_every_solution_line(stem):
    text = _site_text("instructor")
    missing = [line for line in SECRETS[stem] if line not in text]
    assert not missing, f"the search does not find these in the instructor's book: {missing[:5]}"


@pytest.mark.parametrize("stem", WITH_SOLUTIONS)
def test_the_student_book_holds_no_solution_line(stem):
    text = _site_text("student")
    found = {line: where for line, where in SECRETS[stem].items() if line in text}
    assert not found, f"solution text in the student book: {list(found.items())[:5]}"


def test_the_student_book_shows_the_stubs_and_folds_nothing():
    site = _site("student")
    for stem in WITH_SOLUTIONS:
        page = (site / "lectures" / f"{stem}.html").read_text()
        student = json.loads((ROOT / "assignments" / f"{stem}.ipynb").read_text())
        stubs = sum(_source(c).count("raise NotImplementedError()") for c in student["cells"])
        assert page.count("NotImplementedError") == stubs, stem
        assert "Show solution" not in page, stem


# --- launch buttons and downloads --------------------------------------------------------------


def _repository() -> str:
    import tomllib

    meta = tomllib.loads((ROOT / "pyproject.toml").read_text())["project"]
    return meta["urls"]["Repository"].rstrip("/")


def _launch_links(page: Path) -> dict[str, str]:
    links = re.findall(
        r'<a href="([^"]+)"[^>]*\n?\s*class="[^"]*btn-launch-(\w+)-button', page.read_text()
    )
    return {kind: html.unescape(href) for href, kind in links}


@pytest.mark.parametrize("edition", list(EDITIONS))
@pytest.mark.parametrize("stem", [p.stem for p in LECTURES])
def test_launch_links_open_the_notebook_the_page_shows(edition, stem):
    site = _site(edition)
    notebook = _shown(stem, edition)
    assert (ROOT / notebook).is_file()
    repo = _repository()
    owner, name = urlsplit(repo).path.strip("/").split("/")
    links = _launch_links(site / "lectures" / f"{stem}.html")
    hub = os.environ.get("KERNELFLOWS_JUPYTERHUB_URL", "")
    assert set(links) == {"binder", "colab"} | ({"jupyterhub"} if hub else set()), links

    binder = urlsplit(links["binder"])
    assert (binder.scheme, binder.netloc) == ("https", "mybinder.org")
    assert binder.path.split("/")[:5] == ["", "v2", "gh", owner, name]
    branch = binder.path.split("/")[5]
    assert parse_qs(binder.query) == {"labpath": [notebook]}

    colab = urlsplit(links["colab"])
    assert (colab.scheme, colab.netloc) == ("https", "colab.research.google.com")
    assert colab.path == f"/github/{owner}/{name}/blob/{branch}/{notebook}"

    if hub:
        pull = urlsplit(links["jupyterhub"])
        assert f"{pull.scheme}://{pull.netloc}" == hub.rstrip("/")
        assert pull.path == "/hub/user-redirect/git-pull"
        assert parse_qs(pull.query) == {
            "repo": [repo],
            "branch": [branch],
            "urlpath": [f"lab/tree/{name}/{notebook}"],
        }


@pytest.mark.parametrize("edition", list(EDITIONS))
def test_the_download_button_serves_the_notebook_the_page_shows(edition):
    site = _site(edition)
    for path in LECTURES:
        page = (site / "lectures" / f"{path.stem}.html").read_text()
        href = re.search(r'href="([^"]+\.ipynb)"[^>]*\n?\s*class="[^"]*btn-download-source', page)
        assert href, f"{path.stem}: no download button for the notebook"
        served = (site / "lectures" / href.group(1)).resolve()
        expected = ROOT / _shown(path.stem, edition)
        assert served.read_bytes() == expected.read_bytes(), f"{edition}: {href.group(1)}"
