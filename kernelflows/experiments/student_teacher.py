"""The student-teacher experiment (Arbel, Korba, Salim, Gretton, NeurIPS 2019, Figure 1).

Settings of the published run and of the reduced scale, the problem (teacher, initial student,
inputs) drawn from one seed, the runs for each noise mode on one problem, and the results files
``student-teacher`` and ``student-teacher-dense`` (their pieces: noise modes and seeds; the sweep
is :mod:`.student_teacher_sweep`). The network and its training live in
:mod:`kernelflows.networks`.

The settings are the defaults of the authors' original code (PyTorch, 2019), whose student is
:class:`~kernelflows.networks.DenseMeanFieldNetwork` (``architecture="dense"``); its steps were
checked against that code run on CPU (same weights, batches and noise: equal to float32
rounding). Where this module differs from it, on purpose: beta is halved after epochs 1000,
2000, ... (the original halves after epoch index 1000, so its first level lasts 1001 epochs);
the original's diffusion also adds noise to the weights at every validation batch (twice the
noise per epoch; here only at training steps); the original logs MSE / 2 averaged over an
epoch's batches, while the results here are the MSE over the whole training or validation set
at the end of an epoch.
"""

from __future__ import annotations

from dataclasses import dataclass, replace

import numpy as np

from .._validation import as_rng
from ..flows import Diffusion, NoiseInjection, halving
from ..networks import (
    DenseMeanFieldNetwork,
    MeanFieldNetwork,
    StudentTeacherResult,
    train_student_teacher,
)
from .datasets import sphere_inputs
from .registry import SCALES, Experiment, jsonable, register

__all__ = [
    "ARCHITECTURES",
    "DENSE_PAPER_SETTINGS",
    "LECTURE_SETTINGS",
    "NOISE_MODES",
    "PAPER_SETTINGS",
    "REDUCED_SETTINGS",
    "SWEEP_SETTINGS",
    "StudentTeacherProblem",
    "StudentTeacherSettings",
    "perturbation",
    "loss_scale",
    "run_student_teacher",
    "student_teacher_problem",
    "student_teacher_table",
]

#: The noise modes of the experiment: injection (gradient at Z + beta u, move Z), none (the same
#: path with beta = 0), plain (no noise, with the original code's scaling of its "no noise" loss),
#: diffusion (add beta u to Z after the gradient step).
NOISE_MODES = ("injection", "none", "plain", "diffusion")

#: The two students: the per-particle model of the paper's equations
#: (:class:`~kernelflows.networks.MeanFieldNetwork`) and the original code's dense second layer
#: (:class:`~kernelflows.networks.DenseMeanFieldNetwork`).
ARCHITECTURES = ("per-particle", "dense")


def loss_scale(mode: str, n_student: int) -> float:
    """The factor c of the step gamma = lr * c on grad f (F = MSE / 2) in each noise mode, as the
    authors' original code (PyTorch, 2019) scales its losses.

    Its noise-injection loss back-propagates (1/2)(N / b) sum_x (f(x) - f*(x)) mean_i phi_i(x),
    so each particle gets (1/2) grad f; "none" runs that path with noise level 0. Its "no noise"
    loss is (1/2) mean_x (f(x) - f*(x))^2, whose gradient per particle is (1/N) grad f ("plain":
    a step 2/N times smaller, 50x at N = 100). Its diffusion loss back-propagates
    (1/2) (N / b) sum_x (f(x) - f*(x))^2 through the noised weights: grad f, factor 1.
    """
    if mode in ("injection", "none"):
        return 0.5
    if mode == "plain":
        return 1.0 / n_student
    if mode == "diffusion":
        return 1.0
    raise ValueError(f"noise mode must be one of {NOISE_MODES}, got {mode!r}")


