"""Figures of lecture 10 (beyond the talk): the flows side by side, SVGD's variance collapse.

``beyond-comparison`` draws the final particles of the seven flows of the ``beyond`` experiment
(:func:`kernelflows.experiments.beyond_experiment`) on the four-Gaussian mixture, at the scale
asked; ``svgd-variance-collapse`` the particles' variance per coordinate after SVGD towards a
standard Gaussian, against the dimension.
"""

from __future__ import annotations

import numpy as np

from ..experiments import compute_runs, experiment, svgd_variance_by_dimension
from ..viz import new_figure, reduced_scale_note, scatter_particles
from .registry import register


@register(
    "beyond-comparison",
    slide="Beyond the talk: Stein flows and sliced MMD flows",
    caption="Final particles (red) of seven flows on the four-Gaussian mixture (held-out target "
    "samples in blue): the sample-based flows spread over the four modes, SVGD and the Langevin "
    "algorithm stay near the mode closest to the start.",
    scaled=True,
)
def beyond_comparison(scale="reduced"):
    metrics, out = compute_runs("beyond", scale)
    s = experiment("beyond").settings(scale)
    fig, axes = new_figure(4, 2, width=2.3, height=2.3)
    axes = axes.ravel()
    scatter_particles(axes[0], out.X0, out.Y_heldout[: s["n"]], s=3, labels=None, aspect="box")
    axes[0].set_title(f"start (energy {metrics['energy_start']:.2f})", fontsize=8)
    for ax, (name, run) in zip(axes[1:], out.runs.items(), strict=True):
        scatter_particles(
            ax, run.particles, out.Y_heldout[: s["n"]], s=3, labels=None, aspect="box"
        )
        ax.set_title(
            f"{name}\nenergy {out.energy[name]:.3f}, modes {out.covered[name]}/4", fontsize=8
        )
    for ax in axes:
        ax.set_xlim(-1.0, 2.8)
        ax.set_ylim(-1.0, 2.8)
        ax.set_xticks([])
        ax.set_yticks([])
    fig.suptitle(
        f"{s['n']} particles, {s['n_steps']} steps; energy = energy distance to 1000 held-out "
        "target samples; a mode is covered by >= 5% of the particles",
        fontsize=8,
    )
    if scale != "paper":
        paper = experiment("beyond").settings("paper")
        reduced_scale_note(
            fig, f"reduced scale: {s['n_steps']} steps (paper: {paper['n_steps']:,})"
        )
    return fig


#: The dimensions of the SVGD variance figure.
SVGD_DIMS = (1, 5, 20, 50)


@register(
    "svgd-variance-collapse",
    slide="Beyond the talk: Stein flows and sliced MMD flows",
    caption="SVGD with 50 particles towards N(0, I_d), median-heuristic bandwidth: the "
    "particles' variance per coordinate (1 for the target) falls as d grows.",
)
def svgd_variance_collapse(scale="reduced"):
    out = svgd_variance_by_dimension(SVGD_DIMS)
    fig, ax = new_figure(1, 1, width=3.6, height=2.8)
    ax.plot(out.dims, out.variance, "o-", color="#d62728", label="SVGD particles")
    ax.axhline(1.0, color="k", lw=0.8, ls="--", label="target N(0, I)")
    ax.set_xscale("log")
    ax.set_xticks(out.dims, [str(d) for d in out.dims])
    ax.set_ylim(0.0, 1.1 * max(1.0, float(np.max(out.variance))))
    ax.set_xlabel("dimension d")
    ax.set_ylabel("variance per coordinate")
    ax.set_title(f"SVGD, {out.n} particles, {out.n_steps} steps", fontsize=9)
    ax.legend(fontsize=7, loc="lower left")
    return fig
