"""The project frame: environment.yml in step with pyproject.toml, the two commands, CI."""

import re
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]

tomllib = pytest.importorskip("tomllib")  # Python >= 3.11; the comparison runs there


def _normalise(req: str) -> str:
    req = req.split(";")[0].strip().lower().replace("_", "-")
    return re.sub(r"\s+", "", req)


def pyproject_requirements() -> set[str]:
    meta = tomllib.loads((ROOT / "pyproject.toml").read_text())["project"]
    reqs = list(meta["dependencies"])
    for extra in meta["optional-dependencies"].values():
        reqs += extra
    return {_normalise(r) for r in reqs}


def environment_requirements() -> set[str]:
    """Dependencies of environment.yml: the conda list and the packages under ``pip:`` that
    conda-forge lacks (a flat file; no YAML library needed; ``-e .`` is the package itself)."""
    reqs, inside = set(), False
    for line in (ROOT / "environment.yml").read_text().splitlines():
        if line.startswith("dependencies:"):
            inside = True
            continue
        if inside and (m := re.match(r"^(  |      )- ([A-Za-z].*)", line)):
            name = m.group(2).split("#")[0].strip()
            if not re.match(r"^(python|pip)\b(?!-)", name):
                reqs.add(_normalise(name))
    return reqs


def test_environment_yml_lists_the_same_dependencies_as_pyproject():
    py, env = pyproject_requirements(), environment_requirements()
    assert py == env, (
        f"only in pyproject: {sorted(py - env)}; only in environment.yml: {sorted(env - py)}"
    )


def test_environment_yml_python_matches_requires_python():
    meta = tomllib.loads((ROOT / "pyproject.toml").read_text())["project"]
    assert f"python{meta['requires-python']}" in (ROOT / "environment.yml").read_text()


def test_no_deep_learning_framework_in_the_core():
    assert not any(r.startswith(("torch", "jax")) for r in pyproject_requirements())


def test_readme_shows_the_two_commands_and_ci_runs_make_test():
    readme = (ROOT / "README.md").read_text()
    assert "make figures" in readme and "make test" in readme
    assert "make test" in (ROOT / ".ci" / "run").read_text()


def test_readme_gallery_shows_every_registered_figure():
    from kernelflows.figures import figures

    readme = (ROOT / "README.md").read_text()
    gallery = readme.split("<!-- gallery:start -->")[1].split("<!-- gallery:end -->")[0]
    missing = [fid for fid in figures() if f"<code>{fid}</code>" not in gallery]
    assert not missing, f"add to the README gallery: {missing}"
