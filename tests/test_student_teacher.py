"""The student-teacher experiment: its published settings, the original code's loss scaling
of each noise mode, the problem's draws, the runs of each mode, the inputs on the sphere, and the
settings' checks."""

from dataclasses import replace

import numpy as np
import pytest
from references import central_difference

from kernelflows.experiments import (
    LECTURE_SETTINGS,
    PAPER_SETTINGS,
    REDUCED_SETTINGS,
    StudentTeacherSettings,
    loss_scale,
    run_student_teacher,
    sphere_inputs,
    student_teacher_problem,
)
from kernelflows.networks import train_student_teacher


def tiny_setting(**kw):
    base = dict(n_student=6, input_dim=5, n_train=40, n_valid=30, batch_size=10, epochs=3)
    base.update(kw)
    return replace(PAPER_SETTINGS, **base)


def test_paper_settings_are_the_published_ones():
    s = PAPER_SETTINGS
    assert (s.n_student, s.n_teacher, s.hidden, s.input_dim, s.bias) == (1000, 1, 3, 50, False)
    # the defaults of the authors' original code (PyTorch, 2019)
    assert (s.n_train, s.n_valid, s.batch_size, s.lr, s.epochs) == (1000, 1000, 100, 0.1, 10_000)
    assert (s.beta0, s.halve_every, s.student_mean, s.student_std) == (1.0, 1000, 1e-3, 1.0)
    assert (s.sigma, s.teacher_std, s.dtype, s.architecture) == (
        2.0,
        1.0,
        "float32",
        "per-particle",
    )


def test_short_runs_reduce_the_loss():
    # lr 0.4: a step of 0.2 on grad f in the injection path (the original's factor 1/2)
    s = tiny_setting(n_student=30, input_dim=10, n_train=100, n_valid=100, epochs=30, lr=0.4)
    results = run_student_teacher(s, noises=("none", "injection"), rng=0, progress=False)
    for noise, r in results.items():
        # SGD on a smooth loss at a moderate step, noise beta_0 = 1 in the injected gradient only:
        # the loss must go down clearly (a 10% margin; both fall by a third or more here)
        assert r.train_loss[-1] < 0.9 * r.train_loss[0], noise
        assert r.epochs[0] == 0 and r.epochs[-1] == 30
    # the reduced scale keeps the published step, batch, schedule and architecture
    assert replace(REDUCED_SETTINGS, n_student=1000) == PAPER_SETTINGS
    assert LECTURE_SETTINGS.epochs // LECTURE_SETTINGS.halve_every == 10


def first_step_on_the_original_losses(mode, problem, lr, batch):
    """One SGD step with learning rate lr on the original code's loss of each mode, its gradient
    taken by finite differences of the loss as the original defines it (float64)."""
    net, Z0, U, X = problem.network, problem.student, problem.teacher, problem.X_train[batch]
    N, b = len(Z0), len(X)
    y = net.teacher_network.features(U, X).mean(axis=0)
    out = net.features(Z0, X).mean(axis=0)  # frozen: the original detaches it
    if mode == "injection":  # noise 0: the same path as "none"
        # 0.5 * (N / b) sum_x (out(x) - y(x)) mean_i phi_i(x), out held fixed
        def loss(V):
            return 0.5 * (N / b) * np.sum((out - y) * net.features(V, X).mean(axis=0))
    elif mode == "plain":

        def loss(V):
            return 0.5 * np.mean((y - net.features(V, X).mean(axis=0)) ** 2)
    else:  # diffusion at noise 0: 0.5 * (N / b) sum_x (y - mean_i phi_i)^2

        def loss(V):
            return 0.5 * (N / b) * np.sum((y - net.features(V, X).mean(axis=0)) ** 2)

    return Z0 - lr * central_difference(loss, Z0)


