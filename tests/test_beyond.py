"""The beyond experiment (lecture 10): its structure, independent streams, the failure-mode
set-ups, and the smiley target's sampler."""

import dataclasses

import numpy as np
import pytest

from kernelflows.experiments import (
    BEYOND_FLOWS,
    BeyondRuns,
    beyond_experiment,
    in_smiley,
    ksd_one_sided,
    mode_fractions,
    smiley_samples,
    svgd_variance_by_dimension,
)


@pytest.fixture(scope="module")
def small():
    return beyond_experiment(n=30, n_steps=5, n_heldout=50, seed=0)


def test_the_experiment_runs_every_flow_and_is_frozen(small):
    assert isinstance(small, BeyondRuns)
    for table in (small.runs, small.energy, small.fractions, small.covered, small.seconds_per_step):
        assert list(table) == list(BEYOND_FLOWS)
    assert small.X0.shape == small.Y.shape == (30, 2) and small.Y_heldout.shape == (50, 2)
    for name, run in small.runs.items():
        assert run.particles.shape == (30, 2) and np.all(np.isfinite(run.particles))
        assert np.isclose(small.fractions[name].sum(), 1.0)
        assert 0 <= small.covered[name] <= 4
        assert small.seconds_per_step[name] > 0
    with pytest.raises(dataclasses.FrozenInstanceError):
        small.energy_start = 0.0


def test_one_seed_reproduces_the_experiment(small):
    again = beyond_experiment(n=30, n_steps=5, n_heldout=50, seed=0)
    for name in BEYOND_FLOWS:
        np.testing.assert_array_equal(small.runs[name].particles, again.runs[name].particles)
    assert small.energy == again.energy


def test_streams_are_independent(small):
    """The held-out samples, the data and each flow's noise come from different streams."""
    assert not np.allclose(small.Y[:10], small.Y_heldout[:10])
    other = beyond_experiment(n=30, n_steps=5, n_heldout=50, seed=1)
    assert not np.allclose(small.X0, other.X0)
    # the noisy MMD flow and the Langevin algorithm draw different noise: their displacements
    # from the noise-free drift are uncorrelated
    noisy = small.runs["MMD flow, noise"].particles - small.runs["MMD flow"].particles
    lang = small.runs["Langevin (KL flow)"].particles - small.X0
    c = np.corrcoef(noisy.ravel(), lang.ravel())[0, 1]
    assert abs(c) < 0.5
    # changing one flow's settings leaves the other flows' particles alone
    more_noise = beyond_experiment(n=30, n_steps=5, n_heldout=50, beta=0.6, seed=0)
    np.testing.assert_array_equal(
        more_noise.runs["Langevin (KL flow)"].particles, small.runs["Langevin (KL flow)"].particles
    )
    np.testing.assert_array_equal(
        more_noise.runs["sliced MMD flow"].particles, small.runs["sliced MMD flow"].particles
    )


def test_mode_fractions():
    means = np.array([[0.0, 0.0], [2.0, 0.0]])
    X = np.array([[0.1, 0.0], [1.9, 0.1], [2.5, 0.0], [-1.0, 0.0]])
    np.testing.assert_allclose(mode_fractions(X, means), [0.5, 0.5])


def test_svgd_variance_and_ksd_one_sided_small():
    out = svgd_variance_by_dimension((1, 10), n=20, n_steps=20)
    assert out.variance.shape == (2,) and np.all(out.variance > 0)
    ksd = ksd_one_sided(n=20, n_steps=50)
    assert ksd.right_fraction == 0.0 and ksd.ksd2_path[-1] < ksd.ksd2_path[0]


def test_smiley_sampler_is_deterministic_and_inside():
    a, b = smiley_samples(5000, rng=3), smiley_samples(5000, rng=3)
    np.testing.assert_array_equal(a, b)
    assert a.shape == (5000, 2) and a.dtype == np.float64
    assert np.all(in_smiley(a))
    assert not np.array_equal(a, smiley_samples(5000, rng=4))
    # every primitive gets points: face outline, both eyes, the mouth
    r = np.hypot(a[:, 0], a[:, 1])
    assert np.any(r > 0.8)
    assert np.any(np.hypot(a[:, 0] + 0.35, a[:, 1] - 0.3) < 0.15)
    assert np.any(np.hypot(a[:, 0] - 0.35, a[:, 1] - 0.3) < 0.15)
    assert np.any((a[:, 1] < -0.3) & (r < 0.7))
    assert not in_smiley(np.zeros((1, 2)))[0]  # the centre of the face is empty
    with pytest.raises(ValueError):
        in_smiley(np.zeros((3, 3)))
