"""The experiments' runner: pieces in worker processes identical to a serial run, the pieces of
several files in one pool longest first, resumable results files (same settings and code),
Ctrl-C and SIGTERM stopping cleanly, progress bars only when asked, run-time estimates from the
files' records, and the Makefile's results targets."""

import json
import os
import re
import signal
import subprocess
import sys
import time
from dataclasses import replace
from pathlib import Path

import numpy as np
import pytest

from kernelflows.experiments import EXPERIMENTS, PAPER_SETTINGS, experiment
from kernelflows.experiments import runner as runner_module
from kernelflows.experiments.cli import main
from kernelflows.experiments.estimates import estimated_seconds
from kernelflows.experiments.runner import RunInterrupted, run_experiments
from kernelflows.experiments.student_teacher import plan

ROOT = Path(__file__).resolve().parents[1]


def tiny_plan(epochs=20, n_student=10):
    """student-teacher at a toy size: 3 groups x 3 seeds = 9 pieces of a fraction of a second."""
    s = replace(
        PAPER_SETTINGS,
        n_student=n_student,
        input_dim=6,
        n_train=100,
        n_valid=40,
        batch_size=20,
        epochs=epochs,
        record_every=5,
    )
    return plan(s, (0, 1, 2))


def without_times(metrics):
    """The metrics less each run's wall time (the one number that depends on the machine)."""
    if isinstance(metrics, dict):
        return {k: without_times(v) for k, v in metrics.items() if k != "wall_seconds"}
    if isinstance(metrics, list):
        return [without_times(v) for v in metrics]
    return metrics


def read(path):
    return json.loads(Path(path).read_text())


def test_worker_processes_give_the_serial_results_bit_for_bit(tmp_path):
    s = tiny_plan()
    (serial,) = run_experiments([("student-teacher", "paper")], tmp_path / "1", settings=s)
    (parallel,) = run_experiments(
        [("student-teacher", "paper")], tmp_path / "2", jobs=2, settings=s
    )
    assert parallel.provenance["jobs"] == 2 and serial.provenance["jobs"] == 1
    # JSON floats print every bit (repr round trip): equal text is equal numbers
    assert json.dumps(without_times(parallel.metrics)) == json.dumps(without_times(serial.metrics))
    assert parallel.metrics["missing"] == [] and len(parallel.metrics["done"]) == 9
    pieces = [p["piece"] for p in read(parallel.path)["pieces"]]
    assert pieces == s["order"]  # recorded in the experiment's order, whatever finished first
    # the file's cost is its own pieces' CPU time (not the wall time of the whole command), and
    # that is what the lectures' source lines print
    cpu = sum(p["cpu_seconds"] for p in read(parallel.path)["pieces"])
    assert parallel.provenance["cpu_seconds"] == cpu
    assert parallel.source().endswith(f", {cpu:.0f} CPU-s")


def small_experiments(monkeypatch) -> list:
    """three-rings and mixture at 20 steps and student-teacher at a toy size, as their reduced
    scale in this process (the runner hands the settings to its workers): 17 pieces of three
    files, ``[(experiment_id, "reduced"), ...]``."""
    small = {
        "three-rings": experiment("three-rings").settings("reduced", n_steps=20, record_every=10),
        "mixture": experiment("mixture").settings("reduced", n_steps=20, record_every=10),
        "student-teacher": tiny_plan(epochs=5),
    }
    for i, s in small.items():
        monkeypatch.setitem(EXPERIMENTS, i, replace(experiment(i), scales=lambda scale, s=s: s))
    return [(i, "reduced") for i in small]


def without_seconds(metrics):
    """The metrics less every wall or CPU time (the numbers that depend on the machine)."""
    if isinstance(metrics, dict):
        drop = ("seconds", "cpu_seconds", "wall_seconds")
        return {k: without_seconds(v) for k, v in metrics.items() if k not in drop}
    if isinstance(metrics, list):
        return [without_seconds(v) for v in metrics]
    return metrics


