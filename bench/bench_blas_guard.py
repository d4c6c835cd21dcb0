"""What holding BLAS to one thread (``kernelflows.kernels.blas_one_thread``) saves, by workload.

    .venv/bin/python bench/bench_blas_guard.py

A user who sets no environment variable gets BLAS's default: one thread per core. This script
sets exactly that inside the process (threadpoolctl, ``os.cpu_count()`` threads, whatever
``OPENBLAS_NUM_THREADS`` said), then times each workload twice in the same run: through the
package as it is (its entry points hold BLAS to one thread: the KALE solver, ``kale_path``,
``mmd_test``, training, every flow), and with the guard switched off (its controller replaced by
one that changes nothing), i.e. on the default threads. Medians of ``REPEATS`` alternated runs;
wall and CPU seconds (CPU counts every thread of the process, spinning BLAS threads included).
On a machine busy with other work the default threads stall small factorisations: compare the
ratios, not the absolute times.
"""

from __future__ import annotations

import os
import statistics
import time
from contextlib import nullcontext
from dataclasses import replace
from unittest import mock

import numpy as np
from _blas import environment_line
from threadpoolctl import threadpool_limits

from kernelflows import GaussianKernel, kale, kale_path, mmd_test
from kernelflows.experiments import LECTURE_SETTINGS, three_rings
from kernelflows.experiments.student_teacher import run_student_teacher
from kernelflows.flows import kale_flow
from kernelflows.kernels import _parallel

REPEATS = 3


class _NoLimit:
    """A stand-in controller: ``limit`` changes nothing (the guard switched off)."""

    def limit(self, **_):
        return mock.Mock(restore_original_limits=lambda: None)


def workloads():
    rng = np.random.default_rng(0)
    X, Y = rng.normal(size=(300, 2)), rng.normal(size=(300, 2)) + [1.0, 0.0]
    k = GaussianKernel(1.0)
    X0, Yr = three_rings()
    dense = replace(LECTURE_SETTINGS, architecture="dense", epochs=20, record_every=10)

    def kale_work():
        for lam in (1.0, 0.1, 0.01):
            kale(X, Y, k, lam=lam)
        kale_path(X, Y, k, np.logspace(-3, 3, 13))

    return [
        ("3 kale solves + 13-lam kale_path, n = 300", kale_work),
        (
            "mmd_test, n = m = 300, 200 permutations",
            lambda: mmd_test(X, Y, k, n_permutations=200, rng=0),
        ),
        (
            "dense student (lecture 06), 20 epochs",
            lambda: run_student_teacher(dense, noises=("injection",), rng=0),
        ),
        (
            "KALE flow, three rings, 300 steps",
            lambda: kale_flow(X0, Yr, GaussianKernel(0.05**0.5), lam=1e-3, step=1e-4, n_steps=300),
        ),
    ]


def timed(fn, guard: bool):
    off = nullcontext() if guard else mock.patch.object(_parallel, "_blas", _NoLimit())
    with off:
        w0, c0 = time.perf_counter(), time.process_time()
        fn()
        return time.perf_counter() - w0, time.process_time() - c0


def main():
    cores = os.cpu_count() or 1
    with threadpool_limits(limits=cores, user_api="blas"):
        print(environment_line())
        print(f"BLAS default: {cores} threads; seconds, median of {REPEATS} alternated runs")
        print(
            f"{'workload':<44s} {'default wall':>12s} {'CPU':>7s} {'guarded wall':>12s} "
            f"{'CPU':>7s} {'wall ratio':>10s}"
        )
        for name, fn in workloads():
            fn()  # warm up (imports, first allocations)
            runs = {True: [], False: []}
            for _ in range(REPEATS):
                for guard in (False, True):
                    runs[guard].append(timed(fn, guard))
            (dw, dc), (gw, gc) = (
                [statistics.median(col) for col in zip(*runs[g], strict=True)]
                for g in (False, True)
            )
            print(f"{name:<44s} {dw:12.3f} {dc:7.3f} {gw:12.3f} {gc:7.3f} {dw / gw:10.1f}x")


if __name__ == "__main__":
    main()
