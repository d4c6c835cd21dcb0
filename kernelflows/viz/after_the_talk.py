"""The view of the after-the-talk experiment (lecture 11): every flow's final particles, one row
a problem (no solving here: runs and metrics come from
:func:`kernelflows.experiments.after_the_talk_experiment` and its summary)."""

from __future__ import annotations

from .style import new_figure, reduced_scale_note, scatter_particles

__all__ = ["draw_after_the_talk"]

#: The window of each problem's panels (square, drawn with equal axes).
_LIMITS = {"three rings": ((-1.25, 1.25), (-2.0, 0.5)), "mixture": ((-1.0, 2.8), (-1.0, 2.8))}


def draw_after_the_talk(out, metrics: dict, *, lam: float, threshold: float, note: str = ""):
    """The start and the final particles (red) of every flow over the target (blue), one row a
    problem, each panel titled with its MMD^2 to the target and the modes it covers.

    ``out`` an :class:`~kernelflows.experiments.AfterTheTalkRuns`, ``metrics`` its summary (as
    :func:`~kernelflows.experiments.compute_runs` returns it); ``lam`` and ``threshold`` (the
    coverage rule) are named in the title; ``note`` (e.g. the reduced scale) below the panels.
    """
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
        (x0, x1), (y0, y1) = _LIMITS.get(pname, (ax.get_xlim(), ax.get_ylim()))
        for ax in row:
            ax.set_xlim(x0, x1)
            ax.set_ylim(y0, y1)
            ax.set_aspect("equal", adjustable="box")
            ax.set_xticks([])
            ax.set_yticks([])
    steps = "; ".join(
        f"{pname}: {metrics[pname]['n_steps']:,} steps, {metrics[pname]['n_particles']} particles"
        for pname in problems
    )
    fig.suptitle(
        f"lambda = {lam:g}; {steps}; MMD^2 to the target (Gaussian kernel); a mode is covered by "
        f">= {threshold:.0%} of the particles",
        fontsize=7,
    )
    if note:
        reduced_scale_note(fig, note)
    return fig
