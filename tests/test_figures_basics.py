"""The figures of the talk's first part (kernelflows.figures.mmd_basics)."""

import matplotlib

matplotlib.use("Agg")

import matplotlib.pyplot as plt  # noqa: E402
import pytest  # noqa: E402

from kernelflows.figures import draw, figures  # noqa: E402
from kernelflows.figures.mmd_basics import GAUSSIAN, LAPLACE, NODES  # noqa: E402
from kernelflows.measures import quadrature_mean  # noqa: E402

IDS = ["kernel-trick", "mmd-witness", "feature-means", "kernel-matrix", "empirical-witness"]


def test_the_gaussian_and_the_laplace_share_mean_and_variance():
    # The mmd-witness slide needs P != Q with equal first two moments; checked on the very
    # quadrature measures the figures use (trapezoid error at the Laplace kink is O(h^2)).
    for dist in (GAUSSIAN, LAPLACE):
        assert quadrature_mean(lambda x: x[:, 0], NODES, dist.pdf) == pytest.approx(0, abs=1e-12)
        assert quadrature_mean(lambda x: x[:, 0] ** 2, NODES, dist.pdf) == pytest.approx(
            1, abs=1e-3
        )
    assert LAPLACE.pdf(0.0) > GAUSSIAN.pdf(0.0)  # yet they differ


@pytest.mark.parametrize("figure_id", IDS)
def test_figures_are_registered_and_draw(figure_id):
    assert figure_id in figures()
    fig = draw(figure_id)
    assert fig.axes and all(ax.has_data() for ax in fig.axes if ax.get_label() != "<colorbar>")
    plt.close(fig)
