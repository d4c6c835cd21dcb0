"""Views: one house style, one particle scatter, one frame rule; no solving here.

* :mod:`.style` - colours, figure grids, the particle scatter, the reduced-scale note;
* :mod:`.flows` - frame strips and animations of a :class:`~kernelflows.flows.FlowResult` (the
  frame rule: :func:`frame_indices`, the snapshot at or just before a step), velocity fields,
  loss curves;
* :mod:`.kale`, :mod:`.kale_flow`, :mod:`.networks`, :mod:`.after_the_talk` - the views of
  those experiments.
"""

from .after_the_talk import draw_after_the_talk
from .flows import field_grid, flow_animation, frame_indices, frame_strip, loss_plot, quiver_field
from .kale import draw_kale_lambda, plot_samples_and_witness
from .kale_flow import THREE_RINGS_WINDOW, mixture_panels, mmd_curves, three_rings_grid
from .networks import plot_student_teacher, plot_student_teacher_panels, runs_of
from .style import (
    COLORS,
    legend_below,
    new_figure,
    reduced_scale_note,
    scale_stamp,
    scatter_particles,
)

__all__ = [
    "COLORS",
    "THREE_RINGS_WINDOW",
    "draw_after_the_talk",
    "draw_kale_lambda",
    "field_grid",
    "flow_animation",
    "frame_indices",
    "frame_strip",
    "loss_plot",
    "legend_below",
    "mixture_panels",
    "mmd_curves",
    "new_figure",
    "plot_samples_and_witness",
    "plot_student_teacher",
    "plot_student_teacher_panels",
    "runs_of",
    "quiver_field",
    "reduced_scale_note",
    "scale_stamp",
    "scatter_particles",
    "three_rings_grid",
]
