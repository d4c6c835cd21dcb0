"""The nbgrader side of the course: a throw-away nbgrader course directory built from the
lectures, in which ``generate_assignment``, ``autograde`` and ``generate_feedback`` run.

Nothing here touches the lecture sources: each lecture is marked in memory
(:func:`kernelflows.course.mark.marked`) and written into ``ROOT/source/STEM/NAME.ipynb`` of a
temporary course directory, one nbgrader assignment per lecture (assignment id = the lecture's
file stem). Everything nbgrader writes (its gradebook, ``release/``, ``autograded/``,
``feedback/``) stays inside that directory.
"""

from __future__ import annotations

import contextlib
import json
import logging
import os
import re
import sys
from pathlib import Path

from .._io import notebook_json, write_text
from .mark import MarkError, load_docstrings, marked

__all__ = ["NbgraderError", "course_config", "api", "generate", "student_version"]

#: What the student version shows in an answer cell (nbgrader's text stub).
ANSWER_PROMPT = (
    "*Your answer here:* replace this line with your prediction or explanation, in your own "
    "words. It is read by your teacher, not graded automatically."
)
#: The stub of a top-level stretch of a solution cell (the computations an exercise asks for
#: besides its functions): a prompt, not a raise, so that Run All goes on to the check.
EXPLORE_STUB = "# YOUR CODE HERE: the computations the exercise asks for (not graded)"
_TOP_LEVEL_STUB = re.compile(r"(?m)^# YOUR CODE HERE\nraise NotImplementedError\(\)$")


class NbgraderError(RuntimeError):
    """nbgrader could not do what was asked; the message is one line."""


def _last_line(result: dict) -> str:
    text = (result.get("error") or result.get("log") or "").strip().splitlines()
    errors = [t for t in text if "Error" in t or "error" in t]
    return (errors or text or ["no message"])[-1].strip()


@contextlib.contextmanager
def _tools_on_path():
    """nbgrader runs the ``alembic`` command of its environment: put this interpreter's
    ``bin/`` first on PATH while it works, whatever PATH the caller had."""
    old = os.environ.get("PATH", "")
    os.environ["PATH"] = os.pathsep.join([str(Path(sys.executable).parent), old])
    try:
        yield
    finally:
        os.environ["PATH"] = old


def course_config(root: Path, timeout: int = 120):
    from traitlets.config import Config

    c = Config()
    c.CourseDirectory.root = str(root)
    c.CourseDirectory.db_url = f"sqlite:///{root}/gradebook.db"
    c.Exchange.root = str(root / "exchange")  # never the system-wide /srv/nbgrader
    c.Execute.timeout = int(timeout)
    c.Execute.interrupt_on_timeout = True
    c.Execute.allow_errors = True
    c.ClearSolutions.text_stub = ANSWER_PROMPT
    c.NbGraderAPI.log_level = logging.ERROR
    return c


def api(root: Path, timeout: int = 120):
    """An ``NbGraderAPI`` on the course directory ``root``."""
    from nbgrader.apps import NbGraderAPI

    (Path(root) / "exchange").mkdir(parents=True, exist_ok=True)
    with _tools_on_path():
        return NbGraderAPI(config=course_config(Path(root), timeout))


def run(what: str, fn, *args):
    """Call an ``NbGraderAPI`` method; a failure raises :class:`NbgraderError` (one line)."""
    with _tools_on_path():
        result = fn(*args)
    if not result.get("success"):
        raise NbgraderError(f"nbgrader {what}: {_last_line(result)}")
    return result


def generate(root: Path, lectures: list[Path], docstrings=None) -> dict[str, Path]:
    """Mark each lecture in memory, make it an nbgrader assignment of the course directory
    ``root`` and run ``generate_assignment``; returns the released notebook of each stem."""
    root = Path(root)
    if docstrings is None:
        docstrings = load_docstrings()
    sources = {}
    for path in lectures:
        try:
            sources[path] = marked(path, docstrings)
        except MarkError as exc:
            raise NbgraderError(str(exc)) from None
    grader = api(root)
    released = {}
    for path, nb in sources.items():
        folder = root / "source" / path.stem
        folder.mkdir(parents=True, exist_ok=True)
        write_text(folder / path.name, notebook_json(nb))
        run(f"generate_assignment {path.stem}", grader.generate_assignment, path.stem)
        released[path.stem] = root / "release" / path.stem / path.name
    return released


def student_version(released: dict) -> dict:
    """The released notebook as committed: run metadata and saved widget state dropped, and
    the stubs of top-level code in solution cells a prompt instead of a raise."""
    nb = json.loads(json.dumps(released))
    nb.get("metadata", {}).pop("widgets", None)
    for cell in nb["cells"]:
        cell.get("metadata", {}).pop("execution", None)
        if cell["cell_type"] == "code":
            cell["outputs"], cell["execution_count"] = [], None
            if (cell.get("metadata", {}).get("nbgrader") or {}).get("solution"):
                src = cell["source"]
                src = "".join(src) if isinstance(src, list) else src
                new = _TOP_LEVEL_STUB.sub(EXPLORE_STUB, src)  # unindented stubs: top-level code
                if new != src:
                    cell["source"] = new.splitlines(keepends=True)
    return nb
