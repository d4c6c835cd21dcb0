"""Figures of the MMD flow part of the talk (lectures 03-05).

The collapse experiment behind ``mmd-flow``, ``noisy-mmd-flow`` and ``mmd-flow-loss`` is
:func:`kernelflows.experiments.collapse_runs`: target N(0, I_2); all particles start at (3, 3) (the
zero-spread limit of the paper's source, :func:`kernelflows.experiments.collapse_setup`); Gaussian
kernel of bandwidth 2 (k = exp(-||x - y||^2 / 8)); step 1; 300 steps. Noise injection uses the
paper's kind of schedule, beta = 2 for the first 150 steps, then 0.

That start is degenerate, and the three figures say so: identical particles stay identical, so the
noise-free clump is the starting condition. No spread source of the collapse map
(:mod:`kernelflows.experiments.collapse_study`, figure ``collapse-map``) collapses.
"""

from __future__ import annotations

import matplotlib.pyplot as plt
import numpy as np

from ..divergences import mmd_velocity
from ..experiments import collapse_runs, experiment
from ..flows import mmd2_along
from ..kernels import GaussianKernel
from ..viz import (
    COLORS,
    field_grid,
    flow_animation,
    frame_strip,
    loss_plot,
    new_figure,
    quiver_field,
    reduced_scale_note,
    scatter_particles,
)
from .registry import FigureOutput, register

MMD_FLOW_FRAMES = [0, 3, 6, 10, 15, 20, 30, 50, 100, 200, 300]
NOISY_FRAMES = [0, 3, 6, 10, 15, 20, 30, 50, 100, 150, 200, 300]


DEGENERATE = "degenerate start: all particles at one point"


def _setting_text(scale: str) -> str:
    s = experiment("collapse").settings(scale)
    return (
        f"target N(0, I$_2$), m = {s['n']}; {DEGENERATE}, (3, 3), n = {s['n']}; Gaussian kernel, "
        f"bandwidth {s['bandwidth']:g}; step {s['step']:g}"
    )


def _stranded(res, Y, radius: float = 3.0):
    """How many particles are farther than ``radius`` from the target's mean at the last step."""
    return int(np.sum(np.linalg.norm(res.particles - Y.mean(axis=0), axis=1) > radius))


def _note(fig, scale):
    if scale == "reduced":
        n, paper = (experiment("collapse").settings(s)["n"] for s in ("reduced", "paper"))
        reduced_scale_note(fig, f"reduced scale: n = m = {n} (paper: {paper})")


def _strip_and_animation(res, Y, frames, scale, title, flow, last_panel=None) -> FigureOutput:
    """A collapse run's frames in a strip (``last_panel`` draws on the panel after them) under
    ``title``, and its animation (``flow`` names it)."""
    fig, axes = frame_strip(res, Y, frames, ncols=6)
    if last_panel is not None:
        last_panel(axes[len(frames)])
    axes[0].legend(fontsize=6, loc="lower left", markerscale=2)
    fig.suptitle(title, fontsize=9)
    _note(fig, scale)
    start = "degenerate start (all particles at one point)"
    anim = flow_animation(res, Y, frames, title=f"{start}\n{flow},")
    return FigureOutput(figure=fig, animation=anim, fps=2)