@pytest.mark.parametrize("architecture", ["per-particle", "dense"])
@pytest.mark.parametrize("mode", ["injection", "plain", "diffusion"])
def test_loss_scale_is_the_gradient_of_the_original_losses(mode, architecture):
    s = replace(
        PAPER_SETTINGS,
        architecture=architecture,
        n_student=4,
        input_dim=3,
        hidden=2,
        n_train=10,
        n_valid=5,
        batch_size=10,
        epochs=1,
        student_std=0.5,
        dtype="float64",
    )
    problem = student_teacher_problem(s, 4)
    r = train_student_teacher(
        problem.network,
        problem.student,
        problem.teacher,
        problem.X_train,
        step=s.step(mode),
        epochs=1,
        batch_size=10,
        noise=0.0,
        rng=0,
    )
    expected = first_step_on_the_original_losses(mode, problem, s.lr, np.arange(10))
    # one full batch; central-difference error ~1e-10 on these O(1) losses
    np.testing.assert_allclose(r.student, expected, atol=1e-9)
    assert loss_scale("none", 4) == loss_scale("injection", 4) == 0.5
    # the plain path's step is 2 / N times the injection path's: 50x smaller at N = 100
    assert loss_scale("plain", 100) / loss_scale("none", 100) == pytest.approx(2 / 100)


def test_per_particle_second_layer_std_rescales_the_same_draws():
    s = replace(PAPER_SETTINGS, n_student=50, input_dim=5)
    a = student_teacher_problem(s, 0)
    b = student_teacher_problem(replace(s, second_layer_std=10.0), 0)
    net = a.network
    W0a, _, W1a, _ = net.unpack(a.student)
    W0b, _, W1b, _ = net.unpack(b.student)
    np.testing.assert_array_equal(W0a, W0b)
    # W1 = mean + (W1 - mean) * 10 / 1, entry by entry
    np.testing.assert_allclose(W1b - 1e-3, 10.0 * (W1a - 1e-3), rtol=1e-12)
    np.testing.assert_array_equal(a.X_valid, b.X_valid)


def test_sphere_inputs_are_unit_vectors_with_mean_near_zero():
    X = sphere_inputs(4000, 50, 0)
    np.testing.assert_allclose(np.linalg.norm(X, axis=1), 1.0, rtol=1e-12)
    # each coordinate has variance 1/d; the mean of 4000 has std 1/sqrt(50 * 4000) ~ 0.0022
    assert np.max(np.abs(X.mean(axis=0))) < 0.012
    # E x x^T = I / d for the uniform law on the sphere; sampling error ~ 0.0022 per entry
    np.testing.assert_allclose(X.T @ X / len(X), np.eye(50) / 50, atol=0.012)


@pytest.mark.parametrize(
    "kw, name",
    [
        (dict(architecture="wide"), "architecture"),
        (dict(dtype="float16"), "dtype"),
        (dict(architecture="dense", bias=True), "bias"),
        (dict(second_layer_std=-0.1), "second_layer_std"),
        (dict(second_layer_std=float("nan")), "second_layer_std"),
    ],
)
def test_bad_settings_raise(kw, name):
    with pytest.raises(ValueError, match=name):
        StudentTeacherSettings(**kw)


def test_bad_experiment_arguments_raise():
    with pytest.raises(ValueError, match="scale"):
        student_teacher_problem("huge")
    with pytest.raises(ValueError, match="scale"):
        run_student_teacher("lecture")  # the lecture's settings are LECTURE_SETTINGS, no scale
    with pytest.raises(ValueError, match="noise mode"):
        run_student_teacher(replace(PAPER_SETTINGS, n_student=4), noises=("langevin",))
    with pytest.raises(ValueError, match="noise mode"):
        loss_scale("langevin", 10)
    with pytest.raises(ValueError, match="n"):
        sphere_inputs(0, 3)


def test_student_teacher_figure_is_registered_for_its_slide():
    from kernelflows.figures import figures

    spec = figures()["student-teacher"]
    assert spec.slide == "Noise injection: neural net setting"
    assert spec.module == "kernelflows.figures.networks"


def test_the_sweep_leaves_the_dense_student_out_at_n_1000_only():
    from kernelflows.experiments import experiment

    e = experiment("student-teacher-sweep")
    archs = {
        scale: {v["settings"]["architecture"] for v in e.settings(scale)["variants"].values()}
        for scale in ("paper", "reduced")
    }
    assert archs == {"paper": {"per-particle"}, "reduced": {"per-particle", "dense"}}
    paper = e.settings("paper")
    assert {v["settings"]["n_student"] for v in paper["variants"].values()} == {1000}
    assert paper["order"] == [[n, s] for s in (0, 1, 2) for n in paper["variants"]]