@dataclass(frozen=True)
class StudentTeacherSettings:
    """Settings of the student-teacher experiment (Arbel et al., NeurIPS 2019, Figure 1), with
    the defaults of the authors' original code: SGD with learning rate ``lr`` = 0.1 on the
    original's losses (the step on grad f is ``lr * loss_scale(mode, N)``), batch 100, 1e4 epochs,
    noise level 1 halved every 1000 epochs, float32, student weights N(0.001, 1), teacher N(0, 1).

    ``architecture`` is "per-particle" or "dense"; ``second_layer_std`` replaces
    ``student_std`` in the second layer (W2, or each particle's W1; ``None``: the original's,
    the same std).
    """

    n_student: int = 1000
    n_teacher: int = 1
    input_dim: int = 50
    hidden: int = 3
    bias: bool = False
    sigma: float = 2.0
    n_train: int = 1000
    n_valid: int = 1000
    batch_size: int = 100
    lr: float = 0.1
    epochs: int = 10_000
    beta0: float = 1.0
    halve_every: int = 1000
    teacher_std: float = 1.0
    student_mean: float = 1e-3
    student_std: float = 1.0
    second_layer_std: float | None = None
    architecture: str = "per-particle"
    dtype: str = "float32"
    record_every: int = 100

    def __post_init__(self):
        if self.architecture not in ARCHITECTURES:
            raise ValueError(
                f"architecture must be one of {ARCHITECTURES}, got {self.architecture!r}"
            )
        if self.dtype not in ("float32", "float64"):
            raise ValueError(f"dtype must be 'float32' or 'float64', got {self.dtype!r}")
        if self.architecture == "dense" and self.bias:
            raise ValueError("bias must be False for the dense architecture (the original's)")
        if self.second_layer_std is not None and not (
            np.isfinite(self.second_layer_std) and self.second_layer_std >= 0
        ):
            raise ValueError(
                f"second_layer_std must be None or a finite number >= 0, got "
                f"{self.second_layer_std!r}"
            )

    @property
    def teacher_network(self) -> MeanFieldNetwork:
        return MeanFieldNetwork(self.input_dim, self.hidden, self.bias, self.sigma)

    @property
    def network(self):
        if self.architecture == "dense":
            return DenseMeanFieldNetwork(self.n_student, self.input_dim, self.hidden, self.sigma)
        return self.teacher_network

    @property
    def schedule(self) -> halving:
        """beta_n = beta0 / 2^floor(n / halve_every), n the epoch."""
        return halving(self.beta0, self.halve_every)

    def step(self, mode: str) -> float:
        """The step on grad f of a noise mode: ``lr * loss_scale(mode, n_student)``."""
        return self.lr * loss_scale(mode, self.n_student)

    def describe(self) -> str:
        return (
            f"{self.architecture} student, N = {self.n_student}, M = {self.n_teacher} teacher, "
            f"H = {self.hidden}, d = {self.input_dim}, {self.n_train} training inputs, batch "
            f"{self.batch_size}, lr {self.lr:g}, {self.epochs} epochs, beta0 = {self.beta0:g} "
            f"halved every {self.halve_every} epochs, {self.dtype}"
        )


#: The published scale (MMD flow paper, Figure 1; the original code's defaults).
PAPER_SETTINGS = StudentTeacherSettings()

#: The reduced scale of the results files: N = 100, the rest as published (what the original
#: code was run with here).
REDUCED_SETTINGS = replace(PAPER_SETTINGS, n_student=100)

#: The dense student at the published N = 1000 (a 1000 x 3000 second layer) costs about 1.9
#: GFlop of matrix products per minibatch step, 2.5 with noise injection (its forward pass twice):
#: 1e5 steps for the published 1e4 epochs, hours of one core per run (``make bench``:
#: ``bench_training_profile.py``), a GPU's job. Only the first 200 epochs of the published
#: schedule (beta = 1 throughout), one seed, are run.
DENSE_PAPER_SETTINGS = replace(PAPER_SETTINGS, architecture="dense", epochs=200, record_every=10)

#: The scale of the sweep of variants (results file student-teacher-sweep): N = 100, the
#: lecture's schedule (1000 epochs, beta halved every 100).
SWEEP_SETTINGS = replace(REDUCED_SETTINGS, epochs=1000, halve_every=100, record_every=10)

#: The settings of the lecture's own runs (not a scale of the results files): N = 40 and 10x
#: fewer epochs, the halving period shortened in proportion, so the run sees the same ten
#: halvings of beta.
LECTURE_SETTINGS = replace(
    REDUCED_SETTINGS, n_student=40, epochs=1000, halve_every=100, record_every=10
)


@dataclass(frozen=True)
class StudentTeacherProblem:
    """The fixed ingredients of one experiment: network, teacher, initial student, inputs."""

    settings: StudentTeacherSettings
    network: object
    teacher: np.ndarray
    student: np.ndarray
    X_train: np.ndarray
    X_valid: np.ndarray


def _settings(scale) -> StudentTeacherSettings:
    if isinstance(scale, StudentTeacherSettings):
        return scale
    if scale not in SCALES:
        raise ValueError(
            f"scale must be one of {SCALES} or a StudentTeacherSettings (e.g. "
            f"LECTURE_SETTINGS), got {scale!r}"
        )
    return PAPER_SETTINGS if scale == "paper" else REDUCED_SETTINGS


