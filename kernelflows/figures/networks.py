"""Figures of the neural-network part of the talk (slide "Noise injection: neural net setting")."""

from __future__ import annotations

import textwrap

from ..experiments import load_results
from ..viz import plot_student_teacher_panels, reduced_scale_note
from ..viz.style import new_figure
from .registry import register


def _panels(scale: str):
    """The curves of the results files: the dense student (the original code's), the
    per-particle student, and diffusion for both; and a line saying where they came from."""
    per = load_results("student-teacher", scale)
    dense = load_results("student-teacher-dense", scale)
    dr, pr = dense.metrics["runs"], per.metrics["runs"]
    ds, ps = dense.settings["settings"], per.settings["settings"]
    main = ("injection", "none", "plain")
    panels = {
        f"dense student (the original code), N = {ds['n_student']}": {
            m: dr[m] for m in main if m in dr
        },
        f"per-particle student (the paper's equations), N = {ps['n_student']}": {
            m: pr[m] for m in main if m in pr
        },
        "diffusion": {
            f"diffusion, {name}": runs["diffusion"]
            for name, runs in (("dense", dr), ("per-particle", pr))
            if "diffusion" in runs
        },
    }
    if not panels["diffusion"]:
        del panels["diffusion"]
    source = "; ".join(
        f"{r.source()}, {s['epochs']} epochs, {s['dtype']}" for r, s in ((dense, ds), (per, ps))
    )
    return panels, source


@register(
    "student-teacher",
    scaled=True,
    slide="Noise injection: neural net setting",
    caption=(
        "training and validation MSE of the student-teacher experiment for the original code's "
        "dense student and for the per-particle student of the paper's equations: noise "
        "injection, the same path without noise, the original's plain loss, and diffusion in a "
        "panel of its own; thin lines are seeds, thick lines their geometric mean (curves from "
        "the results files student-teacher and student-teacher-dense)"
    ),
)
def student_teacher_figure(scale="reduced"):
    panels, source = _panels(scale)
    fig, axes = new_figure(nrows=2, ncols=len(panels), width=3.7, height=3.1, sharex=True)
    plot_student_teacher_panels(panels, axes[0], which="train_curve", legend=None)
    plot_student_teacher_panels(panels, axes[1], which="valid_curve", legend="below")
    for ax in axes[1]:
        ax.set_title("")
    for ax in axes[0]:
        ax.set_xlabel("")
    reduced_scale_note(fig, textwrap.fill("Curves from " + source, 160))
    return fig
