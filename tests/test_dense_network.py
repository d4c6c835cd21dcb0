"""The original code's dense student (DenseMeanFieldNetwork), the original's loss scaling of each
noise mode, float32 training and the student-teacher settings' input checks."""

from dataclasses import replace

import numpy as np
import pytest
from references import central_difference

from kernelflows.experiments import (
    PAPER_SETTINGS,
    StudentTeacherSettings,
    loss_scale,
    run_student_teacher,
    sphere_inputs,
    student_teacher_problem,
)
from kernelflows.networks import (
    DenseMeanFieldNetwork,
    MeanFieldNetwork,
    mse,
    train_student_teacher,
)


def dense_problem(seed=0, N=4, d=3, H=2, n=7):
    rng = np.random.default_rng(seed)
    net = DenseMeanFieldNetwork(n_particles=N, input_dim=d, hidden=H)
    # std 0.5: u_i stays O(1), where G is far from flat and the gradients are not tiny
    Z = net.init_particles(N, rng, 0.0, 0.5)
    U = net.teacher_network.init_particles(1, rng)
    return net, Z, U, sphere_inputs(n, d, rng)


def loop_features(Z, X, N, H, d, sigma=2.0):
    """phi_i(x) written with explicit loops from the definition: W0 has N H rows, unit k of the
    hidden layer is ReLU(W0[k] . x), and particle i's output sums W2[i, k] over all N H units."""
    W0 = [Z[k // H, (k % H) * d : (k % H + 1) * d] for k in range(N * H)]
    out = np.zeros((N, len(X)))
    for i in range(N):
        for j, x in enumerate(X):
            u = sum(Z[i, H * d + k] * max(float(W0[k] @ x), 0.0) for k in range(N * H))
            out[i, j] = np.exp(-(u**2) / sigma**2)
    return out


def test_dense_forward_matches_the_definition_written_with_loops():
    net, Z, _, X = dense_problem()
    # only the summation order differs
    np.testing.assert_allclose(net.features(Z, X), loop_features(Z, X, 4, 2, 3), rtol=1e-12)
    np.testing.assert_array_equal(net.pack(*net.unpack(Z)), Z)
    assert net.n_params == 2 * 3 + 4 * 2


def test_dense_gradient_matches_finite_differences():
    net, Z, _, X = dense_problem(seed=1)
    C = np.random.default_rng(2).standard_normal((len(Z), len(X)))
    analytic = net.param_grad(Z, X, C)
    numeric = central_difference(lambda V: float(np.sum(C * net.features(V, X))), Z)
    # central differences, eps = 1e-6, on an O(1) smooth function (the ReLU kinks are a
    # measure-zero event for these random weights): error ~ eps^2 + 1e-16 / eps ~ 1e-10
    np.testing.assert_allclose(analytic, numeric, atol=1e-8)
    # the first layer of row i gets gradient from every particle's output, not only its own:
    # a weight matrix C that keeps particle 0's output alone still moves row 1's first layer
    C0 = np.zeros_like(C)
    C0[0] = 1.0
    assert np.any(net.param_grad(Z, X, C0)[1, : 2 * 3] != 0)


def test_block_diagonal_dense_network_is_the_per_particle_network():
    rng = np.random.default_rng(3)
    N, d, H = 5, 4, 3
    per = MeanFieldNetwork(input_dim=d, hidden=H)
    dense = DenseMeanFieldNetwork(n_particles=N, input_dim=d, hidden=H)
    Zp = per.init_particles(N, rng)
    Zd = dense.block_diagonal(Zp)
    X = sphere_inputs(11, d, rng)
    U = per.init_particles(1, rng)
    np.testing.assert_allclose(dense.features(Zd, X), per.features(Zp, X), rtol=1e-13)
    assert mse(dense, Zd, U, X) == pytest.approx(mse(per, Zp, U, X), rel=1e-13)
    # the gradients agree on the weights both models have (first layer, diagonal blocks)...
    C = rng.standard_normal((N, len(X)))
    gd = dense.param_grad(Zd, X, C)
    gp = per.param_grad(Zp, X, C)
    np.testing.assert_allclose(gd[:, : H * d], gp[:, : H * d], rtol=1e-12, atol=1e-15)
    diag = dense.unpack(dense.block_diagonal(np.hstack([np.zeros((N, H * d)), gp[:, H * d :]])))
    off_block = dense.unpack(gd)[1] != 0
    np.testing.assert_allclose(dense.unpack(gd)[1][diag[1] != 0], diag[1][diag[1] != 0], rtol=1e-12)
    # ...and the dense layer's off-diagonal entries get a gradient too (they would train)
    assert off_block.sum() > np.count_nonzero(diag[1])


def test_dense_initialisation_is_the_original_one():
    net = DenseMeanFieldNetwork(n_particles=200, input_dim=50, hidden=3)
    Z = net.init_particles(200, 0, 1e-3, 1.0)
    W0, W2 = net.unpack(Z)
    assert W0.shape == (600, 50) and W2.shape == (200, 600)
    # every entry N(0.001, 1): 150000 draws, the mean within 5 standard errors (0.0026 each)
    assert abs(Z.mean() - 1e-3) < 5 / np.sqrt(Z.size)
    assert Z.std() == pytest.approx(1.0, abs=0.01)
    W2s = net.unpack(net.init_particles(200, 0, 0.0, 1.0, second_layer_std=0.1))[1]
    assert W2s.std() == pytest.approx(0.1, rel=0.01)


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
    r32 = run_student_teacher(s, noises=("injection",), rng=1)["injection"]
    r64 = run_student_teacher(replace(s, dtype="float64"), noises=("injection",), rng=1)[
        "injection"
    ]
    assert r32.student.dtype == np.float32 and r64.student.dtype == np.float64
    # 12 steps of O(1) arithmetic: rounding 6e-8 per operation stays far below 1e-4 of the
    # weights (O(1)); the two runs see the same batches and the same noise
    np.testing.assert_allclose(r32.student, r64.student, atol=1e-4)
    assert not np.array_equal(r32.student.astype(np.float64), r64.student)


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


def test_bad_dense_inputs_raise():
    net, Z, U, X = dense_problem()
    with pytest.raises(ValueError, match="n_particles"):
        DenseMeanFieldNetwork(n_particles=0)
    with pytest.raises(ValueError, match="n must be n_particles"):
        net.init_particles(5)
    with pytest.raises(ValueError, match="second_layer_std"):
        net.init_particles(4, 0, 0.0, 1.0, second_layer_std=-1.0)
    with pytest.raises(ValueError, match="student"):
        mse(net, Z[:-1], U, X)
    with pytest.raises(ValueError, match="teacher"):
        mse(net, Z, Z, X)
    with pytest.raises(ValueError, match="dtype"):
        train_student_teacher(net, Z, U, X, dtype="half", batch_size=7)
    with pytest.raises(ValueError, match="noise mode"):
        run_student_teacher(replace(PAPER_SETTINGS, n_student=4), noises=("langevin",))
    with pytest.raises(ValueError, match="noise mode"):
        loss_scale("langevin", 10)
