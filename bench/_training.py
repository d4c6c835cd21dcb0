"""What the training benchmarks time: the student-teacher problem's student trained on its
training inputs for some epochs in one noise mode, at the settings' step and dtype."""

from __future__ import annotations

from kernelflows.experiments.student_teacher import perturbation
from kernelflows.networks import train_student_teacher


def train_epochs(settings, problem, mode: str, epochs: int, **options):
    """``train_student_teacher`` on ``problem`` (no validation set) for ``epochs`` epochs in
    noise mode ``mode``, one snapshot at the end; ``options`` go to it as they are."""
    return train_student_teacher(
        problem.network,
        problem.student,
        problem.teacher,
        problem.X_train,
        None,
        step=settings.step(mode),
        epochs=epochs,
        noise=perturbation(mode, settings),
        dtype=settings.dtype,
        record_every=epochs,
        **options,
    )
