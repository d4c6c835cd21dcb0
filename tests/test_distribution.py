"""What a student installs: the project's settings, the shipped catalogue, ``python -m
kernelflows``, the lectures' install cell and the package data (``make test-wheel`` then builds
the wheel and runs every lecture from it)."""

from __future__ import annotations

import fnmatch
import json
import re
import subprocess
import sys
from pathlib import Path

import pytest

from kernelflows import _project
from kernelflows.course import catalogue, install_cell

ROOT = Path(__file__).resolve().parents[1]
LECTURES = sorted((ROOT / "lectures").glob("*.ipynb"))
ASSIGNMENTS = sorted((ROOT / "assignments").glob("*.ipynb"))
tomllib = pytest.importorskip("tomllib")


def _pyproject() -> dict:
    return tomllib.loads((ROOT / "pyproject.toml").read_text())


# --- one setting for the repository and for the book ------------------------------------------


def test_the_project_urls_are_the_pyproject_ones():
    urls = _pyproject()["project"]["urls"]
    assert set(urls) >= {"Repository", "Documentation"}
    assert _project.project_urls() == urls
    assert _project.repository_url() == urls["Repository"].rstrip("/")
    assert _project.book_url() == urls["Documentation"]


def test_the_python_310_reading_of_the_urls_agrees_with_tomllib(monkeypatch):
    monkeypatch.setitem(sys.modules, "tomllib", None)  # import tomllib now fails, as on 3.10
    assert _project.checkout_urls() == _pyproject()["project"]["urls"]


def test_the_installed_metadata_is_not_stale():
    """The editable install's metadata carries the same URLs (else: `make install`)."""
    from importlib.metadata import metadata

    entries = metadata("kernelflows").get_all("Project-URL") or []
    assert dict(e.split(", ", 1) for e in entries) == _pyproject()["project"]["urls"]


def test_only_the_project_urls_name_the_repository():
    """The repository URL is one setting: no other file of the package or the book spells it."""
    repo = _pyproject()["project"]["urls"]["Repository"].rstrip("/")
    host_path = repo.split("://", 1)[1]
    tracked = subprocess.run(
        ["git", "ls-files", "kernelflows", "book", "Makefile", "README.md", "environment.yml"],
        cwd=ROOT, capture_output=True, text=True, check=True,
    ).stdout.split()  # fmt: skip
    spelled = [f for f in tracked if (ROOT / f).is_file() and host_path in (ROOT / f).read_text()]
    assert not spelled, f"these files spell the repository URL: {spelled}"


# --- the catalogue and the command ------------------------------------------------------------


def test_the_shipped_catalogue_lists_every_lecture_notebook():
    built = catalogue.build(ROOT / "lectures", ROOT / "assignments")
    assert catalogue.lectures() == built, "kernelflows/course/lectures.json: run make assignments"
    assert [r["notebook"] for r in built] == [p.name for p in LECTURES]
    for row in built:
        assert row["student_version"] == (ROOT / "assignments" / row["notebook"]).exists()


def test_the_catalogue_reads_titles_and_refuses_a_missing_folder(tmp_path):
    nb = {
        "cells": [
            {"cell_type": "code", "source": "# not a title"},
            {"cell_type": "markdown", "source": ["Intro\n", "# The title\n", "# Later"]},
        ]
    }
    (tmp_path / "A.ipynb").write_text(json.dumps(nb))
    (tmp_path / "B.ipynb").write_text(json.dumps({"cells": []}))
    rows = catalogue.build(tmp_path)
    assert rows == [
        {"notebook": "A.ipynb", "title": "The title", "student_version": False},
        {"notebook": "B.ipynb", "title": "B", "student_version": False},
    ]  # fmt: skip
    with pytest.raises(ValueError, match="lectures_dir"):
        catalogue.build(tmp_path / "missing")


