"""The committed lecture outputs print no value at round-off level (|x| < 1e-10 with decimals):
such a number is floating-point noise standing in for an exact zero, and changes from machine
to machine. Cells whose source says NBVAL_IGNORE_OUTPUT are exempt."""

from __future__ import annotations

import json
import re
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]
LECTURES = sorted((ROOT / "lectures").glob("*.ipynb"))

#: d.ddde-11 and smaller (exponents 11 to 999), and 0.0000000000d (ten zeros, then a digit).
ROUND_OFF = re.compile(r"\b\d\.\d+[eE]-0*(1[1-9]|[2-9]\d|[1-9]\d\d)\b|(?<![\d.])0\.0{10,}[1-9]")


def _texts(cell: dict):
    for out in cell.get("outputs", []):
        if "text" in out:
            yield "".join(out["text"])
        for mime, value in out.get("data", {}).items():
            if mime.startswith("text/"):
                yield "".join(value) if isinstance(value, list) else str(value)


def round_off_values(nb: dict) -> list[tuple[int, str]]:
    """(cell index, matched text) of every round-off level value printed by a code cell."""
    found = []
    for i, cell in enumerate(nb.get("cells", [])):
        source = "".join(cell.get("source", ""))
        if cell.get("cell_type") != "code" or "NBVAL_IGNORE_OUTPUT" in source:
            continue
        for text in _texts(cell):
            found += [(i, m.group(0)) for m in ROUND_OFF.finditer(text)]
    return found


def _nb(text, source="print(x)"):
    out = {"output_type": "stream", "name": "stdout", "text": [text]}
    return {"cells": [{"cell_type": "code", "source": source, "outputs": [out]}]}


@pytest.mark.parametrize(
    "text, bad",
    [
        ("gap 3.2e-14", True),
        ("-1.0e-17", True),
        ("1.234E-200", True),
        ("0.00000000000042", True),
        ("MMD^2 = 0.0123", False),
        ("1.5e-10", False),  # >= 1e-10: a real, if small, number
        ("tol=1e-12", False),  # no decimals: a setting, not a computed value
        ("0.0000000001", False),  # 1e-10
    ],
)
def test_the_scanner_flags_round_off(text, bad):
    assert bool(round_off_values(_nb(text))) is bad
    assert not round_off_values(_nb(text, "# NBVAL_IGNORE_OUTPUT\nprint(x)"))


@pytest.mark.parametrize("path", LECTURES, ids=[p.stem for p in LECTURES])
def test_no_round_off_values_in_committed_outputs(path):
    found = round_off_values(json.loads(path.read_text()))
    assert not found, "; ".join(f"{path.name} cell {i}: {text!r}" for i, text in found)
