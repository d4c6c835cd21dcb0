"""The networks: the per-particle and dense students' forward passes and parameter gradients
(the network protocol), the losses (MSE = MMD^2, the first variation), the network kernel, and
their input checks."""

from dataclasses import replace

import numpy as np
import pytest
from references import central_difference

from kernelflows.divergences import mmd2
from kernelflows.experiments import sphere_inputs
from kernelflows.kernels import NetworkKernel
from kernelflows.networks import (
    DenseMeanFieldNetwork,
    MeanFieldNetwork,
    Network,
    first_variation_grad,
    mse,
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


def test_dense_forward_matches_the_definition_written_with_loops():
    net, Z, _, X = dense_problem()
    # only the summation order differs
    np.testing.assert_allclose(net.features(Z, X), loop_features(Z, X, 4, 2, 3), rtol=1e-12)
    np.testing.assert_array_equal(net.pack(*net.unpack(Z)), Z)
    assert net.n_params == 2 * 3 + 4 * 2


def test_pack_unpack_roundtrip_and_parameter_count():
    for bias, p in [(False, 3 * 4 + 3), (True, 3 * 4 + 3 + 3 + 1)]:
        net, Z, _, _ = small_problem(bias)
        assert net.n_params == p
        np.testing.assert_array_equal(net.pack(*net.unpack(Z)), Z)


def _three_networks():
    """The per-particle student without and with biases, and the dense student: (net, Z, X)."""
    cases = []
    for bias in (False, True):
        net, Z, _, X = small_problem(bias)
        cases.append((net, Z, X))
    net, Z, _, X = dense_problem(seed=1)
    return cases + [(net, Z, X)]


@pytest.mark.parametrize("case", range(3), ids=["per-particle", "per-particle, biases", "dense"])
def test_param_grad_and_feature_grad_match_finite_differences(case):
    net, Z, X = _three_networks()[case]
    C = np.random.default_rng(2).standard_normal((len(Z), len(X)))
    # param_grad is the gradient of sum_ij C_ij phi_i(x_j) in every weight of every particle
    numeric = central_difference(lambda V: float(np.sum(C * net.features(V, X))), Z)
    # central differences with eps = 1e-6 on a smooth O(1) function (the ReLU kinks are a
    # measure-zero event for these random weights): error ~ eps^2 + 1e-16 / eps ~ 1e-10
    np.testing.assert_allclose(net.param_grad(Z, X, C), numeric, atol=1e-8)
    # feature_grad, the checked entry point, is the same with one weight per input
    w = C[0]
    numeric_w = central_difference(lambda V: float(np.sum(net.features(V, X) @ w)), Z)
    np.testing.assert_allclose(net.feature_grad(Z, X, w), numeric_w, atol=1e-8)


def test_dense_first_layer_gradient_collects_every_particles_output():
    net, Z, _, X = dense_problem(seed=1)
    # a weight matrix C that keeps particle 0's output alone still moves row 1's first layer
    C0 = np.zeros((len(Z), len(X)))
    C0[0] = 1.0
    assert np.any(net.param_grad(Z, X, C0)[1, : 2 * 3] != 0)
    # the per-particle model's rows do not: particle 0's output depends on row 0 alone
    per, Zp, _, Xp = small_problem(bias=False)
    C0 = np.zeros((len(Zp), len(Xp)))
    C0[0] = 1.0
    assert np.all(per.param_grad(Zp, Xp, C0)[1:] == 0)


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


def test_bad_network_inputs_raise():
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
    with pytest.raises(ValueError, match="weights"):
        net.feature_grad(Z, X, np.ones(len(X) + 1))
    dense, Zd, Ud, Xd = dense_problem()
    with pytest.raises(ValueError, match="n_particles"):
        DenseMeanFieldNetwork(n_particles=0)
    with pytest.raises(ValueError, match="n must be n_particles"):
        dense.init_particles(5)
    with pytest.raises(ValueError, match="second_layer_std"):
        dense.init_particles(4, 0, 0.0, 1.0, second_layer_std=-1.0)
    with pytest.raises(ValueError, match="student"):
        mse(dense, Zd[:-1], Ud, Xd)
    with pytest.raises(ValueError, match="teacher"):
        mse(dense, Zd, Zd, Xd)
    # both students follow the network protocol
    assert isinstance(net, Network) and isinstance(dense, Network)


def test_flushing_subnormal_outputs_changes_no_bit_of_the_training():
    from unittest import mock

    from kernelflows.experiments import PAPER_SETTINGS
    from kernelflows.experiments.student_teacher import run_student_teacher
    from kernelflows.networks import base

    # the dense student at N = 100 in float32: u spreads like sqrt(N H), so most outputs G(u)
    # underflow and some land among float32's subnormal numbers, the case the flush is for
    s = replace(PAPER_SETTINGS, architecture="dense", n_student=100, epochs=2, record_every=1)
    flushed = run_student_teacher(s, noises=("injection", "none"), rng=0)
    X = flushed["none"].student
    phi = s.network.forward(X, np.random.default_rng(0).normal(size=(50, 50)).astype(np.float32))
    assert np.all((phi.phi == 0) | (phi.phi >= np.finfo(np.float32).tiny))
    with (
        mock.patch.object(base, "_flush_subnormal", lambda a: a),
        mock.patch.object(base, "_flush_subnormal_nonnegative", lambda a: a),
        mock.patch.object(base, "EXP_NORMAL_FROM", None),  # G by exp alone: subnormals kept
    ):
        kept = run_student_teacher(s, noises=("injection", "none"), rng=0)
        raw = s.network.forward(
            X, np.random.default_rng(0).normal(size=(50, 50)).astype(np.float32)
        )
    assert np.any((raw.phi > 0) & (raw.phi < np.finfo(np.float32).tiny))  # there were some
    for mode in flushed:
        np.testing.assert_array_equal(flushed[mode].student, kept[mode].student)
        np.testing.assert_array_equal(flushed[mode].train_loss, kept[mode].train_loss)


def test_workspace_gives_the_same_bits_and_a_new_gradient_each_call():
    # training reuses scratch arrays (work=) every step: the forward pass and the gradient
    # must be those of fresh arrays, whatever an earlier call left in them, and the gradient
    # a caller holds must not be overwritten by the next call
    net = MeanFieldNetwork(input_dim=5, hidden=3)
    rng = np.random.default_rng(3)
    work: dict = {}
    grads = []
    for dtype in (np.float32, np.float32, np.float64):
        Z = net.init_particles(7, rng).astype(dtype)
        X = rng.normal(size=(11, 5)).astype(dtype)
        C = rng.normal(size=(7, 11)).astype(dtype)
        fresh = net.forward(Z, X)
        reused = net.forward(Z, X, work=work)
        for a, b in zip(fresh, reused, strict=True):
            np.testing.assert_array_equal(a, b)
        g = net.param_grad(Z, X, C, reused, work=work)
        np.testing.assert_array_equal(g, net.param_grad(Z, X, C))
        grads.append((g, g.copy()))
    for g, copy in grads:
        np.testing.assert_array_equal(g, copy)


@pytest.mark.parametrize("bias", [False, True])
def test_forward_of_particles_and_their_copies_is_that_of_the_stacked_rows(bias):
    # noise injection's fused forward pass (also=): the rows of Z then those of A, as the
    # forward pass of np.concatenate([Z, A]) gives them, bit for bit, with or without a
    # workspace; and each part is its own forward pass (rows are independent)
    net, Z, _, X = small_problem(bias, n_student=6)
    A = Z + np.random.default_rng(8).normal(size=Z.shape)
    for Z_, A_, X_ in (
        (Z, A, X),
        (Z.astype(np.float32), A.astype(np.float32), X.astype(np.float32)),
    ):
        stacked = net.forward(np.concatenate([Z_, A_]), X_)
        for work in (None, {}):
            fused = net.forward(Z_, X_, also=A_, work=work)
            for a, b in zip(stacked, fused, strict=True):
                assert a.dtype == b.dtype
                np.testing.assert_array_equal(a, b)
        for part, rows in ((Z_, slice(0, len(Z_))), (A_, slice(len(Z_), None))):
            alone = net.forward(part, X_)
            np.testing.assert_allclose(alone.phi, stacked.phi[rows], rtol=1e-6)


def test_output_slope_of_broadcast_weights_is_the_entrywise_product():
    # training's weights C are one row broadcast over the particles: the slope formed from
    # the row (c k, once) must be the entrywise ((C k) u) phi of the full matrix, bit for bit
    # (multiplication is correctly rounded, so c_j k is the same number in every row)
    from kernelflows.networks.base import gaussian_output, output_slope

    rng = np.random.default_rng(4)
    for c_type, u_type in ((np.float32, np.float32), (np.float64, np.float32), (np.float64,) * 2):
        u = (3 * rng.normal(size=(5, 8))).astype(u_type)
        phi = gaussian_output(u, 2.0)
        c = rng.normal(size=8).astype(c_type)
        full = np.array(np.broadcast_to(c, u.shape))  # the same weights, stored row by row
        expected = np.multiply(np.multiply(full, -2.0 / 2.0**2), u, dtype=np.result_type(c, -0.5))
        expected = np.multiply(expected, phi, out=expected)
        for out in (None, np.empty(u.shape, np.result_type(c, -0.5))):
            got = output_slope(np.broadcast_to(c, u.shape), u, phi, 2.0, out=out)
            assert got.dtype == expected.dtype
            np.testing.assert_array_equal(got, expected)
            np.testing.assert_array_equal(got, output_slope(full, u, phi, 2.0))


def test_gaussian_output_avoids_subnormal_exp_and_gives_the_flushed_exp_bit_for_bit():
    # float32 G skips exp's subnormal results (x = -u^2 / sigma^2 below T, where exp(x) <
    # tiny): the same numbers as exp(x) with its subnormals set to 0, written here directly
    from kernelflows.networks.base import EXP_NORMAL_FROM as T
    from kernelflows.networks.base import gaussian_output

    tiny = np.finfo(np.float32).tiny
    assert T is not None and abs(float(T) - np.log(tiny)) < 1e-4  # log(tiny) = -87.3365
    # every float32 from T up to -87.3 has a normal exp, every one from -104 to T a smaller
    # one (below -104, exp is 0: e^-104 is under half the least subnormal number)
    hi, lo = np.array([-87.3, -104.0], dtype=np.float32).view(np.int32)
    Tbits = np.array([T], dtype=np.float32).view(np.int32)[0]
    above = np.arange(hi, Tbits + 1, dtype=np.int32).view(np.float32)
    below = np.arange(Tbits + 1, lo + 1, dtype=np.int32).view(np.float32)
    with np.errstate(under="ignore"):
        assert np.all(np.exp(above) >= tiny) and np.all(np.exp(below) < tiny)
    rng = np.random.default_rng(6)
    for sigma in (2.0, 0.7):
        for size in (1, 17, 1000):
            # x = -u^2 / sigma^2 spread over (-120, 0), many within the subnormal band
            u = (sigma * np.sqrt(rng.uniform(0, 120, size))).astype(np.float32)
            u[::3] *= -1
            with np.errstate(under="ignore"):
                expected = np.exp(u * u / np.float32(-(sigma**2)))
            expected[expected < tiny] = 0
            for out in (None, np.empty_like(u)):
                got = gaussian_output(u, sigma, out=out)
                assert got.dtype == np.float32
                np.testing.assert_array_equal(got.view(np.int32), expected.view(np.int32))
    # NaN stays NaN, an infinite u gives 0
    got = gaussian_output(np.array([np.nan, np.inf, 30.0, 0.5], np.float32), 2.0)
    assert (
        np.isnan(got[0]) and got[1] == 0 and got[2] == 0 and got[3] == np.exp(np.float32(-0.0625))
    )
