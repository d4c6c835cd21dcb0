"""Figures of the neural-network part of the talk (slide "Noise injection: neural net setting")."""

from __future__ import annotations

import textwrap

from ..experiments import PAPER_SETTINGS, REDUCED_SETTINGS, run_student_teacher
from ..viz import plot_student_teacher, reduced_scale_note
from .registry import register


@register(
    "student-teacher",
    scaled=True,
    slide="Noise injection: neural net setting",
    caption=(
        "training and validation loss of a mean-field student network trained as an MMD flow "
        "on a teacher, with noise injection, without noise, and with noise on the weights"
    ),
)
def student_teacher_figure(scale="reduced"):
    settings = PAPER_SETTINGS if scale == "paper" else REDUCED_SETTINGS
    results = run_student_teacher(settings, rng=0, progress=False)
    fig, _ = plot_student_teacher(results)
    note = textwrap.fill(settings.describe(), 130)
    if scale != "paper":
        note = "Reduced scale (published: N = 1000, 10000 epochs, beta halved every 1000): " + note
        note = textwrap.fill(note, 130)
    reduced_scale_note(fig, note)
    fig.get_layout_engine().set(rect=(0, 0.08, 1, 0.92))
    return fig
