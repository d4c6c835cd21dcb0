"""Per-lecture additions: ``python -m kernelflows.course.extras LECTURES...``.

``kernelflows/course/extras/NN.md`` holds, for lecture NN, a short front matter and two
sections::

    ---
    title: Lecture 9 — KALE flow: a relaxed KL gradient flow for particles
    next: "**Next (lecture 10):** ..."        (optional, a JSON string or plain text)
    ---

    ## Further reading
    ...
    ## Questions to think about
    ...

Applied to ``lectures/NN_name.ipynb`` (idempotently: a second run changes nothing):

* the first heading of the first markdown cell becomes ``# <title>`` ("Lecture N — Title");
* with ``next``, the paragraph of the lecture's last cells that starts with ``Next`` or
  ``**Next`` is replaced by it (the pointer to the following lecture);
* the two sections become two markdown cells at the end of the lecture, marked
  ``metadata["kernelflows"]["extra"] = "further-reading" | "questions"``; a rerun replaces
  their text in place.

``stub_docstrings.json`` beside the ``.md`` files is read by :mod:`kernelflows.course.mark`.
"""

from __future__ import annotations

import argparse
import copy
import json
import re
import sys
from dataclasses import dataclass
from pathlib import Path

from ..._io import notebook_json, update_text

__all__ = ["Extras", "ExtrasError", "EXTRAS_DIR", "load", "apply", "apply_file", "main"]

EXTRAS_DIR = Path(__file__).resolve().parent
READING, QUESTIONS = "## Further reading", "## Questions to think about"
KINDS = {"further-reading": READING, "questions": QUESTIONS}


class ExtrasError(ValueError):
    """A malformed extras file or a lecture the tool cannot change: one line for the user."""


@dataclass(frozen=True)
class Extras:
    title: str
    reading: str
    questions: str
    next: str | None = None


def _value(text: str) -> str:
    text = text.strip()
    if text.startswith('"'):
        try:
            return json.loads(text)
        except ValueError as exc:
            raise ExtrasError(f"bad quoted value {text[:40]}...: {exc}") from None
    return text


def parse(text: str, where: str = "extras") -> Extras:
    m = re.match(r"^---\n(.*?)\n---\n(.*)$", text, flags=re.S)
    if not m:
        raise ExtrasError(f"{where}: no front matter (--- title: ... ---)")
    meta = {}
    for line in m.group(1).splitlines():
        if line.strip():
            key, sep, value = line.partition(":")
            if not sep:
                raise ExtrasError(f"{where}: front matter line without 'key: value': {line!r}")
            meta[key.strip()] = _value(value)
    body = m.group(2)
    if READING not in body or QUESTIONS not in body or body.index(READING) > body.index(QUESTIONS):
        raise ExtrasError(f"{where}: needs '{READING}' then '{QUESTIONS}'")
    reading, questions = body.split(QUESTIONS)
    if "title" not in meta or not re.match(r"^Lecture \d+ — \S", meta["title"]):
        raise ExtrasError(f"{where}: the title must read 'Lecture N — Title'")
    return Extras(
        title=meta["title"],
        reading=reading.strip()[len(READING) :].strip(),
        questions=questions.strip(),  # split() already removed the heading
        next=meta.get("next"),
    )


def load(number: int, folder: Path = EXTRAS_DIR) -> Extras | None:
    """The extras of lecture ``number`` (None when it has no ``NN.md``)."""
    path = folder / f"{number:02d}.md"
    if not path.exists():
        return None
    return parse(path.read_text(), str(path))


def _source(cell: dict) -> str:
    src = cell.get("source", "")
    return "".join(src) if isinstance(src, list) else src


def _lines(text: str) -> list[str]:
    return text.splitlines(keepends=True)