def student_teacher_problem(scale="reduced", rng=None) -> StudentTeacherProblem:
    """Draw the teacher (weights N(0, teacher_std^2)), the initial student (weights
    N(student_mean, student_std^2)) and training and validation inputs uniform on the sphere, in
    this order from ``rng`` (float64; training rounds them to the settings' dtype)."""
    s = _settings(scale)
    rng = as_rng(rng)
    net = s.network
    teacher = s.teacher_network.init_particles(s.n_teacher, rng, 0.0, s.teacher_std)
    student = net.init_particles(
        s.n_student, rng, s.student_mean, s.student_std, second_layer_std=s.second_layer_std
    )
    return StudentTeacherProblem(
        settings=s,
        network=net,
        teacher=teacher,
        student=student,
        X_train=sphere_inputs(s.n_train, s.input_dim, rng),
        X_valid=sphere_inputs(s.n_valid, s.input_dim, rng),
    )


def perturbation(name: str, settings: StudentTeacherSettings):
    """The perturbation of a noise mode: "injection", "diffusion" (the schedule of the settings)
    or "none" and "plain" (no noise)."""
    if name == "injection":
        return NoiseInjection(settings.schedule)
    if name == "diffusion":
        return Diffusion(settings.schedule)
    if name in ("none", "plain"):
        return 0.0
    raise ValueError(f"noise mode must be one of {NOISE_MODES}, got {name!r}")


def run_student_teacher(
    scale="reduced",
    *,
    noises=NOISE_MODES,
    rng=None,
    progress: bool = False,
    lam: float | None = None,
) -> dict[str, StudentTeacherResult]:
    """Run the experiment for each noise mode from one problem: ``{noise: result}``.

    ``scale`` is ``"paper"`` (:data:`PAPER_SETTINGS`: N = 1000, 1e4 epochs), ``"reduced"``
    (:data:`REDUCED_SETTINGS`, N = 100) or a :class:`StudentTeacherSettings` (the lecture's:
    :data:`LECTURE_SETTINGS`). Every mode starts from the same teacher, student and inputs
    and uses the same batch order; the problem and the training seed are drawn from ``rng``
    before any mode runs, so a mode run alone gives the same result as within all of them.

    ``lam`` trains by the DrMMD flow instead (``train_student_teacher(..., lam=lam)``) with the
    step ``lr`` on grad f, F = DrMMD / 2, in every mode: the authors' DrMMD loss (Chen et al.,
    JMLR 2025) reaches each particle with factor 1, with or without noise.
    """
    s = _settings(scale)
    if isinstance(noises, (str, bytes)) or not isinstance(noises, (list, tuple)):
        raise ValueError(
            f"noises must be a list or tuple of noise modes from {NOISE_MODES}, got {noises!r}"
            + (f" (write [{noises!r}] for one mode)" if isinstance(noises, str) else "")
        )
    noises = tuple(noises)
    for noise in noises:
        perturbation(noise, s)  # a ValueError naming a bad mode before any work
    rng = as_rng(rng)
    problem = student_teacher_problem(s, rng)
    # one seed for every mode: the same batch order, and noise injection at beta = 0 follows
    # "none" exactly
    train_seed = int(rng.integers(2**63))
    out = {}
    for noise in noises:
        r = train_student_teacher(
            problem.network,
            problem.student,
            problem.teacher,
            problem.X_train,
            problem.X_valid,
            step=s.step(noise) if lam is None else s.lr,
            epochs=s.epochs,
            batch_size=s.batch_size,
            noise=perturbation(noise, s),
            record_every=s.record_every,
            rng=train_seed,
            dtype=s.dtype,
            progress=progress,
            lam=lam,
        )
        out[noise] = replace(r, noise=noise)
    return out


def student_teacher_table(metrics: dict, title: str = "") -> str:
    """A text table of a student-teacher results file's metrics (``Results.metrics`` of
    "student-teacher" or "student-teacher-dense", or one variant of the sweep): per noise mode,
    the mean over seeds of the final training and validation MSE, then each seed's
    train / valid; pieces not run are listed below."""
    lines = [title] if title else []
    lines.append(f"{'mode':>10} {'mean train':>10} {'mean valid':>10}   seed: train / valid")
    order = {m: i for i, m in enumerate(NOISE_MODES)}
    for mode in sorted(metrics["runs"], key=lambda m: order.get(m, len(order))):
        by_seed, m = metrics["runs"][mode], metrics["mean"][mode]
        seeds = "  ".join(
            f"{k}: {by_seed[k]['train_mse']:.2e} / {by_seed[k]['valid_mse']:.2e}"
            for k in sorted(by_seed, key=int)
        )
        lines.append(f"{mode:>10} {m['train_mse']:10.2e} {m['valid_mse']:10.2e}   {seeds}")
    missing = metrics.get("missing", [])
    if missing:
        lines.append("not run: " + ", ".join(f"{'+'.join(modes)} seed {s}" for modes, s in missing))
    return "\n".join(lines)


