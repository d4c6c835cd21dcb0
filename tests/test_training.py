"""Training a student network as an MMD flow on the flow engine: the minibatch velocity field,
the Euler step on the first variation, the mean-field scaling, noise injection and diffusion, the
schedule per epoch, float32, divergence, and the training arguments' checks."""

from dataclasses import replace

import numpy as np
import pytest

from kernelflows.experiments import PAPER_SETTINGS, run_student_teacher, student_teacher_problem
from kernelflows.flows import Diffusion, FlowDivergedError, NoiseInjection, constant
from kernelflows.networks import (
    MinibatchVelocity,
    first_variation_grad,
    mse,
    train_student_teacher,
)


def tiny_setting(**kw):
    base = dict(n_student=6, input_dim=5, n_train=40, n_valid=30, batch_size=10, epochs=3)
    base.update(kw)
    return replace(PAPER_SETTINGS, **base)


def train(problem, **kw):
    s = problem.settings
    args = dict(step=0.05, epochs=s.epochs, batch_size=s.batch_size, progress=False, rng=5)
    args.update(kw)
    return train_student_teacher(
        problem.network, problem.student, problem.teacher, problem.X_train, problem.X_valid, **args
    )


def test_doubling_n_with_duplicated_particles_leaves_the_trajectory_unchanged():
    problem = student_teacher_problem(tiny_setting(), 1)
    single = train(problem, noise=0.0)
    doubled = train(
        replace(problem, student=np.vstack([problem.student, problem.student])), noise=0.0
    )
    # Mean-field scaling: each particle moves by grad f, which depends on the measure only.
    # Same batches, same arithmetic up to the order of the mean over particles.
    np.testing.assert_allclose(doubled.student[: len(problem.student)], single.student, rtol=1e-12)
    np.testing.assert_allclose(doubled.student[len(problem.student) :], single.student, rtol=1e-12)
    np.testing.assert_allclose(doubled.train_loss, single.train_loss, rtol=1e-10)


def test_one_step_is_the_euler_step_on_the_first_variation():
    problem = student_teacher_problem(tiny_setting(batch_size=40, epochs=1), 2)
    r = train(problem, noise=0.0, step=0.3, epochs=1, batch_size=40)
    grad = first_variation_grad(
        problem.network, problem.student, problem.student, problem.teacher, problem.X_train
    )
    # one full batch, so the minibatch gradient is the full first-variation gradient
    np.testing.assert_allclose(r.student, problem.student - 0.3 * grad, rtol=1e-12, atol=1e-15)


def test_noise_injection_with_zero_noise_equals_plain_training():
    problem = student_teacher_problem(tiny_setting(), 4)
    plain = train(problem, noise=0.0)
    assert plain.noise == "none"
    for name, perturbation in (("injection", NoiseInjection), ("diffusion", Diffusion)):
        zero = train(problem, noise=perturbation(constant(0.0)))
        assert zero.noise == name
        np.testing.assert_array_equal(zero.student, plain.student)
        np.testing.assert_array_equal(zero.valid_loss, plain.valid_loss)


def test_noise_injection_moves_the_unperturbed_particles_by_the_perturbed_gradient():
    problem = student_teacher_problem(tiny_setting(batch_size=40, epochs=1), 6)
    r = train(problem, noise=NoiseInjection(0.5), step=0.2, epochs=1, batch_size=40, rng=8)
    # a bare number means noise injection at that level, as for the particle flows
    same = train(problem, noise=0.5, step=0.2, epochs=1, batch_size=40, rng=8)
    np.testing.assert_array_equal(same.student, r.student)
    assert r.noise == same.noise == "injection"
    # Rebuild the noise the trainer drew: the second child stream of the generator it was given.
    u = np.random.default_rng(8).spawn(2)[1].standard_normal(problem.student.shape)
    at = problem.student + 0.5 * u
    grad = first_variation_grad(
        problem.network, at, problem.student, problem.teacher, problem.X_train
    )
    np.testing.assert_allclose(r.student, problem.student - 0.2 * grad, rtol=1e-12, atol=1e-15)


