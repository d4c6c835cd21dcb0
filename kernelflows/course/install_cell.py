"""The first cell of every lecture: ``python -m kernelflows.course.install_cell LECTURES...``.

A lecture opened alone (in Colab, or a JupyterLab whose Python lacks the package) must say how
to get kernelflows; where it is installed (Binder, a checkout after ``make install``, an
environment with the wheel) it must do nothing. Its first cell is::

    # <comment>
    import importlib.util

    if importlib.util.find_spec("kernelflows") is None:
        %pip install --quiet "kernelflows @ git+<repository>"

The package is named by the repository URL (``[project.urls] Repository`` in
``pyproject.toml``, the project's one setting for it; :func:`kernelflows._project.repository_url`)
because it is not on a package index: pip builds it from the repository's default branch,
results files included. The tool inserts the cell (id ``install-kernelflows``, marked
``metadata["kernelflows"]["install_cell"]``) or rewrites it in place, idempotently; ``--check``
fails when a lecture's first cell is not the one it would write.
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

from .._io import write_text
from .._project import repository_url

__all__ = ["CELL_ID", "apply", "install_cell", "requirement", "main"]

CELL_ID = "install-kernelflows"
MARK = "install_cell"
COMMENT = (
    "# Run this lecture anywhere: where this Python lacks the kernelflows package (Colab, a plain\n"
    "# JupyterLab), this cell installs it; where it is installed, it does nothing.\n"
)


def requirement(repository: str | None = None) -> str:
    """The pip requirement of the package, from the repository URL setting."""
    repo = (repository_url() if repository is None else repository).rstrip("/")
    if not repo.startswith("https://"):
        raise ValueError(f"repository: an https URL is needed, got {repo!r}")
    return f"kernelflows @ git+{repo}"


def source(repository: str | None = None) -> str:
    return (
        COMMENT + "import importlib.util\n\n"
        'if importlib.util.find_spec("kernelflows") is None:\n'
        f'    %pip install --quiet "{requirement(repository)}"'
    )


def install_cell(repository: str | None = None) -> dict:
    """The cell (an nbformat 4.5 code cell, no outputs)."""
    return {
        "cell_type": "code",
        "execution_count": None,
        "id": CELL_ID,
        "metadata": {"kernelflows": {MARK: True}},
        "outputs": [],
        "source": source(repository),
    }


def _is_install_cell(cell: dict) -> bool:
    return cell.get("id") == CELL_ID or bool(
        cell.get("metadata", {}).get("kernelflows", {}).get(MARK)
    )


def apply(nb: dict, repository: str | None = None) -> dict:
    """The notebook with its install cell first (inserted, or its source rewritten in place:
    outputs and execution count are kept, the cell prints nothing where it does nothing)."""
    cells = nb.get("cells", [])
    new = install_cell(repository)
    found = [i for i, c in enumerate(cells) if c.get("cell_type") == "code" and _is_install_cell(c)]
    if found:
        cell = cells.pop(found[0])
        cell["source"] = new["source"]
        cell.setdefault("metadata", {}).setdefault("kernelflows", {})[MARK] = True
        cell["id"] = CELL_ID
        new = cell
    cells.insert(0, new)
    nb["cells"] = cells
    return nb


def main(argv=None) -> int:
    import nbformat  # a tool of the checkout (the test extra), not of the package

    parser = argparse.ArgumentParser(
        prog="python -m kernelflows.course.install_cell",
        description="Put the cell that installs kernelflows (where it is missing) first in "
        "each lecture, from the repository URL of pyproject.toml.",
    )
    parser.add_argument("lectures", nargs="+", help="lecture notebooks (rewritten in place)")
    parser.add_argument("--check", action="store_true", help="fail if a first cell differs")
    args = parser.parse_args(argv)
    paths = [Path(name) for name in args.lectures]
    bad = [p for p in paths if p.suffix != ".ipynb" or not p.is_file()]
    if bad:
        print(f"error: lectures: {bad[0]} is not a notebook file", file=sys.stderr)
        return 2
    stale = []
    for path in paths:
        text = path.read_text(encoding="utf-8")
        nb = nbformat.reads(text, as_version=4)
        first = nb.cells[0] if nb.cells else {}
        if args.check:
            if not (_is_install_cell(first) and first.get("source") == source()):
                stale.append(path)
            continue
        out = nbformat.writes(nbformat.from_dict(apply(nb)))
        if not out.endswith("\n"):
            out += "\n"
        if out != text:
            write_text(path, out)
            print(f"wrote {path}")
    for path in stale:
        print(
            f"{path}: its first cell is not the install cell; run "
            "`python -m kernelflows.course.install_cell` on it",
            file=sys.stderr,
        )
    return 1 if stale else 0


if __name__ == "__main__":
    sys.exit(main())