# -- the results files student-teacher and student-teacher-dense ---------------------------------
# Per-particle and dense students, four noise modes, three seeds. Each piece (modes, seed) runs
# alone and is written as soon as it is done; the order puts the central comparison (injection
# against the same path without noise) first for every seed.
_GROUPS = (("injection", "none"), ("plain",), ("diffusion",))


def plan(settings: StudentTeacherSettings, seeds, groups=_GROUPS) -> dict:
    """The settings of a results file: the network's settings, the seeds, and the pieces in the
    order they run (``[modes, seed]``)."""
    return {
        "settings": jsonable(settings),
        "noises": [m for g in groups for m in g],
        "seeds": list(seeds),
        "order": [[list(g), seed] for g in groups for seed in seeds],
    }


def run_piece(settings: dict, noises, seed) -> dict[str, StudentTeacherResult]:
    """The runs of one piece: the modes ``noises`` from ``seed``, settings as a results file
    records them."""
    return run_student_teacher(StudentTeacherSettings(**settings), noises=tuple(noises), rng=seed)


def summarise_runs(runs: dict[str, StudentTeacherResult], s: dict = None) -> dict:
    """What a results file keeps of each run of a piece: final and best MSEs, the curves and the
    wall time, by noise mode."""
    return {
        mode: {
            "train_mse": float(r.train_loss[-1]),
            "valid_mse": float(r.valid_loss[-1]),
            "min_valid_mse": float(np.nanmin(r.valid_loss)),
            "wall_seconds": float(r.wall_time),
            "epochs": r.epochs.tolist(),
            "train_curve": r.train_loss.tolist(),
            "valid_curve": r.valid_loss.tolist(),
        }
        for mode, r in runs.items()
    }


def by_mode(done) -> dict:
    """``{"runs": {mode: {seed: run}}, "mean": {mode: means over seeds}}`` of the pieces done
    (``[([modes, seed], summary), ...]``)."""
    runs: dict = {}
    for (_, seed), summary in done:
        for mode, r in summary.items():
            runs.setdefault(mode, {})[str(seed)] = r
    mean = {
        mode: {
            key: float(np.mean([r[key] for r in by_seed.values()]))
            for key in ("train_mse", "valid_mse", "min_valid_mse")
        }
        | {"seeds": sorted(int(k) for k in by_seed)}
        for mode, by_seed in runs.items()
    }
    return {"runs": runs, "mean": mean}


def piece_of(runs: dict, piece) -> dict:
    """The summary of a done piece ``[modes, seed]`` read back from ``runs`` (``{mode: {seed:
    run}}``, as :func:`by_mode` gives them): what a resumed run keeps."""
    modes, seed = piece
    return {mode: runs[mode][str(seed)] for mode in modes}


def _main_settings(scale: str) -> dict:
    return plan(PAPER_SETTINGS if scale == "paper" else REDUCED_SETTINGS, (0, 1, 2))


def _dense_settings(scale: str) -> dict:
    if scale == "paper":
        return plan(DENSE_PAPER_SETTINGS, (0,), (("injection", "none"),))
    return plan(replace(REDUCED_SETTINGS, architecture="dense"), (0, 1, 2))


def _experiment(experiment_id: str, description: str, scales) -> Experiment:
    return Experiment(
        experiment_id,
        description,
        scales,
        lambda s, piece: run_piece(s["settings"], *piece),
        summarise_runs,
        pieces=lambda s: s["order"],
        combine=lambda s, done: by_mode(done),
        summary_of=lambda s, metrics, piece: piece_of(metrics["runs"], piece),
    )


#: The results files of the two students (:func:`student_teacher_table` prints them).
EXPERIMENTS = (
    _experiment(
        "student-teacher",
        "per-particle student network trained as an MMD flow: noise injection, the same path "
        "without noise, the original code's plain path, diffusion (Arbel et al., NeurIPS "
        "2019, Fig. 1)",
        _main_settings,
    ),
    _experiment(
        "student-teacher-dense",
        "the original code's dense student (one (N H) x N second layer), same noise modes "
        "(Arbel et al., NeurIPS 2019, Fig. 1)",
        _dense_settings,
    ),
)
register(*EXPERIMENTS)
