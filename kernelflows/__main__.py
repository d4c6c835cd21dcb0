"""``python -m kernelflows`` (or the ``kernelflows`` command): what the package holds.

One line each: the lectures (notebooks in the repository, listed from the catalogue the package
ships), the figures of the talk, the published experiments, and the course tools, with the
command that runs each kind and where it writes.
"""

from __future__ import annotations

import argparse
import ast
import os
import pkgutil
import re
import sys
from importlib import resources

from . import __version__
from ._project import book_url, repository_url


def _first_line(text: str | None) -> str:
    """The first line of a docstring, less its ``: ``python -m ...```` (the command is shown)."""
    for line in (text or "").strip().splitlines():
        if line.strip():
            return re.sub(r":\s*``python -m [^`]*``\.?", "", line.strip())
    return ""


def course_tools() -> dict[str, str]:
    """``{module: first line of its docstring}`` for every runnable module of
    :mod:`kernelflows.course` (a ``main`` function, or a ``__main__.py``), read without
    importing it (a tool may need what students do not install)."""
    import kernelflows.course as course

    tools = {}
    for info in pkgutil.iter_modules(course.__path__):
        if info.name.startswith("_"):
            continue
        root = resources.files("kernelflows.course")
        if info.ispkg:
            if not root.joinpath(info.name, "__main__.py").is_file():
                continue
            source = root.joinpath(info.name, "__init__.py").read_text(encoding="utf-8")
        else:
            source = root.joinpath(f"{info.name}.py").read_text(encoding="utf-8")
        tree = ast.parse(source)
        runnable = info.ispkg or any(
            isinstance(node, ast.FunctionDef) and node.name == "main" for node in tree.body
        )
        if runnable:
            tools[f"kernelflows.course.{info.name}"] = _first_line(ast.get_docstring(tree))
    return tools


def listing() -> str:
    """The text ``python -m kernelflows`` prints."""
    os.environ.setdefault("MPLBACKEND", "Agg")  # the figure registry imports matplotlib
    from .course.catalogue import lectures
    from .experiments import EXPERIMENTS
    from .figures import figures

    repo, book = repository_url(), book_url()
    lines = [f"kernelflows {__version__}: gradient flows on kernel divergence measures"]
    if repo:
        lines.append(f"  repository: {repo}")
    if book:
        lines.append(f"  book:       {book}")
    rows = lectures()
    lines += [
        "",
        f"Lectures ({len(rows)} notebooks in the repository's lectures/, student versions in "
        "assignments/; the book has a launch button on each):",
    ]
    width = max((len(r["notebook"]) for r in rows), default=0)
    lines += [f"  {r['notebook']:{width}s}  {r['title']}" for r in rows]

    table = figures()
    lines += [
        "",
        f"Figures ({len(table)}; python -m kernelflows.figures --only ID, writes ./figures/):",
    ]
    width = max((len(fid) for fid in table), default=0)
    lines += [f"  {fid:{width}s}  {spec.slide}" for fid, spec in table.items()]

    lines += [
        "",
        f"Experiments ({len(EXPERIMENTS)}; python -m kernelflows.experiments run ID "
        "--scale paper, writes ./results/):",
    ]
    width = max((len(eid) for eid in EXPERIMENTS), default=0)
    lines += [
        f"  {eid:{width}s}  {_first_line(getattr(spec, 'description', ''))}"
        for eid, spec in EXPERIMENTS.items()
    ]

    tools = course_tools()
    lines += ["", "Course tools (python -m MODULE --help):"]
    width = max((len(m) for m in tools), default=0)
    lines += [f"  {m:{width}s}  {doc}" for m, doc in tools.items()]
    return "\n".join(lines)


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(prog="kernelflows", description=__doc__)
    parser.add_argument("--version", action="version", version=f"kernelflows {__version__}")
    parser.parse_args(argv)
    print(listing())
    return 0


if __name__ == "__main__":
    sys.exit(main())