def _replace_next(cells: list[dict], text: str) -> bool:
    """Replace the ``Next`` paragraph of the last markdown cells; whether one was found."""
    for cell in reversed(cells):
        if cell.get("cell_type") != "markdown" or (cell.get("metadata") or {}).get("kernelflows"):
            continue
        lines = _source(cell).split("\n")
        starts = [i for i, line in enumerate(lines) if re.match(r"^(\*\*)?Next\b", line)]
        if not starts:
            continue
        i = starts[-1]
        j = i + 1
        while j < len(lines) and lines[j].strip():
            j += 1
        lines[i:j] = ([""] if i > 0 and lines[i - 1].strip() else []) + text.split("\n")
        cell["source"] = _lines("\n".join(lines))
        return True
    return False


def _extra_kind(cell: dict):
    return ((cell.get("metadata") or {}).get("kernelflows") or {}).get("extra")


def apply(nb: dict, extras: Extras) -> dict:
    """A copy of the lecture ``nb`` (parsed JSON) with ``extras`` applied."""
    out = copy.deepcopy(nb)
    cells = out.get("cells")
    # the title is the first markdown cell (only the install cell may come before it)
    titled = [i for i, c in enumerate(cells or []) if c.get("cell_type") == "markdown"][:1]
    if not isinstance(cells, list) or not titled:
        raise ExtrasError("the lecture must have a markdown cell (its title)")
    first = _source(cells[titled[0]]).split("\n")
    heads = [i for i, line in enumerate(first) if line.startswith("# ")]
    if not heads:
        raise ExtrasError("the first markdown cell has no '# ' title")
    first[heads[0]] = f"# {extras.title}"
    cells[titled[0]]["source"] = _lines("\n".join(first))
    if extras.next is not None and not _replace_next(cells, extras.next):
        raise ExtrasError("no 'Next' paragraph in the last cells to replace")
    texts = {
        "further-reading": f"{READING}\n\n{extras.reading}",
        "questions": f"{QUESTIONS}\n\n{extras.questions}",
    }
    for kind, text in texts.items():
        mine = [c for c in cells if _extra_kind(c) == kind]
        if mine:
            mine[0]["source"] = _lines(text)
        else:
            cells.append({
                "cell_type": "markdown",
                "id": f"kernelflows-{kind}",
                "metadata": {"kernelflows": {"extra": kind}},
                "source": _lines(text),
            })  # fmt: skip
    return out


def lecture_number(path: Path) -> int:
    m = re.match(r"^(\d{2})_", Path(path).name)
    if not m:
        raise ExtrasError(f"{path}: not a lecture (expected a name like 09_kale_flow.ipynb)")
    return int(m.group(1))


def applied(path: Path, folder: Path = EXTRAS_DIR) -> dict | None:
    """The lecture at ``path`` with its extras applied (None when it has none)."""
    extras = load(lecture_number(path), folder)
    if extras is None:
        return None
    try:
        nb = json.loads(Path(path).read_text())
    except (OSError, UnicodeDecodeError, ValueError) as exc:
        raise ExtrasError(f"{path}: not a readable notebook ({exc})") from None
    try:
        return apply(nb, extras)
    except ExtrasError as exc:
        raise ExtrasError(f"{path}: {exc}") from None


def apply_file(path: Path, folder: Path = EXTRAS_DIR) -> bool:
    """Apply the extras to the lecture file in place; whether it changed."""
    nb = applied(path, folder)
    return nb is not None and update_text(path, notebook_json(nb))


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(
        prog="python -m kernelflows.course.extras", description=__doc__
    )
    parser.add_argument("lectures", nargs="+", help="lecture notebooks (lectures/NN_name.ipynb)")
    args = parser.parse_args(argv)
    try:
        paths = [Path(p) for p in args.lectures]
        results = {p: applied(p) for p in paths}  # everything checked before anything is written
        for p, nb in results.items():
            if nb is None:
                print(f"no extras for {p}")
            else:
                print(f"{'updated' if update_text(p, notebook_json(nb)) else 'unchanged'} {p}")
    except (ExtrasError, OSError) as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 2
    return 0
