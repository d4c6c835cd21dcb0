"""Figures of the KALE flow part of the talk (lecture 09).

``three-rings`` is Figure 1 of Glaser, Arbel, Gretton (NeurIPS 2021) at the published scale:
KALE flow (lam = 0.001, step 1e-4) and the "MMD flow" (KALE with lam = 1e4, step 1e-3), 50,000
steps each, from the published source cloud, Gaussian kernel exp(-||x - y||^2 / 0.1): the
experiment's paper-scale settings (:data:`kernelflows.experiments.rings.EXPERIMENT`). The two
runs take about 30 s of CPU together (``bench/bench_kale_flow.py``), so ``make figures`` draws
the published scale too: the figure is the same at both of its scales.
"""

from __future__ import annotations

from ..experiments import THREE_RINGS_FRAMES, three_rings_runs
from ..viz import three_rings_grid
from .registry import register


@register(
    "three-rings",
    slide="KALE flow vs MMD flow in practice",
    caption="KALE flow (lam = 0.001) spreads the particles along the three rings; the MMD-like "
    "flow (KALE with lam = 1e4) leaves particles off the support (published scale, 50,000 steps).",
)
def three_rings_figure(scale="reduced"):
    fig, _ = three_rings_grid(three_rings_runs("paper"), THREE_RINGS_FRAMES)
    fig.suptitle(
        "Three rings: 240 particles from N((0, -0.3), 0.01$^2$ I), 240 target points; kernel "
        r"$\exp(-\|x-y\|^2/0.1)$; steps $10^{-4}$ (KALE) and $10^{-3}$ (MMD); max dist = "
        "farthest particle from the target",
        fontsize=7,
    )
    return fig
