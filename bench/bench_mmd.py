"""Benchmark: MMD^2 of large samples in bounded memory (blocked kernel sums).

Prints the time and the peak traced numpy memory of ``mmd2`` for n = m in {10,000, 50,000},
d = 2, Gaussian kernel, each estimator, next to the size one (n + m)^2 Gram matrix would take.
BLAS is pinned to one thread (threadpoolctl) and reported.

Run: ``.venv/bin/python bench/bench_mmd.py [--sizes 10000 50000]``.
"""

from __future__ import annotations

import argparse
import time
import tracemalloc

import numpy as np
from _blas import environment_line
from threadpoolctl import threadpool_limits

from kernelflows import GaussianKernel, mmd2


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--sizes", type=int, nargs="+", default=[10000, 50000])
    args = parser.parse_args(argv)
    with threadpool_limits(limits=1, user_api="blas"):
        print(environment_line())
        print(
            f"{'n = m':>7} | {'estimator':>9} | {'seconds':>8} | {'peak MB':>8} | "
            f"{'Gram MB':>8} | {'MMD^2':>10}"
        )
        for n in args.sizes:
            rng = np.random.default_rng(0)
            X, Y = rng.normal(size=(n, 2)), rng.normal(size=(n, 2)) + [0.1, 0.0]
            k = GaussianKernel(1.0)
            for estimator in ("unbiased", "biased", "linear"):
                tracemalloc.start()
                start = time.perf_counter()
                value = mmd2(X, Y, k, estimator=estimator)
                seconds = time.perf_counter() - start
                peak = tracemalloc.get_traced_memory()[1] / 2**20
                tracemalloc.stop()
                gram = (2 * n) ** 2 * 8 / 2**20
                print(
                    f"{n:>7} | {estimator:>9} | {seconds:>8.2f} | {peak:>8.1f} | "
                    f"{gram:>8.0f} | {value:>10.3e}"
                )


if __name__ == "__main__":
    main()
