"""Every number a lecture's prose states is computed in it, or quoted from a paper.

``python tests/lecture_numbers.py`` prints, per notebook under ``lectures/`` (lectures and
appendices alike), the numbers of its markdown cells that nothing backs, each with its sentence;
``--shrink`` removes from ``tests/lecture_numbers_allowed.json`` the numbers that are backed now
(it never adds any). ``tests/test_lecture_numbers.py`` fails on a number that is neither backed
nor in that list, and on a listed number that is backed now (remove it: the list only shrinks).

What counts as a number. In a markdown cell, after dropping code (fenced blocks and inline
code spans), HTML comments, link targets, images, MyST roles' targets (``{cite}`key```,
``{doc}`...```, ``{eq}`...```) and LaTeX labels (``\\label{..}``, ``\\tag{..}``), a *number* is a
token of digits, with an optional decimal part and an optional exponent (``0.236``, ``3000``,
``1e-4``; ``10^{5}`` and ``10^5`` as 1e5; ``2.8 \\times 10^{-3}`` as 2.8e-3), that stands alone:
not glued to a letter, an underscore or a backslash command (``W_1``, ``L^2``, ``k(2a)``,
``x_1``, ``\\mathbb{R}^2``, ``00_overview``). Not numbers, because they label rather than state:

* integers from 0 to 10 (counts, dimensions, indices, small constants of formulas: ``1/2``,
  ``d = 2``, ``4 modes``) and exponents and subscripts (a token right after ``^`` or ``_``);
* two-digit tokens with a leading zero (``01``-``10``: lecture numbers in this course);
* section, lecture, exercise, figure, slide, step, equation and statement numbers: a token right
  after one of those words (``section 3``, ``Exercise 2``, ``Proposition 8``, ``Section 2.2``,
  ``eq. (4)``) or an equation number in parentheses ``(12)`` after "eq"/"equation";
* years (1900-2099 integers), a journal's volume before its year (``JMLR 13, 2012``), and
  list or heading numbers (``1.`` starting a line).

What backs a number ``x`` written with ``p`` decimal places:

* an output (stream, ``text/plain``, ``text/markdown``, ``text/html``) of the same section
  (from one level 1-2 heading to the next) printing a number with at least ``p`` decimals that
  rounds to ``x`` at ``p`` decimals, or an output anywhere in the notebook printing it with
  exactly ``p`` decimals (a summary restating a result). Signs are ignored ("falls by 0.3"
  against an output of -0.3); for ``1e-4``-style tokens the mantissa's digits are the
  precision, and a percentage ``90%`` may be printed as the fraction 0.90. Rounding anything
  printed anywhere would let coincidences through (a ratio "2.3" backed by an unrelated
  "2.29");
* a literal of the same value in a code cell of the notebook: a setting the code uses
  (``n = 200``, ``step=1e-3``), not a result;
* a citation in the same sentence: a MyST ``{cite}`` role (``{cite}`arbel2019mmdflow```,
  ``{cite:p}``, ``{cite:t}``), the marker of a number quoted from a paper. It renders as a
  linked reference in the book and stays legible in JupyterLab (the role shows as typed).

A number put into the prose by myst-nb's ``glue`` (``{glue:text}`name```) has no digits in the
source and is not checked; but JupyterLab shows the role, not the number, so the course writes
the number and prints it in an output instead.
"""

from __future__ import annotations

import argparse
import json
import re
import sys
from collections import Counter
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
ALLOWED = Path(__file__).with_name("lecture_numbers_allowed.json")

LABEL_WORDS = (
    r"lectures?|sections?|sec\.|exercises?|ex\.|figures?|fig\.|slides?|steps?|chapters?|parts?|"
    r"equations?|eqs?\.|propositions?|prop\.|lemmas?|theorems?|thm\.|corollary|corollaries|"
    r"assumptions?|definitions?|remarks?|cells?|tables?|appendix|appendices|questions?|"
    r"examples?|algorithms?|items?|points?|problems?"
)
NUMBER = re.compile(
    r"(?<![\w\\.^_])(?<!\^\{)(?<!_\{)"  # not glued to a word, a command, ^ or _
    r"(?P<mant>\d+(?:\.\d+)?)"
    r"(?:(?P<e>[eE][-+]?\d+)|\s*(?:\\times|\\cdot|x|×)\s*10\^\{?(?P<p>[-+]?\d+)\}?)?"
    r"(?![\w])"
)
POWER_OF_TEN = re.compile(r"(?<![\w\\.])10\^\{?(?P<p>[-+]?\d+)\}?")
OUTPUT_NUMBER = re.compile(r"(?<![\w.])[-+]?(?P<mant>\d+(?:\.\d+)?)(?P<e>[eE][-+]?\d+)?(?![\w])")
CODE_NUMBER = re.compile(r"(?<![\w.])(?P<num>\d[\d_]*(?:\.\d*)?(?:[eE][-+]?\d+)?)(?![\w])")
CITE = re.compile(r"\{cite(?::[a-z]+)?\}`[^`]*`")


