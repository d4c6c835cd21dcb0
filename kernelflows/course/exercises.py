"""The exercise anatomy: which cells of a lecture make up each exercise.

Every lecture from 01 on ends with ``## Exercises``. Exercise K is, in order:

1. its statement, a markdown cell starting ``**Exercise K (easy|medium|real).**``;
2. its setup, one code cell tagged ``exercise-setup`` right after the statement, with every import
   and every piece of data the exercise uses; it depends on nothing else in the notebook;
3. its solution cell(s), code cells tagged ``solution``, defining the function(s) the statement
   names from the setup's names and their own imports;
4. optionally an answer, a markdown cell tagged ``answer`` (the model answer to a "Predict ..." or
   "Why ..." question; not graded automatically);
5. its test, one code cell that calls the exercise's ``check_*`` function(s) first.

So setup -> solution(s) -> test of one exercise run correctly in a fresh kernel, whatever any
other cell did: the grader runs each exercise that way. :func:`exercises` finds the cells of each
exercise (leniently: tags and check calls, as the marks are derived); :func:`anatomy_problems`
lists, in plain words, where a lecture departs from the anatomy (the tests require none).
"""

from __future__ import annotations

import ast
import builtins
import re
import symtable
from dataclasses import dataclass, field

SETUP_TAG = "exercise-setup"
SOLUTION_TAG = "solution"
ANSWER_TAG = "answer"
STATEMENT = re.compile(r"^\s*\*\*Exercise (\d+) \((easy|medium|real)\)\.\*\*")
#: Names a cell may read without defining them: Python's builtins and IPython's.
AMBIENT = frozenset(dir(builtins)) | {"display", "get_ipython", "__file__"}

__all__ = [
    "SETUP_TAG",
    "SOLUTION_TAG",
    "ANSWER_TAG",
    "Exercise",
    "exercises",
    "anatomy_problems",
    "calls_check",
    "check_names",
    "names_of",
    "source",
]


@dataclass(frozen=True)
class Exercise:
    """The cells (indices into ``nb["cells"]``) of exercise ``number``."""

    number: int
    statement: int | None = None
    setup: int | None = None
    solutions: tuple[int, ...] = ()
    answer: int | None = None
    test: int | None = None
    others: tuple[int, ...] = field(default=())  # untagged code cells between statement and test


def source(cell: dict) -> str:
    src = cell.get("source", "")
    return "".join(src) if isinstance(src, list) else str(src)


def _tags(cell: dict) -> list:
    tags = (cell.get("metadata") or {}).get("tags", [])
    return tags if isinstance(tags, list) else []


def _parse(src: str) -> ast.Module | None:
    try:
        return ast.parse(_without_magics(src))
    except SyntaxError:
        return None


def _without_magics(src: str) -> str:
    """``src`` with IPython's ``%``/``!`` lines blanked, so that ``ast`` can read the rest."""
    return "\n".join("" if ln.lstrip().startswith(("%", "!")) else ln for ln in src.split("\n"))


def check_names(src: str) -> list[str]:
    """The ``check_*`` functions called by name in ``src``, in order of first call."""
    tree = _parse(src)
    if tree is None:
        return []
    names = []
    for node in ast.walk(tree):
        if (
            isinstance(node, ast.Call)
            and isinstance(node.func, ast.Name)
            and node.func.id.startswith("check_")
            and node.func.id not in names
        ):
            names.append(node.func.id)
    return names


def calls_check(src: str) -> bool:
    return bool(check_names(src))


def role(cell: dict) -> str:
    """ "statement", "setup", "solution", "answer", "test", "code" or "markdown"."""
    kind, tags = cell.get("cell_type"), _tags(cell)
    if kind == "code":
        if SETUP_TAG in tags:
            return "setup"
        if SOLUTION_TAG in tags:
            return "solution"
        return "test" if calls_check(source(cell)) else "code"
    if kind == "markdown":
        if ANSWER_TAG in tags:
            return "answer"
        return "statement" if STATEMENT.match(source(cell)) else "markdown"
    return "other"


