"""Figure of lecture 11 (after the talk): KALE's sequels side by side.

``after-the-talk-comparison`` draws the final particles of the seven flows of the
``after-the-talk`` experiment (:func:`kernelflows.experiments.after_the_talk_experiment`) on the
three rings (top) and the four-Gaussian mixture (bottom), at the scale asked;
:func:`draw_after_the_talk` draws the same picture from runs a lecture already holds.
"""

from __future__ import annotations

from ..experiments import compute_runs
from ..experiments.results import settings
from ..viz import new_figure, reduced_scale_note, scatter_particles
from .registry import register

#: The window of each problem's panels.
_LIMITS = {"three rings": ((-1.25, 1.25), (-2.0, 0.5)), "mixture": ((-1.0, 2.8), (-1.0, 2.8))}


def draw_after_the_talk(out, metrics: dict, s: dict, scale: str = "reduced"):
    """The start and the final particles (red) of every flow over the target (blue), one row a
    problem, each panel titled with its MMD^2 to the target and the modes it covers."""
    problems = list(out.problems)
    flows = list(next(iter(out.problems.values())).runs)
    fig, axes = new_figure(len(flows) + 1, len(problems), width=1.6, height=1.9)
    for row, pname in zip(axes, problems, strict=True):
        p = out.problems[pname]
        m = metrics[pname]
        n_modes = len(p.centres)
        target = p.reference[: max(len(p.X0), len(p.Y))]
        scatter_particles(row[0], p.X0, target, s=1.5, labels=None, aspect=None)
        row[0].set_title(f"{pname}: start\nMMD^2 {m['mmd2_start']:.3f}", fontsize=7)
        for ax, name in zip(row[1:], flows, strict=True):
            f = m["flows"][name]
            scatter_particles(ax, p.runs[name].particles, target, s=1.5, labels=None, aspect=None)
            ax.set_title(
                f"{name}\nMMD^2 {f['mmd2']:.4f}, modes {f['modes_covered']}/{n_modes}", fontsize=6
            )
        (x0, x1), (y0, y1) = _LIMITS[pname]
        for ax in row:
            ax.set_xlim(x0, x1)
            ax.set_ylim(y0, y1)
            ax.set_aspect("equal", adjustable="box")
            ax.set_xticks([])
            ax.set_yticks([])
    fig.suptitle(
        f"lambda = {s['lam']:g}; {s['ring_steps']:,} steps on the rings, {s['mixture_steps']:,} "
        f"on the mixture ({s['n']} particles); MMD^2 to the target (Gaussian kernel); a mode is "
        f"covered by >= {s['coverage_threshold']:.0%} of the particles",
        fontsize=7,
    )
    if scale != "paper":
        paper = settings("after-the-talk", "paper")
        reduced_scale_note(
            fig,
            f"reduced scale: {s['ring_steps']} and {s['mixture_steps']} steps (paper: "
            f"{paper['ring_steps']:,} and {paper['mixture_steps']:,})",
        )
    return fig


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
    return draw_after_the_talk(out, metrics, settings("after-the-talk", scale), scale)
