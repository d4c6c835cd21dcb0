"""Seconds per epoch of student-teacher training (minibatch 100 of 1000 inputs, d = 50, H = 3),
for the per-particle student and the original code's dense student, in float32.

Run by hand (``make bench``); prints a table. The published scale is N = 1000 for 1e4 epochs,
so its run time is about 1e4 times the N = 1000 row (see ``student_teacher_paper.py``).
"""

import time
from dataclasses import replace

from kernelflows.experiments import NOISE_MODES, PAPER_SETTINGS, student_teacher_problem
from kernelflows.experiments.student_teacher import perturbation
from kernelflows.networks import train_student_teacher

EPOCHS = 5

if __name__ == "__main__":
    print(f"{'student':>12} {'N':>6} {'noise':>10} {'s / epoch':>10}")
    for arch, n_student in (
        ("per-particle", 100),
        ("per-particle", 1000),
        ("dense", 100),
        ("dense", 1000),
    ):
        settings = replace(PAPER_SETTINGS, architecture=arch, n_student=n_student, epochs=EPOCHS)
        p = student_teacher_problem(settings, 0)
        for noise in NOISE_MODES:
            start = time.perf_counter()
            train_student_teacher(
                p.network,
                p.student,
                p.teacher,
                p.X_train,
                None,
                step=settings.step(noise),
                epochs=EPOCHS,
                noise=perturbation(noise, settings),
                dtype=settings.dtype,
                record_every=EPOCHS,
                progress=False,
            )
            seconds = (time.perf_counter() - start) / EPOCHS
            print(f"{arch:>12} {n_student:6d} {noise:>10} {seconds:10.4f}")
