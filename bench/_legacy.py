"""The kernels' code as it was at a git revision, loaded next to today's, so that a benchmark
times "before" and "after" in one run."""

from __future__ import annotations

import re
import subprocess
import sys
import types
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]


def kernels_module(rev: str, name: str, *, local=()):
    """``kernelflows/kernels/NAME.py`` as it was at git revision ``rev``, run as a module of its
    own (``None`` when the file did not exist then). Its imports are of today's package, but
    those of the modules named in ``local``: their copies at ``rev``, loaded by this function
    before."""
    shown = subprocess.run(
        ["git", "show", f"{rev}:kernelflows/kernels/{name}.py"],
        cwd=ROOT,
        capture_output=True,
        text=True,
    )
    if shown.returncode != 0:
        return None
    tag = re.sub(r"\W", "_", rev)  # a revision such as HEAD~3 in a module's name
    source = shown.stdout.replace("from ..", "from kernelflows.")
    for other in local:
        source = source.replace(f"from .{other}", f"from legacy_{other}_{tag}")
    source = source.replace("from .", "from kernelflows.kernels.")
    module = types.ModuleType(f"legacy_{name}_{tag}")
    sys.modules[module.__name__] = module
    exec(compile(source, f"{rev}:kernelflows/kernels/{name}.py", "exec"), module.__dict__)
    return module
