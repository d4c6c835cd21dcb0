"""Seconds per epoch of student-teacher training (minibatch 100 of 1000 inputs, d = 50, H = 3).

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
    print(f"{'N':>6} {'noise':>10} {'s / epoch':>10}")
    for n_student in (100, 1000):
        settings = replace(PAPER_SETTINGS, n_student=n_student, epochs=EPOCHS)
        p = student_teacher_problem(settings, 0)
        for noise in NOISE_MODES:
            start = time.perf_counter()
            train_student_teacher(
                p.network,
                p.student,
                p.teacher,
                p.X_train,
                None,
                epochs=EPOCHS,
                noise=perturbation(noise, settings),
                record_every=EPOCHS,
                progress=False,
            )
            print(f"{n_student:6d} {noise:>10} {(time.perf_counter() - start) / EPOCHS:10.4f}")
