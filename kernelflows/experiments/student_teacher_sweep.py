"""The sweep of the student-teacher experiment (results file ``student-teacher-sweep``).

Which difference between the original code and the per-particle model produces the original's
gain from noise injection (the dense layer, its initialisation, float32; the loss scaling is the
"plain" mode), and whether injection helps the per-particle model at other noise levels,
schedules or step sizes. It runs at the lecture's schedule (1000 epochs, beta halved every 100)
with N = 100 (N = 1000 at the paper scale), ten times cheaper than the main runs, and holds its
own baselines; each variant changes one thing. At the paper scale the dense variants are left
out: the dense student at N = 1000 costs about 0.4 s of one core per epoch (2 GFlop per
minibatch step), 7 mode runs x 3 seeds x 1000 epochs about three hours, a GPU's job (its first
200 epochs are the results file ``student-teacher-dense``). Its pieces are (variant, seed), run
in the order seed by seed so that a run cut short holds every variant of the first seeds.
"""

from __future__ import annotations

from dataclasses import replace

import numpy as np

from .registry import Experiment, jsonable, register
from .student_teacher import (
    PAPER_SETTINGS,
    SWEEP_SETTINGS,
    by_mode,
    piece_of,
    run_piece,
    summarise_runs,
)

__all__ = ["EXPERIMENT", "sweep_variants"]


def sweep_variants(n_student: int) -> dict:
    """``{name: (changes to the sweep's settings, noise modes)}``, each variant one change."""
    both, all3 = ["injection", "none"], ["injection", "none", "plain"]
    return {
        "dense": ({"architecture": "dense"}, all3),
        "dense, second layer std 1/sqrt(N)": (
            {"architecture": "dense", "second_layer_std": 1.0 / np.sqrt(n_student)},
            both,
        ),
        "dense, float64": ({"architecture": "dense", "dtype": "float64"}, both),
        "per-particle": ({}, all3),
        "per-particle, second layer std sqrt(N)": (
            {"second_layer_std": float(np.sqrt(n_student))},
            both,
        ),
        "per-particle, float64": ({"dtype": "float64"}, both),
        "per-particle, beta0 = 0.1": ({"beta0": 0.1}, ["injection"]),
        "per-particle, beta0 = 3": ({"beta0": 3.0}, ["injection"]),
        "per-particle, beta constant 1": ({"halve_every": 10**6}, ["injection"]),
        "per-particle, lr 0.02": ({"lr": 0.02}, both),
        "per-particle, lr 0.5": ({"lr": 0.5}, both),
    }


def _settings(scale: str) -> dict:
    base = SWEEP_SETTINGS
    if scale == "paper":
        base = replace(SWEEP_SETTINGS, n_student=PAPER_SETTINGS.n_student)
    seeds = (0, 1, 2)
    variants = {
        name: {"settings": jsonable(replace(base, **change)), "noises": noises}
        for name, (change, noises) in sweep_variants(base.n_student).items()
        if scale != "paper" or change.get("architecture") != "dense"
    }
    return {
        "variants": variants,
        "seeds": list(seeds),
        "order": [[name, seed] for seed in seeds for name in variants],
    }


def _run(s: dict, piece):
    name, seed = piece
    return run_piece(s["variants"][name]["settings"], s["variants"][name]["noises"], seed)


def _combine(s: dict, done: list) -> dict:
    """Per variant with a piece done: its runs and means by mode, as the main results files
    have them, and its pieces done."""
    variants = {}
    for name in s["variants"]:
        mine = [(piece, summary) for piece, summary in done if piece[0] == name]
        if mine:
            variants[name] = by_mode(mine) | {"done": [p for p, _ in mine], "missing": []}
    return {"variants": variants}


#: The results file student-teacher-sweep.
EXPERIMENT = Experiment(
    "student-teacher-sweep",
    "which difference gives the original code its gain from noise injection, and noise "
    "levels, schedules and steps for the per-particle student",
    _settings,
    _run,
    summarise_runs,
    pieces=lambda s: s["order"],
    combine=_combine,
    summary_of=lambda s, metrics, piece: piece_of(
        metrics["variants"][piece[0]]["runs"], [s["variants"][piece[0]]["noises"], piece[1]]
    ),
)
register(EXPERIMENT)