@register(
    "nn-mean-field",
    slide="Motivation: Neural Net training",
    caption="A one-hidden-layer network whose hidden units are particles Z_i; the output is "
    "their average, so training moves an empirical measure of particles.",
)
def nn_mean_field(scale="reduced"):
    fig, (ax, ax2) = new_figure(2, 1, width=4.2, height=3.4)
    n_in, n_hidden = 3, 6
    xin = np.linspace(0.2, 0.8, n_in)
    xh = np.linspace(0.05, 0.95, n_hidden)
    for yi in xin:
        for yh in xh:
            ax.plot([0.1, 0.5], [yi, yh], color="0.75", lw=0.8, zorder=1)
    for yh in xh:
        ax.plot([0.5, 0.9], [yh, 0.5], color=COLORS["particles"], lw=0.8, alpha=0.6, zorder=1)
    ax.scatter(np.full(n_in, 0.1), xin, s=220, c="white", edgecolors="k", zorder=2)
    ax.scatter(np.full(n_hidden, 0.5), xh, s=320, c=COLORS["particles"], zorder=2)
    for i, yh in enumerate(xh):
        label = "$Z_N$" if i == 0 else f"$Z_{n_hidden - i}$" if i > n_hidden - 4 else ""
        ax.text(0.5, yh, label, ha="center", va="center", fontsize=7, color="white", zorder=3)
    ax.text(0.5, xh[1] + 0.5 * (xh[2] - xh[1]), "⋮", ha="center", va="center", fontsize=10)
    ax.scatter([0.9], [0.5], s=420, c="white", edgecolors="k", zorder=2)
    ax.text(0.1, 0.93, "input $x$", ha="center", fontsize=8)
    ax.text(0.5, 1.03, r"hidden units $\phi_{Z_i}(x)$", ha="center", fontsize=8)
    ax.text(0.9, 0.62, r"$\frac{1}{N}\sum_i \phi_{Z_i}(x)$", ha="center", fontsize=10)
    ax.set_xlim(0, 1.05)
    ax.set_ylim(-0.05, 1.1)
    ax.axis("off")
    ax.set_title("one hidden layer, mean-field scaling", fontsize=9)
    rng = np.random.default_rng(0)
    Z = rng.normal(size=(40, 2)) * [0.6, 0.4] + [0.5, 0.2]
    ax2.scatter(Z[:, 0], Z[:, 1], s=14, c=COLORS["particles"], label=r"particles $Z_i$")
    gx, gy = np.meshgrid(np.linspace(-1.5, 2.5, 80), np.linspace(-1.2, 1.6, 80))
    dens = np.exp(-0.5 * (((gx - 0.5) / 0.6) ** 2 + ((gy - 0.2) / 0.4) ** 2))
    ax2.contour(gx, gy, dens, levels=4, colors="0.5", linewidths=0.7)
    ax2.set_xlabel("output weight $w$")
    ax2.set_ylabel(r"feature parameter $\theta$")
    ax2.set_title(r"$\frac{1}{N}\sum_i \delta_{Z_i} \to \nu$ as $N \to \infty$", fontsize=9)
    ax2.legend(fontsize=7, loc="upper right")
    return fig


@register(
    "mmd-forces",
    slide="Wasserstein gradient flow on MMD (force on a particle)",
    caption="The velocity -grad f over the plane: confinement pulls towards the data, "
    "interaction pushes particles apart, and their sum moves the particles.",
)
def mmd_forces(scale="reduced"):
    rng = np.random.default_rng(0)
    Y = rng.normal(size=(150, 2))
    X = rng.normal(size=(40, 2)) * 0.35 + [2.0, 1.2]
    kernel = GaussianKernel(1.0)
    m, n = len(Y), len(X)
    parts = {
        r"confinement $\nabla \mu_{\nu^*}$": lambda P: kernel.weighted_grad(P, Y) / m,
        r"interaction $-\nabla \mu_{\nu}$": lambda P: -kernel.weighted_grad(P, X) / n,
        r"velocity $-\nabla f = \nabla\mu_{\nu^*} - \nabla\mu_\nu$": lambda P: (
            mmd_velocity(X, Y, kernel, at=P).velocity
        ),
    }
    xlim, ylim, n_grid = (-3, 4), (-3, 3.5), 15
    # one arrow scale for the three panels: the longest arrow of all spans 1.5 grid cells
    v_max = {
        t: np.linalg.norm(field_grid(fn, xlim, ylim, n_grid)[1], axis=1).max()
        for t, fn in parts.items()
    }
    cell = (xlim[1] - xlim[0]) / (n_grid - 1)
    scale = max(v_max.values()) / (1.5 * cell)
    fig, axes = new_figure(3, 1, width=3.6, height=4.1)
    for ax, (title, fn) in zip(axes, parts.items(), strict=True):
        scatter_particles(ax, X, Y, s=5)
        quiver_field(ax, fn, xlim, ylim, n=n_grid, scale=scale)
        ax.set_title(f"{title}\nlargest arrow |v| = {v_max[title]:.2f}", fontsize=9)
    axes[0].legend(fontsize=7, loc="lower right", markerscale=2)
    # under the panels, not over them: two-line panel titles leave no room for a suptitle
    fig.supxlabel(
        "Gaussian kernel, bandwidth 1: data (blue), particles (red); one arrow scale for all "
        "three panels",
        fontsize=9,
    )
    return fig


