"""The kernel's role in the KSD (Gorham and Mackey, ICML 2017): on a grid sample that drifts away
from N(0, I_d), the Gaussian-kernel KSD^2 goes to 0 in d = 3 but not in d = 2, and the IMQ
kernel's KSD^2 stays away from 0. The constants are fixed in advance from the closed-form
diagonal (kernelflows.theory.stein), not read from the runs."""

from __future__ import annotations

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from kernelflows import GaussianKernel, IMQKernel
from kernelflows.theory import (
    drifting_sequence,
    gaussian_stein_diagonal,
    separated_grid,
    standard_gaussian,
    stein_diagonal,
)

SPACING = 3.0  # 3 bandwidths: neighbours' Gaussian kernel values e^(-4.5) ~ 0.011
KERNELS = {"gaussian": GaussianKernel(1.0), "imq": IMQKernel(1.0, -0.5)}


@settings(max_examples=30, deadline=None)
@given(m=st.integers(1, 6), d=st.integers(1, 3), spacing=st.floats(0.1, 10.0))
def test_grid_and_its_closed_form_diagonal(m, d, spacing):
    X = separated_grid(m, d, spacing)
    assert X.shape == (m**d, d)
    assert np.allclose(X.mean(axis=0), 0.0, atol=1e-12 * spacing * m)
    if m > 1:  # nearest neighbours `spacing` apart
        D = np.sqrt(((X[:, None] - X[None]) ** 2).sum(-1)) + np.eye(len(X)) * 1e300
        assert D.min() == pytest.approx(spacing, rel=1e-12)
    # the closed form against the Stein kernel of each point with itself (independent)
    exact = gaussian_stein_diagonal(m, d, spacing)
    assert stein_diagonal(X, standard_gaussian(d), GaussianKernel(1.0)) == pytest.approx(
        exact, rel=1e-12
    )


def test_gaussian_ksd_misses_the_drift_in_three_dimensions():
    rows = drifting_sequence([2, 4, 6, 8], 3, SPACING, KERNELS)
    moments = [r["second_moment"] for r in rows]
    gauss = [r["ksd2"]["gaussian"] for r in rows]
    # the sample does not converge: its second moment grows (the target's is 3)
    assert np.all(np.diff(moments) > 0) and moments[-1] > 40 * 3
    # the Gaussian KSD^2 decreases, towards its diagonal (within the neighbours' share: the
    # 6 neighbours' terms are below 10% of it at spacing 3), which falls like 1 / m to 0
    assert np.all(np.diff(gauss) < 0)
    for r, g in zip(rows, gauss, strict=True):
        diag = gaussian_stein_diagonal(r["m"], 3, SPACING)
        assert abs(g - diag) <= 0.1 * diag
    assert gaussian_stein_diagonal(1000, 3, SPACING) < 3e-3


def test_imq_ksd_detects_the_drift():
    rows = drifting_sequence([2, 4, 6, 8], 3, SPACING, KERNELS)
    imq = [r["ksd2"]["imq"] for r in rows]
    # bounded away from 0: it grows with the drift (Gorham and Mackey: beta in (-1, 0))
    assert np.all(np.diff(imq) > 0) and imq[-1] > 2 * imq[0] > 0


def test_gaussian_ksd_sees_the_drift_in_two_dimensions():
    # d = 2: the diagonal tends to spacing^2 / 6 = 1.5, not to 0 (the threshold d >= 3)
    rows = drifting_sequence([3, 6, 12, 24], 2, SPACING, {"gaussian": GaussianKernel(1.0)})
    for r in rows:
        assert 1.4 <= r["ksd2"]["gaussian"] <= 1.7
    assert gaussian_stein_diagonal(10**4, 2, SPACING) == pytest.approx(SPACING**2 / 6, rel=1e-6)