def test_python_m_kernelflows_lists_everything_one_line_each():
    from kernelflows.__main__ import course_tools, listing
    from kernelflows.experiments import EXPERIMENTS
    from kernelflows.figures import figures

    sections = {}
    for block in listing().split("\n\n")[1:]:
        head, *rows = block.splitlines()
        sections[head.split(" (")[0]] = rows
    assert list(sections) == ["Lectures", "Figures", "Experiments", "Course tools"]
    expected = {
        "Lectures": [p.name for p in LECTURES],
        "Figures": list(figures()),
        "Experiments": list(EXPERIMENTS),
        "Course tools": list(course_tools()),
    }
    for section, names in expected.items():
        rows = sections[section]
        assert [r.split()[0] for r in rows] == names, section
        assert all(re.match(r"^  \S+\s{2,}\S", r) for r in rows), rows  # a line each, said
    tools = course_tools()
    for module in ("assignments", "grade", "mark", "extras", "catalogue", "install_cell"):
        assert f"kernelflows.course.{module}" in tools
    assert "kernelflows.course.checks" not in tools and "kernelflows.course.widgets" not in tools
    assert all(doc and "``" not in doc for doc in tools.values()), tools


def test_the_console_command_is_declared_and_runs():
    assert _pyproject()["project"]["scripts"] == {"kernelflows": "kernelflows.__main__:main"}
    out = subprocess.run(
        [sys.executable, "-m", "kernelflows", "--version"], capture_output=True, text=True
    )
    import kernelflows

    assert out.returncode == 0 and out.stdout.strip() == f"kernelflows {kernelflows.__version__}"


# --- the install cell -------------------------------------------------------------------------


@pytest.mark.parametrize(
    "path",
    LECTURES + ASSIGNMENTS,
    ids=[f"{p.parent.name}/{p.stem}" for p in LECTURES + ASSIGNMENTS],
)
def test_every_notebook_starts_with_the_install_cell(path):
    first = json.loads(path.read_text())["cells"][0]
    assert first["cell_type"] == "code" and first["id"] == install_cell.CELL_ID
    assert "".join(first["source"]) == install_cell.source(), (
        f"run `python -m kernelflows.course.install_cell {path.relative_to(ROOT)}`"
    )
    assert first.get("outputs", []) == []


def test_the_requirement_names_the_package_at_the_repository():
    from packaging.requirements import Requirement

    req = Requirement(install_cell.requirement())
    repo = _pyproject()["project"]["urls"]["Repository"].rstrip("/")
    assert req.name == "kernelflows" and req.url == f"git+{repo}"
    assert not req.specifier and not req.extras
    with pytest.raises(ValueError, match="repository"):
        install_cell.requirement("http://example.org/x")


class _Shell:
    def __init__(self):
        self.magics = []

    def run_line_magic(self, name, line, _stack_depth=1):
        self.magics.append((name, line))


def _run_cell(monkeypatch, found: bool) -> list:
    """The cell as IPython runs it, with ``find_spec('kernelflows')`` answering ``found``."""
    import importlib.util

    from IPython.core.inputtransformer2 import TransformerManager

    code = TransformerManager().transform_cell(install_cell.source())
    real = importlib.util.find_spec
    monkeypatch.setattr(
        importlib.util,
        "find_spec",
        lambda name, *a: (
            (real(name, *a) if found else None) if name == "kernelflows" else real(name, *a)
        ),
    )
    shell = _Shell()
    exec(compile(code, "<install cell>", "exec"), {"get_ipython": lambda: shell})
    return shell.magics


def test_the_install_cell_does_nothing_where_kernelflows_is_importable(monkeypatch):
    assert _run_cell(monkeypatch, found=True) == []


def test_the_install_cell_runs_pip_where_kernelflows_is_missing(monkeypatch):
    magics = _run_cell(monkeypatch, found=False)
    assert magics == [("pip", f'install --quiet "{install_cell.requirement()}"')]


def test_the_install_tool_inserts_once_and_keeps_everything_else(tmp_path):
    nb = json.loads(LECTURES[1].read_text())
    nb["cells"] = [c for c in nb["cells"] if c.get("id") != install_cell.CELL_ID]
    path = tmp_path / LECTURES[1].name
    path.write_text(json.dumps(nb, indent=1))
    assert install_cell.main([str(path), "--check"]) == 1
    assert install_cell.main([str(path)]) == 0
    once = path.read_text()
    assert install_cell.main([str(path)]) == 0 and path.read_text() == once
    assert install_cell.main([str(path), "--check"]) == 0
    after = json.loads(once)
    assert [c["id"] for c in after["cells"]] == [install_cell.CELL_ID] + [
        c["id"] for c in nb["cells"]
    ]
    strip = [("".join(c["source"]), c.get("outputs")) for c in after["cells"][1:]]
    assert strip == [("".join(c["source"]), c.get("outputs")) for c in nb["cells"]]
    assert install_cell.main([str(tmp_path / "missing.ipynb")]) == 2


