"""Benchmark: cold-start KALE solve for two 2-D Gaussian samples (issue 5 target: < 2 s at 2000).

Setting: P = N(0, I), Q = N((1, 0), I) in 2-D, n = m in {500, 1000, 2000}, Gaussian kernel with
the median-heuristic bandwidth, lam = 1, Newton-decrement tolerance 1e-8, cold start. Each size
is run ``REPEATS`` times; the table gives medians of the total time and of its two parts (the Gram
blocks, and the Newton solve on them). BLAS is pinned to one thread with threadpoolctl, and the
BLAS library in use is printed. Run: ``.venv/bin/python bench/bench_kale.py``.
"""

from __future__ import annotations

import time

import numpy as np
from _blas import environment_line
from threadpoolctl import threadpool_limits

from kernelflows.divergences.kale_newton import KaleNewton
from kernelflows.kernels import GaussianKernel, median_heuristic

SIZES = (500, 1000, 2000)
REPEATS = 5
LAM = 1.0
TOL = 1e-8


def one_run(n: int, seed: int):
    rng = np.random.default_rng(seed)
    X = rng.standard_normal((n, 2))
    Y = rng.standard_normal((n, 2)) + np.array([1.0, 0.0])
    t0 = time.perf_counter()
    kernel = GaussianKernel(median_heuristic(X, Y))
    K_qq = kernel(Y, Y)
    kbar = kernel.weighted_sum(Y, X) / n
    c = kernel.total(X) / n**2
    t1 = time.perf_counter()
    solver = KaleNewton(K_qq, lam=LAM, tol=TOL)
    state = solver.solve(kbar, c)
    t2 = time.perf_counter()
    return t2 - t0, t1 - t0, t2 - t1, (state, solver.value(state, c))


def main() -> None:
    with threadpool_limits(limits=1):
        print(environment_line())
        print(f"lam = {LAM}, tol (gap / max(1, KALE)) = {TOL:g}, cold start, {REPEATS} repeats")
        print(
            f"{'n = m':>6} {'total [s]':>10} {'gram [s]':>9} {'newton [s]':>11} "
            f"{'steps':>6} {'solves':>7} {'KALE':>9} {'gap':>9}"
        )
        for n in SIZES:
            runs = [one_run(n, seed) for seed in range(REPEATS)]
            total, gram, newton = (np.median([r[i] for r in runs]) for i in range(3))
            state, value = runs[0][3]
            print(
                f"{n:6d} {total:10.3f} {gram:9.3f} {newton:11.3f} {state.newton_steps:6d} "
                f"{state.cholesky:7d} {value:9.5f} {state.gap:9.1e}"
            )


if __name__ == "__main__":
    main()
