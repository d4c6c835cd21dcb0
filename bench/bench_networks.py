"""Seconds per epoch of student-teacher training (minibatch 100 of 1000 inputs, d = 50, H = 3),
for the per-particle student and the original code's dense student, in float32.

Run by hand (``make bench``); prints a table, the median of ``REPEATS`` runs of ``EPOCHS``
epochs each, with BLAS pinned to one thread (threadpoolctl; the environment line says which BLAS
ran). The published scale is N = 1000 for 1e4 epochs, so its run time is about 1e4 times the
N = 1000 row (see ``student_teacher_paper.py``).
"""

import statistics
import time
from dataclasses import replace

from _blas import environment_line
from _training import train_epochs
from threadpoolctl import threadpool_limits

from kernelflows.experiments import NOISE_MODES, PAPER_SETTINGS, student_teacher_problem

EPOCHS = 5
REPEATS = 3


def seconds_per_epoch(settings, problem, noise) -> float:
    times = []
    for _ in range(REPEATS):
        start = time.perf_counter()
        train_epochs(settings, problem, noise, EPOCHS, progress=False)
        times.append((time.perf_counter() - start) / EPOCHS)
    return statistics.median(times)


if __name__ == "__main__":
    with threadpool_limits(limits=1):
        print(environment_line())
        print(f"{'student':>12} {'N':>6} {'noise':>10} {'s / epoch':>10}")
        for arch, n_student in (
            ("per-particle", 100),
            ("per-particle", 1000),
            ("dense", 100),
            ("dense", 1000),
        ):
            settings = replace(
                PAPER_SETTINGS, architecture=arch, n_student=n_student, epochs=EPOCHS
            )
            p = student_teacher_problem(settings, 0)
            for noise in NOISE_MODES:
                seconds = seconds_per_epoch(settings, p, noise)
                print(f"{arch:>12} {n_student:6d} {noise:>10} {seconds:10.4f}", flush=True)
