"""The two editions of the book and their launch links, without Sphinx (book/build.py and
book/launch.py; `make test-book` checks the built sites)."""

import importlib.util
import json
from pathlib import Path
from urllib.parse import parse_qs, urlsplit

import pytest

ROOT = Path(__file__).resolve().parents[1]


def _load(name):
    spec = importlib.util.spec_from_file_location(f"book_{name}", ROOT / "book" / f"{name}.py")
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


@pytest.fixture(scope="module")
def build():
    return _load("build")


@pytest.fixture(scope="module")
def launch():
    return _load("launch")


def _nb(name, folder="lectures"):
    return json.loads((ROOT / folder / name).read_text())


def _source(cell):
    src = cell.get("source", "")
    return "".join(src) if isinstance(src, list) else src


STUDENT = sorted(p.name for p in (ROOT / "assignments").glob("*.ipynb"))


@pytest.mark.parametrize("name", STUDENT)
def test_the_student_page_is_the_student_version_with_the_safe_outputs(build, name):
    nb, student = _nb(name), _nb(name, "assignments")
    page = build.book_notebook(nb, name[:-6], build.lecture_table(), "a machine", student)
    lecture = {c["id"]: c for c in nb["cells"]}
    cells = [c for c in page["cells"] if c["id"] != "book-header"]
    assert sorted(c["id"] for c in cells) == sorted(c["id"] for c in student["cells"])
    for cell in cells:
        if cell["cell_type"] != "code":
            continue
        mine = lecture[cell["id"]]
        grader = mine.get("metadata", {}).get("nbgrader", {})
        if "solution" in mine["metadata"].get("tags", []):
            assert "raise NotImplementedError()" in cell["source"] and cell["outputs"] == []
            assert "hide-cell" not in cell["metadata"].get("tags", [])
        elif grader.get("grade"):
            assert cell["outputs"] == [], "an autograded cell shows the model solution's output"
        elif mine.get("outputs") and not any(
            "application/vnd.jupyter.widget-view+json" in o.get("data", {}) for o in mine["outputs"]
        ):
            assert cell["outputs"] == mine["outputs"], cell["id"]
    text = "\n".join(_source(c) for c in page["cells"])
    assert "### BEGIN SOLUTION" not in text and "Show solution" not in json.dumps(page)
    header = next(c for c in page["cells"] if c["id"] == "book-header")
    assert f"`assignments/{name}`" in header["source"]


def test_a_stale_student_version_is_refused(build):
    name = STUDENT[0]
    nb, student = _nb(name), _nb(name, "assignments")
    solution = next(c["id"] for c in nb["cells"] if "solution" in c["metadata"].get("tags", []))
    student["cells"] = [c for c in student["cells"] if c["id"] != solution]
    with pytest.raises(SystemExit, match="make assignments"):
        build.book_notebook(nb, name[:-6], build.lecture_table(), "a machine", student)


def test_the_install_cell_comes_after_the_title_and_the_header(build):
    nb = _nb("02_mmd.ipynb")
    assert nb["cells"][0]["id"] == "install-kernelflows"
    page = build.book_notebook(nb, "02_mmd", build.lecture_table(), "a machine")
    assert page["cells"][0]["cell_type"] == "markdown" and page["cells"][0]["source"]
    assert [c["id"] for c in page["cells"][1:3]] == ["book-header", "install-kernelflows"]


def test_each_edition_keeps_its_own_blocks(build):
    text = (
        "a\n<!-- book:instructor -->\nfolded\n<!-- /book:instructor -->\n"
        "<!-- book:student -->\nyours\n<!-- /book:student -->\nb\n"
    )
    assert build.edition_text(text, "instructor") == "a\nfolded\nb\n"
    assert build.edition_text(text, "student") == "a\nyours\nb\n"
    index = (ROOT / "book" / "index.md").read_text()
    assert "Show solution" not in build.edition_text(index, "student")
    assert "Show solution" in build.edition_text(index, "instructor")


# --- launch links ---------------------------------------------------------------------------

REPO = "https://github.com/someone/kernelflows"
ALL = {
    "branch": "main",
    "binderhub_url": "https://mybinder.org",
    "colab_url": "https://colab.research.google.com",
    "jupyterhub_url": "https://hub.example.edu/",
}


def test_launch_links_on_github(launch):
    links = {
        x["text"]: x["url"] for x in launch.launch_links(REPO, "assignments/02_mmd.ipynb", ALL)
    }
    assert list(links) == ["Binder", "Colab", "JupyterHub"]
    assert links["Binder"] == (
        "https://mybinder.org/v2/gh/someone/kernelflows/main?labpath=assignments%2F02_mmd.ipynb"
    )
    assert links["Colab"] == (
        "https://colab.research.google.com/github/someone/kernelflows/blob/main/"
        "assignments/02_mmd.ipynb"
    )
    hub = urlsplit(links["JupyterHub"])
    assert (hub.netloc, hub.path) == ("hub.example.edu", "/hub/user-redirect/git-pull")
    assert parse_qs(hub.query) == {
        "repo": [REPO],
        "branch": ["main"],
        "urlpath": ["lab/tree/kernelflows/assignments/02_mmd.ipynb"],
    }


def test_launch_links_elsewhere_and_without_a_hub(launch):
    other = "https://gitlab.example.org/group/kernelflows.git"
    settings = dict(ALL, jupyterhub_url="")
    links = {
        x["text"]: x["url"] for x in launch.launch_links(other, "lectures/a b.ipynb", settings)
    }
    assert list(links) == ["Binder"]  # Colab opens GitHub notebooks only; no hub configured
    binder = urlsplit(links["Binder"])
    assert binder.path == "/v2/git/https%3A%2F%2Fgitlab.example.org%2Fgroup%2Fkernelflows.git/main"
    assert parse_qs(binder.query) == {"labpath": ["lectures/a b.ipynb"]}


def test_launch_links_refuse_paths_outside_the_repository_and_plain_http(launch):
    with pytest.raises(ValueError, match="notebook"):
        launch.launch_links(REPO, "../secret.ipynb", ALL)
    with pytest.raises(ValueError, match="notebook"):
        launch.launch_links(REPO, "/etc/passwd", ALL)
    with pytest.raises(ValueError, match="repository"):
        launch.launch_links("http://github.com/a/b", "lectures/x.ipynb", ALL)


def test_the_hub_is_set_in_one_place_and_overridden_for_one_build(launch, monkeypatch):
    monkeypatch.delenv("KERNELFLOWS_JUPYTERHUB_URL", raising=False)
    assert launch.settings() == launch.LAUNCH
    monkeypatch.setenv("KERNELFLOWS_JUPYTERHUB_URL", "https://hub.example.edu")
    assert launch.settings()["jupyterhub_url"] == "https://hub.example.edu"
    assert launch.github_parts("https://github.com/a/b.git") == ("a", "b")
    assert launch.github_parts("https://github.com/a") is None
