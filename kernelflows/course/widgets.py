"""Interactive demos: a plain drawing function plus a thin ipywidgets wrapper.

Each demo is ``draw_<name>(**params) -> matplotlib Figure`` (usable in figures, exported pages and
tests) and ``<name>_demo(**initial) -> InteractiveFigure`` (sliders that redraw the figure). The
wrapper renders the figure to PNG bytes in an ``ipywidgets.Image``, so it works (and can be
tested) without a running kernel: setting a slider's value redraws the picture.

Where no widget manager runs (a JupyterLab without the widget extension, a notebook viewer, an
exported page, an untrusted notebook), a demo shows the picture at its starting values and a
line saying that sliders redraw it: its display carries the widget, that picture (PNG) and the
line (plain text), and each front end shows the richest of them it can.
"""

from __future__ import annotations

import base64
import io
from collections.abc import Callable

import matplotlib
import numpy as np

from .._validation import as_rng
from ..divergences import kale, kale_path, mmd2
from ..experiments import collapse_setup, gaussian_laplace_samples, ring_flow_setup
from ..flows import mmd2_along, mmd_flow, piecewise
from ..kernels import GaussianKernel, median_heuristic
from ..measures import witness
from ..viz import COLORS, draw_kale_lambda, scatter_particles

__all__ = [
    "InteractiveFigure",
    "figure_png",
    "draw_bandwidth",
    "bandwidth_demo",
    "draw_noise",
    "noise_demo",
    "draw_flow_settings",
    "flow_demo",
    "kale_lambda_demo",
]


def figure_png(fig, dpi: int = 80) -> bytes:
    """PNG bytes of a figure (closed afterwards)."""
    import matplotlib.pyplot as plt

    buf = io.BytesIO()
    fig.savefig(buf, format="png", dpi=dpi, metadata={"Software": None})
    plt.close(fig)
    return buf.getvalue()


class InteractiveFigure:
    """Sliders bound to a drawing function; ``.widget`` is what a notebook displays.

    ``controls`` maps parameter names to ipywidgets value widgets; changing any of them calls
    ``draw(**values)`` and puts the new PNG into ``image``. ``redraws`` counts the drawings.
    """

    def __init__(self, draw: Callable[..., object], controls: dict, dpi: int = 80):
        import ipywidgets as W

        self.draw = draw
        self.controls = controls
        self.dpi = dpi
        self.image = W.Image(format="png")
        self.redraws = 0
        for control in controls.values():
            control.observe(self._update, names="value")
        self.widget = W.VBox([W.HBox(list(controls.values())), self.image])
        self.widget.add_class("kernelflows-demo")
        self._update()

    @property
    def values(self) -> dict:
        return {name: c.value for name, c in self.controls.items()}

    def _update(self, change=None) -> None:
        with matplotlib.rc_context({"figure.max_open_warning": 0}):
            self.image.value = figure_png(self.draw(**self.values), self.dpi)
        self.redraws += 1

    def static_text(self) -> str:
        """The line shown with the picture where the sliders cannot run."""
        many = len(self.controls) > 1
        names = " and ".join(c.description or n for n, c in self.controls.items())
        values = ", ".join(
            f"{c.description or n} = {c.value:.3g}" for n, c in self.controls.items()
        )
        return (
            f"Interactive figure: in Jupyter with ipywidgets, the {names} "
            f"{'sliders redraw' if many else 'slider redraws'} it. "
            f"No widget manager runs here: this is the picture at {values}."
        )

    def _repr_mimebundle_(self, include=None, exclude=None):
        """The widget; for front ends without a widget manager, the picture and a line saying
        so (HTML), and the line alone (plain text)."""
        import html

        text = self.static_text()
        png = base64.b64encode(bytes(self.image.value)).decode("ascii")
        data = dict(self.widget._repr_mimebundle_())
        data["text/html"] = (
            f'<div class="kernelflows-demo-static"><img src="data:image/png;base64,{png}" '
            f'alt="{html.escape(text)}"/><p><em>{html.escape(text)}</em></p></div>'
        )
        data["text/plain"] = f"[{text}]"
        return data