def test_the_pieces_of_several_files_in_one_pool_give_the_serial_results(tmp_path, monkeypatch):
    runs = small_experiments(monkeypatch)
    serial = run_experiments(runs, tmp_path / "1", quiet=True)
    packed = run_experiments(runs, tmp_path / "2", jobs=2, quiet=True)
    assert [(r.id, r.scale) for r in packed] == runs  # in the order given
    for one, two in zip(serial, packed, strict=True):
        assert two.provenance["jobs"] == 2
        assert json.dumps(without_seconds(two.metrics)) == json.dumps(
            without_seconds(one.metrics)
        ), two.id
        e = experiment(two.id)
        assert two.metrics["missing"] == [] and two.metrics["done"] == e.piece_list(two.settings)
        assert [p["piece"] for p in read(two.path)["pieces"]] == e.piece_list(two.settings)


def test_an_interrupted_run_of_several_files_keeps_every_piece_written(tmp_path, monkeypatch):
    runs = small_experiments(monkeypatch)
    calls, real = [], runner_module._compute

    def counting(experiment_id, settings, piece, *args):
        calls.append((experiment_id, piece))
        if len(calls) == 4 and interrupt:
            raise KeyboardInterrupt  # Ctrl-C during the fourth piece
        return real(experiment_id, settings, piece, *args)

    monkeypatch.setattr(runner_module, "_compute", counting)
    interrupt = True
    with pytest.raises(RunInterrupted) as stop:
        run_experiments(runs, tmp_path, quiet=True)
    kept = {}
    for i, scale in runs:
        path = tmp_path / f"{i}.{scale}.json"
        kept[i] = read(path)["metrics"]["done"] if path.exists() else []
        n = len(experiment(i).piece_list(experiment(i).settings(scale)))
        said = f"{i} ({scale}) {len(kept[i])} of {n} pieces"
        assert said in str(stop.value)
    assert sorted((i, p) for i, done in kept.items() for p in done) == sorted(calls[:3])
    interrupt, calls[:] = False, []
    resumed = run_experiments(runs, tmp_path, quiet=True)
    assert len(calls) == 17 - 3 and not {(i, json.dumps(p)) for i, p in calls} & {
        (i, json.dumps(p)) for i, done in kept.items() for p in done
    }  # only the missing pieces ran
    fresh = run_experiments(runs, tmp_path / "fresh", quiet=True)
    for again, ref in zip(resumed, fresh, strict=True):
        assert without_seconds(again.metrics) == without_seconds(ref.metrics)


def test_the_pieces_of_every_file_go_longest_first_unknown_first(tmp_path, monkeypatch, capsys):
    from kernelflows.experiments import results_path

    runs = small_experiments(monkeypatch)
    # the files there record CPU seconds for student-teacher's and mixture's pieces (written by
    # other code: none is kept); three-rings has no file at the reduced scale: no estimate
    assert not results_path("three-rings", "reduced").exists()  # none shipped either
    seconds = {
        "student-teacher": [9, 9, 9, 2, 2, 2, 6, 6, 6],
        "mixture": [1, 8, 3, 5, 7, 4],
    }
    cpu = {}  # (experiment, piece) -> CPU seconds the file there records
    for i, times in seconds.items():
        pieces = write_times(tmp_path, i, times)
        cpu |= {(i, json.dumps(p)): c for p, c in zip(pieces, times, strict=True)}
    handed = []

    def run_tasks(files, tasks, *args):
        handed.extend((files[k].experiment_id, files[k].pieces[i]) for k, i in tasks)

    monkeypatch.setattr(runner_module, "_run_tasks", run_tasks)
    run_experiments(runs, tmp_path, jobs=2)
    rings = experiment("three-rings").piece_list(experiment("three-rings").settings("reduced"))
    assert handed[:2] == [("three-rings", p) for p in rings]  # no estimate: first, as given
    times = [cpu[i, json.dumps(p)] for i, p in handed[2:]]
    assert times == sorted(times, reverse=True) and len(times) == 15  # across the two files
    # the 15 pieces known, longest first, each to the process free first: one runs 9, 9, 6,
    # 6, 5, 2, 2, 1 (40 s), the other 9, 8, 7, 6, 4, 3, 2 (39 s)
    assert capsys.readouterr().err.splitlines()[-1] == (
        "17 pieces to run on 2 processes, longest first: about 40 s by the files' records "
        "(2 without an estimate: no results file)"
    )


