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


def test_an_experiment_in_pieces_is_written_after_every_piece(tmp_path, monkeypatch):
    from kernelflows.experiments import results as R

    seen, where = [], {}

    def pieces(s):
        for k in range(3):
            if k:  # the file holds the previous piece's metrics before this piece runs
                seen.append(json.loads(where["path"].read_text())["metrics"])
            yield {"done": k + 1, "n": s["n"]}

    spec = R.ExperimentSpec("pieces-test", "test", lambda scale: {"n": 3}, pieces=pieces)
    monkeypatch.setitem(R.EXPERIMENTS, "pieces-test", spec)
    where["path"] = results_path("pieces-test", "paper", tmp_path)
    res = run_experiment("pieces-test", "paper", tmp_path)
    assert seen == [{"done": 1, "n": 3}, {"done": 2, "n": 3}]
    assert res.metrics == {"done": 3, "n": 3}
    assert load_results("pieces-test", "paper", tmp_path).metrics == res.metrics
    assert R.compute("pieces-test", "paper") == res.metrics


def test_student_teacher_pieces_say_what_is_missing_and_average_the_seeds():
    from dataclasses import replace

    import numpy as np

    from kernelflows.experiments import PAPER_SETTINGS
    from kernelflows.experiments import results as R

    tiny = replace(PAPER_SETTINGS, n_student=5, input_dim=4, n_train=20, n_valid=10, epochs=2)
    tiny = replace(tiny, batch_size=10, record_every=1)
    s = R._student_teacher_plan(tiny, (0, 1), (("injection", "none"), ("plain",)))
    assert s["order"] == [[["injection", "none"], 0], [["injection", "none"], 1], [["plain"], 0],
                          [["plain"], 1]]  # fmt: skip
    steps = list(R._student_teacher_pieces(s))
    assert [m["missing"] for m in steps] == [s["order"][k + 1 :] for k in range(4)]
    final = steps[-1]
    for mode in ("injection", "none", "plain"):
        runs = final["runs"][mode]
        assert sorted(runs) == ["0", "1"]
        valid = [runs[k]["valid_mse"] for k in ("0", "1")]
        assert final["mean"][mode]["valid_mse"] == np.mean(valid)
        assert runs["0"]["valid_curve"][-1] == runs["0"]["valid_mse"]
    # a mode run alone gives what it gives beside the others: the same problem and batches
    assert steps[0]["runs"]["none"]["0"] == final["runs"]["none"]["0"]