def draw_bandwidth(bandwidth: float, X=None, Y=None):
    """Samples of P and Q (1-D), the witness mu_P - mu_Q and the unbiased MMD^2 at a bandwidth."""
    import matplotlib.pyplot as plt

    if X is None or Y is None:
        X, Y = gaussian_laplace_samples()
    X, Y = np.asarray(X, float).reshape(-1), np.asarray(Y, float).reshape(-1)
    k = GaussianKernel(bandwidth)
    lo, hi = min(X.min(), Y.min()) - 1, max(X.max(), Y.max()) + 1
    z = np.linspace(lo, hi, 400)
    fig, ax = plt.subplots(figsize=(6, 3), layout="constrained")
    ax.plot(z, witness(X, Y, k)(z), color=COLORS["witness"], label=r"witness $\mu_P-\mu_Q$")
    rug = ax.get_xaxis_transform()  # x in data units, y in axes units: rugs stay at the bottom
    ax.plot(X, np.full_like(X, 0.08), "|", color=COLORS["P"], transform=rug, label="P samples")
    ax.plot(Y, np.full_like(Y, 0.03), "|", color=COLORS["Q"], transform=rug, label="Q samples")
    ax.axhline(0, color="0.6", lw=0.5)
    ax.set_title(
        f"bandwidth {bandwidth:.3g} (median heuristic {median_heuristic(X, Y):.3g}): "
        f"MMD$^2_u$ = {mmd2(X, Y, k):.3g}",
        fontsize=9,
    )
    ax.legend(fontsize=7, loc="upper right")
    return fig


def bandwidth_demo(bandwidth: float = 1.0, X=None, Y=None) -> InteractiveFigure:
    """A log-scale bandwidth slider driving :func:`draw_bandwidth`."""
    import ipywidgets as W

    slider = W.FloatLogSlider(
        value=bandwidth, base=10, min=-2, max=1.5, step=0.05, description="bandwidth"
    )
    return InteractiveFigure(
        lambda bandwidth: draw_bandwidth(bandwidth, X, Y), {"bandwidth": slider}
    )


# -- noise level beta -> collapse or spread of the MMD flow (lecture 5) ------------------------


