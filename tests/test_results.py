"""Results files: committed published-scale numbers match the settings in the code."""

import json

import pytest

from kernelflows.experiments import EXPERIMENTS, load_results, results_path, run_experiment
from kernelflows.experiments.results import RESULTS_DIR, Results, settings, stale


def _committed():
    return sorted(RESULTS_DIR.glob("*.json")) if RESULTS_DIR.exists() else []


@pytest.mark.parametrize("path", _committed(), ids=lambda p: p.name)
def test_committed_results_are_not_stale(path):
    doc = json.loads(path.read_text())
    res = Results(doc["id"], doc["scale"], doc["settings"], doc["metrics"], doc["provenance"])
    assert not stale(res), f"{path.name}: settings changed; rerun `make results`"
    for key in ("commit", "cpu", "blas", "numpy", "start", "wall_seconds"):
        assert key in doc["provenance"], f"{path.name}: provenance lacks {key}"


def test_every_experiment_has_settings_at_both_scales():
    for spec in EXPERIMENTS.values():
        for scale in ("paper", "reduced"):
            s = settings(spec.id, scale)
            assert json.loads(json.dumps(s)) == s  # JSON round trip: comparable in a file


def test_a_changed_setting_makes_a_file_stale(tmp_path):
    res = run_experiment("collapse", "reduced", tmp_path)
    assert load_results("collapse", "reduced", tmp_path).metrics == res.metrics
    path = results_path("collapse", "reduced", tmp_path)
    doc = json.loads(path.read_text())
    doc["settings"]["step"] = 0.5
    path.write_text(json.dumps(doc))
    with pytest.raises(ValueError, match="stale"):
        load_results("collapse", "reduced", tmp_path)


def test_unknown_experiment_and_missing_file(tmp_path):
    with pytest.raises(ValueError, match="unknown experiment"):
        results_path("nope")
    with pytest.raises(ValueError, match="no results file"):
        load_results("collapse", "paper", tmp_path)


def test_compute_runs_needs_an_experiment_that_exposes_its_runs():
    from kernelflows.experiments import compute_runs

    with pytest.raises(ValueError, match="does not expose its runs"):
        compute_runs("collapse")
