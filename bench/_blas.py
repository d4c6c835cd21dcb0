"""What every benchmark prints first: the Python, numpy and BLAS it ran with."""

from __future__ import annotations

import platform

import numpy as np
from threadpoolctl import threadpool_info


def environment_line() -> str:
    """One line: python, numpy, machine, and each BLAS with its version and thread count.

    Call it inside ``threadpool_limits(...)`` so that the thread counts shown are the pinned ones.
    """
    blas = [
        f"{i.get('internal_api')} {i.get('version')} ({i.get('num_threads')} thread(s))"
        for i in threadpool_info()
        if i.get("user_api") == "blas"
    ]
    return (
        f"python {platform.python_version()}, numpy {np.__version__}, "
        f"{platform.processor() or platform.machine()}; BLAS: {'; '.join(blas) or 'unknown'}"
    )
