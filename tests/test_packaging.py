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


# --- lectures and committed assignments use the public API only -------------------------------

PUBLIC_MODULES = (
    "kernelflows",
    "kernelflows.kernels",
    "kernelflows.measures",
    "kernelflows.divergences",
    "kernelflows.flows",
    "kernelflows.theory",
    "kernelflows.networks",
    "kernelflows.experiments",
    "kernelflows.viz",
    "kernelflows.figures",
    "kernelflows.course.checks",
    "kernelflows.course.widgets",
    "kernelflows.course.slides",
    "kernelflows.densities",
)
#: kernelflows.figures is used through its three entry points only
FIGURES_NAMES = {"draw", "figures", "register"}
NOTEBOOKS = sorted((ROOT / "lectures").glob("*.ipynb")) + sorted(
    (ROOT / "assignments").glob("*.ipynb")
)


def _code_cells(path):
    import json

    nb = json.loads(path.read_text())
    for index, cell in enumerate(nb["cells"]):
        if cell["cell_type"] == "code":
            source = cell["source"]
            yield index, "".join(source) if isinstance(source, list) else source


def _kernelflows_imports(source):
    """(module, name or None, line) for every import of kernelflows in a cell's code."""
    import ast

    # IPython magics and shell escapes are not Python: `pass` instead (keeping line numbers and
    # indentation: the install cell's %pip is the body of an if)
    lines = [
        line[: len(line) - len(line.lstrip())] + "pass"
        if line.lstrip().startswith(("%", "!"))
        else line
        for line in source.splitlines()
    ]
    tree = ast.parse("\n".join(lines))
    for node in ast.walk(tree):
        if isinstance(node, ast.ImportFrom) and node.module and not node.level:
            if node.module.split(".")[0] == "kernelflows":
                for alias in node.names:
                    yield node.module, alias.name, node.lineno
        elif isinstance(node, ast.Import):
            for alias in node.names:
                if alias.name.split(".")[0] == "kernelflows":
                    yield alias.name, None, node.lineno


def test_the_import_parser_sees_every_form():
    source = (
        "%matplotlib inline\n"
        "import kernelflows\n"
        "import kernelflows.flows as kf\n"
        "from kernelflows.flows.engine import run_flow\n"
        "from kernelflows import (kale,\n    mmd2 as m)\n"
        "if True:\n    from kernelflows.viz import _style\n"
        "import numpy as np\n"
        "if True:\n    %pip install x\n"
    )
    assert list(_kernelflows_imports(source)) == [
        ("kernelflows", None, 2),
        ("kernelflows.flows", None, 3),
        ("kernelflows.flows.engine", "run_flow", 4),
        ("kernelflows", "kale", 5),
        ("kernelflows", "mmd2", 5),
        ("kernelflows.viz", "_style", 8),
    ]


@pytest.mark.parametrize("path", NOTEBOOKS, ids=[f"{p.parent.name}/{p.stem}" for p in NOTEBOOKS])
def test_notebooks_import_only_public_names(path):
    import importlib

    problems = []
    for index, source in _code_cells(path):
        for module, name, line in _kernelflows_imports(source):
            where = f"cell {index}, line {line}: "
            if module not in PUBLIC_MODULES:
                problems.append(f"{where}{module} is not a public module")
                continue
            if name is None:
                continue
            if name == "*":
                problems.append(f"{where}from {module} import * (name what you use)")
                continue
            if name.startswith("_"):
                problems.append(f"{where}{module}.{name} is private")
                continue
            public = (
                FIGURES_NAMES
                if module == "kernelflows.figures"
                else set(getattr(importlib.import_module(module), "__all__", ()))
            )
            if name not in public:
                problems.append(f"{where}{name} is not in {module}'s public names")
    assert not problems, f"{path.relative_to(ROOT)}:\n" + "\n".join(problems)
