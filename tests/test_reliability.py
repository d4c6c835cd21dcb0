"""Reliability: translation accuracy, inputs that used to slip through, nothing lost on disk."""

from __future__ import annotations

import os
import stat
import time
from pathlib import Path

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from kernelflows._validation import as_rng, as_samples
from kernelflows.divergences import mmd2
from kernelflows.divergences.phi import discrete_divergence, divergence_1d, variational_objective
from kernelflows.experiments.datasets import collapse_setup
from kernelflows.flows import FlowDivergedError, mmd_flow, run_flow
from kernelflows.kernels import (
    EnergyKernel,
    GaussianKernel,
    IMQKernel,
    LaplaceKernel,
    PolynomialKernel,
    sq_distances,
)
from kernelflows.measures import RKHSFunction, mean_embedding, witness
from kernelflows.networks import MeanFieldNetwork

EPS = np.finfo(float).eps
KERNELS = [GaussianKernel(1.0), LaplaceKernel(1.0), IMQKernel(1.0), EnergyKernel()]


# -- 1. translation-accurate distances ---------------------------------------------------------
def test_sq_distances_survive_a_large_shift():
    # Before: |z|^2 + |x|^2 - 2 z.x at 1e6 loses every distance below ~2 (clipped to 0).
    X = np.array([[0.0, 0.0], [0.1, 0.0], [0.0, 1.0]])
    exact = sq_distances(X, X)
    shifted = sq_distances(X + 1e6, X + 1e6)
    np.testing.assert_allclose(shifted, exact, rtol=1e-9, atol=0)
    assert np.all(np.diag(shifted) == 0.0)  # coincident points: exactly 0


def test_gaussian_fast_path_is_translation_accurate():
    rng = np.random.default_rng(1)
    Z, C = rng.standard_normal((7, 2)), rng.standard_normal((9, 2))
    W = rng.standard_normal((9, 2))
    k = GaussianKernel(1.0)
    S0, G0 = k.sums_and_grad(Z, C, W)
    S1, G1 = k.sums_and_grad(Z + 1e6, C + 1e6, W)
    # kernel values <= 1 and |z - c| <~ 10: absolute 1e-10 is ~1e6 x the rounding of one value
    np.testing.assert_allclose(S1, S0, atol=1e-10)
    np.testing.assert_allclose(G1, G0, atol=1e-10)


samples = st.integers(2, 20)


@settings(max_examples=60, deadline=None)
@given(
    n=samples,
    m=samples,
    d=st.integers(1, 3),
    seed=st.integers(0, 2**32 - 1),
    shift=st.floats(-1e6, 1e6, allow_nan=False),
    which=st.integers(0, len(KERNELS) - 1),
)
def test_mmd2_is_translation_invariant(n, m, d, seed, shift, which):
    rng = np.random.default_rng(seed)
    X, Y = rng.standard_normal((n, d)), rng.standard_normal((m, d)) + 0.5
    s = shift * rng.uniform(-1, 1, d)
    k = KERNELS[which]
    a, b = mmd2(X, Y, k), mmd2(X + s, Y + s, k)
    # Floor: bounded kernels (values <= 1, spread <~ 10 after centring) carry a rounding of
    # ~1e-16 * 100 per value: 1e-12 is far above it. The energy kernel's ||z|| + ||x|| terms are
    # not translation invariant: they cancel in MMD only up to their rounding, ~eps * ||x + s||
    # per value; 64 eps * (1 + max ||x + s||) bounds it.
    scale = 1.0 + max(np.linalg.norm(X + s, axis=1).max(), np.linalg.norm(Y + s, axis=1).max())
    floor = 64 * EPS * scale if isinstance(k, EnergyKernel) else 1e-12
    assert abs(a - b) <= 1e-8 * abs(a) + floor


# -- 2. inputs that used to slip through --------------------------------------------------------
X3, Y3 = np.zeros((3, 2)), np.ones((3, 2))

BAD_INPUTS = {
    "complex X": (lambda: mmd2(X3 + 1j, Y3, GaussianKernel()), "X"),
    "complex list": (lambda: as_samples([[1 + 2j, 0.0]], "Z"), "Z"),
    "complex weights": (lambda: RKHSFunction(X3, np.ones(3) * 1j, GaussianKernel()), "weights"),
    "gaussian 1e-200": (lambda: GaussianKernel(1e-200), "bandwidth"),
    "gaussian 1e-160": (lambda: GaussianKernel(1e-160), "bandwidth"),
    "gaussian 1e300": (lambda: GaussianKernel(1e300), "bandwidth"),
    "laplace 1e-200": (lambda: LaplaceKernel(1e-200), "bandwidth"),
    "laplace 1e300": (lambda: LaplaceKernel(1e300), "bandwidth"),
    "imq c 1e-200": (lambda: IMQKernel(1e-200), "c"),
    "imq c 1e300": (lambda: IMQKernel(1e300), "c"),
    "coordinate 1e200": (lambda: as_samples([[1e200, 0.0]], "X0"), "X0"),
    "rng -1": (lambda: as_rng(-1), "rng"),
    "imq beta None": (lambda: IMQKernel(beta=None), "beta"),
    "polynomial c 'x'": (lambda: PolynomialKernel(c="x"), "c"),
    "bias 'no'": (lambda: MeanFieldNetwork(bias="no"), "bias"),
    "field 'x'": (lambda: run_flow(X3, "x", step=0.1, n_steps=2), "field"),
    "noise negative": (
        lambda: mmd_flow(X3, Y3, GaussianKernel(), step=0.1, n_steps=3, noise=lambda n: -1.0),
        "noise",
    ),
    "noise nan": (
        lambda: mmd_flow(X3, Y3, GaussianKernel(), step=0.1, n_steps=3, noise=lambda n: np.nan),
        "noise",
    ),
    "centre nan": (lambda: collapse_setup(centre=float("nan")), "centre"),
    "variational nan": (lambda: variational_objective("kl", [np.nan], [0.0]), "f_p"),
    "divergence_1d nan": (
        lambda: divergence_1d("kl", lambda z: np.full(len(z), np.nan), lambda z: -(z**2) / 2),
        "logp",
    ),
    "discrete nan": (lambda: discrete_divergence("kl", [np.nan, 1.0], [0.5, 0.5]), "p"),
}


