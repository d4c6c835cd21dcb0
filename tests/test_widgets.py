"""Interactive demos: driving a widget redraws its picture; the drawing works without widgets."""

import matplotlib.pyplot as plt
import numpy as np
import pytest

from kernelflows.widgets import InteractiveFigure, bandwidth_demo, draw_bandwidth


def test_bandwidth_demo_redraws_when_the_slider_moves():
    demo = bandwidth_demo(bandwidth=1.0)
    first = bytes(demo.image.value)
    assert first.startswith(b"\x89PNG") and demo.redraws == 1
    demo.controls["bandwidth"].value = 0.1
    assert demo.redraws == 2
    assert bytes(demo.image.value) != first


def test_draw_bandwidth_title_reports_the_mmd():
    from kernelflows import GaussianKernel, mmd2

    rng = np.random.default_rng(0)
    X, Y = rng.normal(size=50), rng.normal(size=50) + 1
    fig = draw_bandwidth(0.5, X, Y)
    title = fig.axes[0].get_title()
    assert f"{mmd2(X, Y, GaussianKernel(0.5)):.3g}" in title
    plt.close(fig)


def test_interactive_figure_passes_every_control_value():
    import ipywidgets as W

    seen = []

    def draw(a, b):
        seen.append((a, b))
        fig, ax = plt.subplots()
        ax.plot([0, a], [0, b])
        return fig

    demo = InteractiveFigure(draw, {"a": W.FloatSlider(value=1.0), "b": W.IntSlider(value=2)})
    demo.controls["b"].value = 5
    assert seen == [(1.0, 2), (1.0, 5)]
    assert demo.values == {"a": 1.0, "b": 5}


def test_bad_bandwidth_is_reported():
    with pytest.raises(ValueError, match="bandwidth"):
        draw_bandwidth(-1.0)
