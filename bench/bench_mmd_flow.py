"""Benchmark: one MMD flow step, kernelflows vs a plain broadcast numpy step, in one process.

Prints milliseconds per step (median over repeats) and the peak extra memory of one step
(traced numpy allocations beyond the inputs) for n = m in {1000, 4000, 10000}, d = 2, float64,
Gaussian kernel. BLAS is pinned to one thread with threadpoolctl (mid-size products stall with
many threads on small machines) and the BLAS in use is reported.

Two broadcast baselines, both building (n, ., d) difference arrays: the *plain* textbook step
(``(diff**2).sum(-1)``, ``(K[..., None] * diff).sum(1)``: the version the issue measured at about
9.5 s for n = m = 10000) and a tuned one that contracts with ``einsum`` (fewer temporaries,
about twice as fast). Both take gigabytes and seconds at n = m = 10000, so they are timed with
fewer repeats at the larger sizes (stated in the table); speed-ups are quoted against each.

A second table times the engine itself, before and after the thread pool, in the same run:
per step of ``mmd_flow`` with the loss recorded at every step (``record_every=1``) against the
velocity alone (``mmd_velocity``, nothing recorded), each on one thread (``kernel_threads(1)``:
the single-threaded path) and on the default pool (``os.cpu_count()`` threads), and with
``--legacy REV`` also with the Gaussian kernel code of git revision REV (before), with the
process CPU time over wall time of each (about the number of busy cores).

Run: ``.venv/bin/python bench/bench_mmd_flow.py [--sizes 1000 4000 10000] [--repeats 7]
[--engine-sizes 4000 10000] [--only-engine] [--legacy REV]``.
Targets: (issue 3) n = m = 10000 under 0.35 s with under 50 MB extra memory; at least 10x the
broadcast step at n = 1000 and 20x at the larger sizes. (Issue "Beyond the talk") a recorded
step at most 1.3x the velocity alone at n = m = 4000; n = m = 10000 with the loss recorded under
120 ms per step on 2 cores.
"""

from __future__ import annotations

import argparse
import os
import time
import tracemalloc

import numpy as np
from _blas import environment_line
from _legacy import kernels_module
from threadpoolctl import threadpool_limits

from kernelflows.divergences import mmd_velocity
from kernelflows.flows import mmd_flow
from kernelflows.kernels import GaussianKernel, kernel_threads

BANDWIDTH = 1.0
STEP = 0.1


def kernelflows_step(X, Y, kernel):
    return X + STEP * mmd_velocity(X, Y, kernel).velocity


def plain_step(X, Y, kernel):
    """The textbook step: pairwise differences (n, n, d) and (n, m, d), squares summed, then
    kernel-weighted differences summed over the second axis."""
    s2 = kernel.bandwidth**2
    dxx = X[:, None, :] - X[None, :, :]
    dxy = X[:, None, :] - Y[None, :, :]
    kxx = np.exp(-(dxx**2).sum(axis=-1) / (2 * s2))
    kxy = np.exp(-(dxy**2).sum(axis=-1) / (2 * s2))
    grad_f = (
        -(kxx[..., None] * dxx).sum(axis=1) / len(X) + (kxy[..., None] * dxy).sum(axis=1) / len(Y)
    ) / s2
    return X - STEP * grad_f


def einsum_step(X, Y, kernel):
    """A tuned broadcast step: one (n, n + m, d) difference array contracted with einsum."""
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


def legacy_gaussian(rev: str):
    """The Gaussian kernel with ``sums_and_grad`` and ``total`` as they were at git revision
    ``rev`` (the code before this change, loaded from ``git show``), as a subclass of today's
    GaussianKernel so that the flows accept it. For timing "before" in the same run. Before the
    kernels were split into modules, both lived in ``kernels/base.py``; since, the Gaussian
    kernel is in ``kernels/gaussian.py``."""
    base = kernels_module(rev, "base")
    gaussian = kernels_module(rev, "gaussian") or base
    old = gaussian.GaussianKernel
    return type(
        f"GaussianKernel@{rev}",
        (GaussianKernel,),
        {"sums_and_grad": old.sums_and_grad, "total": base.Kernel.total},
    )(BANDWIDTH)