@pytest.mark.parametrize("case", list(BAD_INPUTS))
def test_bad_input_raises_value_error_naming_it(case):
    make, name = BAD_INPUTS[case]
    with pytest.raises(ValueError, match=rf"\b{name}\b"):
        make()


def test_noise_error_names_the_step():
    with pytest.raises(ValueError, match=r"step 0"):
        mmd_flow(X3, Y3, GaussianKernel(), step=0.1, n_steps=3, noise=lambda n: -1.0)


def test_bandwidth_error_states_the_usable_range():
    with pytest.raises(ValueError, match=r"1e-150.*1e\+150"):
        GaussianKernel(1e-160)
    GaussianKernel(1e-100), LaplaceKernel(1e100), IMQKernel(1e-100)  # inside: accepted


def test_rkhs_function_holds_read_only_copies():
    centres, weights = np.zeros((2, 1)), np.array([1.0, -1.0])
    f = RKHSFunction(centres, weights, GaussianKernel())
    centres[0, 0], weights[0] = 5.0, 7.0  # the caller's arrays change: f does not
    assert f.centres[0, 0] == 0.0 and f.weights[0] == 1.0
    for g in (f, mean_embedding(np.zeros((3, 1)), GaussianKernel())):
        with pytest.raises(ValueError):
            g.weights[0] = 2.0
        with pytest.raises(ValueError):
            g.centres[0, 0] = 2.0
    w = witness(np.zeros((3, 1)), np.ones((2, 1)), GaussianKernel())
    with pytest.raises(ValueError):
        w.weights[...] = 0.0


def test_a_flow_that_blows_up_names_the_step_and_step_size():
    # The Gaussian, IMQ and energy kernels have bounded gradients: with step=1e6 their particles
    # jump far but stay finite (|x| ~ 2e5 after 50 steps). The cubic polynomial kernel's
    # velocity grows like |x|^5: overflow within a few steps.
    rng = np.random.default_rng(0)
    X, Y = rng.standard_normal((20, 2)), rng.standard_normal((20, 2)) + 1.0
    with pytest.raises(FlowDivergedError, match=r"step \d+.*step"):
        mmd_flow(X, Y, PolynomialKernel(3), step=1e6, n_steps=50)


# -- 3. figures: file mode and no temporary file left behind ---------------------------------------
def _hidden(tmp_path):
    return [p.name for p in tmp_path.iterdir() if p.name.startswith(".")]


@pytest.mark.parametrize("umask, mode", [(0o022, 0o644), (0o077, 0o600), (0o002, 0o664)])
def test_atomic_write_gives_the_umask_mode(tmp_path, umask, mode):
    from kernelflows.figures._io import atomic_write

    old = os.umask(umask)
    try:
        atomic_write(tmp_path / "f.png", lambda tmp: Path(tmp).write_bytes(b"png"))
    finally:
        os.umask(old)
    assert stat.S_IMODE((tmp_path / "f.png").stat().st_mode) == mode


@pytest.mark.parametrize("exc", [KeyboardInterrupt, SystemExit])
def test_atomic_write_cleans_up_on_interrupt(tmp_path, exc):
    from kernelflows.figures._io import atomic_write

    (tmp_path / "f.png").write_bytes(b"old")

    def write(tmp):
        Path(tmp).write_bytes(b"half")
        raise exc

    with pytest.raises(exc):
        atomic_write(tmp_path / "f.png", write)
    assert (tmp_path / "f.png").read_bytes() == b"old"
    assert _hidden(tmp_path) == []


def test_figures_cli_turns_sigterm_into_cleanup(tmp_path):
    # The CLI's handler raises SystemExit, which atomic_write's cleanup catches: a SIGTERM while
    # a figure is written leaves no hidden temporary file.
    import signal

    from kernelflows.figures import __main__ as cli
    from kernelflows.figures._io import atomic_write

    old = signal.getsignal(signal.SIGTERM)
    try:
        with pytest.raises(SystemExit):  # no such figure: argparse exits after the install
            cli.main(["--only", "no-such-figure", "--out", str(tmp_path)])
        assert signal.getsignal(signal.SIGTERM) is cli._exit_on_sigterm

        def write(tmp):
            Path(tmp).write_bytes(b"half")
            os.kill(os.getpid(), signal.SIGTERM)
            time.sleep(5)  # the handler interrupts this

        with pytest.raises(SystemExit):
            atomic_write(tmp_path / "g.png", write)
    finally:
        signal.signal(signal.SIGTERM, old)
    assert not (tmp_path / "g.png").exists() and _hidden(tmp_path) == []
