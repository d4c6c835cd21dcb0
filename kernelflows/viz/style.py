"""Plotting helpers shared by the figures and the lectures: one house style for every picture."""

from __future__ import annotations

import matplotlib.pyplot as plt
import numpy as np

#: Colours used throughout: target samples ("data") and moving particles, P and Q.
COLORS = {
    "data": "#1f77b4",
    "particles": "#d62728",
    "P": "#1f77b4",
    "Q": "#ff7f0e",
    "witness": "#2ca02c",
    "noise": "#9467bd",
}


def new_figure(ncols: int = 1, nrows: int = 1, width: float = 4.0, height: float = 3.2, **kw):
    """A figure with a grid of axes of the given per-panel size (constrained layout)."""
    fig, axes = plt.subplots(
        nrows, ncols, figsize=(width * ncols, height * nrows), layout="constrained", **kw
    )
    return fig, axes


def scatter_particles(
    ax,
    particles,
    data=None,
    *,
    s: float = 6.0,
    s_data: float | None = None,
    swap_axes: bool = False,
    labels=("Data", "Particles"),
    edges: bool = False,
    aspect: str | None = "datalim",
):
    """The one particle scatter: target samples in blue ("data") under the particles in red.

    ``s`` is the particles' marker size (``s_data`` the data's, default ``s``); ``swap_axes``
    plots (x2, x1) (the three-rings convention); ``labels`` name the two sets for a legend (None
    for none); ``edges=False`` draws markers without edge lines; ``aspect`` ("datalim", "box" or
    None) sets equal axes.
    """
    cols = (1, 0) if swap_axes else (0, 1)
    extra = {} if edges else {"linewidths": 0}
    data_label, particle_label = labels if labels is not None else (None, None)
    if data is not None:
        data = np.asarray(data)
        ax.scatter(
            data[:, cols[0]],
            data[:, cols[1]],
            s=s if s_data is None else s_data,
            c=COLORS["data"],
            label=data_label,
            **extra,
        )
    particles = np.asarray(particles)
    ax.scatter(
        particles[:, cols[0]],
        particles[:, cols[1]],
        s=s,
        c=COLORS["particles"],
        label=particle_label,
        **extra,
    )
    if aspect is not None:
        ax.set_aspect("equal", adjustable=aspect)
    return ax


def legend_below(ax, handles=None, labels=None, ncols: int = 2, fontsize: float = 7, offset=0.2):
    """A legend under the axes, clear of the data (constrained layout makes room for it).

    ``offset`` is the gap below the axes in axes fractions (room for tick labels and x label).
    """
    if handles is None:
        handles, labels = ax.get_legend_handles_labels()
    return ax.legend(
        handles,
        labels,
        loc="upper center",
        bbox_to_anchor=(0.5, -offset),
        ncols=ncols,
        fontsize=fontsize,
        frameon=False,
    )


def scale_stamp(fig, text: str) -> None:
    """A small grey stamp under everything else: the scale a figure was drawn at.

    It is the figure's x super-label (a second line under a :func:`reduced_scale_note`), so
    constrained layout keeps room for it and it never sits over the data.
    """
    note = fig._supxlabel.get_text() if fig._supxlabel is not None else ""
    fig.supxlabel(f"{note}\n{text}" if note else text, fontsize=6, color="0.4")


def reduced_scale_note(fig, text: str) -> None:
    """Write on the figure that it was drawn at a reduced scale, and which."""
    # a figure-level x label: constrained layout keeps room for it below the axes
    fig.supxlabel(text, fontsize=7, color="0.35")