def clocked(fn):
    """(wall seconds, process CPU seconds) of one call."""
    wall, cpu = time.perf_counter(), time.process_time()
    fn()
    return time.perf_counter() - wall, time.process_time() - cpu


def engine_rows(sizes, repeats, steps, legacy=None):
    """Per step: the velocity alone and a recorded flow step, on one thread and on the pool
    (and with the code of git revision ``legacy``, "before", when given).

    A recorded flow step is (T(1 + steps) - T(1)) / steps with T(s) the time of
    ``mmd_flow(..., n_steps=s, record_every=1)``: the difference removes the one-off costs (the
    target's kernel sum, the last snapshot). The four timings are interleaved in every repeat.
    """
    # label -> (kernel, threads): None threads = the default pool
    kernels = {"1": (GaussianKernel(BANDWIDTH), 1), "pool": (GaussianKernel(BANDWIDTH), None)}
    if legacy:
        old = legacy_gaussian(legacy)
        kernels = {f"{legacy} 1": (old, 1), f"{legacy} pool": (old, None), **kernels}
    rows = []
    for n in sizes:
        rng = np.random.default_rng(0)
        X = rng.normal(size=(n, 2))
        Y = rng.normal(size=(n, 2)) + 1.0
        cases = {}
        for threads in kernels:
            cases[threads] = {"vel": [], "flow": [], "cpu_vel": [], "cpu_flow": []}
        for _ in range(repeats):
            for label, c in cases.items():
                kernel, threads = kernels[label]

                def flow(s, X=X, Y=Y, kernel=kernel):
                    return mmd_flow(X, Y, kernel, step=STEP, n_steps=s, record_every=1)

                with kernel_threads(threads):
                    wall, cpu = clocked(lambda X=X, Y=Y, k=kernel: mmd_velocity(X, Y, k).velocity)
                    c["vel"].append(wall)
                    c["cpu_vel"].append(cpu / wall)
                    long_wall, long_cpu = clocked(lambda: flow(1 + steps))
                    short_wall, short_cpu = clocked(lambda: flow(1))
                    c["flow"].append((long_wall - short_wall) / steps)
                    c["cpu_flow"].append((long_cpu - short_cpu) / (long_wall - short_wall))
        rows.append((n, {k: {q: np.median(v) for q, v in c.items()} for k, c in cases.items()}))
    return rows


