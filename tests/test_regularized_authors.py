"""The MMD-regularized f-divergences against the authors' code.

The reference numbers in ``data/regularized_authors.json`` come from the PyTorch code of Stein,
Neumayer, Rux, Steidl (arXiv 2402.04613, 2024), run outside the project with its solvers
tightened (the file's ``provenance`` says how): an independent implementation (proximal gradient
on the primal, where the package runs Newton on it). ``bench/compare_regularized_authors.py``
prints the full comparison with timings; these tests keep the quick part of it.
"""

import json
from pathlib import Path

import numpy as np
import pytest

from kernelflows.divergences import regularized_divergence, tsallis
from kernelflows.flows import regularized_flow
from kernelflows.kernels import GaussianKernel

REF = json.loads((Path(__file__).parent / "data" / "regularized_authors.json").read_text())


def _cloud(name):
    c = REF["clouds"][name]
    return np.array(c["P"]), np.array(c["Q"]), GaussianKernel(np.sqrt(c["s"]))


def _div(alpha):
    return "kl" if alpha == 1 else tsallis(alpha)


ROWS = REF["values"]


def test_the_reference_agrees_with_itself():
    # their primal value against their own dual bound at the primal's point: the reference is
    # trustworthy only where the two meet (measured: within 4e-14 relative, 1e-11 for Tsallis 3
    # whose prox is a derivative-free search)
    for r in REF["values"]:
        assert abs(r["value"] - r["pseudo_dual"]) <= 1e-10 * r["value"], r


@pytest.mark.parametrize(
    "row", ROWS, ids=lambda r: f"{r['cloud']}-alpha{r['alpha']}-lam{r['lam']:g}"
)
def test_values_match_the_authors_code(row):
    P, Q, kernel = _cloud(row["cloud"])
    res = regularized_divergence(P, Q, kernel, _div(row["alpha"]), lam=row["lam"], tol=1e-11)
    # ours is certified to 1e-11 relative, theirs agrees with its own dual bound to 1e-10
    # (previous test); 1e-9 leaves room for BLAS round-off (the issue asked 1e-6)
    assert abs(res.value - row["value"]) <= 1e-9 * row["value"]


@pytest.mark.parametrize("alpha", sorted(int(a) for a in REF["flows"]))
def test_three_circles_flow_matches_the_authors_code(alpha):
    # 100 steps of their three-circles flow (lam = 1, step 0.01) from their own initial draw.
    # Their run solved every step's primal to a relative iteration difference of 1e-15 (3e-8
    # for Tsallis 3; their default 50 iterations a step gave the same particles to 5e-15).
    # Ours certifies every step to a duality gap of 1e-14, which bounds the witness error by
    # sqrt(2 gap / lam) ~ 1.4e-7 in the RKHS norm, so each coordinate of its gradient by that
    # over sqrt(s) (4.5e-7): 100 steps of 0.01 add up to ~5e-7 if the flow does not amplify
    # them (measured: 1e-8). The flow's default tol = 1e-9 allows 1e-4 by the same count
    # (measured for KL: particles 4.8e-7 apart, values 2.0e-6 relative, which misses 1e-6): the
    # match needs tol = 1e-14, passed here; the default suits flows (flows/regularized.py says
    # why, and what the tighter one costs).
    P, Q, kernel = _cloud("circles")
    ref = REF["flows"][str(alpha)]["tight"]
    res = regularized_flow(
        P, Q, kernel, _div(alpha), lam=1.0, step=0.01, n_steps=100, record_every=1, tol=1e-14
    )
    assert np.abs(res.particles - np.array(ref["X100"])).max() < 5e-7
    values = np.array(ref["values"])  # D_{f,lam} before each step
    assert np.all(np.abs(res.loss[:100] - values) <= 5e-7 * values)
