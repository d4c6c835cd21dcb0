"""Writing files atomically, with the mode an ordinary ``open`` would give them.

The one writer of the files the package makes or rewrites: figures, results files, student
versions, and the lectures that ``course.mark`` and ``course.extras`` update in place (a failure
leaves the old file whole). Notebooks are written as :func:`notebook_json` formats them.
"""

from __future__ import annotations

import json
import os
import tempfile
from pathlib import Path

__all__ = [
    "atomic_write",
    "current_umask",
    "notebook_json",
    "output_folder_problem",
    "update_text",
    "write_text",
]


def output_folder_problem(path, name: str = "--out") -> str | None:
    """Create the folder ``path`` (and its parents) if missing and check that files can be
    written in it; ``None`` when they can, else one line saying what is wrong, naming ``name``
    and the path: a file where the folder should be, a file among its parents, a parent that
    cannot be created, a folder that cannot be written. Commands call it before any work, so a
    long computation never fails at its end for want of a place to put its result."""
    path = Path(path)
    if path.exists() and not path.is_dir():
        return f"{name} {path} is a file, not a folder"
    for parent in path.parents:
        if parent.exists():
            if not parent.is_dir():
                return f"{name} {path}: {parent} is a file, so the folder cannot be created"
            break
    try:
        path.mkdir(parents=True, exist_ok=True)
    except OSError as exc:
        return f"{name} {path} cannot be created: {exc.strerror or exc}"
    try:  # os.access is not enough (read-only mounts, ACLs): try what a writer will do
        fd, probe = tempfile.mkstemp(prefix=".write-probe.", dir=path)
    except OSError as exc:
        return f"{name} {path} is not writable: {exc.strerror or exc}"
    os.close(fd)
    os.unlink(probe)
    return None


def atomic_write(path: Path, write) -> None:
    """Call ``write(tmp_path)`` on a temporary file beside ``path``, then rename it into place.

    A failure (an exception, ``KeyboardInterrupt``, or ``SystemExit`` from the CLI's SIGTERM
    handler) leaves the existing ``path`` untouched and no temporary file behind. The file gets
    the mode an ordinary ``open`` would give it (0o666 less the umask), not mkstemp's 0o600.
    """
    path = Path(path)
    fd, tmp = tempfile.mkstemp(prefix=f".{path.stem}.", suffix=path.suffix, dir=path.parent)
    os.close(fd)
    try:
        write(tmp)
        os.chmod(tmp, 0o666 & ~current_umask())
        os.replace(tmp, path)
    except BaseException:
        if os.path.exists(tmp):
            os.unlink(tmp)
        raise


def write_text(path: Path, text: str) -> None:
    """Write ``text`` to ``path`` atomically in UTF-8 (:func:`atomic_write`)."""
    atomic_write(path, lambda tmp: Path(tmp).write_text(text, encoding="utf-8"))


def update_text(path: Path, text: str) -> bool:
    """Write ``text`` to the existing file ``path`` (atomically) unless it already holds it;
    whether it changed."""
    if Path(path).read_text() == text:
        return False
    write_text(path, text)
    return True


def notebook_json(nb: dict) -> str:
    """A notebook's text as the package writes it: sorted keys, indent 1, UTF-8, final newline."""
    return json.dumps(nb, sort_keys=True, indent=1, ensure_ascii=False) + "\n"


def current_umask() -> int:
    """The process umask (read by setting it and restoring it at once)."""
    mask = os.umask(0o022)
    os.umask(mask)
    return mask