def exercises(nb: dict) -> list[Exercise]:
    """The exercises of the notebook ``nb`` (parsed JSON), numbered 1, 2, ... in order of their
    test cells; an exercise's cells are those after the previous test cell (or after its
    statement, when there is one) up to its own test cell."""
    cells = nb.get("cells") or []
    found, current = [], {}
    for i, cell in enumerate(cells):
        kind = role(cell)
        if kind == "statement":
            current = {"statement": i}
        elif kind == "setup":
            current.setdefault("setup", i)
        elif kind == "solution":
            current.setdefault("solutions", []).append(i)
        elif kind == "answer":
            current.setdefault("answer", i)
        elif kind == "code" and ("statement" in current or "setup" in current):
            current.setdefault("others", []).append(i)
        elif kind == "test":
            found.append(
                Exercise(
                    number=len(found) + 1,
                    statement=current.get("statement"),
                    setup=current.get("setup"),
                    solutions=tuple(current.get("solutions", [])),
                    answer=current.get("answer"),
                    test=i,
                    others=tuple(current.get("others", [])),
                )
            )
            current = {}
    return found


def names_of(src: str) -> tuple[set[str], set[str]]:
    """(names read from the cell's global namespace, names it binds there), from Python's
    symbol tables: module-level reads and writes, and the globals its functions read."""
    try:
        top = symtable.symtable(_without_magics(src), "cell", "exec")
    except SyntaxError:
        return set(), set()
    reads, binds = set(), set()
    for sym in top.get_symbols():
        if sym.is_assigned() or sym.is_imported() or sym.is_namespace():
            binds.add(sym.get_name())
        if sym.is_referenced():
            reads.add(sym.get_name())
    stack = list(top.get_children())
    while stack:
        table = stack.pop()
        for sym in table.get_symbols():
            if sym.is_global() and sym.is_referenced():
                reads.add(sym.get_name())
        stack.extend(table.get_children())
    return reads, binds


def _undefined(cells: list[str]) -> dict[str, int]:
    """Names each cell of ``cells`` (run in order in a fresh namespace) reads without any of
    them (or itself) binding it: {name: index of the first cell that reads it}."""
    bound, missing = set(AMBIENT), {}
    for k, src in enumerate(cells):
        reads, binds = names_of(src)
        for name in sorted(reads - bound - binds):
            missing.setdefault(name, k)
        bound |= binds
    return missing


def anatomy_problems(nb: dict, lecture: int) -> list[str]:
    """Where the notebook departs from the exercise anatomy, one sentence each (empty: none)."""
    cells = nb.get("cells") or []
    problems = []
    where = f"lecture {lecture:02d}"
    exs = exercises(nb)
    if not exs:
        return [f"{where}: no exercise (no cell calls a check_* function)"]
    statements = [i for i, c in enumerate(cells) if role(c) == "statement"]
    if len(statements) != len(exs):
        problems.append(f"{where}: {len(statements)} statements for {len(exs)} check cells")
    for ex in exs:
        at = f"{where}, exercise {ex.number}"
        if ex.statement is None:
            problems.append(f"{at}: no statement cell '**Exercise {ex.number} (...).**'")
            continue
        number = int(STATEMENT.match(source(cells[ex.statement])).group(1))
        if number != ex.number:
            problems.append(f"{at}: the statement is numbered {number}")
        if ex.setup != ex.statement + 1:
            problems.append(f"{at}: the cell after the statement is not its '{SETUP_TAG}' cell")
        if not ex.solutions:
            problems.append(f"{at}: no cell tagged '{SOLUTION_TAG}'")
        elif ex.setup is not None and min(ex.solutions) < ex.setup:
            problems.append(f"{at}: a solution cell comes before the setup cell")
        if ex.answer is not None and not (max(ex.solutions, default=-1) < ex.answer < ex.test):
            problems.append(f"{at}: the answer cell is not between the solutions and the test")
        if ex.others:
            problems.append(f"{at}: untagged code cells {list(ex.others)} inside the exercise")
        if ex.setup is None:
            continue
        group = [ex.setup, *ex.solutions, ex.test]
        missing = _undefined([source(cells[i]) for i in group])
        for name, k in missing.items():
            kind = ["setup", *(["solution"] * len(ex.solutions)), "test"][k]
            problems.append(
                f"{at}: the {kind} cell reads {name!r}, which neither the exercise's setup nor "
                "its solution or test cells define"
            )
        test_src = source(cells[ex.test])
        first = _parse(test_src)
        calls = check_names(test_src)
        if first is not None and calls:
            head = [n for n in first.body if not isinstance(n, ast.Import | ast.ImportFrom)]
            if not head or not any(
                isinstance(n, ast.Call) and getattr(n.func, "id", "") in calls
                for n in ast.walk(head[0])
            ):
                problems.append(f"{at}: the test cell does not start with its check call")
    # no cell of one exercise may read what only another exercise's cells define: with every
    # exercise closed (above), this holds; the test cells must not define what later cells read
    return problems
