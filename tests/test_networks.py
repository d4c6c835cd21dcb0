"""The mean-field student-teacher network: gradients, the MSE = MMD^2 identity, the mean-field
scaling of training, noise injection, and input checks."""

from dataclasses import replace

import numpy as np
import pytest
from references import central_difference

from kernelflows.divergences import mmd2
from kernelflows.experiments import (
    LECTURE_SETTINGS,
    PAPER_SETTINGS,
    REDUCED_SETTINGS,
    StudentTeacherSettings,
    run_student_teacher,
    sphere_inputs,
    student_teacher_problem,
)
from kernelflows.flows import Diffusion, FlowDivergedError, NoiseInjection, constant
from kernelflows.kernels import NetworkKernel
from kernelflows.networks import (
    MeanFieldNetwork,
    MinibatchVelocity,
    first_variation_grad,
    mse,
    train_student_teacher,
)


def small_problem(bias, seed=3, n_student=5, n_teacher=2, d=4, hidden=3, n_inputs=9):
    rng = np.random.default_rng(seed)
    net = MeanFieldNetwork(input_dim=d, hidden=hidden, bias=bias)
    return (
        net,
        net.init_particles(n_student, rng),
        net.init_particles(n_teacher, rng),
        sphere_inputs(n_inputs, d, rng),
    )


def test_forward_matches_the_formula_written_per_particle():
    net, Z, _, X = small_problem(bias=True)
    W0, b0, W1, b1 = net.unpack(Z)
    expected = np.array(
        [
            [np.exp(-((b1[i] + W1[i] @ np.maximum(W0[i] @ x + b0[i], 0)) ** 2) / 4.0) for x in X]
            for i in range(len(Z))
        ]
    )
    # sigma = 2 gives G(u) = exp(-u^2 / 4); only rounding differs (different summation order)
    np.testing.assert_allclose(net.features(Z, X), expected, rtol=1e-13)
    np.testing.assert_allclose(net.output(Z, X), expected.mean(axis=0), rtol=1e-13)


def test_pack_unpack_roundtrip_and_parameter_count():
    for bias, p in [(False, 3 * 4 + 3), (True, 3 * 4 + 3 + 3 + 1)]:
        net, Z, _, _ = small_problem(bias)
        assert net.n_params == p
        np.testing.assert_array_equal(net.pack(*net.unpack(Z)), Z)


@pytest.mark.parametrize("bias", [False, True])
def test_feature_gradient_matches_finite_differences(bias):
    net, Z, _, X = small_problem(bias)
    w = np.random.default_rng(0).standard_normal(len(X))
    analytic = net.feature_grad(Z, X, w)
    # sum_j w_j phi_{Z_i}(x_j) depends on particle i only: differentiate the sum over particles
    numeric = central_difference(lambda V: float(np.sum(net.features(V, X) @ w)), Z)
    # central differences with eps = 1e-6 on a smooth O(1) function: error ~ eps^2 + 1e-16/eps
    np.testing.assert_allclose(analytic, numeric, atol=1e-8)


@pytest.mark.parametrize("bias", [False, True])
def test_mean_field_gradient_is_n_over_two_times_the_gradient_of_the_mse(bias):
    net, Z, U, X = small_problem(bias)
    grad_f = first_variation_grad(net, Z, Z, U, X)
    numeric = central_difference(lambda V: mse(net, V, U, X), Z)
    # grad_{Z_i} MSE = (2 / N) grad f(Z_i): F = MSE / 2 and the mean-field factor N.
    # Tolerance: central-difference error on values of size ~1e-2 (see above).
    np.testing.assert_allclose(2.0 / len(Z) * grad_f, numeric, atol=1e-9)


@pytest.mark.parametrize("bias", [False, True])
def test_mse_equals_biased_mmd2_under_the_network_kernel(bias):
    net, Z, U, X = small_problem(bias, n_student=7, n_teacher=3)
    kernel = NetworkKernel(net, X)
    # The identity is exact on a fixed input set; only rounding in different sums differs.
    assert mse(net, Z, U, X) == pytest.approx(mmd2(Z, U, kernel, estimator="biased"), rel=1e-10)
    # The Gram matrix is the average over inputs of the products of the features (direct loop).
    G = np.array(
        [[np.mean(net.features(a[None], X) * net.features(b[None], X)) for b in U] for a in Z]
    )
    np.testing.assert_allclose(kernel(Z, U), G, rtol=1e-12)


def test_first_variation_is_the_kernel_witness_gradient():
    net, Z, U, X = small_problem(bias=True)
    kernel = NetworkKernel(net, X)
    at = net.init_particles(4, 11)
    # f = (1/N) sum_i k(., Z_i) - (1/M) sum_m k(., U_m): the MMD flow's witness, through the
    # kernel's generic weighted gradient sum (a second formulation of the same quantity)
    expected = kernel.weighted_grad(at, Z, np.full(len(Z), 1 / len(Z))) - kernel.weighted_grad(
        at, U, np.full(len(U), 1 / len(U))
    )
    np.testing.assert_allclose(first_variation_grad(net, at, Z, U, X), expected, atol=1e-15)


def test_sphere_inputs_are_unit_vectors_with_mean_near_zero():
    X = sphere_inputs(4000, 50, 0)
    np.testing.assert_allclose(np.linalg.norm(X, axis=1), 1.0, rtol=1e-12)
    # each coordinate has variance 1/d; the mean of 4000 has std 1/sqrt(50 * 4000) ~ 0.0022
    assert np.max(np.abs(X.mean(axis=0))) < 0.012
    # E x x^T = I / d for the uniform law on the sphere; sampling error ~ 0.0022 per entry
    np.testing.assert_allclose(X.T @ X / len(X), np.eye(50) / 50, atol=0.012)


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
    ],
)
def test_bad_training_arguments_raise(kw, name):
    problem = student_teacher_problem(tiny_setting(), 0)
    with pytest.raises(ValueError, match=name):
        train(problem, **kw)


def test_bad_shapes_and_values_raise():
    net, Z, U, X = small_problem(bias=False)
    with pytest.raises(ValueError, match="student"):
        mse(net, Z[:, :-1], U, X)
    with pytest.raises(ValueError, match="X"):
        net.features(Z, np.ones((3, 7)))
    bad = Z.copy()
    bad[0, 0] = np.nan
    with pytest.raises(ValueError, match="student"):
        mse(net, bad, U, X)
    with pytest.raises(ValueError, match="sigma"):
        MeanFieldNetwork(sigma=0.0)
    with pytest.raises(ValueError, match="hidden"):
        MeanFieldNetwork(hidden=0)
    with pytest.raises(ValueError, match="inputs"):
        NetworkKernel(net, np.ones((3, 2)))
    with pytest.raises(ValueError, match="scale"):
        student_teacher_problem("huge")
    with pytest.raises(ValueError, match="n"):
        sphere_inputs(0, 3)
    assert isinstance(REDUCED_SETTINGS, StudentTeacherSettings)


def test_student_teacher_figure_is_registered_for_its_slide():
    from kernelflows.figures import figures

    spec = figures()["student-teacher"]
    assert spec.slide == "Noise injection: neural net setting"
    assert spec.module == "kernelflows.figures.networks"
