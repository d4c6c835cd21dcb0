"""The collapse map: its measures on constructed cases, its classes, and the reduced study."""

import numpy as np
import pytest

from kernelflows.experiments import compute
from kernelflows.experiments.collapse_study import (
    CLASSES,
    COLLAPSE_STUDY,
    THRESHOLDS,
    classify,
    collapse_metrics,
    study_grid,
)
from kernelflows.kernels import GaussianKernel


@pytest.mark.parametrize("d", [2, 20])
def test_a_clump_at_the_target_mean_has_no_spread_and_is_all_near(d):
    rng = np.random.default_rng(0)
    Y = rng.standard_normal((400, d))
    X = Y.mean(axis=0) + 1e-4 * rng.standard_normal((100, d))
    m = collapse_metrics(X, Y, GaussianKernel(2.0), rng=1)
    assert m["spread_ratio"] < 1e-3
    assert m["radius_ratio"] < 1e-3
    assert m["frac_near"] == 1.0
    assert m["mean_offset"] < 1e-3
    # grad f is small on the clump (the sample mean is near, not at, the maximiser of the
    # target's mean embedding) and larger just off it
    assert m["grad_off"] > 2 * m["grad_on"]


@pytest.mark.parametrize("d", [2, 20])
def test_samples_of_the_target_have_spread_ratio_one(d):
    rng = np.random.default_rng(0)
    Y = rng.standard_normal((2000, d))
    X = rng.standard_normal((2000, d))
    m = collapse_metrics(X, Y, GaussianKernel(2.0), rng=1)
    assert m["spread_ratio"] == pytest.approx(1.0, abs=0.05)
    assert m["radius_ratio"] == pytest.approx(1.0, abs=0.05)
    assert m["frac_near"] < THRESHOLDS["frac_near"]


def _measures(**kw):
    base = {
        "mean_offset": 0.0,
        "spread_ratio": 1.0,
        "radius_ratio": 1.0,
        "frac_near": 0.2,
        "stall": 1.0,
    }
    return {**base, **kw}


def test_classification_thresholds():
    t = THRESHOLDS
    assert classify(_measures(radius_ratio=t["reach_radius_ratio"] + 0.01)) == CLASSES[2]
    assert classify(_measures(mean_offset=5.0)) == "no collapse"  # the mean is not used
    assert classify(_measures(spread_ratio=0.1, frac_near=0.9)) == "collapse"
    assert classify(_measures(radius_ratio=0.1, spread_ratio=3.0, frac_near=0.9)) == "collapse"
    # just on the other side of each threshold: no collapse
    assert classify(_measures(spread_ratio=t["spread_ratio"], frac_near=0.9)) == "no collapse"
    below = t["frac_near"] - 0.01
    assert classify(_measures(spread_ratio=0.1, frac_near=below)) == "no collapse"
    assert classify(_measures(spread_ratio=0.1, frac_near=0.9, stall=t["stall"])) == "no collapse"
    assert classify(_measures()) == "no collapse"


def test_grid_states_step_and_flow_time():
    rows = study_grid(COLLAPSE_STUDY["paper"])
    assert len(rows) == 5 * 2 * 2 * 3 * 2
    paper = [
        r for r in rows if r["distance_rule"] == "10 sqrt(d)" and r["spread"] == 0.5 and r["d"] == 2
    ]
    assert all(r["distance"] == pytest.approx(10 * np.sqrt(2)) for r in paper)
    for r in rows:  # the same flow time in units of s^2 everywhere
        assert r["step"] * r["n_steps"] / r["bandwidth"] ** 2 == pytest.approx(250.0)


def test_reduced_study_runs_and_is_well_formed():
    out = compute("collapse-map", "reduced")
    rows = out["rows"]
    assert len(rows) == len(study_grid(COLLAPSE_STUDY["reduced"]))
    assert sum(out["counts"].values()) == len(rows)
    for r in rows:
        assert r["class"] in CLASSES
        assert np.isfinite(r["mmd2_final"]) and r["mmd2_final"] >= -1e-12
        assert 0.0 <= r["frac_near"] <= 1.0
        assert r["class"] == classify(r)
    # the literal bandwidth never brings the far source (the paper's) to the target
    far_literal = [
        r for r in rows if r["distance_rule"] == "10 sqrt(d)" and r["bandwidth_rule"] == "2"
    ]
    assert all(r["class"] == "does not reach the target" for r in far_literal)


def test_figure_states_its_scale(tmp_path, monkeypatch):
    import matplotlib.pyplot as plt

    from kernelflows.experiments import files
    from kernelflows.figures import draw

    fig = draw("collapse-map")
    try:
        files.load_results("collapse-map", "paper")
        paper = True
    except ValueError:  # missing or stale: the figure computes the reduced map
        paper = False
    assert ("PAPER SCALE" if paper else "REDUCED SCALE") in fig.get_suptitle()
    monkeypatch.setattr(files, "RESULTS_DIR", tmp_path)  # no results file: the reduced run
    fig = draw("collapse-map")
    assert "REDUCED SCALE" in fig.get_suptitle()
    plt.close("all")