def test_an_interrupted_run_keeps_its_pieces_and_computes_only_the_missing(tmp_path, monkeypatch):
    s = tiny_plan(epochs=5)
    calls = []
    real = runner_module._compute

    def counting(experiment_id, settings, piece, *args):
        calls.append(piece)
        if len(calls) == 3 and interrupt:
            raise KeyboardInterrupt  # Ctrl-C during the third piece
        return real(experiment_id, settings, piece, *args)

    monkeypatch.setattr(runner_module, "_compute", counting)
    interrupt = True
    with pytest.raises(RunInterrupted, match=r"kept student-teacher \(paper\) 2 of 9 pieces"):
        run_experiments([("student-teacher", "paper")], tmp_path, settings=s)
    path = tmp_path / "student-teacher.json"
    assert read(path)["metrics"]["done"] == s["order"][:2]
    interrupt, calls[:] = False, []
    (resumed,) = run_experiments([("student-teacher", "paper")], tmp_path, settings=s)
    # only the missing pieces ran (longest first by the shipped file's records: in any order)
    assert sorted(map(json.dumps, calls)) == sorted(map(json.dumps, s["order"][2:]))
    (fresh,) = run_experiments([("student-teacher", "paper")], tmp_path / "f", settings=s)
    assert without_times(resumed.metrics) == without_times(fresh.metrics)
    # complete: nothing runs again, and the file is left as it was
    before, calls[:] = path.read_text(), []
    run_experiments([("student-teacher", "paper")], tmp_path, settings=s)
    assert calls == [] and path.read_text() == before
    # --fresh, other code, other settings: everything runs again
    run_experiments([("student-teacher", "paper")], tmp_path, settings=s, fresh=True)
    assert len(calls) == 9
    calls[:] = []
    monkeypatch.setattr(runner_module, "code_version", lambda: "other code")
    run_experiments([("student-teacher", "paper")], tmp_path, settings=s)
    assert len(calls) == 9
    calls[:] = []
    run_experiments([("student-teacher", "paper")], tmp_path, settings=tiny_plan(epochs=4))
    assert len(calls) == 9


@pytest.mark.parametrize(
    "experiment_id", ["student-teacher", "student-teacher-sweep", "three-rings", "mixture"]
)
def test_a_done_piece_is_read_back_from_the_metrics(experiment_id):
    e = experiment(experiment_id)
    if experiment_id == "student-teacher":
        s = tiny_plan(epochs=2)
    elif experiment_id in ("three-rings", "mixture"):
        s = e.settings("reduced", n_steps=20, record_every=10)
        s["order"] = e.piece_list(s)
    else:
        s = e.settings("reduced")
        names = ["dense", "per-particle, lr 0.5"]
        tiny = tiny_plan(epochs=2)["settings"]
        s["variants"] = {
            n: s["variants"][n] | {"settings": s["variants"][n]["settings"] | tiny} for n in names
        }
        s["variants"]["dense"]["settings"]["architecture"] = "dense"
        s["order"] = [[n, seed] for seed in (0, 1) for n in names]
    done = [(piece, e.piece_summary(s, piece)) for piece in s["order"][:4]]
    metrics = json.loads(json.dumps(e.metrics(s, done)))
    for piece, summary in done:
        assert e.summary_of(s, metrics, piece) == json.loads(json.dumps(summary))


def _cli(tmp_path, *args):
    cmd = [sys.executable, "-m", "kernelflows.experiments", "run", "student-teacher"]
    return cmd + ["--out", str(tmp_path), "--settings", str(tmp_path / "s.json"), *args]


def _group_ends(pgid: int, seconds: float) -> bool:
    deadline = time.monotonic() + seconds
    while time.monotonic() < deadline:
        try:
            os.killpg(pgid, 0)
        except ProcessLookupError:
            return True
        time.sleep(0.05)
    return False


