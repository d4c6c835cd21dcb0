"""Where the student-teacher training's time goes, against what its arithmetic needs.

    .venv/bin/python bench/bench_training_profile.py [--epochs E] [--quick] [--ops]
        [--before REV [--repeats R]]

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

``--ops``: the per-particle step at N = 1000 operation by operation (each numpy call of the
forward and backward passes and of the engine's update, timed in the order the training runs
them, so with the cache as the training leaves it), with each call's sweep over memory.

``--before REV``: the epochs (per-particle N = 1000, dense N = 100) of the package at git
revision REV (``git archive``, run from a temporary directory) and of the working tree, in
processes of their own, the two alternating ``--repeats`` times (the machine is shared: a ratio
of neighbours in time, the median over the repeats), against the sgemm floor.
"""

from __future__ import annotations

import argparse
import io
import json
import statistics
import subprocess
import sys
import tarfile
import tempfile
import time
from dataclasses import replace
from pathlib import Path

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


ROOT = Path(__file__).resolve().parents[1]

#: One process's measurement: CPU ms per epoch of each mode (argv: the directory holding the
#: package, the modes, the epochs, the student's architecture and N), printed as JSON.
CHILD = """
import json, sys, time
sys.path[:0] = [sys.argv[1], sys.argv[1] + '/bench', {bench!r}]
import kernelflows
assert kernelflows.__file__.startswith(sys.argv[1]), kernelflows.__file__
from _training import train_epochs
from threadpoolctl import threadpool_limits
from kernelflows.experiments import PAPER_SETTINGS, student_teacher_problem
from dataclasses import replace
s = replace(PAPER_SETTINGS, architecture=sys.argv[4], n_student=int(sys.argv[5]))
problem = student_teacher_problem(s, 0)
out = {{}}
with threadpool_limits(limits=1):
    for mode in sys.argv[2].split(','):
        train_epochs(s, problem, mode, 1, rng=0)
        t0 = time.process_time()
        train_epochs(s, problem, mode, int(sys.argv[3]), rng=0)
        out[mode] = (time.process_time() - t0) / int(sys.argv[3]) * 1e3
print(json.dumps(out))
"""


def child_ms(root: str, modes, epochs: int, arch: str, N: int) -> dict:
    run = subprocess.run(
        [
            sys.executable,
            "-c",
            CHILD.format(bench=str(ROOT / "bench")),
            root,
            ",".join(modes),
            str(epochs),
            arch,
            str(N),
        ],
        capture_output=True,
        text=True,
        env={"PATH": "/usr/bin:/bin", "OPENBLAS_NUM_THREADS": "1", "OMP_NUM_THREADS": "1"},
    )
    if run.returncode:
        raise RuntimeError(run.stderr)
    return json.loads(run.stdout)


#: What ``--before`` compares: (student, N, modes), each run for ``--epochs`` epochs.
BEFORE_AFTER = (
    ("per-particle", 1000, ("injection", "none", "plain", "diffusion")),
    ("dense", 100, ("injection", "none")),
)


def before_after(rev: str, epochs: int, repeats: int, rate: float) -> None:
    """The epochs of revision ``rev`` and of the working tree (:data:`BEFORE_AFTER`)."""
    with tempfile.TemporaryDirectory() as tmp:
        archive = subprocess.run(
            ["git", "archive", rev, "kernelflows", "bench/_training.py"],
            cwd=ROOT,
            capture_output=True,
            check=True,
        ).stdout
        with tarfile.open(fileobj=io.BytesIO(archive)) as tar:
            tar.extractall(tmp, filter="data")
        runs = {(arch, N): {"before": [], "after": []} for arch, N, _ in BEFORE_AFTER}
        for k in range(repeats):
            order = (("before", tmp), ("after", str(ROOT)))
            for name, root in order if k % 2 == 0 else order[::-1]:
                for arch, N, modes in BEFORE_AFTER:
                    runs[arch, N][name].append(child_ms(root, modes, epochs, arch, N))
    print(
        f"{rev} (before) and the working tree (after): CPU ms per epoch, medians of {repeats} "
        f"alternating runs of {epochs} epochs; floor: the products' flops at the sgemm rate"
    )
    print(
        f"{'student':>12} {'N':>5} {'mode':>10} {'before':>8} {'after':>8} {'after/before':>12} "
        f"{'floor':>7} {'before/floor':>12} {'after/floor':>11}"
    )
    for arch, N, modes in BEFORE_AFTER:
        for mode in modes:
            b = [r[mode] for r in runs[arch, N]["before"]]
            a = [r[mode] for r in runs[arch, N]["after"]]
            shapes = products(arch, N, mode)
            floor = STEPS * sum(2 * m * k * n for m, k, n in shapes) / rate * 1e3
            ratio = statistics.median([y / x for x, y in zip(b, a, strict=True)])
            print(
                f"{arch:>12} {N:5d} {mode:>10} {statistics.median(b):8.2f} "
                f"{statistics.median(a):8.2f} {ratio:12.3f} {floor:7.2f} "
                f"{statistics.median(b) / floor:12.1f} {statistics.median(a) / floor:11.1f}",
                flush=True,
            )


