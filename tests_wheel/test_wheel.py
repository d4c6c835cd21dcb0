"""The package as a student gets it: ``make test-wheel``.

Builds the sdist and the wheel (``python -m build``: the wheel is built from the sdist, so both
are complete), checks their metadata (``twine check --strict``, and the fields a package index
shows), then makes a fresh virtual environment in a temporary folder outside the checkout with
only ``ipykernel`` in it, and installs the wheel the way a lecture's first cell does (its
``%pip install``, pointed at the wheel instead of the repository). Then every lecture (and every
other notebook of ``lectures/``), each copied alone into an empty folder, runs under strict
nbval in that environment's kernel, with one BLAS thread. Nothing of the checkout is on that
kernel's path: a test asserts where it imports kernelflows from.

The step times and each notebook's run time are written to ``artifacts/wheel/timings.txt``
and printed at the end.
"""

from __future__ import annotations

import json
import os
import re
import shutil
import subprocess
import sys
import tarfile
import time
import xml.etree.ElementTree as ET
import zipfile
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]
ARTIFACTS = ROOT / "artifacts" / "wheel"
NOTEBOOKS = sorted((ROOT / "lectures").glob("*.ipynb"))
KERNEL = "kernelflows-wheel"
TIMINGS: dict[str, float] = {}

tomllib = pytest.importorskip("tomllib")


def _pyproject() -> dict:
    return tomllib.loads((ROOT / "pyproject.toml").read_text())


def _source_version() -> str:
    text = (ROOT / "kernelflows" / "__init__.py").read_text()
    return re.search(r'^__version__ = "([^"]+)"', text, re.M).group(1)


def _run(cmd, what, **kw) -> subprocess.CompletedProcess:
    start = time.perf_counter()
    out = subprocess.run(cmd, capture_output=True, text=True, **kw)
    TIMINGS[what] = TIMINGS.get(what, 0.0) + time.perf_counter() - start
    if out.returncode != 0:
        raise AssertionError(f"{what} failed ({out.returncode}):\n{out.stdout[-4000:]}\n"
                             f"{out.stderr[-4000:]}")  # fmt: skip
    return out


def _clean_env(**extra) -> dict:
    """The environment of a student's kernel: nothing pointing into the checkout."""
    env = {k: v for k, v in os.environ.items() if k not in ("PYTHONPATH", "MPLBACKEND")}
    env.pop("VIRTUAL_ENV", None)
    env.update(OPENBLAS_NUM_THREADS="1", OMP_NUM_THREADS="1", MKL_NUM_THREADS="1")
    env.update(extra)
    return env


def _tracked_package_files() -> set[str]:
    out = subprocess.run(
        ["git", "ls-files", "kernelflows"], cwd=ROOT, capture_output=True, text=True, check=True
    )
    files = {f for f in out.stdout.splitlines() if (ROOT / f).is_file()}
    return {f for f in files if "__pycache__" not in f}


@pytest.fixture(scope="session")
def dist(tmp_path_factory) -> dict[str, Path]:
    """``{"wheel": ..., "sdist": ...}``, built into a temporary folder."""
    out = tmp_path_factory.mktemp("dist")
    _run([sys.executable, "-m", "build", "--outdir", str(out), str(ROOT)], "build sdist + wheel")
    wheels, sdists = sorted(out.glob("*.whl")), sorted(out.glob("*.tar.gz"))
    assert len(wheels) == 1 and len(sdists) == 1, sorted(out.iterdir())
    return {"wheel": wheels[0], "sdist": sdists[0]}


def test_twine_check_passes(dist):
    out = _run(
        [
            sys.executable,
            "-m",
            "twine",
            "check",
            "--strict",
            str(dist["wheel"]),
            str(dist["sdist"]),
        ],
        "twine check",
    )
    assert out.stdout.count("PASSED") == 2, out.stdout


def _wheel_metadata(wheel: Path):
    from email.parser import Parser

    with zipfile.ZipFile(wheel) as z:
        name = next(n for n in z.namelist() if n.endswith(".dist-info/METADATA"))
        meta = Parser().parsestr(z.read(name).decode())
        entry = next(n for n in z.namelist() if n.endswith(".dist-info/entry_points.txt"))
        return meta, z.read(entry).decode(), z.namelist()