def _started_with_ctrl_c(cmd):
    """``cmd`` started as a terminal's foreground job: in its own process group, Ctrl-C at its
    default. A process inherits an ignored Ctrl-C, and pytest started in the background by a
    shell without job control (``make unit &`` in a script) ignores it: its child would never
    stop."""
    ignored = signal.getsignal(signal.SIGINT) == signal.SIG_IGN
    if ignored:
        signal.signal(signal.SIGINT, signal.SIG_DFL)
    try:
        return subprocess.Popen(
            cmd,
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
            text=True,
            start_new_session=True,
            cwd=ROOT,
        )
    finally:
        if ignored:
            signal.signal(signal.SIGINT, signal.SIG_IGN)


@pytest.mark.parametrize("how", ["ctrl-c", "sigterm"])
def test_ctrl_c_and_sigterm_stop_the_workers_with_one_line_saying_what_was_kept(tmp_path, how):
    s = tiny_plan(epochs=60, n_student=30)  # pieces of about a second: the stop lands mid-run
    (tmp_path / "s.json").write_text(json.dumps(s))
    path = tmp_path / "student-teacher.json"
    proc = _started_with_ctrl_c(_cli(tmp_path, "--jobs", "2"))
    deadline = time.monotonic() + 300
    while not (path.exists() and read(path)["metrics"]["done"]) and time.monotonic() < deadline:
        time.sleep(0.05)
    if how == "ctrl-c":
        os.killpg(proc.pid, signal.SIGINT)  # a terminal sends Ctrl-C to the whole group
    else:
        os.kill(proc.pid, signal.SIGTERM)  # a scheduler or `kill` sends it to the runner
    _, err = proc.communicate(timeout=300)
    assert proc.returncode == 130, err
    lines = [line for line in err.splitlines() if line.strip()]
    assert lines[-1].startswith("interrupted: kept student-teacher (paper) "), err
    assert "Traceback" not in err, err
    kept = read(path)["metrics"]["done"]
    assert 1 <= len(kept) < 9 and f"{len(kept)} of 9 pieces" in lines[-1], err
    assert _group_ends(proc.pid, 60.0), err  # the workers (and the resource tracker) are gone
    # run again (serially): the kept pieces stay, the rest is computed, as a run never stopped
    again = subprocess.run(_cli(tmp_path), capture_output=True, text=True, cwd=ROOT)
    assert again.returncode == 0, again.stderr
    assert f"kept {len(kept)} of 9 pieces" in again.stderr
    (ref,) = run_experiments([("student-teacher", "paper")], tmp_path / "ref", settings=s)
    assert without_times(read(path)["metrics"]) == without_times(ref.metrics)


def test_progress_bars_only_when_asked(tmp_path, capfd, monkeypatch):
    from kernelflows.flows import flow_progress, progress

    bars = []
    real = progress.progress_bar

    def keep(*args):
        bar = real(*args)
        bars.append((bar, bar.disable))  # tqdm disables a bar when it closes
        return bar

    monkeypatch.setattr(progress, "progress_bar", keep)
    s = tiny_plan(epochs=3)
    run_experiments([("student-teacher", "paper")], tmp_path / "quiet", settings=s, quiet=True)
    assert bars and all(disabled for _, disabled in bars)
    assert capfd.readouterr().err == ""  # nothing at all when not asked (CI, nbval)
    bars.clear()
    with flow_progress("piece 7"):
        r = experiment("student-teacher").run_piece(s, [["injection"], 0])["injection"]
    ((bar, disabled),) = bars
    assert not disabled and bar.desc.startswith("piece 7: student-teacher (injection)")
    assert bar.n == bar.total == r.epochs[-1] * 5  # every step counted (5 batches per epoch)
    assert bar.postfix == f"epoch 3, loss {r.train_loss[-1]:.4g}"  # the last snapshot's
    assert "piece 7" in capfd.readouterr().err


