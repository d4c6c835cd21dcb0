"""Scratch memory reused from call to call (:func:`workspace_array`)."""

from __future__ import annotations

import numpy as np


def workspace_array(work: dict | None, name: str, shape: tuple, dtype) -> np.ndarray:
    """An uninitialised array of ``shape`` and ``dtype``: new without a workspace, else the one
    the dict ``work`` holds under ``name`` (made on first use, or when the shape changes).

    A workspace is scratch memory its owner reuses from call to call (training's velocity
    field, the flow engine's noise: the same arrays every minibatch step, warm in the cache
    and without page faults); an array taken from it is overwritten by the owner's next call."""
    if work is None:
        return np.empty(shape, dtype)
    a = work.get(name)
    if a is None or a.shape != shape or a.dtype != dtype:
        a = work[name] = np.empty(shape, dtype)
    return a