def _text(src) -> str:
    return "".join(src) if isinstance(src, list) else (src or "")


def notebooks() -> list[Path]:
    """Every notebook under lectures/ (lectures and appendices), checkpoints left out."""
    paths = sorted((ROOT / "lectures").rglob("*.ipynb"))
    return [p for p in paths if ".ipynb_checkpoints" not in p.parts]


def _strip(markdown: str) -> str:
    """The prose of a markdown cell with code, comments, link targets and role targets removed
    (each replaced by a space, so that sentences keep their shape); citations are kept."""
    text = re.sub(r"```.*?```", " ", markdown, flags=re.S)
    text = re.sub(r"<!--.*?-->", " ", text, flags=re.S)
    text = re.sub(r"!\[[^\]]*\]\([^)]*\)", " ", text)
    text = re.sub(r"\]\([^)]*\)", "]", text)  # [words](target): keep the words
    text = re.sub(r"\{(?!cite)[a-z][\w:.-]*\}`[^`]*`", " ", text)  # {doc}`...`, {eq}`...`
    text = re.sub(r"(?<!\})`[^`]*`", " ", text)  # inline code (a role's target is kept above)
    text = re.sub(r"\\(?:label|tag|ref|eqref)\{[^}]*\}", " ", text)
    text = re.sub(r"https?://\S+", " ", text)
    return text


def _sentence_spans(text: str) -> list[tuple[int, int]]:
    """(start, end) of each sentence: ends at . ! ? : ; before a capital, at blank lines, and
    before list items."""
    ends = [
        m.start()
        for m in re.finditer(
            r"(?<=[.!?:;])\s+(?=[A-Z*\[$])|\n\s*\n|\n(?=\s*(?:[-*+|]|\d+\.)\s)", text
        )
    ]
    starts = [0, *ends]
    return list(zip(starts, [*ends, len(text)], strict=True))


def _is_label(sentence: str, start: int, token: str) -> bool:
    before = sentence[:start]
    if re.search(
        rf"(?:{LABEL_WORDS})\s*\(?\s*(?:\d+(?:\.\d+)*\s*(?:,|and|-|–)\s*)*$", before, re.I
    ):
        return True
    if re.search(r"(?:^|\n)\s*#*\s*$", before) and re.match(r"\d+\.(\s|$)", sentence[start:]):
        return True  # a heading or list number: "2. The witness", "1. Write ..."
    if re.search(r"\b(?:eq|equation)s?\.?\s*\($", before, re.I):
        return True
    after = sentence[start + len(token) :]
    if re.match(r",\s*(?:19|20)\d\d\b", after) or re.search(
        r"\b(?:vol|pp|no)\.?\s*$", before, re.I
    ):
        return True  # a journal's volume before the year, "vol. 13", "pp. 723"
    if re.fullmatch(r"\d+(?:\.\d+){2,}", token):  # 2.2.1 style numbering
        return True
    return False


def _value(match) -> tuple[float, int]:
    """(value, decimal places of the written precision) of a number token."""
    mant = match.group("mant")
    places = len(mant.split(".")[1]) if "." in mant else 0
    value = float(mant)
    groups = match.groupdict()
    exp = groups.get("e") or (groups.get("p") and f"e{groups['p']}")
    if exp:
        shift = int(exp[1:])
        value *= 10.0**shift
        places = places - shift
    return value, places


def prose_numbers(markdown: str) -> list[tuple[str, float, int, str, bool]]:
    """(token, value, decimal places, sentence, cited) for every number of a markdown cell."""
    text = _strip(markdown)
    spans = _sentence_spans(text)
    cites = [m.span() for m in CITE.finditer(text)]
    plain = CITE.sub(lambda m: " " * len(m.group(0)), text)  # same offsets, no key's digits

    def sentence_of(i):
        start, end = next((a, b) for a, b in spans if a <= i < b)
        cited = any(start <= c < end for c, _ in cites)
        return text[start:end].strip(), cited

    found, taken = [], []
    for m in POWER_OF_TEN.finditer(plain):  # 10^5, 10^{-3}: the values 1e5, 1e-3
        if re.search(r"(?:\\times|\\cdot|×|x)\s*$", plain[: m.start()]):
            continue  # the tail of 2.8 \times 10^{-3}, read with its mantissa below
        p = int(m.group("p"))
        found.append((m.start(), m.group(0), 10.0**p, -p))
        taken.append(m.span())
    for m in NUMBER.finditer(plain):
        mant = m.group("mant")
        if any(a <= m.start() < b for a, b in taken) or _is_label(plain, m.start(), mant):
            continue
        if re.fullmatch(r"0\d", mant):  # lecture numbers 00-09
            continue
        if "." not in mant and not (m.group("e") or m.group("p")):
            n = int(mant)
            if n <= 10 or 1900 <= n <= 2099:
                continue
        value, places = _value(m)
        token = m.group(0).strip()
        if plain[m.end() : m.end() + 2].lstrip().startswith("%"):
            token += "%"
        found.append((m.start(), token, value, places))
    out = []
    for start, token, value, places in sorted(found):
        sentence, cited = sentence_of(start)
        out.append((token, value, places, sentence, cited))
    return out