def ops_table(steps: int = 200) -> None:
    """The per-particle step at N = 1000, no noise, call by call, in the training's order."""
    from kernelflows.networks.base import gaussian_output, output_slope

    problem = student_teacher_problem(PAPER_SETTINGS, 0)
    Z = problem.student.astype(np.float32)
    X_all = problem.X_train.astype(np.float32)
    target = np.zeros(len(X_all), np.float32) + np.float32(0.3)
    N, p = Z.shape
    n, rng = B, np.random.default_rng(0)
    hidden, delta = np.empty((N, H, n), np.float32), np.empty((N, H, n), np.float32)
    u, phi, g = (np.empty((N, n), np.float32) for _ in range(3))
    mask, W0 = np.empty((N, H, n), bool), np.empty((N, H * D), np.float32)
    gW0, grad, scaled = np.empty((N * H, D), np.float32), np.empty_like(Z), np.empty_like(Z)
    W1 = Z[:, H * D :]
    kb = 4 * N * H * n / 1e3, 4 * N * n / 1e3, 4 * N * p / 1e3  # kB of (N,H,n), (N,n), (N,p)
    ops = [
        ("W0 out of the rows", lambda X, t: np.copyto(W0, Z[:, : H * D]), 2 * kb[2]),
        (
            "matmul W0 X^T",
            lambda X, t: np.matmul(W0.reshape(N * H, D), X.T, out=hidden.reshape(N * H, n)),
            kb[0],
        ),
        ("ReLU", lambda X, t: np.maximum(hidden, 0.0, out=hidden), 2 * kb[0]),
        (
            "u = einsum(W1, a)",
            lambda X, t: np.einsum("nh,nhb->nb", W1, hidden, out=u),
            kb[0] + kb[1],
        ),
        ("G(u) (3 passes, min)", lambda X, t: gaussian_output(u, 2.0, out=phi), 6 * kb[1]),
        ("residual (mean)", lambda X, t: phi.mean(axis=0) - t, kb[1]),
        (
            "C G'(u) (2 passes, min)",
            lambda X, t: output_slope(
                np.broadcast_to(np.float32(1e-3) * t, phi.shape), u, phi, 2.0, out=g
            ),
            5 * kb[1],
        ),
        (
            "grad W1 = einsum(g, a)",
            lambda X, t: np.einsum("nb,nhb->nh", g, hidden, out=grad[:, H * D :]),
            kb[0] + kb[1],
        ),
        (
            "delta = einsum(g, W1)",
            lambda X, t: np.einsum("nb,nh->nhb", g, W1, out=delta),
            kb[0] + kb[1],
        ),
        ("mask a > 0", lambda X, t: np.greater(hidden, 0, out=mask), 1.25 * kb[0]),
        ("delta *= mask", lambda X, t: np.multiply(delta, mask, out=delta), 2.25 * kb[0]),
        ("matmul delta X", lambda X, t: np.matmul(delta.reshape(N * H, n), X, out=gW0), kb[0]),
        (
            "gradient rows",
            lambda X, t: np.copyto(grad[:, : H * D], gW0.reshape(N, H * D)),
            2 * kb[2],
        ),
        ("engine: finite (sum)", lambda X, t: grad.sum(), kb[2]),
        (
            "engine: step * v, Z +=",
            lambda X, t: np.add(Z, np.multiply(grad, np.float32(0.0), out=scaled), out=Z),
            5 * kb[2],
        ),
        ("engine: range (max, min)", lambda X, t: (Z.max(), Z.min()), 2 * kb[2]),
    ]
    seconds = [0.0] * len(ops)
    with np.errstate(all="ignore"):
        for step in range(steps + 20):
            batch = rng.permutation(len(X_all))[:n]
            X, t = X_all[batch], target[batch]
            for k, (_, op, _) in enumerate(ops):
                t0 = time.perf_counter()
                op(X, t)
                if step >= 20:
                    seconds[k] += time.perf_counter() - t0
    print(
        f"the per-particle step (N = 1000, no noise) call by call, us (the mean of "
        f"{steps} steps, wall clock, one BLAS thread) and the memory each call sweeps"
    )
    print(f"{'operation':>26} {'us':>7} {'kB':>7} {'GB/s':>6}")
    for (name, _, kbytes), sec in zip(ops, seconds, strict=True):
        us = sec / steps * 1e6
        print(f"{name:>26} {us:7.1f} {kbytes:7.0f} {kbytes / 1e3 / us * 1e3:6.1f}")
    print(f"{'total':>26} {sum(seconds) / steps * 1e6:7.1f}")


def main():
    parser = argparse.ArgumentParser()
    parser.add_argument("--epochs", type=int, default=20)
    parser.add_argument("--quick", action="store_true", help="per-particle N = 1000 only")
    parser.add_argument("--ops", action="store_true", help="the step call by call")
    parser.add_argument("--before", metavar="REV", help="compare with git revision REV")
    parser.add_argument("--repeats", type=int, default=4)
    args = parser.parse_args()
    if args.before or args.ops:
        with threadpool_limits(limits=1):
            print(environment_line())
            rate = sgemm_rate()
            print(f"single-core sgemm (1000^3): {rate / 1e9:.1f} GFlop/s")
            if args.ops:
                ops_table()
            if args.before:
                before_after(args.before, args.epochs, args.repeats, rate)
        return
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
