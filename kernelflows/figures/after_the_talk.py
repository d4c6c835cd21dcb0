"""Figure of lecture 11 (after the talk): KALE's sequels side by side.

``after-the-talk-comparison`` draws the final particles of the seven flows of the
``after-the-talk`` experiment (:func:`kernelflows.experiments.after_the_talk_experiment`) on the
three rings (top) and the four-Gaussian mixture (bottom), at the scale asked, with the view
:func:`kernelflows.viz.draw_after_the_talk` (which a lecture calls on the runs it holds).
"""

from __future__ import annotations

from ..experiments import compute_runs
from ..experiments.after_the_talk import after_the_talk_settings as settings
from ..viz import draw_after_the_talk
from .registry import register


@register(
    "after-the-talk-comparison",
    slide="After the talk: regularized f-divergences and DrMMD",
    caption="Final particles (red) of the MMD flow (with and without noise), KALE flow, the "
    "flows of the MMD-regularized chi^2 and Tsallis-3 divergences and the DrMMD flow (fixed and "
    "adaptive lambda) on the three rings and the four-Gaussian mixture (target in blue).",
    scaled=True,
)
def after_the_talk_comparison(scale="reduced"):
    metrics, out = compute_runs("after-the-talk", scale)
    s = settings(scale)
    note = ""
    if scale != "paper":
        paper = settings("paper")
        note = (
            f"reduced scale: {s['ring_steps']} and {s['mixture_steps']} steps (paper: "
            f"{paper['ring_steps']:,} and {paper['mixture_steps']:,})"
        )
    return draw_after_the_talk(
        out, metrics, lam=s["lam"], threshold=s["coverage_threshold"], note=note
    )