def test_estimates_schedule_the_pieces_longest_first(tmp_path):
    s = tiny_plan()
    doc = {
        "id": "student-teacher",
        "settings": s,
        "metrics": {"done": s["order"][:4]},
        "provenance": {"wall_seconds": 99.0},
        "pieces": [
            {"piece": p, "seconds": t} for p, t in zip(s["order"][:4], [4, 3, 2, 3], strict=True)
        ],
    }
    path = tmp_path / "x.json"
    path.write_text(json.dumps(doc))
    # 4 pieces of 4, 3, 2, 3 s and 5 missing taken at their mean, 3 s: 27 s on one process;
    # on two, longest first: 4 | 3, 3 | 3, 3 | 3, 3 | 2 (loads 13 and 14)
    assert estimated_seconds(path, 1) == pytest.approx(27.0)
    assert estimated_seconds(path, 2) == pytest.approx(14.0)
    # pieces with their CPU seconds (a run on a shared machine: wall times 2x to 4x longer):
    # the CPU seconds are the estimate, 4 pieces of 2, 1, 1, 2 s and 5 at their mean 1.5 s
    for rec, cpu in zip(doc["pieces"], [2, 1, 1, 2], strict=True):
        rec["cpu_seconds"] = cpu
    path.write_text(json.dumps(doc))
    assert estimated_seconds(path, 1) == pytest.approx(13.5)
    doc["pieces"][0]["cpu_seconds"] = float("nan")  # one without: the wall times, as before
    path.write_text(json.dumps(doc))
    assert estimated_seconds(path, 1) == pytest.approx(27.0)
    # a file written before pieces had times: its wall time shared out evenly
    del doc["pieces"]
    path.write_text(json.dumps(doc))
    assert estimated_seconds(path, 1) == pytest.approx(99.0 / 4 * 9)
    # ... and a complete file of an experiment that had no pieces then: all of them in it
    del doc["metrics"]["done"]
    path.write_text(json.dumps(doc))
    assert estimated_seconds(path, 1) == pytest.approx(99.0)
    assert estimated_seconds(path, 2) == pytest.approx(99.0 / 9 * 5)
    assert estimated_seconds(tmp_path / "none.json") is None


def write_times(folder, experiment_id, cpu_seconds, scale="reduced"):
    """A results file of the experiment at ``scale`` recording these CPU seconds for its first
    pieces."""
    s = experiment(experiment_id).settings(scale)
    pieces = experiment(experiment_id).piece_list(s)
    records = [
        {"piece": p, "seconds": 99, "cpu_seconds": c}
        for p, c in zip(pieces[: len(cpu_seconds)], cpu_seconds, strict=True)
    ]
    doc = {"id": experiment_id, "scale": scale, "settings": s, "metrics": {}, "pieces": records}
    doc["provenance"] = {"code": "other code"}  # a run finds nothing to keep
    folder.mkdir(exist_ok=True)
    (folder / f"{experiment_id}.{scale}.json").write_text(json.dumps(doc))
    return pieces


def test_a_piece_the_file_there_lacks_is_estimated_by_the_shipped_file_or_the_mean(tmp_path):
    from kernelflows.experiments.estimates import piece_estimates

    kale, mmd = write_times(tmp_path / "there", "three-rings", [10])  # a run cut short
    write_times(tmp_path / "shipped", "three-rings", [1, 4])
    there, shipped = (tmp_path / d / "three-rings.reduced.json" for d in ("there", "shipped"))
    # the file there's own record, the shipped file's, the mean of the file there's (10)
    assert piece_estimates(there, [kale, mmd, ["other"]], shipped) == [10, 4, 10]
    assert piece_estimates(tmp_path / "none.json", [kale], shipped) == [1]
    assert piece_estimates(tmp_path / "none.json", [kale]) is None


def test_list_estimates_a_target_in_one_pool_and_one_experiment_after_another(tmp_path):
    from kernelflows.experiments.cli import _target_seconds

    write_times(tmp_path, "three-rings", [10, 4])
    write_times(tmp_path, "mixture", [5, 5, 3, 3, 2, 2])
    ids = ("three-rings", "mixture", "collapse")  # collapse: no file
    one, pool, serial, unknown = _target_seconds(ids, "reduced", 2, tmp_path)
    assert one == 34 and unknown == ["collapse (1 piece)"]
    # one pool, longest first: 10 | 5, 5 | 4 to the first, 3, 3 to the second | 2, 2 to the
    # first: 18 (LPT's; 17 is the best split, 10 + 5 + 2 against 5 + 4 + 3 + 3 + 2)
    assert pool == 18
    # one experiment after another: three-rings max(10, 4), then mixture 5 + 3 + 2 on each
    assert serial == 20


