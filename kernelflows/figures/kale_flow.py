"""Figures of the KALE flow part of the talk (lecture 09).

``three-rings`` is Figure 1 of Glaser, Arbel, Gretton (NeurIPS 2021) at the published scale:
KALE flow (lam = 0.001, step 1e-4) and the "MMD flow" (KALE with lam = 1e4, step 1e-3), 50,000
steps each, from the published source cloud, Gaussian kernel exp(-||x - y||^2 / 0.1). The two
runs take about 30 s of CPU together (``bench/bench_kale_flow.py``), so the reduced scale that
``make figures`` draws is the published one.
"""

from __future__ import annotations

from ..experiments import THREE_RINGS_FRAMES, three_rings_runs
from ..viz import reduced_scale_note, three_rings_grid
from .registry import register

#: Steps of each run at each scale: the published run is fast enough to be the reduced one too.
THREE_RINGS_STEPS = {"reduced": 50_000, "paper": 50_000}


@register(
    "three-rings",
    slide="KALE flow vs MMD flow in practice",
    caption="KALE flow (lam = 0.001) spreads the particles along the three rings; the MMD-like "
    "flow (KALE with lam = 1e4) leaves particles off the support (published scale, 50,000 steps).",
)
def three_rings_figure(scale="reduced"):
    if scale not in THREE_RINGS_STEPS:
        raise ValueError(f"scale must be one of {tuple(THREE_RINGS_STEPS)}, got {scale!r}")
    out = three_rings_runs(THREE_RINGS_STEPS[scale])
    frames = [s for s in THREE_RINGS_FRAMES if s <= THREE_RINGS_STEPS[scale]]
    fig, _ = three_rings_grid(out, frames)
    fig.suptitle(
        "Three rings: 240 particles from N((0, -0.3), 0.01$^2$ I), 240 target points; kernel "
        r"$\exp(-\|x-y\|^2/0.1)$; steps $10^{-4}$ (KALE) and $10^{-3}$ (MMD); max dist = "
        "farthest particle from the target",
        fontsize=7,
    )
    if THREE_RINGS_STEPS[scale] < 50_000:
        reduced_scale_note(fig, f"reduced scale: {THREE_RINGS_STEPS[scale]} steps (paper: 50,000)")
    return fig
