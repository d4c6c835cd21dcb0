"""Benchmark of the flows of lecture 11 against the MMD flow step, on both of its problems.

    .venv/bin/python bench/bench_after_the_talk.py            # 7 rounds, runs of 40 and 80 steps
    .venv/bin/python bench/bench_after_the_talk.py --quick    # 3 rounds, runs of 20 and 40 steps

For each problem of the ``after-the-talk`` experiment (the three rings: 240 particles, 240 ring
points; the mixture: 300 particles, 300 target samples), the particles after 100 MMD flow steps
(spread, as during most of a run) are moved by short runs of each flow of
:data:`kernelflows.experiments.AFTER_FLOWS` at the experiment's steps and lambda, taken in turn and
repeated, so that every flow meets the same machine load. A flow's step is timed as the difference
between a run of 2N steps and a run of N steps, divided by N: what a run pays once (the DrMMD
flow's factorisation of the target's Gram matrix, the Newton flows' cold first solve) cancels.
Printed: the median wall and CPU (all threads) milliseconds per step, their ratios to the MMD flow
step of the same round (the median over rounds of the per-round ratio), and the once-per-run
setup (wall ms). Issue 22's target: a fixed-lambda DrMMD step at most 2.5x an
MMD step.

BLAS is pinned to one thread with threadpoolctl (as ``run_flow`` does) and reported. Wall-clock
times on a shared machine are noisy: read the ratios within one run.
"""

from __future__ import annotations

import argparse
import statistics
import time

from _blas import environment_line
from threadpoolctl import threadpool_limits

from kernelflows.experiments import AFTER_FLOWS, AFTER_LAM, AFTER_PROBLEMS, AFTER_STEPS
from kernelflows.experiments.after_the_talk import _flow_calls, after_the_talk_problem
from kernelflows.flows import mmd_flow


def start(problem):
    p = after_the_talk_problem(problem, n=300, n_steps=1, flows=("MMD",), rng=0)
    X = mmd_flow(p.X0, p.Y, p.kernel, step=AFTER_STEPS[problem]["MMD"], n_steps=100).particles
    return X, p.Y, p.kernel


def _timed(call, X, Y, kernel, n_steps):
    t0, c0 = time.perf_counter(), time.process_time()
    call(X, Y, kernel, {"n_steps": n_steps, "record_every": n_steps})
    return 1e3 * (time.perf_counter() - t0), 1e3 * (time.process_time() - c0)


def rounds(problem, n_steps, repeats):
    X, Y, kernel = start(problem)
    calls = _flow_calls(problem, AFTER_LAM, noise_rng=0)
    wall = {name: [] for name in AFTER_FLOWS}
    cpu = {name: [] for name in AFTER_FLOWS}
    setup = {name: [] for name in AFTER_FLOWS}
    for _ in range(repeats):
        for name in AFTER_FLOWS:
            w1, c1 = _timed(calls[name], X, Y, kernel, n_steps)
            w2, c2 = _timed(calls[name], X, Y, kernel, 2 * n_steps)
            wall[name].append((w2 - w1) / n_steps)
            cpu[name].append((c2 - c1) / n_steps)
            setup[name].append(2 * w1 - w2)
    return wall, cpu, setup, len(X), len(Y)


def table(problem, n_steps, repeats):
    wall, cpu, setup, n, m = rounds(problem, n_steps, repeats)
    print(f"\n{problem}: n = {n}, m = {m}, lambda = {AFTER_LAM}, {repeats} rounds")
    print(f"{'flow':24s} {'step':>7s} {'wall ms':>8s} {'ratio':>6s} {'CPU ms':>8s} {'ratio':>6s}"
          f" {'setup ms':>9s}")  # fmt: skip
    ratios = {}
    for name in AFTER_FLOWS:
        rw = statistics.median(a / b for a, b in zip(wall[name], wall["MMD"], strict=True))
        rc = statistics.median(a / b for a, b in zip(cpu[name], cpu["MMD"], strict=True))
        ratios[name] = (rw, rc)
        print(
            f"{name:24s} {AFTER_STEPS[problem][name]:7g} {statistics.median(wall[name]):8.2f} "
            f"{rw:6.2f} {statistics.median(cpu[name]):8.2f} {rc:6.2f} "
            f"{statistics.median(setup[name]):9.1f}"
        )
    return ratios


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--quick", action="store_true", help="3 rounds, runs of 20 and 40 steps")
    args = parser.parse_args(argv)
    n_steps, repeats = (20, 3) if args.quick else (40, 7)
    with threadpool_limits(1):
        print(environment_line())
        worst_wall = worst_cpu = 0.0
        for problem in AFTER_PROBLEMS:
            rw, rc = table(problem, n_steps, repeats)["DrMMD"]
            worst_wall, worst_cpu = max(worst_wall, rw), max(worst_cpu, rc)
    verdict = "within" if worst_cpu <= 2.5 else "ABOVE"
    print(
        f"\nDrMMD (fixed lambda) step: at most {worst_cpu:.2f}x the MMD flow step in CPU time "
        f"({verdict} 2.5x), {worst_wall:.2f}x in wall time (on a loaded machine the wall time "
        "measures the load as much as the work; the CPU time of this process, all its threads, "
        "measures the work)"
    )
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
