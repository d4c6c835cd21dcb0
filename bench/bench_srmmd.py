"""Benchmark of the SrMMD flow (Tian et al., arXiv 2026) against the MMD flow (prints tables).

    .venv/bin/python bench/bench_srmmd.py            # n = m = 100 and 300
    .venv/bin/python bench/bench_srmmd.py --quick    # n = m = 100 only, fewer repeats

On the authors' toy (four Gaussians at (+-2, +-2), variance 0.3, source N(0, I), Gaussian
bandwidth 1, lam = 0.1, step 0.1):

1. Where the time of one SrMMD step goes, median microseconds: the MMD witness's gradient at the
   particles (r), the derivative Gram matrix H (nd x nd), the certified Cholesky solve of
   (H + n lam I) V = r, the whole field call, and the MMD flow's field call on the same particles.
2. The same-run ratio: short flows (MMD, SrMMD) run in turn on the same particles, repeated;
   medians of wall and CPU ms per step and their ratios to the MMD flow step. An SrMMD step
   factorises an nd x nd matrix that changes with the particles: O((nd)^3 / 3) against the MMD
   step's O(n (n + m) d), so the ratio grows with n.

BLAS is pinned to one thread with threadpoolctl (as ``run_flow`` does) and reported. Wall-clock
times on a shared machine are noisy: read the ratios within one run.
"""

from __future__ import annotations

import argparse
import os
import statistics
import time

import numpy as np
from _blas import environment_line
from bench_kale_flow import median_us
from threadpoolctl import threadpool_limits

from kernelflows.divergences.srmmd import _signed, derivative_gram, srmmd_solve
from kernelflows.flows import MMDVelocity, SrMMDVelocity, mmd_flow, srmmd_flow
from kernelflows.kernels import GaussianKernel

LAM, STEP = 0.1, 0.1


def setup(n, seed=0):
    rng = np.random.default_rng(seed)
    means = np.array([[-2.0, -2.0], [-2.0, 2.0], [2.0, -2.0], [2.0, 2.0]])
    Y = means[rng.integers(0, 4, n)] + np.sqrt(0.3) * rng.normal(size=(n, 2))
    X0 = rng.normal(size=(n, 2))
    kernel = GaussianKernel(1.0)
    X = srmmd_flow(X0, Y, kernel, lam=LAM, step=STEP, n_steps=20).particles  # mid-run
    return X0, X, Y, kernel


def breakdown(X, Y, kernel, number):
    n, d = X.shape
    print(f"\n1. One step, n = m = {n}, d = {d} (after 20 steps), median microseconds")
    field, mmd = SrMMDVelocity(Y, kernel, LAM), MMDVelocity(Y, kernel)
    C = np.concatenate([X, Y])
    w = _signed(n, len(Y))
    r = kernel.weighted_grad(X, C, w)
    H = derivative_gram(X, kernel)
    rows = [
        ("MMD witness gradient at the particles (r)", lambda: kernel.weighted_grad(X, C, w)),
        (f"derivative Gram matrix H ({n * d} x {n * d})", lambda: derivative_gram(X, kernel)),
        (
            "certified Cholesky solve (H + n lam I) V = r",
            lambda: srmmd_solve(H, r.ravel(), n, LAM, 1e-10),
        ),
        ("SrMMD field call", lambda: field(X)),
        ("MMD field call (for the ratio)", lambda: mmd(X)),
    ]
    for name, fn in rows:
        print(f"  {name:<52s} {median_us(fn, number=number):10.1f}")


def same_run(X0, Y, kernel, n_steps, repeats):
    print(f"\n2. Same-run ratio: {n_steps}-step flows in turn, {repeats} repeats, n = {len(X0)}")
    runs = {
        "MMD flow": lambda: mmd_flow(X0, Y, kernel, step=STEP, n_steps=n_steps),
        "SrMMD flow": lambda: srmmd_flow(X0, Y, kernel, lam=LAM, step=STEP, n_steps=n_steps),
    }
    times = {name: [] for name in runs}
    cpu = {name: [] for name in runs}
    for _ in range(repeats):
        for name, fn in runs.items():
            t0, c0 = time.perf_counter(), time.process_time()
            fn()
            times[name].append((time.perf_counter() - t0) / n_steps * 1e3)
            cpu[name].append((time.process_time() - c0) / n_steps * 1e3)
    base = statistics.median(times["MMD flow"])
    base_cpu = statistics.median(cpu["MMD flow"])
    print(f"  {'flow':<24s} {'ms/step':>8s} {'x MMD':>7s} {'CPU ms':>8s} {'x MMD':>7s}")
    for name in runs:
        med, med_cpu = statistics.median(times[name]), statistics.median(cpu[name])
        print(
            f"  {name:<24s} {med:8.3f} {med / base:7.1f} {med_cpu:8.3f} {med_cpu / base_cpu:7.1f}"
        )


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--quick", action="store_true", help="n = 100 only, fewer repeats")
    args = parser.parse_args()
    with threadpool_limits(limits=1):
        print(environment_line())
        print(f"load average: {' '.join(f'{x:.2f}' for x in os.getloadavg())}")
        for n in [100] if args.quick else [100, 300]:
            X0, X, Y, kernel = setup(n)
            breakdown(X, Y, kernel, 10 if args.quick else 20)
            same_run(X0, Y, kernel, 20 if args.quick else 50, 3 if args.quick else 5)


if __name__ == "__main__":
    main()
