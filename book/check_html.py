"""Markup that reached a built page of the book unrendered: ``python book/check_html.py DIR``.

A page's visible text (outside code, preformatted blocks and typeset math) should not hold

* table pipes: a line ``| a | b |`` or a separator ``|---|---|`` (a Markdown table that was
  rendered as a paragraph, as CommonMark renders a ``text/markdown`` output);
* ``$`` math: ``$\\phi$`` or ``$$ ... $$`` left as text (MathJax typesets only what Sphinx marked);
* MyST roles and directives: ``{cite}`key```, ``{doc}``, a line ````{note}`` or ``:::{...}``.

:func:`unrendered_markup` lists what it finds in one page; ``make test-book`` fails on any.
"""

from __future__ import annotations

import re
import sys
from html.parser import HTMLParser
from pathlib import Path

#: elements whose text is code or math, not prose (their content is not checked)
SKIPPED_TAGS = {"pre", "code", "script", "style", "textarea", "kbd", "samp"}
#: classes of elements that hold code or typeset math
SKIPPED_CLASSES = {"math", "highlight", "MathJax", "mjx-container", "cell_input", "nohighlight"}
VOID = {"br", "hr", "img", "input", "meta", "link", "wbr", "source", "area", "base", "col"}

TABLE_ROW = re.compile(r"^\s*\|(?:[^|\n]*\|){2,}\s*$", re.M)
TABLE_RULE = re.compile(r"\|\s*:?-{3,}:?\s*\|")
DOLLAR_MATH = re.compile(r"\$\$?[^$\s][^$]*?\$\$?")
ROLE = re.compile(r"\{[a-z][\w:.+-]*\}`")
DIRECTIVE = re.compile(r"^\s*(?:```|:::)\s*\{?[a-z]", re.M)


class _VisibleText(HTMLParser):
    """The page's text outside skipped elements, with line breaks where blocks end; a role's
    name followed by a ``<code>`` element is kept as ``{name}`` followed by a backtick."""

    def __init__(self):
        super().__init__(convert_charrefs=True)
        self.parts: list[str] = []
        self.stack: list[bool] = []  # per open element: is it (or an ancestor) skipped?

    def _skipped(self) -> bool:
        return bool(self.stack) and self.stack[-1]

    def handle_starttag(self, tag, attrs):
        if tag in VOID:
            if tag == "br":
                self.parts.append("\n")
            return
        classes = set((dict(attrs).get("class") or "").split())
        skip = self._skipped() or tag in SKIPPED_TAGS or bool(classes & SKIPPED_CLASSES)
        if tag == "code" and not self._skipped():
            self.parts.append("`")  # marks where inline code begins, for a role before it
        self.stack.append(skip)
        if tag in ("p", "div", "li", "tr", "td", "th", "h1", "h2", "h3", "h4", "dd", "dt"):
            self.parts.append("\n")

    def handle_endtag(self, tag):
        if tag in VOID:
            return
        if self.stack:
            self.stack.pop()
        if tag in ("p", "div", "li", "tr", "h1", "h2", "h3", "h4", "dd", "dt", "pre"):
            self.parts.append("\n")

    def handle_data(self, data):
        if not self._skipped():
            self.parts.append(data)

    def text(self) -> str:
        return "".join(self.parts)


def visible_text(html: str) -> str:
    parser = _VisibleText()
    parser.feed(html)
    return parser.text()


def unrendered_markup(html: str) -> list[str]:
    """What in the page's visible text is Markdown or MyST that was not rendered."""
    text = visible_text(html)
    found = []
    for line in text.splitlines():
        line = line.strip()
        if TABLE_ROW.search(line) or TABLE_RULE.search(line):
            found.append(f"table pipes: {line[:80]!r}")
        found += [f"$ math: {m.group(0)[:80]!r}" for m in DOLLAR_MATH.finditer(line)]
        found += [f"MyST role: {m.group(0)!r} in {line[:80]!r}" for m in ROLE.finditer(line)]
        if DIRECTIVE.search(line):
            found.append(f"MyST directive: {line[:80]!r}")
    return found


def main(argv=None) -> int:
    root = Path((argv or sys.argv[1:] or ["build/book"])[0])
    bad = 0
    for page in sorted(root.rglob("*.html")):
        if "_static" in page.parts or "_sources" in page.parts:
            continue
        for problem in unrendered_markup(page.read_text(encoding="utf-8")):
            print(f"{page.relative_to(root)}: {problem}")
            bad += 1
    return 1 if bad else 0


if __name__ == "__main__":
    raise SystemExit(main())
