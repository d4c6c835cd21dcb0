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


def scatter_particles(ax, particles, data=None, s: float = 6.0, swap_axes: bool = False):
    """Target samples ("Data") in blue and particles in red, on equal axes."""
    cols = (1, 0) if swap_axes else (0, 1)
    if data is not None:
        data = np.asarray(data)
        ax.scatter(
            data[:, cols[0]], data[:, cols[1]], s=s, c=COLORS["data"], label="Data", linewidths=0
        )
    particles = np.asarray(particles)
    ax.scatter(
        particles[:, cols[0]],
        particles[:, cols[1]],
        s=s,
        c=COLORS["particles"],
        label="Particles",
        linewidths=0,
    )
    ax.set_aspect("equal", adjustable="datalim")
    return ax


def reduced_scale_note(fig, text: str) -> None:
    """Write on the figure that it was drawn at a reduced scale, and which."""
    # a figure-level x label: constrained layout keeps room for it below the axes
    fig.supxlabel(text, fontsize=7, color="0.35")