def test_the_wheel_says_what_an_index_shows(dist):
    project = _pyproject()["project"]
    meta, entry_points, names = _wheel_metadata(dist["wheel"])
    assert meta["Name"] == "kernelflows"
    assert meta["Version"] == _source_version()
    assert meta["Summary"] == project["description"]
    assert meta["License-Expression"] == project["license"]
    assert meta.get_all("License-File") == project["license-files"]
    assert any(n.endswith(".dist-info/licenses/LICENSE") for n in names)
    assert meta["Requires-Python"] == project["requires-python"]
    assert meta["Description-Content-Type"].startswith("text/markdown")
    urls = dict(u.split(", ", 1) for u in meta.get_all("Project-URL"))
    assert urls == project["urls"], urls
    assert sorted(meta.get_all("Classifier")) == sorted(project["classifiers"])
    requires = [r for r in meta.get_all("Requires-Dist") if "extra ==" not in r]
    assert sorted(r.replace(" ", "") for r in requires) == sorted(project["dependencies"])
    assert re.search(r"^kernelflows = kernelflows\.__main__:main$", entry_points, re.M)


def test_the_wheel_and_the_sdist_carry_every_file_of_the_package(dist):
    tracked = _tracked_package_files()
    _, _, names = _wheel_metadata(dist["wheel"])
    in_wheel = {n for n in names if n.startswith("kernelflows/")}
    assert not tracked - in_wheel, f"not in the wheel: {sorted(tracked - in_wheel)}"
    assert not in_wheel - tracked, f"in the wheel, not in git: {sorted(in_wheel - tracked)}"
    with tarfile.open(dist["sdist"]) as tar:
        in_sdist = {n.split("/", 1)[1] for n in tar.getnames() if "/" in n}
    needed = tracked | {"LICENSE", "README.md", "CHANGELOG.md", "pyproject.toml"}
    assert not needed - in_sdist, f"not in the sdist: {sorted(needed - in_sdist)}"


@pytest.fixture(scope="session")
def venv(tmp_path_factory) -> Path:
    """A fresh virtual environment outside the checkout, with a Jupyter kernel and nothing else
    of ours; its kernel spec is ``kernelflows-wheel`` under ``VENV/share/jupyter``."""
    path = tmp_path_factory.mktemp("student") / "venv"
    assert not path.resolve().is_relative_to(ROOT)
    _run([sys.executable, "-m", "venv", str(path)], "fresh venv")
    py = path / "bin" / "python"
    _run([str(py), "-m", "pip", "install", "--quiet", "ipykernel"], "pip install ipykernel")
    _run([str(py), "-m", "ipykernel", "install", "--sys-prefix", "--name", KERNEL],
         "pip install ipykernel")  # fmt: skip
    return path


def _kernel_env(venv: Path, tmp: Path) -> dict:
    return _clean_env(JUPYTER_PATH=str(venv / "share" / "jupyter"), MPLCONFIGDIR=str(tmp / "mpl"))


def _execute(nb: dict, venv: Path, cwd: Path, what: str) -> dict:
    """Run a notebook in ``cwd`` in the fresh environment's kernel; the executed notebook."""
    path = cwd / "probe.ipynb"
    path.write_text(json.dumps(nb))
    cmd = [
        sys.executable, "-m", "jupyter", "nbconvert", "--to", "notebook", "--execute",
        f"--ExecutePreprocessor.kernel_name={KERNEL}", "--ExecutePreprocessor.timeout=900",
        "--output", "executed.ipynb", str(path),
    ]  # fmt: skip
    _run(cmd, what, cwd=cwd, env=_kernel_env(venv, cwd.parent))
    executed = json.loads((cwd / "executed.ipynb").read_text())
    path.unlink()
    (cwd / "executed.ipynb").unlink()
    return executed


def _first_cell(stem: str = "00_overview") -> dict:
    nb = json.loads((ROOT / "lectures" / f"{stem}.ipynb").read_text())
    return nb["cells"][0]


def _text(cell) -> str:
    streams = [o.get("text", "") for o in cell["outputs"] if o["output_type"] == "stream"]
    return "".join("".join(s) if isinstance(s, list) else s for s in streams)


