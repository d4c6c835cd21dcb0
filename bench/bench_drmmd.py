"""Benchmark of the DrMMD flow (Chen et al., JMLR 2025) against the MMD flow (prints tables).

    .venv/bin/python bench/bench_drmmd.py            # n = m = 300 and 1000
    .venv/bin/python bench/bench_drmmd.py --quick    # n = m = 300 only, fewer repeats

1. Where the time of one DrMMD step goes on the authors' three rings (n = m = 300, d = 2,
   Gaussian sigma = 0.15, lam = 1e-3), median microseconds: the kernel values k(x, y) (held as
   one matrix at n = 300, by the kernel's tiled sums at n = 1000: v), the particles' own pairs
   (the kernel's symmetric fast path: grad mu_X), the certified solve with the target's
   factorisation (at a fixed lam the inverse is formed once: one product and the residual), the
   target's part of the velocity, the whole field call (fixed and adaptive lam), and the MMD
   flow's field call on the same particles.
2. The same-run ratio: short flows (MMD, DrMMD fixed lam, DrMMD adaptive, and the KL-regularized
   flow of Stein et al., lam = 1, fewer steps: a Newton solve per step) run in turn on the same
   particles, repeated; medians of wall and CPU (all threads) ms per step and their ratios to the
   MMD flow step. The target is a fixed-lam DrMMD step at most 2.5x an MMD step (none for the
   regularized flow: reported).

BLAS is pinned to one thread with threadpoolctl (as ``run_flow`` does) and reported. Wall-clock
times on a shared machine are noisy: read the ratios within one run.
"""

from __future__ import annotations

import argparse
import statistics
import time

import numpy as np
from _blas import environment_line
from bench_kale_flow import median_us
from threadpoolctl import threadpool_limits

from kernelflows.experiments.drmmd import DRMMD_RINGS_BANDWIDTH, drmmd_rings_setup
from kernelflows.flows import DrMMDVelocity, MMDVelocity, drmmd_flow, mmd_flow, regularized_flow
from kernelflows.kernels import GaussianKernel

LAM = 1e-3


def setup(n_per_ring, n_source):
    X0, Y = drmmd_rings_setup(0, n_per_ring, n_source)
    kernel = GaussianKernel(DRMMD_RINGS_BANDWIDTH)
    # particles after 500 steps: spread, as during most of the run
    X = drmmd_flow(X0, Y, kernel, lam=LAM, step=2e-4, n_steps=500, record_every=500).particles
    return X0, X, Y, kernel


def breakdown(X, Y, kernel, number):
    n = len(X)
    print(f"\n1. One step, n = {n}, m = {len(Y)} (after 500 steps), median microseconds")
    fixed = DrMMDVelocity(Y, kernel, LAM)
    adaptive = DrMMDVelocity(Y, kernel, LAM, adaptive=True)
    state = adaptive.init(X)
    mmd = MMDVelocity(Y, kernel)
    fact = fixed.factorisation
    sums = fact.sums(X, velocity=True, value=False)
    a, _ = fact.solve(sums.v, LAM, reuse=True)
    w_y = -1.0 / len(Y) - a
    if sums.gram is not None:
        target_rows = [
            ("kernel values k(x, y), held (one product, one exp)", lambda: kernel.flow_gram(X, Y)),
            (
                "target's part of the velocity, from them",
                lambda: kernel.grad_from_gram(X, Y, sums.gram, w_y),
            ),
        ]
    else:
        ones = np.ones((n, 1))
        target_rows = [
            ("v: kernel's tiled sums over k(y, x)", lambda: kernel.sums_and_grad(Y, X, ones)),
            (
                "target's part of the velocity: tiled sums",
                lambda: kernel.sums_and_grad(X, Y, w_y[:, None]),
            ),
        ]
    own = np.full((n, 1), 1.0 / n)
    rows = [
        *target_rows,
        (
            "particles' own pairs (symmetric fast path)",
            lambda: kernel.sums_and_grad(X, X, own, z_is_head=True),
        ),
        (
            "certified solve, fixed lam (one product, residual)",
            lambda: fact.solve(sums.v, LAM, reuse=True),
        ),
        ("certified solve, any lam (two products with U)", lambda: fact.solve(sums.v, LAM)),
        ("DrMMD field call, fixed lam", lambda: fixed(X)),
        ("DrMMD field call, adaptive lam (two solves)", lambda: adaptive(X, state)),
        ("MMD field call (for the ratio)", lambda: mmd(X)),
        ("for scale: the target's eigendecomposition", lambda: DrMMDVelocity(Y, kernel, LAM)),
    ]
    for name, fn in rows:
        print(f"  {name:<52s} {median_us(fn, number=number):9.1f}")


def same_run(X0, Y, kernel, n_steps, repeats):
    print(f"\n2. Same-run ratio: {n_steps}-step flows in turn, {repeats} repeats, n = {len(X0)}")
    n_reg = max(1, n_steps // 10)
    runs = {
        "MMD flow": (n_steps, lambda: mmd_flow(X0, Y, kernel, step=1e-4, n_steps=n_steps)),
        "DrMMD, fixed lam": (
            n_steps,
            lambda: drmmd_flow(X0, Y, kernel, lam=LAM, step=2e-4, n_steps=n_steps),
        ),
        "DrMMD, adaptive lam": (
            n_steps,
            lambda: drmmd_flow(
                X0, Y, kernel, lam=LAM, step=2e-4, n_steps=n_steps, adaptive=True, min_step=2e-4
            ),
        ),
        f"regularized KL ({n_reg} st.)": (
            n_reg,
            lambda: regularized_flow(X0, Y, kernel, "kl", lam=1.0, step=1e-3, n_steps=n_reg),
        ),
    }
    times = {name: [] for name in runs}
    cpu = {name: [] for name in runs}
    for _ in range(repeats):
        for name, (steps, fn) in runs.items():
            t0, c0 = time.perf_counter(), time.process_time()
            fn()
            times[name].append((time.perf_counter() - t0) / steps * 1e3)
            cpu[name].append((time.process_time() - c0) / steps * 1e3)
    base = statistics.median(times["MMD flow"])
    base_cpu = statistics.median(cpu["MMD flow"])
    print(f"  {'flow':<28s} {'ms/step':>8s} {'x MMD':>6s} {'CPU ms':>7s} {'x MMD':>6s}")
    for name in runs:
        med, med_cpu = statistics.median(times[name]), statistics.median(cpu[name])
        print(
            f"  {name:<28s} {med:8.3f} {med / base:6.2f} {med_cpu:7.3f} {med_cpu / base_cpu:6.2f}"
        )


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--quick", action="store_true", help="n = 300 only, fewer repeats")
    args = parser.parse_args()
    with threadpool_limits(limits=1):
        print(environment_line())
        sizes = [(100, 300)] if args.quick else [(100, 300), (334, 1000)]
        for n_per_ring, n_source in sizes:
            X0, X, Y, kernel = setup(n_per_ring, n_source)
            breakdown(X, Y, kernel, 20 if args.quick else 50)
            same_run(X0, Y, kernel, 200 if args.quick else 500, 3 if args.quick else 5)


if __name__ == "__main__":
    main()