@register(
    "mmd-flow",
    scaled=True,
    slide="MMD flow in practice",
    caption="Degenerate start: all particles at one point, (3, 3). Without noise the particles "
    "stay one clump, which ends near the target's centre of mass, and MMD^2 stalls. The clump is "
    "the starting condition (identical particles stay identical): no spread source of the "
    "collapse map collapses (see collapse-map).",
)
def mmd_flow_figure(scale="reduced"):
    runs = collapse_runs(scale)
    res, Y = runs.runs["no noise"], runs.Y

    def loss_panel(ax):
        ax.axis("on")
        ax.semilogy(res.steps, mmd2_along(res), color=COLORS["particles"])
        ax.set_title(f"MMD$^2$: stalls at {mmd2_along(res)[-1]:.3g}", fontsize=8)
        ax.tick_params(labelsize=6)

    title = (
        "MMD flow, no noise: " + _setting_text(scale) + "\nthe clump is the starting condition "
        "(identical particles stay identical); no spread source collapsed in the collapse map"
    )
    return _strip_and_animation(res, Y, MMD_FLOW_FRAMES, scale, title, "MMD flow", loss_panel)


@register(
    "noisy-mmd-flow",
    scaled=True,
    slide="Noise injected MMD flow in practice",
    caption="Degenerate start: all particles at one point, (3, 3), with noise injection (beta = 2 "
    "for 150 steps, then 0): the particles spread over the target; about 8% stay stranded beyond "
    "distance 3, where the target's pull and the particles' push nearly cancel (lecture 05).",
)
def noisy_mmd_flow_figure(scale="reduced"):
    runs = collapse_runs(scale)
    res, Y = runs.runs["noise injection"], runs.Y
    title = (
        "noise-injected MMD flow ($\\beta$ = 2 until step 150, then 0): "
        + _setting_text(scale)
        + f"\n{_stranded(res, Y)} particles stranded beyond distance 3 at the last step: out there "
        "the target's pull and the particles' push nearly cancel (lecture 05)"
    )
    return _strip_and_animation(res, Y, NOISY_FRAMES, scale, title, "noisy MMD flow")


@register(
    "mmd-flow-loss",
    scaled=True,
    slide="Empirical observations / Noise injection: consistency",
    caption="Degenerate start: all particles at one point, (3, 3). MMD^2 along the flows with and "
    "without noise injection (log scale) and the noise level beta_n: the stall without noise and "
    "the decay with noise.",
)
def mmd_flow_loss(scale="reduced"):
    runs = collapse_runs(scale).runs
    fig, (ax, ax2) = new_figure(
        1, 2, width=5.0, height=2.2, sharex=True, gridspec_kw={"height_ratios": [2.2, 1]}
    )
    loss_plot(ax, runs)
    plain, noisy = runs["no noise"], runs["noise injection"]
    fig.suptitle(DEGENERATE + ", (3, 3)", fontsize=9)
    ax.set_title(
        f"final MMD$^2$: {mmd2_along(plain)[-1]:.3g} without noise, "
        f"{mmd2_along(noisy)[-1]:.3g} with noise "
        f"({mmd2_along(plain)[-1] / mmd2_along(noisy)[-1]:.0f}x lower)",
        fontsize=9,
    )
    ax2.plot(noisy.steps, noisy.beta, color=COLORS["noise"])
    ax2.set_ylabel(r"$\beta_n$")
    ax2.set_xlabel("step")
    ax.set_xlabel("")
    _note(fig, scale)
    plt.setp(ax.get_xticklabels(), visible=False)
    return fig


