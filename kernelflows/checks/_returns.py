"""Plain-words conversion of what a student's function returned (None, NaN, wrong type)."""

from __future__ import annotations

import numpy as np

from .core import CheckFailed, as_float


def returned_array(name: str, value, what: str = "your function") -> np.ndarray:
    """``value`` as a float array; None, non-numbers and NaN/inf raise :class:`CheckFailed`."""
    if value is None:
        raise CheckFailed(f"{name}: {what} returned None: is the `return` line missing?")
    try:
        arr = np.asarray(value, dtype=float)
    except (TypeError, ValueError) as exc:
        raise CheckFailed(
            f"{name}: {what} returned a {type(value).__name__}, not numbers: {exc}"
        ) from exc
    if not np.all(np.isfinite(arr)):
        raise CheckFailed(f"{name}: {what} returned NaN or inf: {np.round(arr, 6).tolist()}")
    return arr


def returned_number(name: str, value, what: str = "your function") -> float:
    """One finite number from ``value`` (see :func:`returned_array`)."""
    return as_float(name, returned_array(name, value, what))
