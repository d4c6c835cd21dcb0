"""Benchmark: one step of the sliced MMD flow (energy kernel) against its floor, one argsort.

For n = m in {1e4, 1e5, 1e6} in 2-D with P = 16 projections, prints per step (loss recorded):
milliseconds (median over repeats), the cost per projection, one ``numpy.argsort`` of the n + m
projected values (the floor of a sort-based method; timed in the same run, interleaved with the
steps) and their ratio, the peak traced numpy memory of one step and the process's resident
memory growth, and the growth of the step time from one size to the next against
(n log n) growth. BLAS is pinned to one thread (it only does the projections).

Run: ``.venv/bin/python bench/bench_sliced.py [--sizes 10000 100000 1000000] [--projections 16]``.
Target (issue "Beyond the talk"): n = m = 1e6 with 16 projections, one step under 8 s and under
500 MB, a projection within 1.5x of one argsort of n + m values.
"""

from __future__ import annotations

import argparse
import os
import resource
import time
import tracemalloc

import numpy as np
from _blas import environment_line
from threadpoolctl import threadpool_limits

from kernelflows.flows import SlicedMMDVelocity

STEP = 0.5


def one_step(field, X, state):
    out = field(X, state, record=True)
    return X + STEP * out.velocity, out.loss


def peak_memory(fn):
    """Peak traced numpy memory (MB) of one call beyond what exists before it."""
    tracemalloc.start()
    tracemalloc.reset_peak()
    base = tracemalloc.get_traced_memory()[0]
    fn()
    peak = (tracemalloc.get_traced_memory()[1] - base) / 2**20
    tracemalloc.stop()
    return peak


def maxrss_mb() -> float:
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 2**10  # KB on Linux


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--sizes", type=int, nargs="+", default=[10_000, 100_000, 1_000_000])
    parser.add_argument("--projections", type=int, default=16)
    parser.add_argument("--repeats", type=int, default=5)
    args = parser.parse_args(argv)
    P = args.projections

    rows = []
    with threadpool_limits(limits=1, user_api="blas"):
        print(environment_line())
        print(f"load average at the start: {os.getloadavg()[0]:.1f} on {os.cpu_count()} cores")
        for n in args.sizes:
            rng = np.random.default_rng(0)
            X = rng.normal(size=(n, 2))
            Y = rng.normal(size=(n, 2)) + 1.0
            field = SlicedMMDVelocity(Y, n_projections=P, seed=1)
            state = field.init(X)
            p = np.concatenate([X, Y]) @ np.array([0.6, 0.8])
            rss0 = maxrss_mb()
            one_step(field, X, state)  # warm-up; resident growth of a first step
            rss = maxrss_mb() - rss0
            mem = peak_memory(lambda field=field, X=X, state=state: one_step(field, X, state))
            t_step, t_sort = [], []
            for _ in range(args.repeats):  # interleaved: both see the same load
                start = time.perf_counter()
                one_step(field, X, state)
                t_step.append(time.perf_counter() - start)
                for _ in range(3):
                    start = time.perf_counter()
                    np.argsort(p)
                    t_sort.append(time.perf_counter() - start)
            rows.append((n, np.median(t_step), np.median(t_sort), mem, rss))

    print()
    print(
        f"{'n = m':>8} | {'step ms':>9} | {'ms/proj':>8} {'argsort ms':>10} {'ratio':>6} | "
        f"{'peak MB':>7} {'RSS+ MB':>7} | {'growth':>7} {'n log n':>7}"
    )
    print("-" * 88)
    prev = None
    for n, ts, tsort, mem, rss in rows:
        per = ts / P
        growth = f"{ts / prev[1]:>6.1f}x" if prev else f"{'':>7}"
        nlogn = f"{n * np.log(n) / (prev[0] * np.log(prev[0])):>6.1f}x" if prev else f"{'':>7}"
        print(
            f"{n:>8} | {1e3 * ts:>9.1f} | {1e3 * per:>8.2f} {1e3 * tsort:>10.2f} "
            f"{per / tsort:>5.2f}x | {mem:>7.0f} {rss:>7.0f} | {growth} {nlogn}"
        )
        prev = (n, ts)
    print(
        f"\nOne step = the sliced velocity and the sliced loss (record=True) from {P} random"
        " directions, plus the Euler update; median over the repeats. argsort: one"
        " numpy.argsort of the n + m projected values (the floor), 3 per step, interleaved;"
        " ratio = (step / P) / argsort. peak MB: traced numpy allocations of one step;"
        " RSS+ MB: growth of the process's maximum resident memory over a first step."
        f" Load average at the end: {os.getloadavg()[0]:.1f} on {os.cpu_count()} cores."
    )


if __name__ == "__main__":
    main()
