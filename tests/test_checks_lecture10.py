"""Lecture 10 checks: the right answer passes, mistakes get their words (a stub:
test_checks.py, over every check)."""

import numpy as np
import pytest

from kernelflows.course.checks import CheckFailed, check_ex10_1_modes_covered
from kernelflows.experiments import mode_fractions


def modes_covered(X, means, threshold):
    return int(np.sum(mode_fractions(X, means) >= threshold))


def test_right_answer_passes(capsys):
    check_ex10_1_modes_covered(modes_covered)
    assert "agree" in capsys.readouterr().out


@pytest.mark.parametrize(
    "wrong, words",
    [
        (lambda X, m, t: int(np.sum(mode_fractions(X, m) > t)), "use >="),
        (lambda X, m, t: int(np.sum(mode_fractions(X, m) * len(X) >= t)), "count / n"),
        (lambda X, m, t: int(np.sum(mode_fractions(X, m) > 0)), "any particle"),
        (lambda X, m, t: 99, "the answer is"),
    ],
)
def test_mistakes(wrong, words):
    with pytest.raises(CheckFailed, match=words):
        check_ex10_1_modes_covered(wrong)
