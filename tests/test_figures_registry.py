"""The figure command: registry, atomic writes, byte-identical output from run to run."""

import hashlib
import re
from pathlib import Path

import matplotlib.pyplot as plt
import numpy as np
import pytest

from kernelflows.figures import __main__ as cli
from kernelflows.figures import figures, register
from kernelflows.figures._io import save_figure
from kernelflows.figures.registry import _REGISTRY

ROOT = Path(__file__).resolve().parents[1]
CATALOGUE = ROOT.parent / "shared" / "FIGURES.md"


def _tiny_figure():
    fig, ax = plt.subplots(figsize=(2, 2))
    ax.plot(np.linspace(0, 1, 5) ** 2)
    ax.set_title("tiny")
    return fig


@pytest.fixture
def tiny_registered():
    register("test-tiny", slide="none", caption="a test figure")(
        lambda scale="reduced": _tiny_figure()
    )

    def boom(scale="reduced"):
        raise RuntimeError("drawing failed")

    register("test-boom", slide="none", caption="a failing figure")(boom)
    yield
    _REGISTRY.pop("test-tiny", None)
    _REGISTRY.pop("test-boom", None)


def _digest(path):
    return hashlib.sha256(Path(path).read_bytes()).hexdigest()


def test_saved_files_are_byte_identical_across_runs(tmp_path):
    a, b = tmp_path / "a", tmp_path / "b"
    a.mkdir(), b.mkdir()
    save_figure(_tiny_figure(), a, "x")
    save_figure(_tiny_figure(), b, "x")
    for ext in ("png", "pdf"):
        assert _digest(a / f"x.{ext}") == _digest(b / f"x.{ext}")
    plt.close("all")


def test_cli_writes_files_and_gallery(tmp_path, tiny_registered):
    assert cli.main(["--only", "test-tiny", "--out", str(tmp_path), "--no-progress"]) == 0
    assert (tmp_path / "test-tiny.png").exists() and (tmp_path / "test-tiny.pdf").exists()
    assert "test-tiny.png" in (tmp_path / "README.md").read_text()
    assert not list(tmp_path.glob(".*"))  # no temporary files left behind


def test_failed_figure_leaves_existing_files_untouched(tmp_path, tiny_registered):
    old = tmp_path / "test-boom.png"
    old.write_bytes(b"previous version")
    with pytest.raises(RuntimeError, match="drawing failed"):
        cli.main(["--only", "test-boom", "--out", str(tmp_path), "--no-progress"])
    assert old.read_bytes() == b"previous version"
    assert sorted(p.name for p in tmp_path.iterdir()) == ["test-boom.png"]


def test_failed_save_leaves_no_partial_file(tmp_path, monkeypatch):
    fig = _tiny_figure()

    def broken_savefig(path, **kw):
        Path(path).write_bytes(b"half")
        raise OSError("disk full")

    monkeypatch.setattr(fig, "savefig", broken_savefig)
    with pytest.raises(OSError):
        save_figure(fig, tmp_path, "y")
    assert list(tmp_path.iterdir()) == []
    plt.close("all")


def test_unknown_id_is_an_error(tmp_path, capsys):
    with pytest.raises(SystemExit):
        cli.main(["--only", "no-such-figure", "--out", str(tmp_path)])
    assert "no-such-figure" in capsys.readouterr().err


def test_registered_ids_come_from_the_catalogue():
    """Every figure of the talk's catalogue is registered; a registered figure beyond the talk
    (the package's own studies and extensions) is declared in the package's CATALOGUE_ORDER."""
    from kernelflows.figures.registry import CATALOGUE_ORDER

    table = figures()
    ours = set(table) - {"test-tiny", "test-boom"}
    assert ours <= set(CATALOGUE_ORDER)
    if CATALOGUE.exists():
        ids = set(re.findall(r"^\| `([a-z0-9-]+)`", CATALOGUE.read_text(), re.M))
        assert ids <= ours
    for spec in table.values():
        assert spec.slide and spec.caption


def test_every_drawn_figure_carries_its_scale(tiny_registered):
    from kernelflows.figures import draw

    fig = draw("test-tiny")
    assert "test-tiny" in fig._supxlabel.get_text()
    assert "the same at both scales" in fig._supxlabel.get_text()
    plt.close("all")


def test_paper_scale_writes_to_its_own_folder(tmp_path, tiny_registered, monkeypatch):
    monkeypatch.chdir(tmp_path)
    assert cli.main(["--only", "test-tiny", "--scale", "paper", "--no-progress"]) == 0
    assert (tmp_path / "figures" / "paper" / "test-tiny.png").exists()
    assert not (tmp_path / "figures" / "test-tiny.png").exists()
    gallery = (tmp_path / "figures" / "paper" / "README.md").read_text()
    assert "**paper** scale" in gallery
    assert "`python -m kernelflows.figures --only test-tiny --scale paper`" in gallery


def test_gif_clump_label_follows_the_frames():
    from kernelflows.flows import FlowResult
    from kernelflows.viz import flow_animation

    clump = np.zeros((2, 5, 2))
    clump[1] = np.random.default_rng(0).normal(size=(5, 2))  # frame 1: spread out, no clump
    res = FlowResult(
        particles=clump[-1],
        trajectory=clump,
        steps=np.array([0, 1]),
        loss=np.zeros(2),
        speed2=np.zeros(2),
        step_speed2=np.zeros(2),
        beta=np.zeros(2),
        step=1.0,
    )
    anim = flow_animation(res, np.zeros((3, 2)), [0, 1])
    ax = anim._fig.axes[0]
    anim._func(0)
    assert [t.get_text() for t in ax.texts] == ["all 5\nparticles"]
    anim._func(1)
    assert ax.texts == [] or all("particles" not in t.get_text() for t in ax.texts)
    plt.close("all")