def print_engine(rows, threads_label):
    print()
    print(
        f"{'n = m':>6} | {'threads':>16} | {'velocity ms':>11} {'CPU/wall':>8} | "
        f"{'recorded step ms':>16} {'CPU/wall':>8} | {'recorded/velocity':>17} | "
        f"{'speed-up':>13}"
    )
    print("-" * 112)
    for n, cases in rows:
        base = next(iter(cases.values()))
        for threads, c in cases.items():
            label = threads.replace("pool", threads_label)
            speed = f"{base['flow'] / c['flow']:>12.2f}x"
            print(
                f"{n:>6} | {label:>16} | {1e3 * c['vel']:>11.1f} {c['cpu_vel']:>8.2f} | "
                f"{1e3 * c['flow']:>16.1f} {c['cpu_flow']:>8.2f} | "
                f"{c['flow'] / c['vel']:>16.2f}x | {speed:>13}"
            )


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--sizes", type=int, nargs="+", default=[1000, 4000, 10000])
    parser.add_argument("--repeats", type=int, default=7)
    parser.add_argument("--broadcast-repeats-large", type=int, default=2)
    parser.add_argument("--engine-sizes", type=int, nargs="+", default=[4000, 10000])
    parser.add_argument("--engine-repeats", type=int, default=5)
    parser.add_argument("--engine-steps", type=int, default=5)
    parser.add_argument("--only-engine", action="store_true")
    parser.add_argument(
        "--legacy", default=None, help="git revision whose kernel code to time as 'before'"
    )
    args = parser.parse_args(argv)

    with threadpool_limits(limits=1, user_api="blas"):
        print(environment_line())
        print(f"load average at the start: {os.getloadavg()[0]:.1f} on {os.cpu_count()} cores")
        threads_label = f"pool {os.cpu_count()}"
        engine = engine_rows(args.engine_sizes, args.engine_repeats, args.engine_steps, args.legacy)
    print_engine(engine, threads_label)
    print(
        "\nms: median over the repeats (the four timings interleaved in each). velocity:"
        " mmd_velocity(X, Y) alone; recorded step: one step of mmd_flow with record_every=1"
        " (loss and mean squared velocity recorded), (T(1 + s) - T(1)) / s over"
        f" s = {args.engine_steps} steps. threads 1: kernel_threads(1), the single-threaded"
        f" path; {threads_label}: the default thread pool; a git revision: that revision's"
        " Gaussian sums_and_grad and total (before), on one thread and on the pool. speed-up:"
        " recorded step of the first row over this row's. CPU/wall: process CPU time over wall"
        " time (about the number of busy cores). BLAS held to one thread (the engine does it"
        f" too). Load average now: {os.getloadavg()[0]:.1f} on {os.cpu_count()} cores."
    )
    if args.only_engine:
        return

    with threadpool_limits(limits=1, user_api="blas"):
        kernel = GaussianKernel(BANDWIDTH)
        rows = []
        for n in args.sizes:
            rng = np.random.default_rng(0)
            X = rng.normal(size=(n, 2))
            Y = rng.normal(size=(n, 2)) + 1.0
            fns = (kernelflows_step, plain_step, einsum_step)
            mems, outs = zip(*(peak_memory(fn, X, Y, kernel) for fn in fns), strict=True)
            # Small sizes take milliseconds: more runs steady the medians on a shared machine.
            repeats = 3 * args.repeats if n <= 1000 else args.repeats
            b_repeats = repeats if n <= 1000 else args.broadcast_repeats_large
            times = timings(fns, X, Y, kernel, (repeats, b_repeats, b_repeats))
            agree = max(float(np.abs(outs[0] - o).max()) for o in outs[1:])
            rows.append((n, times, mems, agree))
            del outs

    print()
    print(
        f"{'n = m':>6} | {'kernelflows ms':>14} {'(min)':>6} {'MB':>4} {'runs':>4} | "
        f"{'plain ms':>8} {'MB':>5} {'runs':>4} | {'einsum ms':>9} {'MB':>5} | "
        f"{'vs plain':>8} {'vs einsum':>9} | {'max diff':>8}"
    )
    print("-" * 110)
    for n, (tf, tp, te), (mf, mp, me), agree in rows:
        print(
            f"{n:>6} | {1e3 * np.median(tf):>14.1f} {1e3 * tf.min():>6.1f} {mf:>4.1f} "
            f"{len(tf):>4} | {1e3 * np.median(tp):>8.1f} {mp:>5.0f} {len(tp):>4} | "
            f"{1e3 * np.median(te):>9.1f} {me:>5.0f} | "
            f"{np.median(tp) / np.median(tf):>7.1f}x {np.median(te) / np.median(tf):>8.1f}x | "
            f"{agree:>8.1e}"
        )
    print(
        "\nms: median (and minimum) over the runs shown, the three implementations interleaved so"
        " they share the machine's load; the broadcast steps run"
        f" {args.broadcast_repeats_large} times only above n = 1000 (seconds and GBs per call)."
        " MB: peak traced numpy allocations during one step (an untimed first call)."
        " kernelflows runs on the default thread pool."
        f" Load average at the end: {os.getloadavg()[0]:.1f} on {os.cpu_count()} cores."
    )


if __name__ == "__main__":
    main()
