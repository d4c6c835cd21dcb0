"""The MMD-regularized f-divergences against the authors' code (run by hand; prints tables).

    .venv/bin/python bench/compare_regularized_authors.py            # values and flows
    .venv/bin/python bench/compare_regularized_authors.py --write    # also bench/results/...json

Stein, Neumayer, Rux, Steidl (arXiv 2402.04613, 2024) published PyTorch code (the public
repository ViktorAJStein/Regularized_f_Divergence_Particle_Flows). It was run outside the project
(a scratch environment with torch on CPU, float64, one thread), its solvers tightened until they
agree with themselves (their primal ISTA iterated to a relative iteration difference of 1e-15,
3e-8 for Tsallis 3 whose prox is a derivative-free search; their own primal-to-dual "pseudo
duality gap" then closes to the last digits), on point clouds stored with the numbers. Its
numbers, not its code, are in ``tests/data/regularized_authors.json`` (with their provenance).

This script recomputes the same quantities with the package and prints, per row, the authors'
value, ours, the relative difference and both wall times: the values of D_{f,lam} for KL and
Tsallis 2 and 3 on the two clouds over lam from 1e-2 to 1e2, and the three-circles flows (N = M
= 300, Gaussian kernel exp(-||x - y||^2 / (2 s)), s = 0.1, lam = 1, step 0.01, 100 steps):
largest particle difference and largest relative difference of the value along the flow, with
their default solver settings (50 ISTA iterations a step) and tightened. The authors' times were
measured in their run (same machine, another process): compare orders of magnitude, not digits.
BLAS threads are pinned to 1.
"""

from __future__ import annotations

import argparse
import json
import platform
import subprocess
import time
from pathlib import Path

import numpy as np
from _blas import environment_line
from threadpoolctl import threadpool_limits

from kernelflows.divergences import regularized_divergence, tsallis
from kernelflows.flows import regularized_flow
from kernelflows.kernels import GaussianKernel

ROOT = Path(__file__).resolve().parents[1]
DATA = ROOT / "tests" / "data" / "regularized_authors.json"
OUT = ROOT / "bench" / "results" / "regularized_authors.json"


def divergence(alpha):
    return "kl" if alpha == 1 else tsallis(alpha)


def values_table(ref):
    rows = []
    print(
        f"\n{'cloud':<8s} {'alpha':>5s} {'lam':>6s} {'authors':>22s} {'ours':>22s} "
        f"{'rel diff':>9s} {'theirs s':>9s} {'ours s':>7s}"
    )
    for r in ref["values"]:
        cloud = ref["clouds"][r["cloud"]]
        P, Q = np.array(cloud["P"]), np.array(cloud["Q"])
        kernel = GaussianKernel(np.sqrt(cloud["s"]))
        t0 = time.perf_counter()
        ours = regularized_divergence(
            P, Q, kernel, divergence(r["alpha"]), lam=r["lam"], tol=1e-12
        ).value
        sec = time.perf_counter() - t0
        rel = abs(ours - r["value"]) / abs(r["value"])
        rows.append(dict(r, ours=ours, rel_diff=rel, ours_seconds=sec))
        print(
            f"{r['cloud']:<8s} {r['alpha']:5d} {r['lam']:6g} {r['value']:22.16g} "
            f"{ours:22.16g} {rel:9.1e} {r['seconds']:9.2f} {sec:7.2f}"
        )
    print(f"largest relative difference: {max(x['rel_diff'] for x in rows):.1e}")
    return rows


def flows_table(ref):
    cloud = ref["clouds"]["circles"]
    X0, Y = np.array(cloud["P"]), np.array(cloud["Q"])
    kernel = GaussianKernel(np.sqrt(cloud["s"]))
    rows = []
    print(f"\nthree circles, {ref['flow_settings']}")
    print(
        f"{'alpha':>5s} {'authors':>9s} {'our tol':>7s} {'max |dX|':>9s} {'value rel':>9s} "
        f"{'theirs s':>9s} {'ours s':>7s}"
    )
    for key, f in sorted(ref["flows"].items()):
        alpha = int(key)
        for tol in (1e-9, 1e-14):  # the flow's default, and what the comparison needs
            t0 = time.perf_counter()
            res = regularized_flow(
                X0,
                Y,
                kernel,
                divergence(alpha),
                lam=1.0,
                step=0.01,
                n_steps=100,
                record_every=1,
                tol=tol,
            )
            sec = time.perf_counter() - t0
            for label in ("tight", "default"):
                run = f[label]
                dX = float(np.abs(res.particles - np.array(run["X100"])).max())
                vals = np.array(run["values"])  # before steps 0..99
                rel = float(np.max(np.abs(res.loss[:100] - vals) / np.abs(vals)))
                rows.append(
                    dict(
                        alpha=alpha,
                        authors=label,
                        tol=tol,
                        max_abs_dX=dX,
                        max_rel_value=rel,
                        authors_seconds=run["seconds"],
                        authors_ista_iterations=sum(run["ista_iterations"]),
                        ours_seconds=sec,
                    )
                )
                print(
                    f"{alpha:5d} {label:>9s} {tol:7.0e} {dX:9.1e} {rel:9.1e} "
                    f"{run['seconds']:9.2f} {sec:7.2f}"
                )
    return rows


def main():
    parser = argparse.ArgumentParser()
    parser.add_argument("--write", action="store_true", help=f"write {OUT.relative_to(ROOT)}")
    args = parser.parse_args()
    ref = json.loads(DATA.read_text())
    start = time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime())
    with threadpool_limits(limits=1, user_api="blas"):
        env = environment_line()
        print(env)
        t0 = time.perf_counter()
        values = values_table(ref)
        flows = flows_table(ref)
        wall = time.perf_counter() - t0
    if args.write:
        commit = subprocess.run(
            ["git", "rev-parse", "HEAD"], cwd=ROOT, capture_output=True, text=True
        ).stdout.strip()
        doc = dict(
            description=__doc__.split("\n\n")[2].replace("\n", " "),
            authors_provenance=ref["provenance"],
            provenance=dict(
                commit=commit,
                environment=env,
                platform=platform.platform(),
                start=start,
                wall_seconds=wall,
            ),
            values=values,
            flows=flows,
            largest_value_rel_diff=max(x["rel_diff"] for x in values),
        )
        OUT.parent.mkdir(exist_ok=True)
        OUT.write_text(json.dumps(doc, indent=1) + "\n")
        print(f"wrote {OUT.relative_to(ROOT)}")


if __name__ == "__main__":
    main()
