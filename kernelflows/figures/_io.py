"""Writing figures to disk: atomically, and with bytes that do not change from run to run."""

from __future__ import annotations

import os
import tempfile
from pathlib import Path

import matplotlib

# Metadata that would otherwise carry the date or the software version into the files.
PNG_METADATA = {"Software": None}
PDF_METADATA = {"Creator": None, "Producer": None, "CreationDate": None, "ModDate": None}


def atomic_write(path: Path, write) -> None:
    """Call ``write(tmp_path)`` on a temporary file beside ``path``, then rename it into place.

    A failure (an exception, ``KeyboardInterrupt``, or ``SystemExit`` from the CLI's SIGTERM
    handler) leaves the existing ``path`` untouched and no temporary file behind. The file gets
    the mode an ordinary ``open`` would give it (0o666 less the umask), not mkstemp's 0o600.
    """
    path = Path(path)
    fd, tmp = tempfile.mkstemp(prefix=f".{path.stem}.", suffix=path.suffix, dir=path.parent)
    os.close(fd)
    try:
        write(tmp)
        os.chmod(tmp, 0o666 & ~current_umask())
        os.replace(tmp, path)
    except BaseException:
        if os.path.exists(tmp):
            os.unlink(tmp)
        raise


def current_umask() -> int:
    """The process umask (read by setting it and restoring it at once)."""
    mask = os.umask(0o022)
    os.umask(mask)
    return mask


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
