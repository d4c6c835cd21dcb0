"""The figures and experiments commands: a bad --out is one line and exit 2 before any work; a
malformed or incomplete results file is named with what is wrong."""

from __future__ import annotations

import json

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from kernelflows._io import output_folder_problem
from kernelflows.experiments import cli, files
from kernelflows.experiments.registry import settings as experiment_settings
from kernelflows.figures.__main__ import main as figures_main


def bad_destinations(tmp_path):
    afile = tmp_path / "afile"
    afile.write_text("keep me")
    return {
        "a file": (afile, "is a file, not a folder"),
        "below a file": (afile / "sub" / "dir", "is a file, so the folder cannot be created"),
    }


@pytest.mark.parametrize("case", ["a file", "below a file"])
def test_figures_out_checked_first(tmp_path, capsys, monkeypatch, case):
    out, message = bad_destinations(tmp_path)[case]
    drawn = []
    monkeypatch.setattr("kernelflows.figures.__main__.save_figure", lambda *a: drawn.append(a))
    assert figures_main(["--out", str(out), "--no-progress", "--only", "kernel-trick"]) == 2
    err = capsys.readouterr().err.strip().splitlines()
    assert len(err) == 1 and message in err[0] and str(out) in err[0]
    assert not drawn
    assert (tmp_path / "afile").read_text() == "keep me"  # nothing a user made is touched


@pytest.mark.parametrize("case", ["a file", "below a file"])
def test_experiments_run_out_checked_before_computing(tmp_path, capsys, monkeypatch, case):
    out, message = bad_destinations(tmp_path)[case]

    def never(*args, **kwargs):
        raise AssertionError("the experiment ran before its destination was checked")

    monkeypatch.setattr(cli, "run_experiments", never)
    argv = ["run", "three-rings", "--scale", "reduced", "--out", str(out)]
    assert cli.main(argv) == 2
    err = capsys.readouterr().err.strip().splitlines()
    assert len(err) == 1 and message in err[0]


def test_unwritable_and_uncreatable_folders_are_named(tmp_path, monkeypatch):
    # root ignores permission bits, so the two OS refusals are simulated where they happen
    import tempfile
    from pathlib import Path

    def refuse(*args, **kwargs):
        raise PermissionError(13, "Permission denied")

    monkeypatch.setattr(tempfile, "mkstemp", refuse)
    assert "is not writable: Permission denied" in output_folder_problem(tmp_path)
    monkeypatch.setattr(Path, "mkdir", refuse)
    assert "cannot be created: Permission denied" in output_folder_problem(tmp_path / "new")


def test_a_writable_folder_is_created_and_left_clean(tmp_path):
    out = tmp_path / "a" / "b"
    assert output_folder_problem(out) is None
    assert out.is_dir() and list(out.iterdir()) == []


def valid_document():
    return {
        "id": "three-rings",
        "scale": "reduced",
        "settings": experiment_settings("three-rings", "reduced"),
        "metrics": {},
        "provenance": {},
    }


def corruptions():
    """(name, text of the file, words the message must hold)."""
    keys = list(files.RESULTS_KEYS)
    out = [
        ("truncated", json.dumps(valid_document())[:40], "not valid JSON"),
        ("a list", "[1, 2]", "must hold a JSON object"),
        ("empty", "", "not valid JSON"),
    ]
    for k in keys:
        doc = valid_document()
        del doc[k]
        out.append((f"no {k}", json.dumps(doc), f"missing {k}"))
        doc = valid_document()
        doc[k] = 3
        out.append((f"{k} a number", json.dumps(doc), f"{k} must be a JSON"))
    doc = valid_document()
    doc["id"] = "mixture"
    out.append(("another id", json.dumps(doc), "its name says 'three-rings'"))
    return out


@settings(max_examples=30, deadline=None)
@given(case=st.sampled_from(corruptions()))
def test_experiments_check_names_the_file_and_the_problem(case, tmp_path_factory):
    name, text, words = case
    folder = tmp_path_factory.mktemp("results")
    (folder / "three-rings.reduced.json").write_text(text)
    with pytest.MonkeyPatch.context() as mp:
        mp.setattr(files, "RESULTS_DIR", folder)
        import contextlib
        import io

        err = io.StringIO()
        with contextlib.redirect_stderr(err):
            assert cli.main(["check"]) == 1
    lines = err.getvalue().strip().splitlines()
    assert len(lines) == 1, lines
    assert lines[0].startswith("malformed: ") and "three-rings.reduced.json" in lines[0]
    assert words in lines[0], (name, lines[0])


def test_experiments_check_passes_a_valid_file(tmp_path, monkeypatch):
    (tmp_path / "three-rings.reduced.json").write_text(json.dumps(valid_document()))
    monkeypatch.setattr(files, "RESULTS_DIR", tmp_path)
    assert cli.main(["check"]) == 0