@pytest.fixture(scope="session")
def installed(dist, venv, tmp_path_factory) -> dict:
    """The wheel installed by a lecture's first cell, its requirement pointed at the wheel.

    Returns what the probe saw: where kernelflows was found before and after, and the outputs
    of the first cell run a second time (where the package is installed)."""
    from kernelflows.course.install_cell import CELL_ID, requirement

    first = _first_cell()
    assert first["id"] == CELL_ID, "the lectures' first cell is not the install cell"
    source = "".join(first["source"])
    assert requirement() in source
    local = source.replace(requirement(), f"kernelflows @ {dist['wheel'].as_uri()}")
    probe = (
        "import importlib.util\n"
        "spec = importlib.util.find_spec('kernelflows')\n"
        "print('before:', spec.origin if spec else None)"
    )
    after = "import kernelflows, sys\nprint('after:', kernelflows.__file__)\nprint(sys.prefix)"
    cells = [probe, local, after, local]
    nb = {
        "cells": [
            {
                "cell_type": "code",
                "id": f"c{i}",
                "metadata": {},
                "source": s,
                "outputs": [],
                "execution_count": None,
            }
            for i, s in enumerate(cells)
        ],  # fmt: skip
        "metadata": {"kernelspec": {"name": KERNEL, "display_name": KERNEL, "language": "python"}},
        "nbformat": 4,
        "nbformat_minor": 5,
    }
    cwd = tmp_path_factory.mktemp("probe") / "empty"
    cwd.mkdir()
    ran = _execute(nb, venv, cwd, "install through the first cell")
    assert not list(cwd.iterdir()), "the first cell wrote into the current folder"
    warm = subprocess.run(  # matplotlib's font cache, once, so no lecture prints its building
        [str(venv / "bin" / "python"), "-c", "import matplotlib.pyplot"],
        env=_kernel_env(venv, cwd.parent),
        capture_output=True,
        cwd=cwd,
    )
    assert warm.returncode == 0, warm.stderr
    return {
        "before": _text(ran["cells"][0]),
        "after": _text(ran["cells"][2]),
        "again": ran["cells"][3]["outputs"],
        "venv": venv,
        "tmp": cwd.parent,
    }


def test_the_first_cell_installs_the_package_where_it_is_missing(installed):
    venv = installed["venv"].resolve()
    assert installed["before"].strip() == "before: None"
    where, prefix = installed["after"].split("\n")[0], installed["after"].split("\n")[1]
    path = Path(where.removeprefix("after: ").strip()).resolve()
    assert path.is_relative_to(venv / "lib"), path
    assert "site-packages" in path.parts and not path.is_relative_to(ROOT)
    assert Path(prefix.strip()).resolve() == venv
    assert installed["again"] == [], "the first cell printed something where kernelflows is there"


def test_the_command_lists_the_lectures_figures_experiments_and_tools(installed, tmp_path):
    out = _run([str(installed["venv"] / "bin" / "kernelflows")], "kernelflows command",
               cwd=tmp_path, env=_clean_env())  # fmt: skip
    for nb in NOTEBOOKS:
        assert nb.name in out.stdout
    for section in ("Lectures (", "Figures (", "Experiments (", "Course tools"):
        assert section in out.stdout
    assert not list(tmp_path.iterdir()), "the command wrote into the current folder"


def test_every_lecture_runs_alone_from_an_empty_folder(installed, tmp_path):
    folders = []
    for nb in NOTEBOOKS:
        folder = tmp_path / nb.stem
        folder.mkdir()
        shutil.copy(nb, folder / nb.name)
        folders.append(folder)
    junit = tmp_path / "junit.xml"
    cmd = [
        sys.executable, "-m", "pytest", "--nbval", "--nbval-kernel-name", KERNEL,
        "-p", "no:randomly", "-p", "no:cacheprovider", "-c", os.devnull, "--rootdir",
        str(tmp_path), "-n", "2", "--dist", "loadfile", "-q", f"--junitxml={junit}",
        *[str(f / f"{f.name}.ipynb") for f in folders],
    ]  # fmt: skip
    env = _kernel_env(installed["venv"], installed["tmp"])
    start = time.perf_counter()
    out = subprocess.run(cmd, capture_output=True, text=True, cwd=tmp_path, env=env)
    TIMINGS["nbval of the lectures (2 workers)"] = time.perf_counter() - start
    per_notebook: dict[str, float] = {}
    if junit.exists():
        for case in ET.parse(junit).getroot().iter("testcase"):
            name = case.get("classname", "").split(".")[0] or case.get("file", "")
            per_notebook[name] = per_notebook.get(name, 0.0) + float(case.get("time", 0))
    for name, seconds in sorted(per_notebook.items()):
        TIMINGS[f"  {name}"] = seconds
    assert out.returncode == 0, out.stdout[-8000:] + out.stderr[-2000:]
    left = {f.name: sorted(p.name for p in f.iterdir() if p.suffix != ".ipynb") for f in folders}
    left = {k: v for k, v in left.items() if v}
    assert not left, f"lectures wrote files into their folder: {left}"


def test_zz_timings(request):
    """Not a check: the table of step times (last by name)."""
    ARTIFACTS.mkdir(parents=True, exist_ok=True)
    lines = [f"{what:45s} {seconds:7.1f} s" for what, seconds in TIMINGS.items()]
    (ARTIFACTS / "timings.txt").write_text("\n".join(lines) + "\n")
    terminal = request.config.pluginmanager.get_plugin("terminalreporter")
    if terminal is not None:
        terminal.write_line("\nwheel test timings:\n" + "\n".join(lines))
