"""Benchmark of KALE flow on the three-rings experiment (run by hand; prints tables).

    OPENBLAS_NUM_THREADS=1 .venv/bin/python bench/bench_kale_flow.py            # published scale
    OPENBLAS_NUM_THREADS=1 .venv/bin/python bench/bench_kale_flow.py --quick    # reduced scale

1. Where the time of one flow step goes (n = m = 240, d = 2), medians over repeats.
2. Variants of the Newton solve over the same short run (medians of three interleaved repeats):
   a cold solve per step with ``kernelflows.divergences.kale``, the warm-started solver (previous
   alpha as the start) with a Cholesky factorisation at every Newton step (the plain
   warm-started Newton step), the same with the factorisation reused as a CG preconditioner,
   and the default (that, started from the extrapolation of the last two Newton-corrected
   solutions); each row's CPU time against the plain warm-started Newton row, in the same run.
3. The three-rings experiment (KALE lam = 0.001 step 1e-4, and lam = 1e4 step 1e-3; 50,000
   steps each at the paper scale, whose figure ``three-rings`` is drawn too, 5,000 with
   ``--quick``): ms per step of each run (wall and CPU), solver counts, the largest distance from
   a particle to the nearest target point, and the time of the whole figure.
4. The variants of 2 but the cold solve, later in the run: from the snapshot of 3's KALE run at
   step 20,000 (2,500 with ``--quick``).

BLAS threads are pinned to 1 with threadpoolctl and reported. Wall-clock times on a shared machine
are noisy: compare the CPU column and the ratios within one run.
"""

from __future__ import annotations

import argparse
import dataclasses
import statistics
import time

import numpy as np
from _blas import environment_line
from threadpoolctl import threadpool_limits

from kernelflows.divergences import kale, signed_weights
from kernelflows.experiments import (
    THREE_RINGS_BANDWIDTH,
    max_distance_to_target,
    three_rings,
    three_rings_runs,
)
from kernelflows.flows import KaleVelocity, kale_flow, run_flow
from kernelflows.kernels import GaussianKernel, blas_one_thread


def median_us(fn, repeats=7, number=200):
    fn()
    times = []
    for _ in range(repeats):
        t0 = time.perf_counter()
        for _ in range(number):
            fn()
        times.append((time.perf_counter() - t0) / number * 1e6)
    return statistics.median(times)


def breakdown(X0, Y, kernel):
    print("\n1. One KALE flow step (lam = 0.001) after 2,000 steps, median microseconds")
    X = kale_flow(X0, Y, kernel, lam=1e-3, step=1e-4, n_steps=2000, record_every=2000).particles
    field = KaleVelocity(Y, kernel, lam=1e-3)
    plain = KaleVelocity(Y, kernel, lam=1e-3).solver
    plain.extrapolate = False
    n, m = len(X), len(Y)
    # the next steps of the flow, until one whose extrapolated start certifies as it stands (no
    # Newton step) and one where it takes a Newton step: the dual update of each, and of the
    # plain warm start (previous alpha) on the second one's problem
    state, cases = field.init(X), {}
    for _ in range(200):
        C = np.concatenate([X, Y])
        K = kernel.flow_gram(X, C)
        kbar = K[:, n:].sum(axis=0) / n
        new = field.solver.solve(kbar, start=state)
        if state.trend is not None:
            cases.setdefault(new.newton_steps > state.newton_steps, (kbar, state))
        if len(cases) == 2:
            break
        w = signed_weights(n, m, new.alpha)
        X = X - 1e-4 * field.scale * kernel.grad_from_gram(X, C, K, w)
        state = new
    w = signed_weights(n, m, state.alpha)
    guess, newton = cases[False], cases[True]
    rows = [
        ("kernel values k(x, [x; y]) (one product, one exp)", lambda: kernel.flow_gram(X, C)),
        ("kbar (column means)", lambda: K[:, n:].sum(axis=0) / n),
        (
            "dual update, extrapolated start certified as it is",
            lambda: field.solver.solve(guess[0], start=guess[1]),
        ),
        (
            "dual update, extrapolated start + one Newton step",
            lambda: field.solver.solve(newton[0], start=newton[1]),
        ),
        (
            "  the same from the previous alpha (plain warm)",
            lambda: plain.solve(newton[0], start=dataclasses.replace(newton[1], trend=None)),
        ),
        ("velocity from the kernel values", lambda: kernel.grad_from_gram(X, C, K, w)),
        ("whole field call", lambda: field(X, state)),
        ("for scale: one Cholesky + inverse", lambda: field.solver._factor(state.u)),
    ]
    for name, fn in rows:
        print(f"  {name:<52s} {median_us(fn, number=100):8.1f}")
    assert np.all(np.isfinite(kbar))


