"""Plotting helpers for particle flows: frame strips, animations, velocity fields, loss curves."""

from __future__ import annotations

import matplotlib.pyplot as plt
import numpy as np
from matplotlib.animation import FuncAnimation

from ..flows import FlowResult, mmd2_along
from .style import scatter_particles

__all__ = [
    "field_grid",
    "flow_animation",
    "frame_indices",
    "frame_strip",
    "loss_plot",
    "quiver_field",
]


def frame_indices(result: FlowResult, frame_steps) -> list[int]:
    """Snapshot indices of ``result`` at (or just before) the requested step numbers."""
    idx = np.searchsorted(result.steps, np.asarray(frame_steps), side="right") - 1
    return [int(i) for i in np.clip(idx, 0, len(result.steps) - 1)]


def _limits(result: FlowResult, data, frames, pad=0.3):
    pts = np.concatenate([data] + [result.trajectory[i] for i in frames])
    lo, hi = pts.min(axis=0) - pad, pts.max(axis=0) + pad
    return (lo[0], hi[0]), (lo[1], hi[1])


def _clump_label(ax, particles):
    """Label a clump of coinciding particles (all within 1e-3); return the annotation or None."""
    if len(particles) > 1 and np.ptp(particles, axis=0).max() < 1e-3:
        return ax.annotate(
            f"all {len(particles)}\nparticles",
            particles[0],
            xytext=(12, 12),
            textcoords="offset points",
            fontsize=6,
            arrowprops={"arrowstyle": "->", "lw": 0.6},
        )
    return None


def _scatter(ax, particles, data):
    """Data small and blue, particles larger and red; a clump of coinciding particles labelled."""
    scatter_particles(ax, particles, data, s=9, s_data=2.5, aspect="box")
    return _clump_label(ax, particles)


def frame_strip(result: FlowResult, data, frame_steps, ncols: int = 6, size: float = 1.9):
    """A grid of scatter plots of the particles (red) over the data (blue) at the given steps.

    Returns ``(fig, axes)``; unused cells are left empty (and switched off) for the caller.
    """
    frames = frame_indices(result, frame_steps)
    nrows = int(np.ceil(len(frames) / ncols))
    fig, axes = plt.subplots(
        nrows, ncols, figsize=(size * ncols, size * nrows + 0.4), layout="constrained"
    )
    axes = np.atleast_1d(axes).ravel()
    xlim, ylim = _limits(result, data, frames)
    for ax, i in zip(axes, frames, strict=False):
        _scatter(ax, result.trajectory[i], data)
        ax.set_xlim(*xlim)
        ax.set_ylim(*ylim)
        ax.set_title(f"step {result.steps[i]}", fontsize=8)
        ax.set_xticks([])
        ax.set_yticks([])
    for ax in axes[len(frames) :]:
        ax.axis("off")
    return fig, axes


def flow_animation(result: FlowResult, data, frame_steps, title: str = ""):
    """A GIF-ready animation of the frames of :func:`frame_strip` (one panel)."""
    frames = frame_indices(result, frame_steps)
    fig, ax = plt.subplots(figsize=(3.6, 3.6), layout="constrained")
    xlim, ylim = _limits(result, data, frames)
    label = {"clump": _scatter(ax, result.trajectory[frames[0]], data)}
    particles = ax.collections[-1]
    ax.set_xlim(*xlim)
    ax.set_ylim(*ylim)
    ax.legend(loc="upper left", fontsize=7, markerscale=2)
    heading = ax.set_title("", fontsize=9)

    def update(k):
        i = frames[k]
        particles.set_offsets(result.trajectory[i])
        heading.set_text(f"{title}  step {result.steps[i]}".strip())
        # the clump label belongs to this frame: drop the last one, label this frame's clump
        if label["clump"] is not None:
            label["clump"].remove()
        label["clump"] = _clump_label(ax, result.trajectory[i])
        return (particles, heading)

    return FuncAnimation(fig, update, frames=len(frames), blit=False)


def field_grid(field_fn, xlim, ylim, n: int = 17):
    """The grid points (n^2, 2) of :func:`quiver_field` and the field on them (n^2, 2)."""
    gx, gy = np.meshgrid(np.linspace(*xlim, n), np.linspace(*ylim, n))
    pts = np.column_stack([gx.ravel(), gy.ravel()])
    return pts, field_fn(pts)


def quiver_field(ax, field_fn, xlim, ylim, n: int = 17, color="0.3", scale=None):
    """Arrows of a vector field ``field_fn(points (k, 2)) -> (k, 2)`` on an n x n grid.

    ``scale`` (field units per unit of x) fixes the arrow length, so that several panels drawn
    with the same ``scale`` compare; ``None`` lets matplotlib choose per panel.
    """
    pts, V = field_grid(field_fn, xlim, ylim, n)
    kw = {} if scale is None else {"scale": scale, "scale_units": "xy"}
    ax.quiver(pts[:, 0], pts[:, 1], V[:, 0], V[:, 1], color=color, angles="xy", width=0.004, **kw)
    ax.set_xlim(*xlim)
    ax.set_ylim(*ylim)
    ax.set_aspect("equal", adjustable="box")
    return ax


def loss_plot(ax, results: dict, quantity: str = "mmd2"):
    """MMD^2 of MMD flows (``quantity="mmd2"``) or any flow's ``loss`` against the step on a log
    scale, one line per named result."""
    for name, res in results.items():
        values = mmd2_along(res) if quantity == "mmd2" else getattr(res, quantity)
        ax.semilogy(res.steps, values, label=name)
    ax.set_xlabel("step")
    ax.set_ylabel("MMD$^2$" if quantity == "mmd2" else quantity)
    ax.legend(fontsize=8)
    return ax
