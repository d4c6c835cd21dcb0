"""Writing figures to disk: atomically, and with bytes that do not change from run to run."""

from __future__ import annotations

from pathlib import Path

import matplotlib

from .._io import atomic_write, current_umask  # noqa: F401  (the figure writers' helpers)

# Metadata that would otherwise carry the date or the software version into the files.
PNG_METADATA = {"Software": None}
PDF_METADATA = {"Creator": None, "Producer": None, "CreationDate": None, "ModDate": None}


def save_figure(fig, out_dir: Path, figure_id: str) -> list[Path]:
    """Write ``<figure_id>.png`` and ``.pdf`` reproducibly; return the paths."""
    matplotlib.rcParams["svg.hashsalt"] = "kernelflows"
    out_dir = Path(out_dir)
    paths = []
    for ext, meta, kw in (("png", PNG_METADATA, {"dpi": 110}), ("pdf", PDF_METADATA, {})):
        path = out_dir / f"{figure_id}.{ext}"
        atomic_write(
            path,
            lambda tmp, ext=ext, meta=meta, kw=kw: fig.savefig(
                tmp, format=ext, metadata=meta, **kw
            ),
        )
        paths.append(path)
    return paths


def save_animation(anim, out_dir: Path, figure_id: str, fps: int = 4) -> Path:
    """Write ``<figure_id>.gif`` with Pillow (no external tools)."""
    from matplotlib.animation import PillowWriter

    path = Path(out_dir) / f"{figure_id}.gif"
    atomic_write(path, lambda tmp: anim.save(tmp, writer=PillowWriter(fps=fps), dpi=80))
    return path
