"""Benchmark: one MMD flow step, kernelflows vs a plain broadcast numpy step, in one process.

Prints milliseconds per step (median over repeats) and the peak extra memory of one step
(traced numpy allocations beyond the inputs) for n = m in {1000, 4000, 10000}, d = 2, float64,
Gaussian kernel. BLAS is pinned to one thread with threadpoolctl (mid-size products stall with
many threads on small machines) and the BLAS in use is reported.

The broadcast step builds (n, n + m, d) difference arrays: about 3.8 GB and several seconds at
n = m = 10000, so it is timed with fewer repeats at the larger sizes (stated in the table).

Run: ``.venv/bin/python bench/bench_mmd_flow.py [--sizes 1000 4000 10000] [--repeats 7]``.
Target (issue 3): n = m = 10000 under 0.35 s with under 50 MB extra memory; at least 10x the
broadcast step at n = 1000 and 20x at the larger sizes.
"""

from __future__ import annotations

import argparse
import os
import platform
import time
import tracemalloc

import numpy as np
from threadpoolctl import threadpool_info, threadpool_limits

from kernelflows.flows import mmd_velocity
from kernelflows.kernels import GaussianKernel

BANDWIDTH = 1.0
STEP = 0.1


def kernelflows_step(X, Y, kernel):
    return X + STEP * mmd_velocity(X, X, Y, kernel)


def broadcast_step(X, Y, kernel):
    """The textbook step: all pairwise differences at once, (n, n + m, d)."""
    s2 = kernel.bandwidth**2
    C = np.concatenate([X, Y])
    w = np.concatenate([np.full(len(X), 1.0 / len(X)), np.full(len(Y), -1.0 / len(Y))])
    diff = X[:, None, :] - C[None, :, :]
    K = np.exp(-np.einsum("ijd,ijd->ij", diff, diff) / (2 * s2))
    velocity = np.einsum("ij,ijd->id", K * w, diff) / s2
    return X + STEP * velocity


def peak_memory(fn, X, Y, kernel):
    """Peak traced numpy memory of one call beyond what exists before it, in MB; and its output."""
    tracemalloc.start()
    tracemalloc.reset_peak()
    base = tracemalloc.get_traced_memory()[0]
    out = fn(X, Y, kernel)
    peak = (tracemalloc.get_traced_memory()[1] - base) / 2**20
    tracemalloc.stop()
    return peak, out


def timings(fns, X, Y, kernel, repeats):
    """Seconds per call of each function, the calls interleaved so that they share the load."""
    times = [[] for _ in fns]
    for r in range(max(repeats)):
        for k, fn in enumerate(fns):
            if r < repeats[k]:
                start = time.perf_counter()
                fn(X, Y, kernel)
                times[k].append(time.perf_counter() - start)
    return [np.array(t) for t in times]


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--sizes", type=int, nargs="+", default=[1000, 4000, 10000])
    parser.add_argument("--repeats", type=int, default=7)
    parser.add_argument("--broadcast-repeats-large", type=int, default=2)
    args = parser.parse_args(argv)

    with threadpool_limits(limits=1, user_api="blas"):
        blas = [
            f"{i.get('internal_api')} {i.get('version')} ({i.get('num_threads')} thread)"
            for i in threadpool_info()
            if i.get("user_api") == "blas"
        ]
        print(f"numpy {np.__version__}, BLAS: {'; '.join(blas) or 'unknown'}")
        machine = platform.processor() or platform.machine()
        print(f"machine: {machine}, python {platform.python_version()}")
        print(f"load average at the start: {os.getloadavg()[0]:.1f} on {os.cpu_count()} cores")
        kernel = GaussianKernel(BANDWIDTH)
        rows = []
        for n in args.sizes:
            rng = np.random.default_rng(0)
            X = rng.normal(size=(n, 2))
            Y = rng.normal(size=(n, 2)) + 1.0
            mem_fast, out_fast = peak_memory(kernelflows_step, X, Y, kernel)
            mem_bc, out_bc = peak_memory(broadcast_step, X, Y, kernel)
            # Small sizes take milliseconds: more runs steady the medians on a shared machine.
            repeats = 3 * args.repeats if n <= 1000 else args.repeats
            b_repeats = repeats if n <= 1000 else args.broadcast_repeats_large
            t_fast, t_bc = timings(
                (kernelflows_step, broadcast_step), X, Y, kernel, (repeats, b_repeats)
            )
            agree = float(np.abs(out_fast - out_bc).max())
            rows.append((n, t_fast, mem_fast, t_bc, mem_bc, agree))
            del out_bc

    print()
    print(
        f"{'n = m':>7} | {'kernelflows ms':>14} {'(min)':>7} {'MB':>5} {'runs':>4} | "
        f"{'broadcast ms':>12} {'(min)':>8} {'MB':>6} {'runs':>4} | "
        f"{'speed-up':>8} | {'max diff':>8}"
    )
    print("-" * 104)
    for n, tf, mf, tb, mb, agree in rows:
        print(
            f"{n:>7} | {1e3 * np.median(tf):>14.1f} {1e3 * tf.min():>7.1f} {mf:>5.1f} "
            f"{len(tf):>4} | "
            f"{1e3 * np.median(tb):>12.1f} {1e3 * tb.min():>8.1f} {mb:>6.0f} {len(tb):>4} | "
            f"{np.median(tb) / np.median(tf):>7.1f}x | {agree:>8.1e}"
        )
    print(
        "\nms: median (and minimum) over the runs shown, the two implementations interleaved so"
        " they share the machine's load; the broadcast step runs"
        f" {args.broadcast_repeats_large} times only above n = 1000 (seconds and GBs per call)."
        " MB: peak traced numpy allocations during one step (an untimed first call)."
        f" Load average at the end: {os.getloadavg()[0]:.1f} on {os.cpu_count()} cores."
    )


if __name__ == "__main__":
    main()
