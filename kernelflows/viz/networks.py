"""Plots of the student-teacher experiment (training and validation loss per noise mode)."""

from __future__ import annotations

from .style import COLORS, new_figure

#: One colour and label per noise mode, shared by the figure and the lecture.
NOISE_STYLE = {
    "injection": dict(color=COLORS["noise"], label="noise injection"),
    "none": dict(color=COLORS["particles"], label="no noise"),
    "diffusion": dict(color="0.45", label="diffusion (noise on the weights)"),
}


def plot_student_teacher(results, axes=None, title_suffix: str = ""):
    """Training (left) and validation (right) MSE against epochs, one curve per noise mode.

    ``results`` is the ``{noise: StudentTeacherResult}`` of
    :func:`kernelflows.networks.run_student_teacher`. Returns ``(fig, axes)``.
    """
    if axes is None:
        fig, axes = new_figure(ncols=2, width=4.2, height=3.2, sharey=True)
    else:
        fig = axes[0].figure
    for ax, which, name in zip(
        axes, ("train_loss", "valid_loss"), ("training", "validation"), strict=True
    ):
        for noise, r in results.items():
            style = NOISE_STYLE.get(noise, dict(label=noise))
            ax.plot(r.epochs, getattr(r, which), lw=1.4, **style)
        ax.set_yscale("log")
        ax.set_xlabel("epoch")
        ax.set_title(f"{name} loss{title_suffix}", fontsize=10)
        ax.grid(alpha=0.3, which="both", lw=0.5)
    axes[0].set_ylabel("MSE = MMD$^2$(student, teacher)")
    axes[0].legend(fontsize=8, loc="best")
    return fig, axes
