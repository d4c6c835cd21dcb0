"""The flows' progress bars: shown when a flow is asked (``progress=True``) or inside
:func:`flow_progress` (the experiments' runner shows each piece's steps this way).

:func:`~kernelflows.flows.run_flow` opens one bar per run (:func:`progress_bar`) and puts the last
recorded loss on it (:func:`show_loss`); nothing else in the package draws a flow's progress.
"""

from __future__ import annotations

import contextlib
import contextvars

__all__ = ["flow_progress", "progress_bar", "show_loss"]

#: The progress bars asked for by :func:`flow_progress` (its label and bar position), or None.
_PROGRESS: contextvars.ContextVar[tuple[str, int | None] | None] = contextvars.ContextVar(
    "kernelflows_flow_progress", default=None
)


@contextlib.contextmanager
def flow_progress(label: str = "", *, position: int | None = None):
    """Show a progress bar for every flow run in this block, even where ``progress=False``
    was passed (the experiments' runner shows each piece's steps this way): the bar's
    description starts with ``label``; ``position`` is its line among several bars (a worker
    process's own line)."""
    token = _PROGRESS.set((str(label), position))
    try:
        yield
    finally:
        _PROGRESS.reset(token)


def progress_bar(n_steps: int, progress: bool, desc: str):
    """The run's progress bar (tqdm.auto: a terminal bar or a JupyterLab widget; disabled
    unless asked): steps, time left, and the loss and epoch as they are recorded."""
    from tqdm.auto import tqdm

    asked = _PROGRESS.get()
    label, position = asked if asked is not None else ("", None)
    return tqdm(
        total=n_steps,
        disable=not (progress or asked is not None),
        desc=f"{label}: {desc}" if label else desc,
        unit="step",
        leave=False,
        position=position,
        mininterval=0.5,
        dynamic_ncols=True,
    )


def show_loss(bar, n: int, loss: float, per_epoch) -> None:
    """Put the last recorded loss (and the epoch, for a field with ``steps_per_epoch``) on the
    bar, when it is shown."""
    if not bar.disable:
        epoch = f"epoch {n // per_epoch}, " if per_epoch else ""
        bar.set_postfix_str(f"{epoch}loss {loss:.4g}", refresh=False)
