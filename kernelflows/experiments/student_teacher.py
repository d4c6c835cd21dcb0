"""The student-teacher experiment (Arbel, Korba, Salim, Gretton, NeurIPS 2019, Figure 1).

Settings of the published run and of the reduced scale, the problem (teacher, initial student,
inputs) drawn from one seed, and the runs for each noise mode on one problem. The network and its
training live in :mod:`kernelflows.networks`.
"""

from __future__ import annotations

from dataclasses import dataclass, replace

import numpy as np

from .._validation import as_rng
from ..flows import Diffusion, NoiseInjection, halving
from ..networks import MeanFieldNetwork, StudentTeacherResult, sphere_inputs, train_student_teacher

__all__ = [
    "NOISE_MODES",
    "PAPER_SETTINGS",
    "REDUCED_SETTINGS",
    "StudentTeacherProblem",
    "StudentTeacherSettings",
    "perturbation",
    "run_student_teacher",
    "student_teacher_problem",
]

#: The noise modes of the experiment: injection (gradient at Z + beta u, move Z), diffusion
#: (add beta u to Z after the gradient step), none.
NOISE_MODES = ("injection", "diffusion", "none")


@dataclass(frozen=True)
class StudentTeacherSettings:
    """Settings of the student-teacher experiment (Arbel et al., NeurIPS 2019, Figure 1).

    ``step`` multiplies grad f with F = MSE / 2 (see the module docstring).
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
    step: float = 1e-2
    epochs: int = 10_000
    beta0: float = 1.0
    halve_every: int = 1000
    teacher_std: float = 1.0
    student_mean: float = 1e-3
    student_std: float = 1.0
    record_every: int = 10

    @property
    def network(self) -> MeanFieldNetwork:
        return MeanFieldNetwork(self.input_dim, self.hidden, self.bias, self.sigma)

    @property
    def schedule(self) -> halving:
        """beta_n = beta0 / 2^floor(n / halve_every), n the epoch."""
        return halving(self.beta0, self.halve_every)

    def describe(self) -> str:
        return (
            f"N = {self.n_student} students, M = {self.n_teacher} teacher, H = {self.hidden}, "
            f"d = {self.input_dim}, {self.n_train} training inputs, batch {self.batch_size}, "
            f"step {self.step:g} on MSE/2, {self.epochs} epochs, "
            f"beta0 = {self.beta0:g} halved every {self.halve_every} epochs"
        )


#: The published scale (MMD flow paper, Figure 1); 10-20 minutes per noise mode on one core.
PAPER_SETTINGS = StudentTeacherSettings()

#: The reduced scale of the figure and the lecture: 10x fewer particles and epochs, the halving
#: period shortened in proportion, so the run sees the same ten halvings of beta.
REDUCED_SETTINGS = replace(
    PAPER_SETTINGS, n_student=100, epochs=1000, halve_every=100, record_every=10
)


@dataclass(frozen=True)
class StudentTeacherProblem:
    """The fixed ingredients of one experiment: network, teacher, initial student, inputs."""

    settings: StudentTeacherSettings
    network: MeanFieldNetwork
    teacher: np.ndarray
    student: np.ndarray
    X_train: np.ndarray
    X_valid: np.ndarray


def _settings(scale) -> StudentTeacherSettings:
    if isinstance(scale, StudentTeacherSettings):
        return scale
    if scale == "paper":
        return PAPER_SETTINGS
    if scale == "reduced":
        return REDUCED_SETTINGS
    raise ValueError(f"scale must be 'paper', 'reduced' or a StudentTeacherSettings, got {scale!r}")


def student_teacher_problem(scale="reduced", rng=None) -> StudentTeacherProblem:
    """Draw the teacher (weights N(0, teacher_std^2)), the initial student (weights
    N(student_mean, student_std^2)) and training and validation inputs uniform on the sphere."""
    s = _settings(scale)
    rng = as_rng(rng)
    net = s.network
    return StudentTeacherProblem(
        settings=s,
        network=net,
        teacher=net.init_particles(s.n_teacher, rng, 0.0, s.teacher_std),
        student=net.init_particles(s.n_student, rng, s.student_mean, s.student_std),
        X_train=sphere_inputs(s.n_train, s.input_dim, rng),
        X_valid=sphere_inputs(s.n_valid, s.input_dim, rng),
    )


def perturbation(name: str, settings: StudentTeacherSettings):
    """The perturbation of a noise mode: "injection", "diffusion" (the schedule of the settings)
    or "none"."""
    if name == "injection":
        return NoiseInjection(settings.schedule)
    if name == "diffusion":
        return Diffusion(settings.schedule)
    if name == "none":
        return 0.0
    raise ValueError(f"noise mode must be one of {NOISE_MODES}, got {name!r}")


def run_student_teacher(
    scale="reduced", *, noises=NOISE_MODES, rng=None, progress: bool = False
) -> dict[str, StudentTeacherResult]:
    """Run the experiment for each noise mode from one problem: ``{noise: result}``.

    ``scale`` is ``"paper"`` (:data:`PAPER_SETTINGS`: N = 1000, 1e4 epochs), ``"reduced"``
    (:data:`REDUCED_SETTINGS`) or a :class:`StudentTeacherSettings`. Every mode starts from the
    same teacher, student and inputs and uses the same batch order.
    """
    rng = as_rng(rng)
    problem = student_teacher_problem(scale, rng)
    s = problem.settings
    modes = {noise: perturbation(noise, s) for noise in noises}
    # one seed for every mode: the same batch order, and noise injection at beta = 0 would
    # follow plain training exactly
    train_seed = int(rng.integers(2**63))
    return {
        noise: train_student_teacher(
            problem.network,
            problem.student,
            problem.teacher,
            problem.X_train,
            problem.X_valid,
            step=s.step,
            epochs=s.epochs,
            batch_size=s.batch_size,
            noise=modes[noise],
            record_every=s.record_every,
            rng=train_seed,
            progress=progress,
        )
        for noise in noises
    }