def _output_numbers(cells: list[dict]) -> list[tuple[float, int]]:
    """(|value|, decimal places printed) of every number in the outputs of these cells."""
    texts = []
    for cell in cells:
        for out in cell.get("outputs", []):
            texts.append(_text(out.get("text")))
            for kind in ("text/plain", "text/markdown", "text/html", "text/latex"):
                texts.append(_text(out.get("data", {}).get(kind)))
    numbers = []
    for text in texts:
        for m in OUTPUT_NUMBER.finditer(text):
            value, places = _value(m)
            numbers.append((abs(value), places))
    return numbers


def _code_literals(cells: list[dict]) -> set[float]:
    """|value| of every number literal in these cells' code."""
    values = set()
    for cell in cells:
        if cell["cell_type"] != "code":
            continue
        for m in CODE_NUMBER.finditer(_text(cell["source"])):
            try:
                values.add(abs(float(m.group("num").replace("_", ""))))
            except ValueError:
                continue
    return values


def _sections(nb: dict) -> list[int]:
    """The index of each cell's section: a markdown cell starting with a level 1-2 heading
    opens the next one."""
    index, out = 0, []
    for cell in nb["cells"]:
        if cell["cell_type"] == "markdown" and re.match(r"\s*#{1,2}\s", _text(cell["source"])):
            index += 1
        out.append(index)
    return out


def _rounds_to(value: float, places: int, outputs, exact: bool) -> bool:
    half = 0.5 * 10.0 ** (-places) * (1 + 1e-9)
    return any(
        (p == places if exact else p >= places) and abs(y - value) <= half for y, p in outputs
    )


def violations(path: Path) -> list[tuple[str, str]]:
    """(number as written, its sentence) for every unbacked number of a notebook's prose."""
    nb = json.loads(path.read_text())
    cells, sections = nb["cells"], _sections(nb)
    outputs, literals = _output_numbers(cells), _code_literals(cells)
    section_outputs = {
        s: _output_numbers([c for c, t in zip(cells, sections, strict=True) if t == s])
        for s in set(sections)
    }
    bad = []
    for cell, section in zip(cells, sections, strict=True):
        if cell["cell_type"] != "markdown":
            continue
        for token, value, places, sentence, cited in prose_numbers(_text(cell["source"])):
            forms = [(abs(value), places)]
            if token.endswith("%"):  # 90% is also 0.90 printed as a fraction
                forms.append((abs(value) / 100, places + 2))
            backed = cited or any(
                any(abs(v - x) <= 1e-12 * max(1.0, v) for x in literals)
                or _rounds_to(v, p, section_outputs[section], exact=False)
                or _rounds_to(v, p, outputs, exact=True)
                for v, p in forms
            )
            if not backed:
                bad.append((token, sentence))
    return bad


def allowed() -> dict[str, list[str]]:
    return json.loads(ALLOWED.read_text()) if ALLOWED.exists() else {}


def key(path: Path) -> str:
    return str(path.relative_to(ROOT / "lectures"))


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--shrink", action="store_true", help="drop backed numbers from the list")
    args = parser.parse_args(argv)
    allowance = allowed()
    total = 0
    kept = {}
    for path in notebooks():
        bad = violations(path)
        total += len(bad)
        print(f"{key(path)}: {len(bad)} unbacked number{'s' * (len(bad) != 1)}")
        for token, sentence in bad:
            print(f"    {token:>10}  {sentence[:150]!r}")
        left = Counter(allowance.get(key(path), [])) & Counter(t for t, _ in bad)
        if left:
            kept[key(path)] = sorted(left.elements(), key=lambda t: [t for t, _ in bad].index(t))
    print(f"{total} unbacked numbers in {len(notebooks())} notebooks")
    if args.shrink:
        ALLOWED.write_text(json.dumps(kept, indent=1, ensure_ascii=False) + "\n")
        print(f"wrote {ALLOWED.relative_to(ROOT)}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
