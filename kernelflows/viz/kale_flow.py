"""Plots of the KALE flow experiments: the three-rings grid and the mixture comparison."""

from __future__ import annotations

import numpy as np

from ..experiments.metrics import max_distance_to_target
from .flows import frame_indices
from .style import new_figure, scatter_particles

#: The three-rings window in the swapped coordinates (horizontal = y, vertical = x).
THREE_RINGS_WINDOW = ((-2.05, 0.55), (-0.7, 0.7))


def _rings_panel(ax, particles, Y, window=THREE_RINGS_WINDOW) -> int:
    """Target and particles with the coordinates swapped, as in the paper (the rings, stacked
    along y, lie horizontally); returns the number of particles outside the window."""
    scatter_particles(
        ax, particles, Y, s=3, swap_axes=True, labels=("target", "particles"), aspect=None
    )
    (h0, h1), (v0, v1) = window
    ax.set_xlim(h0, h1)
    ax.set_ylim(v0, v1)
    ax.set_aspect("equal")
    ax.set_xticks([])
    ax.set_yticks([])
    inside = (particles[:, 1] >= h0) & (particles[:, 1] <= h1)
    inside &= (particles[:, 0] >= v0) & (particles[:, 0] <= v1)
    return int(np.sum(~inside))


def three_rings_grid(out, frames, rows=None):
    """The 2 x len(frames) grid of Glaser, Arbel, Gretton (NeurIPS 2021), Figure 1.

    ``out`` is a :class:`kernelflows.experiments.ThreeRingsRuns`; ``rows`` maps
    its run names to row labels (default: KALE flow on top, the MMD-like run below). Each panel
    prints the largest distance from a particle to the nearest target point, and how many
    particles fall outside the window.
    """
    rows = rows or {
        "kale": r"KALE flow, $\lambda = 10^{-3}$",
        "mmd": r"MMD flow (KALE, $\lambda = 10^4$)",
    }
    Y = out.Y
    fig, axes = new_figure(len(frames), len(rows), width=2.3, height=1.55, squeeze=False)
    for r, (name, label) in enumerate(rows.items()):
        res = out.runs[name]
        for c, k in enumerate(frame_indices(res, frames)):
            X = res.trajectory[k]
            ax = axes[r, c]
            outside = _rings_panel(ax, X, Y)
            text = f"max dist {max_distance_to_target(X, Y):.3f}"
            if outside:
                text += f", {outside} off-panel"
            ax.text(0.02, 0.03, text, transform=ax.transAxes, fontsize=6, color="0.3")
            if r == 0:
                ax.set_title(f"step {int(res.steps[k])}", fontsize=8)
            if c == 0:
                ax.set_ylabel(label, fontsize=7)
    axes[0, 0].legend(fontsize=6, loc="upper left", markerscale=2, frameon=False)
    return fig, axes


def mixture_panels(out, names=None, step: int | None = None):
    """Particles (red) over the mixture target (blue) at ``step`` (default: the last), one panel
    per run of :func:`kernelflows.experiments.mixture_experiment`, with the MMD to the target."""
    names = list(names or out.runs)
    Y = out.Y
    fig, axes = new_figure(len(names), 1, width=2.2, height=2.2, squeeze=False)
    for ax, name in zip(axes[0], names, strict=True):
        res = out.runs[name]
        frame = frame_indices(res, [res.steps[-1] if step is None else step])[0]
        X = res.trajectory[frame]
        scatter_particles(ax, X, Y, s=4, labels=None, aspect=None)
        ax.set_xlim(-1.0, 2.8)
        ax.set_ylim(-1.0, 2.8)
        ax.set_aspect("equal")
        ax.set_xticks([])
        ax.set_yticks([])
        ax.set_title(name, fontsize=7)
        ax.text(0.03, 0.03, f"MMD {out.mmd[name][frame]:.3f}", transform=ax.transAxes, fontsize=6)
    return fig, axes


def mmd_curves(ax, out, names=None):
    """MMD to the target against flow time, log scale, one line per run."""
    for name in names or out.runs:
        res = out.runs[name]
        ax.plot(res.times, out.mmd[name], label=name, lw=1.2)
    ax.set_yscale("log")
    ax.set_xlabel("flow time t = step x n")
    ax.set_ylabel("MMD to the target")
    ax.legend(fontsize=6)
    return ax