# --- the package data -------------------------------------------------------------------------


def test_every_data_file_of_the_package_is_package_data():
    """Each tracked non-Python file under kernelflows/ matches a [tool.setuptools.package-data]
    pattern of its package (the wheel test then checks the wheel itself)."""
    patterns = _pyproject()["tool"]["setuptools"]["package-data"]
    tracked = subprocess.run(
        ["git", "ls-files", "kernelflows"], cwd=ROOT, capture_output=True, text=True, check=True
    ).stdout.split()
    missing = []
    for name in tracked:
        path = Path(name)
        if path.suffix == ".py":
            continue
        owners = [d for d in path.parents if (ROOT / d / "__init__.py").is_file()]
        if not any(
            fnmatch.fnmatch(path.relative_to(d).as_posix(), pat)
            for d in owners
            for pat in patterns.get(".".join(d.parts), [])
        ):
            missing.append(name)
    assert not missing, f"not package data: {missing}"


# --- the results files: shipped with the package, reruns elsewhere ------------------------------


def test_the_published_results_ship_inside_the_package_and_say_so():
    from importlib import resources

    from kernelflows.experiments import load_results
    from kernelflows.experiments.files import RESULTS_DIR

    assert Path(str(RESULTS_DIR)) == Path(str(resources.files("kernelflows") / "results"))
    assert Path(str(RESULTS_DIR)).resolve().is_relative_to((ROOT / "kernelflows").resolve())
    shipped = sorted(Path(str(RESULTS_DIR)).glob("*.json"))
    assert shipped and not (ROOT / "results").exists(), "results files live in the package"
    for path in shipped:
        experiment, _, rest = path.name.partition(".")
        scale = "reduced" if rest == "reduced.json" else "paper"
        res = load_results(experiment, scale)
        assert res.where == f"kernelflows/results/{path.name}"
        assert res.source().startswith(f"kernelflows/results/{path.name}: commit ")


def _tiny(monkeypatch):
    from kernelflows.experiments import files, registry

    e = registry.Experiment(
        "tiny-test", "a test", lambda scale: {"n": 2}, lambda s: s["n"], lambda n, s: {"x": n}
    )
    monkeypatch.setitem(registry.EXPERIMENTS, "tiny-test", e)
    return files


def test_a_rerun_writes_into_dot_results_of_the_current_folder(tmp_path, monkeypatch):
    from kernelflows.experiments.cli import main

    R = _tiny(monkeypatch)
    before = sorted(p.name for p in Path(str(R.RESULTS_DIR)).iterdir())
    monkeypatch.chdir(tmp_path)
    assert main(["run", "tiny-test", "--scale", "reduced"]) == 0
    written = tmp_path / "results" / "tiny-test.reduced.json"
    assert json.loads(written.read_text())["metrics"] == {"x": 2}
    assert sorted(p.name for p in Path(str(R.RESULTS_DIR)).iterdir()) == before
    res = R.load_results("tiny-test", "reduced", "results")  # a rerun is read when named
    assert res.where == str(Path("results") / "tiny-test.reduced.json") and res.metrics == {"x": 2}
    with pytest.raises(ValueError, match="no results file"):
        R.load_results("tiny-test", "reduced")  # the package has none: nothing was written there
    assert main(["run", "tiny-test", "--out", str(tmp_path / "elsewhere")]) == 0
    assert (tmp_path / "elsewhere" / "tiny-test.json").exists()


def test_the_help_says_where_a_rerun_writes(capsys):
    from kernelflows.experiments.cli import main

    with pytest.raises(SystemExit):
        main(["run", "--help"])
    text = " ".join(capsys.readouterr().out.split())
    assert "./results" in text and "--out" in text and "never written" in text


def test_a_rerun_outside_a_checkout_records_the_package_version(monkeypatch, tmp_path):
    """From an installed wheel the package is no git checkout: the provenance says so instead of
    recording whatever repository the environment happens to sit in."""
    import kernelflows
    from kernelflows import _project
    from kernelflows.experiments.files import provenance

    monkeypatch.setattr(_project, "_PYPROJECT", tmp_path / "pyproject.toml")  # not a checkout
    assert (
        provenance(0.0, 1.0)["commit"]
        == f"kernelflows {kernelflows.__version__} (installed package, no git checkout)"
    )
