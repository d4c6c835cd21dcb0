"""Benchmark: the Gaussian kernel's fast paths before and after making every value accurate.

Times, in one process and interleaved (before, after, before, ...), the Gaussian kernel code of
git revision ``--before`` (loaded from ``git show``) and of the working tree on clouds whose
spread, in bandwidths, ranges from a standard normal (the benchmarks' and flows' usual case) to
1e6: ``k(X, Y)`` (the Gram matrix), ``mmd2`` (unbiased: blocked sums), ``flow_gram`` and the fused
``sums_and_grad`` of a flow step (the MMD flow's velocity). Prints medians over ``--repeats``
and the worst relative error of the values ``k(X, X)`` of each version against the exact values
(extended precision, numpy's longdouble), ``|k - k_exact| / (eps (1 + e) k)`` with e the
exponent. BLAS is pinned to one thread and the kernels' pool to one thread; both are reported.

Run: ``.venv/bin/python bench/bench_gaussian_accuracy.py [--before REV] [--n 2000] [--repeats 7]``.
Target (issue 23): the spreads up to a few bandwidths as fast as before (ratio about 1); the
wide clouds pay for the pairs they recompute and nothing else.
"""

from __future__ import annotations

import argparse
import time

import numpy as np
from _blas import environment_line
from _legacy import kernels_module
from threadpoolctl import threadpool_limits

from kernelflows import GaussianKernel, mmd2
from kernelflows.kernels import kernel_threads

SPREADS = [1.0, 5.0, 30.0, 1e3, 1e6]


def old_kernel_class(rev: str):
    """GaussianKernel as it was at ``rev`` (its module and the geometry it imported), built on
    today's RadialKernel so that the package's functions accept it."""
    geometry = kernels_module(rev, "geometry")  # first: the gaussian module imports it
    gaussian = kernels_module(rev, "gaussian", local=("geometry",))
    if geometry is None or gaussian is None:
        raise SystemExit(f"--before {rev}: no kernels/geometry.py and kernels/gaussian.py there")
    return gaussian.GaussianKernel


def cloud(spread: float, n: int, seed: int) -> np.ndarray:
    """A standard normal cloud at spread 1, else uniform on a square of half-side ``spread``."""
    rng = np.random.default_rng(seed)
    if spread == 1.0:
        return rng.normal(size=(n, 2))
    return rng.uniform(-spread, spread, (n, 2))


def worst_error(K: np.ndarray, X: np.ndarray) -> float:
    """max |k - k_exact| / (eps (1 + e) k) over the values above 1e-300."""
    Xl = X.astype(np.longdouble)
    e = ((Xl[:, None, :] - Xl[None, :, :]) ** 2).sum(-1) / 2
    exact = np.exp(-e)
    keep = exact > 1e-300
    err = (
        np.abs(K.astype(np.longdouble) - exact)[keep]
        / (np.finfo(float).eps * (1 + e) * exact)[keep]
    )
    return float(err.max())


def operations(n: int):
    def gram(k, X, Y):
        return k(X, Y)

    def mmd(k, X, Y):
        return mmd2(X, Y, k)

    def flow(k, X, Y):
        return k.flow_gram(X, np.vstack([X, Y]))

    def fused(k, X, Y):
        C = np.vstack([X, Y])
        W = np.concatenate([np.full(n, 1.0 / n), np.full(n, -1.0 / n)])[:, None]
        return k.sums_and_grad(X, C, W, z_is_head=True)

    return {"k(X, Y)": gram, "mmd2": mmd, "flow_gram": flow, "sums_and_grad": fused}


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--before", default="8eaa447", help="git revision timed as 'before'")
    parser.add_argument("--n", type=int, default=2000)
    parser.add_argument("--repeats", type=int, default=7)
    args = parser.parse_args(argv)
    versions = {"before": old_kernel_class(args.before)(1.0), "after": GaussianKernel(1.0)}
    with threadpool_limits(limits=1, user_api="blas"), kernel_threads(1):
        print(environment_line() + "; kernel threads: 1")
        print(f"n = {args.n} points per sample, d = 2, bandwidth 1, medians of {args.repeats}")
        print(
            f"{'spread':>7} | {'operation':>13} | {'before ms':>9} | {'after ms':>9} | "
            f"{'after/before':>12}"
        )
        for spread in SPREADS:
            X, Y = cloud(spread, args.n, 0), cloud(spread, args.n, 1)
            for name, op in operations(args.n).items():
                times = {v: [] for v in versions}
                for _ in range(args.repeats):
                    for v, k in versions.items():
                        start = time.perf_counter()
                        op(k, X, Y)
                        times[v].append(time.perf_counter() - start)
                b, a = (1e3 * float(np.median(times[v])) for v in versions)
                print(f"{spread:>7.0e} | {name:>13} | {b:>9.2f} | {a:>9.2f} | {a / b:>12.2f}")
        print()
        print("worst error of k(X, X), in units of eps (1 + e) k (n = 300):")
        print(
            f"{'spread':>7} | {'before':>10} | {'after':>10} | {'diag before':>11} | "
            f"{'diag after':>10}"
        )
        for spread in SPREADS:
            X = cloud(spread, 300, 2)
            errs = [worst_error(k(X, X), X) for k in versions.values()]
            diag = [float(np.abs(np.diag(k(X, X)) - 1).max()) for k in versions.values()]
            print(
                f"{spread:>7.0e} | {errs[0]:>10.3g} | {errs[1]:>10.3g} | {diag[0]:>11.2e} | "
                f"{diag[1]:>10.2e}"
            )


if __name__ == "__main__":
    main()
