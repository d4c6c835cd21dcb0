"""The slide map of lecture 00 (kernelflows.course.slides): every slide title of the talk is in
it, and every lecture and section it names exists."""

import json
import re
from pathlib import Path

import pytest

from kernelflows.course.slides import (
    AFTER_THE_TALK,
    SLIDES,
    after_table,
    lectures_used,
    normalise_title,
    slide_table,
)

ROOT = Path(__file__).resolve().parents[1]
TALKS = sorted((ROOT.parent / "shared" / "seed").glob("000_*.txt"))


def talk_titles(text: str) -> list[str]:
    """The slide titles of the talk: its level-1 and level-2 headings, in order, once each."""
    seen = []
    for line in text.splitlines():
        if m := re.match(r"^#{1,2} (.+)$", line):
            title = normalise_title(m.group(1))
            if title not in seen:
                seen.append(title)
    return seen


@pytest.mark.skipif(not TALKS, reason="the talk's text (shared/seed) is not next to the repo")
def test_every_slide_title_of_the_talk_is_mapped():
    titles = talk_titles(TALKS[0].read_text())
    assert len(titles) > 30
    mapped = {normalise_title(s.title) for s in SLIDES}
    missing = [t for t in titles if t not in mapped]
    assert not missing, f"add to kernelflows/course/slides.py: {missing}"


def _headings(stem: str) -> list[str]:
    nb = json.loads((ROOT / "lectures" / f"{stem}.ipynb").read_text())
    return [
        line.lstrip("#").strip()
        for c in nb["cells"]
        if c["cell_type"] == "markdown"
        for line in "".join(c["source"]).splitlines()
        if line.startswith("#")
    ]


def test_every_referenced_lecture_and_section_exists():
    for stem in lectures_used():
        assert (ROOT / "lectures" / f"{stem}.ipynb").exists(), stem
    for slide in SLIDES:
        for stem, section in slide.where:
            assert any(h.startswith(section) for h in _headings(stem)), (slide.title, stem, section)


def test_titles_are_unique_and_the_table_has_a_row_each():
    titles = [s.title for s in SLIDES]
    assert len(titles) == len(set(titles))
    assert len(slide_table().splitlines()) == len(SLIDES) + 2


def test_the_lectures_after_the_talk_exist_with_their_sections():
    for topic in AFTER_THE_TALK:
        for stem, section in topic.where:
            assert (ROOT / "lectures" / f"{stem}.ipynb").exists(), stem
            assert any(h.startswith(section) for h in _headings(stem)), (topic.title, section)
    assert not {t.title for t in AFTER_THE_TALK} & {s.title for s in SLIDES}  # not slides
    assert len(after_table().splitlines()) == len(AFTER_THE_TALK) + 2
