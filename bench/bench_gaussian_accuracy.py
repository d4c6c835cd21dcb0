"""Benchmark: the Gaussian kernel's fast paths before and after making every value accurate.

Times, in one process and interleaved (before, [middle,] after, before, ...), the Gaussian
kernel code of git revision ``--before`` (loaded from ``git show``), optionally of a revision
``--middle`` (e.g. a first accurate version), and of the working tree, on clouds whose spread,
in bandwidths, ranges from a standard normal (the benchmarks' usual case) to 1e6, and on the
three rings at the DrMMD runs' bandwidth 0.15 (about 14 x 4 bandwidths): ``k(X, Y)`` (the Gram
matrix), ``mmd2`` (unbiased: kernel totals), ``flow_gram`` and the fused ``sums_and_grad`` of a
flow step (the MMD flow's velocity). Prints medians over ``--repeats``, the load average, and
the worst relative error of the values ``k(X, X)`` of each version against the exact values
(extended precision, numpy's longdouble), ``|k - k_exact| / (eps (1 + e) k)`` with e the
exponent. BLAS is pinned to one thread and the kernels' pool to one thread; both are reported.

Then the flow step at a fitted state (``--fitted-steps``, default 50,000: the published scale):
the particles of the ``three-rings`` experiment's MMD-like run (KALE flow, lam = 1e4, step 1e-3,
from the published start, run here with the working tree's code) after that many steps, 240
particles against the 240 ring points at bandwidth sqrt(0.05) (a handful of stragglers beyond 5
bandwidths of the mean): the kernel calls of one KALE flow step (``flow_gram`` of the particles
against [particles; rings], then ``grad_from_gram``), the MMD flow's ``sums_and_grad`` at the
same points, and the whole KALE step (the field, whose solver is the same code for every
version), timed as in a flow (inside the BLAS guard a flow holds).

Then the DrMMD step at its fitted state (``--drmmd-steps``, default 20,000: the published
scale): the particles of the ``drmmd-three-rings`` experiment's DrMMD run (lam = 1e-3, step
2e-4, from the published start, run here with the working tree's code) after that many steps,
300 particles against the 300 ring points at bandwidth 0.15 (about 14 x 4 bandwidths: a third
of the points beyond 5 bandwidths of the mean, the small wide cloud of the cells' one-tile
path): the kernel calls of one DrMMD step (``sums_and_grad`` of the particles' own pairs,
``flow_gram`` against the rings, ``grad_from_gram``), each of the first two alone, the MMD
flow's ``sums_and_grad`` against [particles; rings] at the same points, and the whole DrMMD
step (the field at a fixed lam, the same solve for every version).

Run: ``.venv/bin/python bench/bench_gaussian_accuracy.py [--before REV] [--middle REV]
[--n 2000] [--repeats 7] [--spreads 1 5 rings ... | none] [--fitted-steps 50000]
[--drmmd-steps 20000]``.
Target (issue 23): every spread within about 1.2x of the code before the accuracy work (it
had no checks at all); the accuracy columns show what that code got wrong.
"""

from __future__ import annotations

import argparse
import os
import time

import numpy as np
from _blas import environment_line
from _legacy import kernels_module
from threadpoolctl import threadpool_limits

from kernelflows import GaussianKernel, drmmd_flow, kale_flow, mmd2
from kernelflows.experiments import THREE_RINGS_BANDWIDTH, three_rings, three_rings_target
from kernelflows.experiments.drmmd import (
    DRMMD_RINGS_BANDWIDTH,
    drmmd_rings_setup,
    drmmd_three_rings_settings,
)
from kernelflows.flows import DrMMDVelocity, KaleVelocity
from kernelflows.kernels import blas_one_thread, kernel_threads

#: Spreads in bandwidths; "rings": the three rings (radius 0.3, centres 0.75 apart) at the
#: DrMMD runs' bandwidth 0.15, about 14 x 4 bandwidths (points on the rings plus N(0, 0.05^2)).
SPREADS = [1.0, 5.0, 10.0, 20.0, 30.0, 1e3, 1e6, "rings"]
RINGS_BANDWIDTH = 0.15


def old_kernel_class(rev: str):
    """GaussianKernel as it was at ``rev`` (its module, and the geometry, exponents and cells
    modules it imported), built on today's RadialKernel so that the package's functions accept
    it."""
    geometry = kernels_module(rev, "geometry")  # first: the others import it
    exponents = kernels_module(rev, "exponents", local=("geometry",))  # where it exists
    local = ("geometry",) if exponents is None else ("geometry", "exponents")
    if kernels_module(rev, "cells", local=local) is not None:  # where it exists
        local += ("cells",)
    gaussian = kernels_module(rev, "gaussian", local=local)
    if geometry is None or gaussian is None:
        raise SystemExit(f"--before {rev}: no kernels/geometry.py and kernels/gaussian.py there")
    return gaussian.GaussianKernel


