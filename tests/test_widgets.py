"""Interactive demos: driving a widget redraws its picture; the drawing works without widgets."""

import matplotlib.pyplot as plt
import numpy as np
import pytest

from kernelflows.course.widgets import InteractiveFigure, bandwidth_demo, draw_bandwidth


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


def _drive(demo, name, value):
    before, count = bytes(demo.image.value), demo.redraws
    demo.controls[name].value = value
    assert demo.redraws == count + 1
    assert bytes(demo.image.value) != before


def test_noise_demo_redraws_and_noise_lowers_the_final_mmd():
    from kernelflows.course.widgets import draw_noise, noise_demo

    demo = noise_demo(beta=0.0, n=40, n_steps=40)
    _drive(demo, "beta", 2.0)
    # the plain drawing: with noise the legend reports a lower final MMD^2 than without
    fig = draw_noise(2.0, n=40, n_steps=60)
    labels = [t.get_text() for t in fig.axes[1].get_legend().get_texts()]
    finals = [float(t.rsplit("final ", 1)[1]) for t in labels]
    assert len(finals) == 2 and finals[1] < finals[0]
    plt.close("all")


def test_flow_demo_redraws_for_step_and_particles():
    from kernelflows.course.widgets import flow_demo

    demo = flow_demo(step=1.0, n_particles=10, n_steps=20)
    _drive(demo, "step", 5.0)
    _drive(demo, "n_particles", 20)
    assert demo.values == {"step": 5.0, "n_particles": 20}


def test_kale_lambda_demo_redraws():
    from kernelflows import PolynomialKernel
    from kernelflows.course.widgets import kale_lambda_demo

    rng = np.random.default_rng(1)
    X, Y = rng.normal(size=60), 1 + rng.normal(size=60)
    demo = kale_lambda_demo(X, Y, PolynomialKernel(2, 1.0), lams=np.logspace(-2, 2, 5))
    _drive(demo, "log10_lam", -1.5)


def test_where_no_widget_manager_runs_a_demo_shows_its_picture_and_says_so():
    """The display bundle: the widget view for Jupyter, and for front ends without a widget
    manager (they show the richest type they know) the current picture with a line naming each
    slider and its value (HTML), and that line alone (plain text)."""
    import base64
    import html
    import re

    from kernelflows.course.widgets import flow_demo

    demo = flow_demo(step=1.0, n_particles=10, n_steps=20)
    for _ in range(2):  # at the start, then after a slider moved
        bundle = demo._repr_mimebundle_()
        view = bundle["application/vnd.jupyter.widget-view+json"]
        assert view["model_id"] == demo.widget.model_id
        m = re.search(r'<img src="data:image/png;base64,([A-Za-z0-9+/=]+)"', bundle["text/html"])
        assert m and base64.b64decode(m.group(1)) == bytes(demo.image.value)
        values = demo.values
        for name, control in demo.controls.items():
            said = f"{control.description} = {values[name]:.3g}"
            assert said in bundle["text/plain"] and html.escape(said) in bundle["text/html"]
        assert "sliders redraw" in bundle["text/plain"]
        demo.controls["n_particles"].value = 15
