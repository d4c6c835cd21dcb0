"""Benchmark of the flows of the MMD-regularized f-divergences (run by hand; prints a table).

    .venv/bin/python bench/bench_regularized.py            # 5 repeats of 20 steps each
    .venv/bin/python bench/bench_regularized.py --quick    # 3 repeats of 10 steps

One flow step on the three-circles problem of Stein, Neumayer, Rux, Steidl (arXiv 2402.04613,
2024; their code's defaults: N = M = 300, Gaussian kernel exp(-||x - y||^2 / (2 s)), s = 0.1,
lam = 1, step 0.01), from the same particles (100 steps of the chi^2 flow from their start, drawn
here with the package's own generator), for the MMD flow, KALE flow and the regularized flows
(KL, Tsallis 2 and 3, Jensen-Shannon, total variation): median over repeats of the time per step
of a short warm-started run, the ratio to the MMD flow step in the same run, and the solver's
Newton steps and Cholesky factorisations per flow step. BLAS threads are pinned to 1 with
threadpoolctl (``run_flow`` pins them too) and the BLAS that ran is printed. Wall-clock times on a
shared machine are noisy: compare the ratios within one run.
"""

from __future__ import annotations

import argparse
import statistics
import time

import numpy as np
from _blas import environment_line
from threadpoolctl import threadpool_limits

from kernelflows.divergences import tsallis
from kernelflows.flows import kale_flow, mmd_flow, regularized_flow
from kernelflows.kernels import GaussianKernel

LAM, STEP, S = 1.0, 0.01, 0.1


def three_circles(n=300, seed=0):
    """Three circles of radius 0.3, 100 evenly spaced points each, centres 0.75 apart (the
    authors' ``circles`` target), and a start N((0, -0.3), 1e-4 I) near the first circle."""
    t = np.linspace(0, 2 * np.pi, n // 3 + 1)[:-1]
    ring = 0.3 * np.c_[np.cos(t), np.sin(t)]
    Y = np.concatenate([ring - [0.0, 0.75 * i] for i in range(3)])
    X0 = np.random.default_rng(seed).normal(size=(n, 2)) * 0.01 + [0.0, -0.3]
    return X0, Y


def per_step_ms(run, n_steps, repeats):
    times, last = [], None
    for _ in range(repeats):
        t0 = time.perf_counter()
        last = run(n_steps)
        times.append((time.perf_counter() - t0) / n_steps * 1e3)
    return statistics.median(times), last


def main():
    parser = argparse.ArgumentParser()
    parser.add_argument("--quick", action="store_true")
    args = parser.parse_args()
    n_steps, repeats = (10, 3) if args.quick else (20, 5)
    with threadpool_limits(limits=1, user_api="blas"):
        print(environment_line())
        X0, Y = three_circles()
        kernel = GaussianKernel(np.sqrt(S))
        X = regularized_flow(X0, Y, kernel, "chi2", lam=LAM, step=STEP, n_steps=100).particles
        common = dict(step=STEP, record_every=10**6)
        flows = [
            ("MMD flow", lambda k: mmd_flow(X, Y, kernel, n_steps=k, **common)),
            (
                "KALE flow (step / (1 + lam))",
                lambda k: kale_flow(
                    X, Y, kernel, lam=LAM, n_steps=k, step=STEP / (1 + LAM), record_every=10**6
                ),
            ),
        ]
        for name, div in [
            ("KL", "kl"),
            ("Tsallis 2", "chi2"),
            ("Tsallis 3", tsallis(3)),
            ("Jensen-Shannon", "js"),
            ("total variation", "tv"),
        ]:
            flows.append(
                (
                    f"regularized, {name}",
                    lambda k, div=div: regularized_flow(
                        X, Y, kernel, div, lam=LAM, n_steps=k, **common
                    ),
                )
            )
        print(
            f"\nOne flow step, N = M = 300, d = 2, lam = {LAM:g}, s = {S:g}: median of "
            f"{repeats} runs of {n_steps} steps"
        )
        print(
            f"{'flow':<32s} {'ms/step':>8s} {'x MMD':>7s} {'Newton/step':>12s} "
            f"{'Cholesky/step':>14s}"
        )
        base = None
        for name, run in flows:
            ms, res = per_step_ms(run, n_steps, repeats)
            base = base or ms
            extras = res.extras
            newton = extras["newton_steps"][-1] / n_steps if "newton_steps" in extras else 0.0
            chol = extras["cholesky"][-1] / n_steps if "cholesky" in extras else 0.0
            print(f"{name:<32s} {ms:8.2f} {ms / base:7.1f} {newton:12.2f} {chol:14.2f}")


if __name__ == "__main__":
    main()