def test_list_estimates_what_the_makefile_runs():
    from kernelflows.experiments.cli import MAKE_TARGETS

    makefile = (ROOT / "Makefile").read_text()
    for target, (ids, scale) in MAKE_TARGETS.items():
        recipe = makefile.split(f"\n{target}:")[1].split("\n\n")[0]
        (command,) = [line.split("run ", 1)[1] for line in recipe.splitlines() if " run " in line]
        assert command == (
            f"{'all' if ids == tuple(EXPERIMENTS) else ' '.join(ids)} --scale {scale} "
            "--out kernelflows/results --jobs $(JOBS)"
        ), target  # one command: the pieces of every file in one pool
    # make results: every experiment at the paper scale, and nothing else
    assert MAKE_TARGETS["results"] == (tuple(EXPERIMENTS), "paper")
    # make results-reduced: the reduced files lectures and figures load, and nothing else
    loaded = set()
    for source in [*(ROOT / "lectures").glob("*.ipynb"), *(ROOT / "kernelflows").rglob("*.py")]:
        text = source.read_text().replace('\\"', '"')
        loaded |= set(re.findall(r'load_results\(\s*"([a-z-]+)",\s*"reduced"', text))
    assert loaded == set(MAKE_TARGETS["results-reduced"][0])


def test_list_gives_each_experiment_an_estimate_at_each_scale(capsys):
    assert main(["list"]) == 0
    out = capsys.readouterr().out
    assert "1 process" in out and "2 processes" in out
    for e in ("three-rings", "student-teacher", "student-teacher-sweep"):
        assert e in out


def test_bad_jobs_and_settings_are_refused(tmp_path):
    with pytest.raises(ValueError, match="jobs"):
        run_experiments([("collapse", "reduced")], tmp_path, jobs=0)
    assert main(["run", "collapse", "--jobs", "0", "--out", str(tmp_path)]) == 2
    (tmp_path / "s.json").write_text("{}")
    assert main(["run", "collapse", "--settings", str(tmp_path / "s.json")]) == 2
    np.testing.assert_equal(sorted(p.name for p in tmp_path.iterdir()), ["s.json"])


@pytest.mark.parametrize("experiment_id", ["three-rings", "mixture"])
def test_runs_in_pieces_give_the_summary_of_all_runs_at_once(experiment_id):
    from kernelflows.experiments import mixture_experiment, three_rings_experiment

    everything = {"three-rings": three_rings_experiment, "mixture": mixture_experiment}
    e = experiment(experiment_id)
    s = e.settings("reduced", n_steps=20, record_every=10)
    done = [(piece, e.piece_summary(s, piece)) for piece in e.piece_list(s)]
    metrics = e.metrics(s, done)
    assert metrics.pop("done") == e.piece_list(s) and metrics.pop("missing") == []
    assert len(e.piece_list(s)) == (2 if experiment_id == "three-rings" else 6)
    at_once = e.summarise(everything[experiment_id](s), s)
    if "seconds" in at_once:  # wall times: the same runs, not the same seconds
        assert metrics.pop("seconds").keys() == at_once.pop("seconds").keys()
    assert metrics == at_once  # each run is the same alone (its own noise stream)


@pytest.mark.parametrize("experiment_id", ["three-rings", "mixture"])
def test_compute_runs_of_runs_in_pieces_gives_what_compute_gives(experiment_id, monkeypatch):
    from dataclasses import replace as changed

    from kernelflows.experiments import EXPERIMENTS, compute, compute_runs

    e = experiment(experiment_id)
    small = e.settings("reduced", n_steps=20, record_every=10)
    monkeypatch.setitem(EXPERIMENTS, experiment_id, changed(e, scales=lambda scale: small))
    metrics, runs = compute_runs(experiment_id, "reduced")
    assert sorted(runs.runs) == sorted(p[0] for p in e.piece_list(small))  # every run at once
    again = compute(experiment_id, "reduced")  # piece by piece
    for m in (metrics, again):
        m.pop("seconds", None)
    assert metrics == again
