"""Plots of the student-teacher experiment (training and validation loss per noise mode)."""

from __future__ import annotations

import numpy as np

from .style import COLORS, new_figure

#: One colour and label per noise mode, shared by the figure and the lecture.
NOISE_STYLE = {
    "injection": dict(color=COLORS["noise"], label="noise injection"),
    "none": dict(color=COLORS["particles"], label="no noise (same path, beta = 0)"),
    "plain": dict(color="0.55", ls="--", label="no noise (original's plain loss)"),
    "diffusion": dict(color="0.45", label="diffusion (noise on the weights)"),
    "diffusion, dense": dict(color="0.3", label="diffusion, dense student"),
    "diffusion, per-particle": dict(color="0.6", ls="--", label="diffusion, per-particle student"),
}


def plot_student_teacher(results, axes=None, title_suffix: str = ""):
    """Training (left) and validation (right) MSE against epochs, one curve per noise mode.

    ``results`` is the ``{noise: StudentTeacherResult}`` of
    :func:`kernelflows.experiments.run_student_teacher`. Returns ``(fig, axes)``.
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


def runs_of(results) -> dict:
    """``{noise: StudentTeacherResult}`` as the results files store runs:
    ``{noise: {"0": {"epochs", "train_curve", "valid_curve"}}}`` (one seed)."""
    return {
        noise: {
            "0": {
                "epochs": r.epochs,
                "train_curve": r.train_loss,
                "valid_curve": r.valid_loss,
            }
        }
        for noise, r in results.items()
    }


def plot_student_teacher_panels(
    panels: dict, axes=None, which: str = "valid_curve", legend: str | None = "best"
):
    """One panel per entry of ``panels`` (``{title: {noise: {seed: run}}}``, runs as the results
    files store them): every seed's curve thin, their geometric mean thick. Returns
    ``(fig, axes)``; ``which`` is ``"valid_curve"`` or ``"train_curve"``; ``legend`` is
    ``"best"`` (inside each panel), ``"below"`` (under each panel, off the data) or ``None``."""
    if axes is None:
        fig, axes = new_figure(ncols=len(panels), width=3.6, height=3.0)
    else:
        fig = np.ravel(axes)[0].figure
    axes = np.atleast_1d(axes)
    for ax, (title, modes) in zip(axes, panels.items(), strict=True):
        for noise, by_seed in modes.items():
            style = dict(NOISE_STYLE.get(noise, dict(label=noise)))
            curves = [np.asarray(r[which], dtype=float) for r in by_seed.values()]
            epochs = np.asarray(next(iter(by_seed.values()))["epochs"])
            if len(curves) > 1:
                for c in curves:
                    ax.plot(epochs, c, lw=0.6, alpha=0.45, color=style["color"])
                style["label"] += f" ({len(curves)} seeds)"
            ax.plot(epochs, np.exp(np.mean(np.log(curves), axis=0)), lw=1.6, **style)
        ax.set_yscale("log")
        ax.set_xlabel("epoch")
        ax.set_title(title, fontsize=9)
        ax.grid(alpha=0.3, which="both", lw=0.5)
        if legend == "best":
            ax.legend(fontsize=7, loc="best")
        elif legend == "below":
            ax.legend(fontsize=7, loc="upper center", bbox_to_anchor=(0.5, -0.2), frameon=False)
    name = "validation" if which == "valid_curve" else "training"
    axes[0].set_ylabel(f"{name} MSE")
    return fig, axes