def draw_noise(beta: float, n: int = 100, n_steps: int = 120, rng=0):
    """MMD flow of the collapse set-up with noise injection beta for the first half of the run.

    Left: particles and target at the end, for this beta. Right: MMD^2 along the flow, next to
    the noise-free run (beta = 0), on a log scale. ``datasets.collapse_setup`` with bandwidth 2,
    step 1 (lecture 4 explains why the noise-free particles never separate).
    """
    import matplotlib.pyplot as plt

    data_rng, noise_rng = as_rng(rng).spawn(2)
    X0, Y = collapse_setup(n=n, m=n, rng=data_rng)
    k = GaussianKernel(2.0)
    runs = {"no noise": mmd_flow(X0, Y, k, step=1.0, n_steps=n_steps, record_every=2)}
    if beta > 0:
        schedule = piecewise(beta, until=max(1, n_steps // 2))
        runs[f"beta = {beta:.2g}"] = mmd_flow(
            X0, Y, k, step=1.0, n_steps=n_steps, noise=schedule, rng=noise_rng, record_every=2
        )
    last = runs[list(runs)[-1]]
    fig, (ax0, ax1) = plt.subplots(1, 2, figsize=(8, 3.4), layout="constrained")
    scatter_particles(ax0, last.particles, Y, s=8, s_data=5, edges=True)
    ax0.set_title(
        f"after {n_steps} steps, beta = {beta:.2g} for the first {n_steps // 2}", fontsize=9
    )
    ax0.legend(fontsize=7, loc="upper left")
    for label, res in runs.items():
        m2 = mmd2_along(res)
        ax1.semilogy(res.steps, m2, label=f"{label}: final {m2[-1]:.3g}")
    ax1.set_xlabel("step")
    ax1.set_ylabel("MMD$^2$")
    ax1.legend(fontsize=7)
    return fig


def noise_demo(beta: float = 1.0, n: int = 100, n_steps: int = 120) -> InteractiveFigure:
    """A slider for the noise level beta of :func:`draw_noise`."""
    import ipywidgets as W

    slider = W.FloatSlider(value=beta, min=0.0, max=4.0, step=0.25, description="beta")
    return InteractiveFigure(lambda beta: draw_noise(beta, n, n_steps), {"beta": slider})


# -- step size and number of particles of a flow (lecture 3) -----------------------------------


def draw_flow_settings(step: float, n_particles: int, n_steps: int = 100, rng=0):
    """MMD flow from N((-1.5, -1.5), 0.3^2 I) to a ring of target points, for a step and a size.

    Left: the particles' paths (every 10 steps) and their end points. Right: F = 1/2 MMD^2 along
    the flow; a step that is too large makes F rise. The descent inequality of lecture 4
    guarantees a decrease for step < 2 / (3 L) (0.67 here); it is sufficient, not sharp: with
    50 particles F decreases at every one of 100 steps up to step 4 (lecture 03 counts them).
    """
    import matplotlib.pyplot as plt

    X0, Y = ring_flow_setup(int(n_particles), rng=rng)
    res = mmd_flow(X0, Y, GaussianKernel(1.0), step=step, n_steps=n_steps, record_every=10)
    fig, (ax0, ax1) = plt.subplots(1, 2, figsize=(8, 3.4), layout="constrained")
    ax0.plot(res.trajectory[:, :, 0], res.trajectory[:, :, 1], color="0.75", lw=0.6)
    scatter_particles(ax0, res.particles, Y, s=10, s_data=6, edges=True)
    ax0.set_title(f"{int(n_particles)} particles, step {step:.3g}, {n_steps} steps", fontsize=9)
    ax0.legend(fontsize=7, loc="upper left")
    ax1.semilogy(res.steps, res.loss, color=COLORS["particles"])
    ax1.set_xlabel("step")
    ax1.set_ylabel("F = MMD$^2$ / 2")
    ax1.set_title(f"final F = {res.loss[-1]:.3g}", fontsize=9)
    return fig


def flow_demo(step: float = 1.0, n_particles: int = 50, n_steps: int = 100) -> InteractiveFigure:
    """Sliders for the step size (log scale) and the number of particles of a flow."""
    import ipywidgets as W

    controls = {
        "step": W.FloatLogSlider(value=step, base=10, min=-1, max=2, step=0.1, description="step"),
        "n_particles": W.IntSlider(
            value=n_particles, min=5, max=300, step=5, description="particles"
        ),
    }
    return InteractiveFigure(
        lambda step, n_particles: draw_flow_settings(step, n_particles, n_steps), controls
    )


# -- lambda -> KALE between KL and MMD^2 / 2 (lecture 8) ---------------------------------------


def kale_lambda_demo(X, Y, kernel, log10_lam: float = 0.0, kl=None, lams=None):
    """A log10(lambda) slider over :func:`kernelflows.viz.draw_kale_lambda` (the KALE path is
    computed once; each move solves KALE at the chosen lambda and marks it on the path)."""
    import ipywidgets as W

    lams = np.logspace(-4, 4, 17) if lams is None else np.asarray(lams, dtype=float)
    path = kale_path(X, Y, kernel, lams)
    half_mmd2 = 0.5 * mmd2(X, Y, kernel, estimator="biased")
    slider = W.FloatSlider(
        value=log10_lam,
        min=float(np.log10(lams.min())),
        max=float(np.log10(lams.max())),
        step=0.5,
        description="log10 λ",
    )
    return InteractiveFigure(
        lambda log10_lam: draw_kale_lambda(
            kale(X, Y, kernel, lam=10.0**log10_lam), X, Y, lams, path, kl=kl, mmd2_half=half_mmd2
        ),
        {"log10_lam": slider},
    )
