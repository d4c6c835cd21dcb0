"""Where the student-teacher training's time goes, against what its arithmetic needs.

    .venv/bin/python bench/bench_training_profile.py [--epochs E] [--quick]

For each student (per-particle and dense), size N and noise mode, in float32 on one BLAS thread
(threadpoolctl; the environment line says which BLAS ran): the CPU seconds per epoch of the
training (median of ``REPEATS`` runs; CPU time, not wall: the machine this runs on is shared),
split into

* BLAS: the matrix products of an epoch timed alone at the same shapes and counts;
* noise: the epoch's draws of u for noise injection or diffusion (``standard_normal`` in the
  particles' dtype) and the perturbed copy Z + beta u;
* the rest: element-wise arithmetic (ReLU, G, G', masks), the engine's checks and Python;

and the arithmetic's floor: the products' flops per epoch over the single-core sgemm rate
measured in the same run (a large square product: the best this BLAS does on one core). The
last column is measured / floor. A minibatch step is: forward pass at Z (and at Z + beta u for
noise injection), the backward pass at the evaluation points; 10 steps an epoch (1000 inputs,
batch 100, d = 50, H = 3).
"""

from __future__ import annotations

import argparse
import statistics
import time
from dataclasses import replace

import numpy as np
from _blas import environment_line
from _training import train_epochs
from threadpoolctl import threadpool_limits

from kernelflows.experiments import PAPER_SETTINGS, student_teacher_problem

try:
    from kernelflows.flows.perturbations import standard_normal
except ImportError:  # the code before float32 draws: numpy's float64 normals, rounded

    def standard_normal(rng, shape, dtype):
        return rng.standard_normal(shape)


REPEATS = 3
D, H, B, STEPS = 50, 3, 100, 10  # input dim, hidden units, batch, steps per epoch


def cpu(fn, repeats=REPEATS) -> float:
    times = []
    for _ in range(repeats):
        t0 = time.process_time()
        fn()
        times.append(time.process_time() - t0)
    return statistics.median(times)


def sgemm_rate() -> float:
    """Single-core float32 flops per second of a 1000 x 1000 x 1000 product."""
    a = np.random.default_rng(0).standard_normal((1000, 1000)).astype(np.float32)
    a @ a
    return 2e9 / cpu(lambda: [a @ a for _ in range(5)]) * 5


def products(arch: str, N: int, mode: str) -> list[tuple[int, int, int]]:
    """The (m, k, n) of the matrix products of one step."""
    if arch == "per-particle":
        rows = 2 * N * H if mode == "injection" else N * H  # fused forward at Z and Z + beta u
        return [(rows, D, B), (N * H, B, D)]  # forward; backward (delta @ X)
    forward = [(B, D, N * H), (N, N * H, B)]  # X W0^T; W2 ReLU(.)^T
    backward = [(N, B, N * H), (N * H, N, B), (N * H, B, D)]  # g a; W2^T g; delta X
    return forward * (2 if mode == "injection" else 1) + backward


def blas_seconds(shapes) -> float:
    rng = np.random.default_rng(1)
    mats = [
        (
            rng.standard_normal((m, k)).astype(np.float32),
            rng.standard_normal((k, n)).astype(np.float32),
        )
        for m, k, n in shapes
    ]
    reps = 20

    def run():
        for _ in range(reps):
            for a, b in mats:
                a @ b

    run()
    return cpu(run) / reps


def noise_seconds(N: int, p: int, mode: str) -> float:
    if mode not in ("injection", "diffusion"):
        return 0.0
    rng = np.random.default_rng(2)
    Z = np.zeros((N, p), np.float32)
    reps = 20

    def run():
        for _ in range(reps):
            Z + np.float32(0.5) * standard_normal(rng, Z.shape, np.float32)

    return cpu(run) / reps


def epoch_seconds(settings, problem, mode, epochs) -> float:
    def run():
        train_epochs(settings, problem, mode, epochs, rng=0)

    run()
    return cpu(run) / epochs


def main():
    parser = argparse.ArgumentParser()
    parser.add_argument("--epochs", type=int, default=20)
    parser.add_argument("--quick", action="store_true", help="per-particle N = 1000 only")
    args = parser.parse_args()
    modes = ("injection", "none", "plain", "diffusion")
    configs = [("per-particle", 1000, modes)]
    if not args.quick:
        configs += [
            ("per-particle", 100, modes),
            ("dense", 100, ("injection", "none")),
            ("dense", 1000, ("injection", "none")),
        ]
    with threadpool_limits(limits=1):
        print(environment_line())
        rate = sgemm_rate()
        print(f"single-core sgemm (1000^3): {rate / 1e9:.1f} GFlop/s; CPU ms per epoch")
        head = (
            f"{'student':>12} {'N':>5} {'mode':>10} {'measured':>9} {'BLAS':>7} {'noise':>7} "
            f"{'rest':>7} {'MFlop':>7} {'floor':>7} {'ratio':>6}"
        )
        print(head)
        for arch, N, arch_modes in configs:
            s = replace(PAPER_SETTINGS, architecture=arch, n_student=N)
            problem = student_teacher_problem(s, 0)
            p = problem.student.shape[1]
            epochs = args.epochs if arch == "per-particle" or N < 1000 else 2
            for mode in arch_modes:
                shapes = products(arch, N, mode)
                flops = STEPS * sum(2 * m * k * n for m, k, n in shapes)
                total = epoch_seconds(s, problem, mode, epochs)
                blas = STEPS * blas_seconds(shapes)
                noise = STEPS * noise_seconds(N, p, mode)
                floor = flops / rate
                print(
                    f"{arch:>12} {N:5d} {mode:>10} {total * 1e3:9.2f} {blas * 1e3:7.2f} "
                    f"{noise * 1e3:7.2f} {(total - blas - noise) * 1e3:7.2f} {flops / 1e6:7.0f} "
                    f"{floor * 1e3:7.2f} {total / floor:6.1f}",
                    flush=True,
                )


if __name__ == "__main__":
    main()
