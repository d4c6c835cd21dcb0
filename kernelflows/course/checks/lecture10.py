"""Checks for the exercises of lecture 10 (beyond the talk).

* :func:`check_ex10_1_modes_covered` - the number of modes with at least a given fraction of
  the particles nearest to them (the coverage rule of the lecture's comparison).
"""

from __future__ import annotations

from collections.abc import Callable

import numpy as np

from ...experiments import mode_fractions
from .core import Outcome, call, exactly, ok, returned_number, run_cases

__all__ = ["check_ex10_1_modes_covered"]


def check_ex10_1_modes_covered(my_modes_covered: Callable) -> None:
    """Check ``my_modes_covered(X, means, threshold)``: how many rows of ``means`` have at least
    a fraction ``threshold`` of the particles X nearer to them than to any other mean."""
    name = "check_ex10_1_modes_covered"
    rng = np.random.default_rng(101)
    means4 = np.array([[0.0, 0.0], [0.0, 1.8], [1.8, 0.0], [1.8, 1.8]])
    one_sided = means4[[0] * 17 + [1] * 2 + [2]] + 0.1 * rng.normal(size=(20, 2))
    cases = [
        (means4[rng.integers(0, 4, 40)] + 0.2 * rng.normal(size=(40, 2)), means4, 0.05),
        (one_sided, means4, 0.1),  # 17, 2, 1, 0 of 20: exactly 0.1 on mode 1 counts
        (one_sided, means4, 0.05),  # 0.05 on mode 2 counts
        (rng.normal(size=(30, 1)) * 0.3 - 2.0, np.array([[-2.0], [2.0]]), 0.05),
        (rng.normal(size=(25, 3)), np.array([[0.0, 0.0, 0.0], [5.0, 5.0, 5.0]]), 0.2),
    ]

    def evaluate(case):
        X, means, threshold = case
        got = returned_number(name, call(name, my_modes_covered, X.copy(), means.copy(), threshold))
        f = mode_fractions(X, means)
        want = int(np.sum(f >= threshold))

        def mistakes():
            return [
                (int(np.sum(f > threshold)), "a mode with exactly the threshold fraction counts "
                 "as covered: use >="),
                (int(np.sum(f > 0)), "you counted every mode with any particle nearest to it: "
                 "compare the fraction of particles (count / n) with the threshold"),
                (want / len(means), "you returned the fraction of the modes covered: return "
                 "their number"),
            ]  # fmt: skip

        where = f"for n = {len(X)}, {len(means)} modes, threshold {threshold}"
        return Outcome(got, want, where, mistakes, sizes={"modes": len(means)},
                       same=exactly)  # fmt: skip

    def generic(outcome):
        f = np.round(mode_fractions(*outcome.case[:2]), 3)
        return f"you returned {outcome.got:g}, the answer is {outcome.want} (fractions {f})"

    count = run_cases(name, cases, evaluate, generic)
    ok(name, f"all {count} cases agree with the coverage rule.")