def _collapse_map_data():
    """The collapse map's rows and scale: the paper-scale results file, else the reduced run."""
    from ..experiments import compute, load_results

    try:
        res = load_results("collapse-map", "paper")
        commit = res.provenance.get("commit", "?")[:10]
        return res.metrics["rows"], "paper", f"{res.where}, commit {commit}"
    except ValueError:
        return compute("collapse-map", "reduced")["rows"], "reduced", "computed now"


@register(
    "collapse-map",
    slide="MMD flow in practice / Empirical observations",
    caption="Where a spread source collapses under the noise-free MMD flow: the class of every "
    "setting of the collapse map (kernelflows.experiments.collapse_study) by dimension, source "
    "distance and spread, n and bandwidth; the number in a cell is the final spread ratio.",
)
def collapse_map(scale="reduced"):
    from matplotlib.colors import ListedColormap

    from ..experiments.collapse_study import CLASSES, THRESHOLDS

    rows, data_scale, source = _collapse_map_data()
    s = experiment("collapse-map").settings(data_scale)
    flow_time = s["n_steps"] * s["step_fraction"]  # in units of sigma^2: the step is sigma^2 / 4
    dims = sorted({r["d"] for r in rows})
    bws = list(dict.fromkeys(r["bandwidth_rule"] for r in rows))
    keys = list(dict.fromkeys((r["distance_rule"], r["spread"], r["n"]) for r in rows))
    colours = ListedColormap(["#f4a582", "#92c5de", "0.85"])  # collapse, no collapse, not reached
    fig, axes = new_figure(len(bws), 1, width=2.6, height=0.3 * len(keys) + 1.6, sharey=True)
    axes = np.atleast_1d(axes)
    for ax, bw in zip(axes, bws, strict=True):
        grid = np.full((len(keys), len(dims)), np.nan)
        for r in rows:
            if r["bandwidth_rule"] != bw:
                continue
            i = keys.index((r["distance_rule"], r["spread"], r["n"]))
            j = dims.index(r["d"])
            grid[i, j] = CLASSES.index(r["class"])
            shrunk = (
                min(r["spread_ratio"], r["radius_ratio"]) < THRESHOLDS["spread_ratio"]
                and r["frac_near"] >= THRESHOLDS["frac_near"]
            )
            label = f"{r['spread_ratio']:.2g}" + ("*" if shrunk else "")
            ax.text(j, i, label, ha="center", va="center", fontsize=6)
        ax.imshow(grid, cmap=colours, vmin=-0.5, vmax=2.5, aspect="auto")
        ax.set_xticks(range(len(dims)), [str(d) for d in dims], fontsize=7)
        ax.set_xlabel("dimension d", fontsize=8)
        ax.set_title(
            f"bandwidth $\\sigma$ = {bw}" + (" (literal)" if bw == "2" else ""), fontsize=9
        )
    labels = [f"D={dr}, r={sp:g}, n={n}" for dr, sp, n in keys]
    axes[0].set_yticks(range(len(keys)), labels, fontsize=7)
    handles = [
        plt.Rectangle((0, 0), 1, 1, color=colours(k), label=c) for k, c in enumerate(CLASSES)
    ]
    fig.legend(handles=handles, loc="outside right lower", ncol=1, fontsize=7, frameon=False)
    fig.suptitle(
        "noise-free MMD flow from N(D/$\\sqrt{d}$ 1, r$^2$ I) to N(0, I); step $\\sigma^2$/4, "
        f"flow time {flow_time:g} $\\sigma^2$. Number: final spread "
        "ratio; * = bulk "
        "shrunk near the target mean\n(spread or median-radius ratio < 0.5, >= half the particles "
        "within 0.5$\\sqrt{d}$) but MMD$^2$ still falling, so not a collapse. "
        f"{data_scale.upper()} SCALE, {source}",
        fontsize=6,
    )
    return fig
