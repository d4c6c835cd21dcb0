"""Every module of the package stays at most MAX_LINES lines (README, developer notes): past
that, a concept moves to a module of its own."""

from pathlib import Path

PACKAGE = Path(__file__).resolve().parents[1] / "kernelflows"
MAX_LINES = 450


def test_every_module_of_the_package_is_at_most_450_lines():
    sizes = {p: len(p.read_text(encoding="utf-8").splitlines()) for p in PACKAGE.rglob("*.py")}
    assert len(sizes) > 50  # the walk found the package (not an empty folder)
    offenders = sorted(
        f"{p.relative_to(PACKAGE.parent)}: {n} lines" for p, n in sizes.items() if n > MAX_LINES
    )
    assert not offenders, f"modules over {MAX_LINES} lines: {offenders}"
