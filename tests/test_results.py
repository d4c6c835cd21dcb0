"""Results files and the registry of experiments: committed published-scale numbers match the
settings in the code, one owner of each experiment's settings, and the runner of pieces."""

import json
from dataclasses import replace

import numpy as np
import pytest

from kernelflows.experiments import (
    EXPERIMENTS,
    PAPER_SETTINGS,
    SCALES,
    Experiment,
    Results,
    compute,
    compute_runs,
    experiment,
    load_results,
    results_path,
    run_experiment,
)
from kernelflows.experiments.cli import main
from kernelflows.experiments.files import RESULTS_DIR, stale
from kernelflows.experiments.student_teacher import plan


def _committed():
    return sorted(RESULTS_DIR.glob("*.json")) if RESULTS_DIR.exists() else []


@pytest.mark.parametrize("path", _committed(), ids=lambda p: p.name)
def test_committed_results_are_not_stale(path):
    res = Results.read(path)
    target = "results" if res.scale == "paper" else "results-reduced"
    assert not stale(res), f"{path.name}: settings changed; rerun `make {target}`"
    for key in ("commit", "cpu", "blas", "numpy", "start", "wall_seconds"):
        assert key in res.provenance, f"{path.name}: provenance lacks {key}"


def test_every_experiment_has_settings_at_both_scales():
    for e in EXPERIMENTS.values():
        for scale in SCALES:
            s = e.settings(scale)
            assert json.loads(json.dumps(s)) == s  # JSON round trip: comparable in a file
    with pytest.raises(ValueError, match="scale"):
        experiment("three-rings").settings("lecture")
    with pytest.raises(ValueError, match="n_step.*known"):
        experiment("three-rings").settings("paper", n_step=3)


def test_a_changed_setting_makes_a_file_stale(tmp_path):
    res = run_experiment("collapse", "reduced", tmp_path)
    assert load_results("collapse", "reduced", tmp_path).metrics == res.metrics
    path = results_path("collapse", "reduced", tmp_path)
    doc = json.loads(path.read_text())
    doc["settings"]["step"] = 0.5
    path.write_text(json.dumps(doc))
    with pytest.raises(ValueError, match="stale"):
        load_results("collapse", "reduced", tmp_path)
    assert main(["check"]) == 0  # the committed files are untouched


def test_unknown_experiment_and_missing_file(tmp_path):
    with pytest.raises(ValueError, match="unknown experiment"):
        results_path("nope")
    with pytest.raises(ValueError, match="no results file"):
        load_results("collapse", "paper", tmp_path)
    assert main(["run", "nope", "--out", str(tmp_path)]) == 2
    assert not any(tmp_path.iterdir())


def test_compute_runs_returns_the_metrics_of_the_runs_it_returns():
    metrics, out = compute_runs("collapse", "reduced")
    assert metrics == compute("collapse", "reduced")
    # the settings are the runs' own: n = m = 200 at the reduced scale, 300 steps
    assert out.Y.shape == (experiment("collapse").settings("reduced")["n"], 2)
    assert out.runs["no noise"].steps[-1] == 300
    with pytest.raises(ValueError, match="made of pieces"):
        compute_runs("student-teacher")


def _toy(monkeypatch, seen, where):
    def run(s, piece):
        if piece[0]:  # the file holds the previous piece's metrics before this piece runs
            seen.append(json.loads(where["path"].read_text())["metrics"])
        return {"value": piece[0] * s["n"]}

    e = Experiment(
        "pieces-test",
        "test",
        lambda scale: {"n": 3},
        run,
        lambda runs, s: runs,
        pieces=lambda s: [[k] for k in range(s["n"])],
        combine=lambda s, done: {"total": sum(summary["value"] for _, summary in done)},
    )
    monkeypatch.setitem(EXPERIMENTS, "pieces-test", e)
    return e


def test_an_experiment_in_pieces_is_written_after_every_piece(tmp_path, monkeypatch):
    seen, where = [], {}
    _toy(monkeypatch, seen, where)
    where["path"] = results_path("pieces-test", "paper", tmp_path)
    res = run_experiment("pieces-test", "paper", tmp_path)
    assert seen == [
        {"total": 0, "done": [[0]], "missing": [[1], [2]]},
        {"total": 3, "done": [[0], [1]], "missing": [[2]]},
    ]
    assert res.metrics == {"total": 9, "done": [[0], [1], [2]], "missing": []}
    assert load_results("pieces-test", "paper", tmp_path).metrics == res.metrics


def test_student_teacher_pieces_say_what_is_missing_and_average_the_seeds():
    tiny = replace(PAPER_SETTINGS, n_student=5, input_dim=4, n_train=20, n_valid=10, epochs=2)
    tiny = replace(tiny, batch_size=10, record_every=1)
    s = plan(tiny, (0, 1), (("injection", "none"), ("plain",)))
    assert s["order"] == [[["injection", "none"], 0], [["injection", "none"], 1], [["plain"], 0],
                          [["plain"], 1]]  # fmt: skip
    steps = list(experiment("student-teacher").iter_metrics(s))
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
