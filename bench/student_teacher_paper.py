"""Run the per-particle student-teacher experiment at the published scale, one seed, and print a
table (by hand only; the results files come from ``python -m kernelflows.experiments run
student-teacher --scale paper``).

    nohup .venv/bin/python bench/student_teacher_paper.py > log &

(training runs on the flow engine, which holds BLAS to one thread).

Published settings (Arbel, Korba, Salim, Gretton, NeurIPS 2019, Figure 1): N = 1000 student
particles, M = 1 teacher, H = 3, d = 50, 1000 training inputs, batch 100, learning rate 0.1 on the
original code's losses, 1e4 epochs, beta_0 = 1 halved every 1000 epochs, float32. Tens of
minutes on one core; not a test.
"""

import sys
import time

import numpy as np

from kernelflows.experiments import NOISE_MODES, PAPER_SETTINGS, run_student_teacher

if __name__ == "__main__":
    noises = tuple(sys.argv[1:]) or NOISE_MODES
    print(PAPER_SETTINGS.describe(), flush=True)
    start = time.perf_counter()
    results = run_student_teacher("paper", noises=noises, rng=0, progress=False)
    print(f"{'noise':<10} {'train MSE':>10} {'valid MSE':>10} {'min valid':>10} {'wall s':>8}")
    for noise, r in results.items():
        print(
            f"{noise:<10} {r.train_loss[-1]:10.3e} {r.valid_loss[-1]:10.3e} "
            f"{np.min(r.valid_loss):10.3e} {r.wall_time:8.0f}"
        )
        marks = [0, 1000, 2000, 5000, 10000]
        rows = [
            f"{e}: {r.train_loss[r.epochs == e][0]:.3e}/{r.valid_loss[r.epochs == e][0]:.3e}"
            for e in marks
            if np.any(r.epochs == e)
        ]
        print("   train/valid at epochs " + ", ".join(rows))
    print(f"total wall time {time.perf_counter() - start:.0f} s")
