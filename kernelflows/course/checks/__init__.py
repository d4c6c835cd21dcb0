"""Automatic checks for the exercises: call one on your own implementation.

Each ``check_*`` function runs a student's function (or answer) on random and edge-case inputs,
compares it with the package, and either prints a one-line success message or raises
:class:`CheckFailed` saying in plain words what is wrong (the biased estimator where the
unbiased one was asked for, a transposed kernel matrix, the sign of the velocity, a missing
(1 + lambda), ...). A function that is still the assignment's stub gets :class:`NotImplementedYet`.

What every check shares lives in :mod:`kernelflows.course.checks.core`, the checks several
lectures use in :mod:`kernelflows.course.checks.shared`, the checks of each lecture's exercises
in ``kernelflows.course.checks.lectureNN``. Everything is importable from
``kernelflows.course.checks``.
"""

import importlib as _importlib
import pkgutil as _pkgutil

from .core import CheckFailed, NotImplementedYet
from .shared import (
    check_gram,
    check_kale,
    check_mmd2,
    check_mmd_flow_step,
    check_witness,
)

__all__ = [
    "CheckFailed",
    "NotImplementedYet",
    "check_gram",
    "check_kale",
    "check_mmd2",
    "check_mmd_flow_step",
    "check_witness",
]

# Lecture modules define their checks with names starting "check_"; export them all here.
for _info in sorted(_pkgutil.iter_modules(__path__), key=lambda i: i.name):
    if _info.name.startswith("lecture"):
        _module = _importlib.import_module(f"{__name__}.{_info.name}")
        for _name in getattr(_module, "__all__", []):
            globals()[_name] = getattr(_module, _name)
            __all__.append(_name)