def test_the_minibatch_field_steps_through_an_epoch_of_batches_by_the_first_variation():
    problem = student_teacher_problem(tiny_setting(n_train=38, batch_size=10), 7)
    net, Z, U, X = problem.network, problem.student, problem.teacher, problem.X_train
    field = MinibatchVelocity(net, U, X, 10, seed=3)
    assert field.steps_per_epoch == 4  # 38 inputs: three batches of 10 and one of 8
    state, seen = field.init(Z), []
    for _ in range(4):
        batch, _ = state.next(len(X), 10)
        out = field(Z, state, record=True)
        # the velocity is -grad f_B, f_B the first variation of MSE / 2 on the batch B
        np.testing.assert_allclose(
            out.velocity, -first_variation_grad(net, Z, Z, U, X[batch]), rtol=1e-12, atol=1e-15
        )
        # its recorded loss is the MSE on every training input
        assert out.loss == pytest.approx(mse(net, Z, U, X), rel=1e-12)
        seen.append(batch)
        state = out.state
    # one epoch visits every input once; the next one reshuffles
    np.testing.assert_array_equal(np.sort(np.concatenate(seen)), np.arange(len(X)))
    assert [len(b) for b in seen] == [10, 10, 10, 8]
    assert not np.array_equal(state.next(len(X), 10)[0], seen[0])
    # the state starts over from the seed: a second run of the same field repeats the first
    np.testing.assert_array_equal(field.init(Z).next(len(X), 10)[0], seen[0])


def test_training_is_run_by_the_flow_engine_and_stops_where_it_diverges():
    problem = student_teacher_problem(tiny_setting(), 0)
    r = train(problem, noise=0.0, record_every=1)
    # the recorded training loss is the MSE of the recorded student on the training inputs
    assert r.train_loss[-1] == pytest.approx(
        mse(problem.network, r.student, problem.teacher, problem.X_train), rel=1e-12
    )
    # a step far too large: the weights overflow; the engine's error names the step size
    with pytest.raises(FlowDivergedError, match=r"diverged at step \d+.*reduce step"):
        train(problem, noise=0.0, step=1e300)


def test_schedule_is_recorded_per_epoch():
    problem = student_teacher_problem(tiny_setting(epochs=4), 0)
    r = train(problem, noise=NoiseInjection(lambda n: 1.0 / (n + 1)), record_every=1)
    np.testing.assert_array_equal(r.beta, [1.0, 1 / 2, 1 / 3, 1 / 4, 1 / 5])
    d = train(problem, noise=Diffusion(lambda n: 1.0 / (n + 1)), record_every=1)
    np.testing.assert_array_equal(d.beta, r.beta)
    assert np.all(train(problem, noise=0.0).beta == 0)


@pytest.mark.parametrize("architecture", ["per-particle", "dense"])
def test_float32_training_stays_float32_and_close_to_float64(architecture):
    s = replace(
        PAPER_SETTINGS,
        architecture=architecture,
        n_student=8,
        input_dim=5,
        n_train=40,
        n_valid=20,
        batch_size=10,
        epochs=3,
        record_every=1,
    )
    r32 = run_student_teacher(s, noises=("injection", "none"), rng=1)
    r64 = run_student_teacher(replace(s, dtype="float64"), noises=("injection", "none"), rng=1)
    for mode in ("injection", "none"):
        assert r32[mode].student.dtype == np.float32 and r64[mode].student.dtype == np.float64
    # 12 steps of O(1) arithmetic: rounding 6e-8 per operation stays far below 1e-4 of the
    # weights (O(1)); the two runs see the same batches (the noise is drawn in each dtype's own
    # stream, so the noiseless path is the one to compare)
    np.testing.assert_allclose(r32["none"].student, r64["none"].student, atol=1e-4)
    assert not np.array_equal(r32["none"].student.astype(np.float64), r64["none"].student)


@pytest.mark.parametrize(
    "kw, name",
    [
        (dict(step=0.0), "step"),
        (dict(step=-1e-2), "step"),
        (dict(batch_size=1000), "batch_size"),
        (dict(epochs=0), "epochs"),
        (dict(noise="langevin"), "noise"),
        (dict(noise="injection"), "noise"),  # the old string modes are gone
        (dict(noise=-0.5), "noise"),
        (dict(record_every=0), "record_every"),
        (dict(dtype="half"), "dtype"),
    ],
)
def test_bad_training_arguments_raise(kw, name):
    problem = student_teacher_problem(tiny_setting(), 0)
    with pytest.raises(ValueError, match=name):
        train(problem, **kw)


def test_the_fused_forward_pass_of_noise_injection_is_the_two_passes_bit_for_bit():
    from unittest import mock

    from kernelflows.networks import MeanFieldNetwork

    # the per-particle student's rows are independent: one forward pass of [Z; Z + beta u]
    # is the passes of Z and of Z + beta u (a row of a matrix product depends on its own row)
    s = replace(PAPER_SETTINGS, n_student=100, epochs=2, record_every=1)
    fused = run_student_teacher(s, noises=("injection",), rng=0)["injection"]
    with mock.patch.object(MeanFieldNetwork, "independent_rows", False):
        apart = run_student_teacher(s, noises=("injection",), rng=0)["injection"]
    np.testing.assert_array_equal(fused.student, apart.student)
    np.testing.assert_array_equal(fused.train_loss, apart.train_loss)