def variants(X0, Y, kernel, n_steps, where="first", with_cold=True, number=2, repeats=3):
    print(f"\n{number}. Newton variants, KALE lam = 0.001, step 1e-4, {where} {n_steps} steps")
    print(
        f"  {'variant':<44s} {'ms/step':>8s} {'CPU ms':>7s} {'Newton':>7s} {'Chol':>6s} {'CG':>6s}"
        f" {'CPU/plain':>9s}"
    )
    lam, step = 1e-3, 1e-4

    def cold():
        X = X0.copy()
        for _ in range(n_steps):
            X -= step * (1 + lam) * kale(X, Y, kernel, lam=lam, tol=1e-9).witness.grad(X)
        return X

    def warm(refactor_at, extrapolate=False):
        field = KaleVelocity(Y, kernel, lam=lam)
        field.solver.refactor_at = refactor_at
        field.solver.extrapolate = extrapolate
        return run_flow(field, X0, step=step, n_steps=n_steps, record_every=n_steps)

    variants_ = (
        ("cold solve every step (divergences.kale)", cold),
        ("warm, Cholesky at every Newton step (plain)", lambda: warm(1e-300)),
        ("warm, reused factorisation + PCG", lambda: warm(0.3)),
        ("+ extrapolated start (default)", lambda: warm(0.3, True)),
    )[0 if with_cold else 1 :]
    times = {name: ([], []) for name, _ in variants_}
    counts = {}
    for rep in range(repeats):  # interleaved: the medians of each variant's repeats
        for name, fn in variants_:
            if fn is cold and rep > 0:
                continue  # one repeat of the slowest
            w0, c0 = time.perf_counter(), time.process_time()
            res = fn()
            times[name][0].append(time.perf_counter() - w0)
            times[name][1].append(time.process_time() - c0)
            counts[name] = ["", "", ""]
            if not isinstance(res, np.ndarray):
                e = res.extras
                counts[name] = [
                    f"{e['newton_steps'][-1] / n_steps:.2f}",
                    f"{e['cholesky'][-1]:.0f}",
                    f"{e['cg_iterations'][-1] / n_steps:.2f}",
                ]
    rows = [
        (name, statistics.median(times[name][0]), statistics.median(times[name][1]), counts[name])
        for name, _ in variants_
    ]
    plain_cpu = rows[1 if with_cold else 0][2]
    for name, wall, cpu, counts in rows:
        print(
            f"  {name:<44s} {wall / n_steps * 1e3:8.3f} {cpu / n_steps * 1e3:7.3f} "
            f"{counts[0]:>7s} {counts[1]:>6s} {counts[2]:>6s} {cpu / plain_cpu:9.3f}"
        )
    print(
        "  (Newton = Newton steps per flow step, Chol = factorisations in all, CG = CG its/step;"
        f" medians of {repeats} interleaved repeats, the cold solve once)"
    )


def published(scale):
    from kernelflows.figures import kale_flow as figmod

    three_rings_runs.cache_clear()
    w0, c0 = time.perf_counter(), time.process_time()
    out = three_rings_runs(scale)
    n_steps = int(out.runs["kale"].steps[-1])
    print(f"\n3. The three-rings experiment at the {scale} scale ({n_steps} steps per run)")
    fig = figmod.three_rings_figure() if scale == "paper" else None  # the figure: paper scale
    wall, cpu = time.perf_counter() - w0, time.process_time() - c0
    print(
        f"  {'run':<28s} {'ms/step':>8s} {'CPU ms':>7s} {'Newton/step':>11s} {'Chol':>5s} "
        f"{'CG/step':>8s} {'max gap':>8s} {'max dist':>9s}"
    )
    for name, label in (("kale", "KALE lam=0.001 step 1e-4"), ("mmd", "KALE lam=1e4 step 1e-3")):
        res = out.runs[name]
        e = res.extras
        print(
            f"  {label:<28s} {out.seconds[name] / n_steps * 1e3:8.3f} "
            f"{out.cpu_seconds[name] / n_steps * 1e3:7.3f} "
            f"{e['newton_steps'][-1] / n_steps:11.2f} {e['cholesky'][-1]:5.0f} "
            f"{e['cg_iterations'][-1] / n_steps:8.2f} {res.step_info['duality_gap'].max():8.1e} "
            f"{max_distance_to_target(res.particles, out.Y):9.4f}"
        )
    total = sum(out.seconds.values())
    what = "whole figure" if fig is not None else "the experiment"
    print(f"  both runs: {total:.1f} s wall; {what}: {wall:.1f} s wall, {cpu:.1f} s CPU")
    print(
        "  max distance from a particle to the nearest target point at the last step: "
        f"KALE {out.max_distance['kale']:.4f}, MMD-like {out.max_distance['mmd']:.4f}"
    )
    import matplotlib.pyplot as plt

    plt.close("all")


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument(
        "--quick", action="store_true", help="reduced scale: 5,000 steps instead of 50,000"
    )
    args = parser.parse_args()
    with threadpool_limits(limits=1):
        print(environment_line())
        X0, Y = three_rings()
        kernel = GaussianKernel(THREE_RINGS_BANDWIDTH)
        with blas_one_thread():  # as a flow holds it: the solver's own guard costs a lock only
            breakdown(X0, Y, kernel)
        variants(X0, Y, kernel, 300 if args.quick else 1000)
        published("reduced" if args.quick else "paper")
        # later in the run, from the published run's snapshot (cached): the extrapolation's
        # error is second order in the change of alpha per step, which slows down
        later = 2500 if args.quick else 20000
        X_later = (
            three_rings_runs("reduced" if args.quick else "paper").runs["kale"].snapshot(later)
        )
        variants(
            X_later, Y, kernel, 300 if args.quick else 1000, f"from step {later}: the", False, 4
        )


if __name__ == "__main__":
    main()