def cloud(spread, n: int, seed: int) -> np.ndarray:
    """A standard normal cloud at spread 1, the three rings (in units of their bandwidth) at
    "rings", else uniform on a square of half-side ``spread``."""
    rng = np.random.default_rng(seed)
    if spread == "rings":
        Y = three_rings_target(-(-n // 3))[:n]
        return (Y + rng.normal(scale=0.05, size=Y.shape)) / RINGS_BANDWIDTH
    if spread == 1.0:
        return rng.normal(size=(n, 2))
    return rng.uniform(-spread, spread, (n, 2))


def label(spread) -> str:
    return f"{spread:>7}" if isinstance(spread, str) else f"{spread:>7.0e}"


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


def fitted_rings(n_steps: int):
    """(X, Y): the three-rings MMD-like run's particles after ``n_steps`` steps, and the rings."""
    X0, Y = three_rings()
    kernel = GaussianKernel(THREE_RINGS_BANDWIDTH)
    return kale_flow(X0, Y, kernel, lam=1e4, step=1e-3, n_steps=n_steps).particles, Y


def fitted_step_table(versions, n_steps: int, repeats: int):
    """The flow step's kernel calls at the fitted three-rings state (module docstring)."""
    X, Y = fitted_rings(n_steps)
    C = np.concatenate([X, Y])
    n = len(X)
    W = np.concatenate([np.full(n, 1.0 / n), np.full(len(Y), -1.0 / len(Y))])[:, None]
    ks = {v: type(k)(THREE_RINGS_BANDWIDTH) for v, k in versions.items()}
    fields = {v: KaleVelocity(Y, k, lam=1e4) for v, k in ks.items()}
    states = {v: f.init(X) for v, f in fields.items()}

    def kale_kernel(v):
        k = ks[v]
        return k.grad_from_gram(X, C, k.flow_gram(X, C), W[:, 0])

    def sums(v):
        return ks[v].sums_and_grad(X, C, W, z_is_head=True)

    def step(v):
        return fields[v](X, states[v])

    ref = np.mean(C, axis=0)
    spread = np.sqrt(((C - ref) ** 2).sum(1)).max() / THREE_RINGS_BANDWIDTH
    print()
    print(
        f"fitted three-rings step: {n} particles after {n_steps} steps of the MMD-like run "
        f"(lam = 1e4), {len(Y)} ring points, bandwidth {THREE_RINGS_BANDWIDTH:.4f}; farthest "
        f"point {spread:.1f} bandwidths from the mean; medians of {repeats} x 50 calls (us)"
    )
    ops = {
        "KALE step's kernel calls": kale_kernel,
        "sums_and_grad": sums,
        "KALE step (field)": step,
    }
    timed_table(list(versions), ops, repeats)


def timed_table(names, ops, repeats: int, calls: int = 50):
    """Each operation of ``ops`` (a function of the version's name) timed for every version,
    interleaved (``calls`` calls of each version in turn, ``repeats`` times), inside the BLAS
    guard a flow holds: a row of medians (us) and their ratios to the first version."""
    head = " | ".join(f"{v + ' us':>12}" for v in names)
    ratios = " | ".join(f"{v + '/before':>14}" for v in names[1:])
    print(f"{'operation':>28} | {head} | {ratios}")
    with blas_one_thread():
        for name, op in ops.items():
            times = {v: [] for v in names}
            for _ in range(repeats):
                for v in names:
                    start = time.perf_counter()
                    for _ in range(calls):
                        op(v)
                    times[v].append((time.perf_counter() - start) / calls)
            us = [1e6 * float(np.median(times[v])) for v in names]
            cols = " | ".join(f"{u:>12.1f}" for u in us)
            rel = " | ".join(f"{u / us[0]:>14.2f}" for u in us[1:])
            print(f"{name:>28} | {cols} | {rel}")


def fitted_drmmd(n_steps: int):
    """(X, Y): the drmmd-three-rings DrMMD run's particles after ``n_steps`` steps (its
    published settings: lam = 1e-3, step 2e-4, seed 0), and the rings."""
    s = drmmd_three_rings_settings("paper")
    X0, Y = drmmd_rings_setup(s["seed"])
    kernel = GaussianKernel(s["bandwidth"])
    flow = drmmd_flow(X0, Y, kernel, lam=s["lam"], step=s["drmmd_step"], n_steps=n_steps)
    return flow.particles, Y


def drmmd_step_table(versions, n_steps: int, repeats: int):
    """The DrMMD step's kernel calls at the fitted drmmd-three-rings state (module docstring)."""
    X, Y = fitted_drmmd(n_steps)
    n, m, bw = len(X), len(Y), DRMMD_RINGS_BANDWIDTH
    C = np.concatenate([X, Y])
    W = np.concatenate([np.full(n, 1.0 / n), np.full(m, -1.0 / m)])[:, None]
    own = np.full((n, 1), 1.0 / n)
    w_y = np.full(m, -1.0 / m)  # the target's weights (a step adds the solve's: the same cost)
    ks = {v: type(k)(bw) for v, k in versions.items()}
    fields = {v: DrMMDVelocity(Y, k, lam=1e-3) for v, k in ks.items()}

    def kernel_calls(v):
        k = ks[v]
        k.sums_and_grad(X, X, own, z_is_head=True)
        return k.grad_from_gram(X, Y, k.flow_gram(X, Y), w_y)

    ops = {
        "DrMMD step's kernel calls": kernel_calls,
        "sums_and_grad(X, X)": lambda v: ks[v].sums_and_grad(X, X, own, z_is_head=True),
        "flow_gram(X, Y)": lambda v: ks[v].flow_gram(X, Y),
        "MMD step's sums_and_grad": lambda v: ks[v].sums_and_grad(X, C, W, z_is_head=True),
        "DrMMD step (field)": lambda v: fields[v](X),
    }
    for v, field in fields.items():  # the same velocity from every version (a sanity check)
        gap = np.abs(field(X).velocity - fields["after"](X).velocity).max()
        scale = np.abs(fields["after"](X).velocity).max()
        assert gap <= 1e-6 * scale, (v, gap, scale)
    dist = np.sqrt(((C - C.mean(axis=0)) ** 2).sum(1)) / bw
    print()
    print(
        f"fitted drmmd-three-rings step: {n} particles after {n_steps} steps of the DrMMD run "
        f"(lam = 1e-3, step 2e-4), {m} ring points, bandwidth {bw}; farthest point "
        f"{dist.max():.1f} bandwidths from the mean, {int((dist > 5).sum())} of {n + m} beyond "
        f"5; medians of {repeats} x 50 calls (us)"
    )
    timed_table(list(versions), ops, repeats)


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--before", default="8eaa447", help="git revision timed as 'before'")
    parser.add_argument(
        "--middle", default=None, help="a git revision timed between them (e.g. a first fix)"
    )
    parser.add_argument("--n", type=int, default=2000)
    parser.add_argument(
        "--spreads", nargs="+", default=None, help="a subset of the spreads (numbers or 'rings')"
    )
    parser.add_argument("--repeats", type=int, default=7)
    parser.add_argument(
        "--fitted-steps",
        type=int,
        default=50_000,
        help="steps of the three-rings MMD-like run before the fitted step's table (0: none)",
    )
    parser.add_argument(
        "--drmmd-steps",
        type=int,
        default=20_000,
        help="steps of the drmmd-three-rings DrMMD run before its fitted step's table (0: none)",
    )
    args = parser.parse_args(argv)
    spreads = (
        SPREADS
        if args.spreads is None
        else [x if x == "rings" else float(x) for x in args.spreads if x != "none"]
    )
    versions = {"before": old_kernel_class(args.before)(1.0)}
    if args.middle:
        versions[args.middle] = old_kernel_class(args.middle)(1.0)
    versions["after"] = GaussianKernel(1.0)
    names = list(versions)
    with threadpool_limits(limits=1, user_api="blas"), kernel_threads(1):
        print(environment_line() + "; kernel threads: 1")
        print(f"load average at the start: {os.getloadavg()[0]:.1f} on {os.cpu_count()} cores")
        if args.fitted_steps:
            fitted_step_table(versions, args.fitted_steps, 2 * args.repeats + 1)
            print(f"load average after it: {os.getloadavg()[0]:.1f}")
            print()
        if args.drmmd_steps:
            drmmd_step_table(versions, args.drmmd_steps, 2 * args.repeats + 1)
            print(f"load average after it: {os.getloadavg()[0]:.1f}")
            print()
        if not spreads:
            return
        print(f"n = {args.n} points per sample, d = 2, bandwidth 1, medians of {args.repeats}")
        head = " | ".join(f"{v + ' ms':>12}" for v in names)
        ratios = " | ".join(f"{v + '/before':>14}" for v in names[1:])
        print(f"{'spread':>7} | {'operation':>13} | {head} | {ratios}")
        for spread in spreads:
            X, Y = cloud(spread, args.n, 0), cloud(spread, args.n, 1)
            for name, op in operations(args.n).items():
                times = {v: [] for v in versions}
                for _ in range(args.repeats):
                    for v, k in versions.items():
                        start = time.perf_counter()
                        op(k, X, Y)
                        times[v].append(time.perf_counter() - start)
                ms = [1e3 * float(np.median(times[v])) for v in versions]
                cols = " | ".join(f"{m:>12.2f}" for m in ms)
                rel = " | ".join(f"{m / ms[0]:>14.2f}" for m in ms[1:])
                print(f"{label(spread)} | {name:>13} | {cols} | {rel}")
        print(f"load average at the end: {os.getloadavg()[0]:.1f}")
        print()
        print("worst error of k(X, X), in units of eps (1 + e) k, and of its diagonal (n = 300):")
        print(
            f"{'spread':>7} | "
            + " | ".join(f"{v:>10}" for v in names)
            + " | "
            + " | ".join(f"{'diag ' + v:>12}" for v in names)
        )
        for spread in spreads:
            X = cloud(spread, 300, 2)
            errs = [worst_error(k(X, X), X) for k in versions.values()]
            diag = [float(np.abs(np.diag(k(X, X)) - 1).max()) for k in versions.values()]
            print(
                f"{label(spread)} | "
                + " | ".join(f"{e:>10.3g}" for e in errs)
                + " | "
                + " | ".join(f"{g:>12.2e}" for g in diag)
            )


if __name__ == "__main__":
    main()
