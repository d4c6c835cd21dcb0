"""What a student installs shows no instructor tools; the README's points table is the
lectures' own."""

import json
import re
import subprocess
import sys
from pathlib import Path

import pytest

from kernelflows.course.grade import points_table

ROOT = Path(__file__).resolve().parents[1]


def test_readme_points_table_is_up_to_date():
    text = (ROOT / "README.md").read_text()
    block = re.search(r"<!-- points:start -->\n(.*?)\n<!-- points:end -->", text, re.S)
    assert block, "the README has no points table"
    assert block.group(1).strip() == points_table(ROOT / "lectures").strip(), (
        "run `python -m kernelflows.course.grade --points-table` and paste it into the README"
    )


def test_the_student_install_has_no_nbgrader():
    tomllib = pytest.importorskip("tomllib")
    project = tomllib.loads((ROOT / "pyproject.toml").read_text())["project"]
    for requirement in project["dependencies"] + project["optional-dependencies"]["test"]:
        assert not requirement.lower().startswith("nbgrader"), requirement
    make = (ROOT / "Makefile").read_text()
    base = re.search(r"^\$\(STAMP\): pyproject.toml\n((?:\t.*\n)+)", make, re.M).group(1)
    assert '".[test]"' in base and "grade]" not in base and ",grade" not in base


def test_nbgrader_menus_are_switched_off_where_it_is_installed():
    pytest.importorskip("nbgrader")
    jupyter = Path(sys.executable).parent / "jupyter"
    if not (Path(sys.prefix) / "etc" / "jupyter" / "labconfig" / "page_config.json").exists():
        pytest.skip("this environment was not set up by `make instructor`")
    config = json.loads((Path(sys.prefix) / "etc/jupyter/labconfig/page_config.json").read_text())
    assert config.get("disabledExtensions", {}).get("@jupyter/nbgrader") is True
    proc = subprocess.run([str(jupyter), "server", "extension", "list"], capture_output=True,
                          text=True)  # fmt: skip
    out = proc.stdout + proc.stderr
    for line in out.splitlines():
        if "nbgrader.server_extensions" in line and "abled" in line:
            assert "disabled" in line, line
