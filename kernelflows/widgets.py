"""Interactive demos: a plain drawing function plus a thin ipywidgets wrapper.

Each demo is ``draw_<name>(**params) -> matplotlib Figure`` (usable in figures, exported pages and
tests) and ``<name>_demo(**initial) -> InteractiveFigure`` (sliders that redraw the figure). The
wrapper renders the figure to PNG bytes in an ``ipywidgets.Image``, so it works (and can be
tested) without a running kernel: setting a slider's value redraws the picture.
"""

from __future__ import annotations

import io
from collections.abc import Callable

import matplotlib
import numpy as np

from .embeddings import witness
from .kernels import GaussianKernel, median_heuristic
from .mmd import mmd2
from .plotting import COLORS

__all__ = ["InteractiveFigure", "figure_png", "draw_bandwidth", "bandwidth_demo"]


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

    def _ipython_display_(self):  # displaying the object displays its widget
        from IPython.display import display

        display(self.widget)


def _demo_samples(seed: int = 0, n: int = 200):
    """P = N(0, 1) and Q = Laplace with the same mean and variance, as in lecture 2."""
    rng = np.random.default_rng(seed)
    return rng.normal(size=n), rng.laplace(scale=1 / np.sqrt(2), size=n)


def draw_bandwidth(bandwidth: float, X=None, Y=None):
    """Samples of P and Q (1-D), the witness mu_P - mu_Q and the unbiased MMD^2 at a bandwidth."""
    import matplotlib.pyplot as plt

    if X is None or Y is None:
        X, Y = _demo_samples()
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
