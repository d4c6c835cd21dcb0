"""Checks for the exercises of lecture 10 (beyond the talk).

* :func:`check_ex10_1_modes_covered` - the number of modes with at least a given fraction of
  the particles nearest to them (the coverage rule of the lecture's comparison).
"""

from __future__ import annotations

from collections.abc import Callable

import numpy as np

from ...experiments import mode_fractions
from .core import CheckFailed, call, ok, returned_number

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
    for X, means, threshold in cases:
        got = returned_number(name, call(name, my_modes_covered, X.copy(), means.copy(), threshold))
        f = mode_fractions(X, means)
        want = int(np.sum(f >= threshold))
        if got == want:
            continue
        if got == int(np.sum(f > threshold)):
            hint = "a mode with exactly the threshold fraction counts as covered: use >="
        elif got == int(np.sum(f > 0)):
            hint = (
                "you counted every mode with any particle nearest to it: compare the fraction "
                "of particles (count / n) with the threshold"
            )
        else:
            hint = f"you returned {got:g}, the answer is {want} (fractions {np.round(f, 3)})"
        raise CheckFailed(
            f"{name}: for n = {len(X)}, {len(means)} modes, threshold {threshold}: {hint}."
        )
    ok(name, f"all {len(cases)} cases agree with the coverage rule.")
