"""Figures of the KALE flow part of the talk (lecture 09).

``three-rings`` is Figure 1 of Glaser, Arbel, Gretton (NeurIPS 2021) at the published scale:
KALE flow (lam = 0.001, step 1e-4) and the "MMD flow" (KALE with lam = 1e4, step 1e-3), 50,000
steps each, from the published source cloud, Gaussian kernel exp(-||x - y||^2 / 0.1). The two
runs take about 30 s of CPU together (``bench/bench_kale_flow.py``), so the reduced scale that
``make figures`` draws is the published one.
"""

from __future__ import annotations

from functools import lru_cache

import numpy as np

from ..kale_flow import THREE_RINGS_FRAMES, max_distance_to_target, three_rings_experiment
from ..plotting import COLORS, new_figure
from .registry import register

#: Steps of each run at each scale: the published run is fast enough to be the reduced one too.
THREE_RINGS_STEPS = {"reduced": 50_000, "paper": 50_000}


@lru_cache(maxsize=2)
def three_rings_runs(scale: str = "reduced"):
    """Both runs of the three-rings figure (cached; see :func:`three_rings_experiment`)."""
    if scale not in THREE_RINGS_STEPS:
        raise ValueError(f"scale must be one of {tuple(THREE_RINGS_STEPS)}, got {scale!r}")
    return three_rings_experiment(n_steps=THREE_RINGS_STEPS[scale], record_every=500)


#: The plotted window in the swapped coordinates (horizontal = y, vertical = x).
WINDOW = ((-2.05, 0.55), (-0.7, 0.7))


def _panel(ax, particles, Y) -> int:
    """Target and particles with the coordinates swapped, as in the paper (the rings, stacked
    along y, lie horizontally); returns the number of particles outside the window."""
    ax.scatter(Y[:, 1], Y[:, 0], s=3, c=COLORS["data"], linewidths=0, label="target")
    ax.scatter(
        particles[:, 1],
        particles[:, 0],
        s=3,
        c=COLORS["particles"],
        linewidths=0,
        label="particles",
    )
    (h0, h1), (v0, v1) = WINDOW
    ax.set_xlim(h0, h1)
    ax.set_ylim(v0, v1)
    ax.set_aspect("equal")
    ax.set_xticks([])
    ax.set_yticks([])
    inside = ((particles[:, 1] >= h0) & (particles[:, 1] <= h1) & (particles[:, 0] >= v0)) & (
        particles[:, 0] <= v1
    )
    return int(np.sum(~inside))


@register(
    "three-rings",
    slide="KALE flow vs MMD flow in practice",
    caption="KALE flow (lam = 0.001) spreads the particles along the three rings; the MMD-like "
    "flow (KALE with lam = 1e4) leaves particles off the support (published scale, 50,000 steps).",
)
def three_rings_figure(scale="reduced"):
    out = three_rings_runs(scale)
    Y = out["Y"]
    n_steps = THREE_RINGS_STEPS[scale]
    frames = [s for s in THREE_RINGS_FRAMES if s <= n_steps]
    fig, axes = new_figure(len(frames), 2, width=2.3, height=1.55)
    rows = (
        ("kale", r"KALE flow, $\lambda = 10^{-3}$"),
        ("mmd", r"MMD flow (KALE, $\lambda = 10^4$)"),
    )
    for r, (name, label) in enumerate(rows):
        res = out[name]
        for c, step in enumerate(frames):
            k = int(np.searchsorted(res.steps, step))
            X = res.trajectory[k]
            ax = axes[r, c]
            outside = _panel(ax, X, Y)
            text = f"max dist {max_distance_to_target(X, Y):.3f}"
            if outside:
                text += f", {outside} off-panel"
            ax.text(0.02, 0.03, text, transform=ax.transAxes, fontsize=6, color="0.3")
            if r == 0:
                ax.set_title(f"step {int(res.steps[k])}", fontsize=8)
            if c == 0:
                ax.set_ylabel(label, fontsize=7)
    axes[0, 0].legend(fontsize=6, loc="upper left", markerscale=2, frameon=False)
    fig.suptitle(
        "Three rings: 240 particles from N((0, -0.3), 0.01$^2$ I), 240 target points; kernel "
        r"$\exp(-\|x-y\|^2/0.1)$; steps $10^{-4}$ (KALE) and $10^{-3}$ (MMD); max dist = "
        "farthest particle from the target",
        fontsize=7,
    )
    return fig
