"""Tests for DrMMD (Chen, Mustafi, Glaser, Korba, Gretton, Sriperumbudur, JMLR 2025) and flow."""

import numpy as np
import pytest
from references import central_difference, drmmd_by_hand, gauss

import kernelflows as kf
from kernelflows.divergences.drmmd import (
    DrMMDSolveError,
    GramFactorisation,
    TargetFactorisation,
    deregularized_residual,
    drmmd,
    drmmd_velocity,
)
from kernelflows.experiments import sphere_inputs
from kernelflows.flows import DrMMDVelocity, drmmd_flow, mmd_flow
from kernelflows.kernels import GaussianKernel, NetworkKernel
from kernelflows.networks import MeanFieldNetwork

S = 0.7


@pytest.fixture
def clouds():
    rng = np.random.default_rng(3)
    return rng.normal(size=(25, 2)), rng.normal(size=(31, 2)) + [0.6, -0.2]


@pytest.mark.parametrize("lam", [1e-3, 0.1, 1.0, 10.0])
def test_value_and_velocity_match_the_dense_formula(clouds, lam):
    # two formulations: the eigendecomposition and blocked kernel sums against numpy's dense
    # solve of the written-out formula; both are backward stable, the value's bracket loses
    # (1 + lam) / lam digits to cancellation (1e3 at lam = 1e-3): 1e-11 relative
    X, Y = clouds
    res = drmmd(X, Y, GaussianKernel(S), lam=lam)
    value, velocity = drmmd_by_hand(X, Y, S, lam)
    assert res.value == pytest.approx(value, rel=1e-11)
    np.testing.assert_allclose(-res.witness.grad(X), velocity, rtol=1e-10, atol=1e-12)
    assert res.mmd2 == pytest.approx(
        gauss(X, X, S).mean() - 2 * gauss(X, Y, S).mean() + gauss(Y, Y, S).mean(), rel=1e-12
    )


def test_value_is_the_mmd_of_the_deregularized_kernel(clouds):
    # the paper's reading: DrMMD = plug-in MMD^2 under k_lam(x, x') = (1 + lam)/lam [k(x, x')
    # - k(x, Y) (K + m lam I)^-1 k(Y, x')], a kernel written out here on the pooled points
    X, Y = clouds
    lam, m = 0.05, len(Y)
    Z = np.concatenate([X, Y])
    kz = gauss(Z, Z, S) - gauss(Z, Y, S) @ np.linalg.solve(
        gauss(Y, Y, S) + m * lam * np.eye(m), gauss(Y, Z, S)
    )
    w = np.concatenate([np.full(len(X), 1 / len(X)), np.full(m, -1 / m)])
    expected = (1 + lam) / lam * w @ kz @ w
    assert drmmd(X, Y, GaussianKernel(S), lam=lam).value == pytest.approx(expected, rel=1e-10)


def test_bracket_is_a_sum_of_two_nonnegative_terms(clouds):
    # MMD^2 - v^T a = ||g - sum a_i k(y_i, .)||^2 + m lam ||a||^2, with the first term the
    # witness's own RKHS norm: lam/(1 + lam) f = g - sum a_i k(y_i, .)
    X, Y = clouds
    lam = 0.3
    res = drmmd(X, Y, GaussianKernel(S), lam=lam)
    bracket = res.value * lam / (1 + lam)
    norm2 = (lam / (1 + lam) * res.witness.norm()) ** 2
    expected = norm2 + len(Y) * lam * res.coefficients @ res.coefficients
    assert bracket == pytest.approx(expected, rel=1e-9)


def test_large_lambda_limit_is_mmd2_with_the_stated_first_correction(clouds):
    # lam (DrMMD - MMD^2) = MMD^2 - (1 + lam) v^T (K + m lam I)^-1 v -> MMD^2 - ||v||^2 / m;
    # the next term is of order (||v||^2 / m + v^T K v / m^2) / lam
    X, Y = clouds
    m = len(Y)
    v = gauss(Y, X, S).mean(axis=1) - gauss(Y, Y, S).mean(axis=1)
    bound = (v @ v / m + v @ gauss(Y, Y, S) @ v / m**2) * 10
    for lam in (1e3, 1e5):
        res = drmmd(X, Y, GaussianKernel(S), lam=lam)
        limit = res.mmd2 - v @ v / m
        assert abs(lam * (res.value - res.mmd2) - limit) <= bound / lam + 1e-9 * lam * res.mmd2


def test_small_lambda_gives_chi2_on_the_targets_points():
    # P = sum_i p_i delta_{y_i} on the target's (well separated) points: DrMMD = (1 + lam) m
    # d^T K (K + m lam I)^-1 d exactly, d = p - 1/m, -> m ||d||^2 = chi^2(P || Q) as lam -> 0;
    # the limit's error is O(m lam ||K^-1||), the bracket's cancellation eps m / (m lam)
    Y = np.array([[0.0, 0.0], [3.0, 0.0], [0.0, 3.0], [3.0, 3.0], [6.0, 1.0]])
    counts = np.array([4, 1, 2, 0, 3])
    X = np.repeat(Y, counts, axis=0)
    p, m = counts / counts.sum(), len(Y)
    chi2 = np.sum((p - 1 / m) ** 2 / (1 / m))
    K = gauss(Y, Y, S)
    for lam in (1e-2, 1e-4):
        d = p - 1 / m
        exact = (1 + lam) * m * d @ K @ np.linalg.solve(K + m * lam * np.eye(m), d)
        assert drmmd(X, Y, GaussianKernel(S), lam=lam).value == pytest.approx(exact, rel=1e-9)
    assert drmmd(X, Y, GaussianKernel(S), lam=1e-7).value == pytest.approx(chi2, rel=1e-5)


def test_witness_is_the_first_variation_of_half_drmmd(clouds):
    # moving particle x_i changes F = DrMMD / 2 at rate (1/n) grad f(x_i); central differences
    # (step 1e-5: truncation ~1e-10, rounding ~1e-11 / 1e-5 relative to F): 1e-6
    X, Y = clouds
    lam, kernel = 0.2, GaussianKernel(S)
    res = drmmd(X, Y, kernel, lam=lam)
    fd = central_difference(lambda Z: 0.5 * drmmd(Z, Y, kernel, lam=lam).value, X, eps=1e-5)
    np.testing.assert_allclose(len(X) * fd, res.witness.grad(X), rtol=1e-6, atol=1e-7)


def test_factorisation_residual_is_certified_and_refused():
    rng = np.random.default_rng(0)
    Y = rng.normal(size=(40, 2))
    fact = TargetFactorisation(Y, GaussianKernel(S))
    v = rng.normal(size=40)
    a, residual = fact.solve(v, 0.01)
    K = gauss(Y, Y, S) + 40 * 0.01 * np.eye(40)
    recomputed = np.abs(K @ a - v).max() / (
        np.abs(K).sum(axis=1).max() * np.abs(a).max() + np.abs(v).max()
    )
    assert residual == pytest.approx(recomputed, rel=1e-3, abs=1e-17)
    assert residual < 1e-13  # backward stable: about m eps
    # a target with repeated points has a singular Gram matrix; at lam = 1e-30 the shifted
    # matrix is singular in floating point: refused, naming lam
    Yd = np.concatenate([Y[:5], Y[:5]])
    with pytest.raises(DrMMDSolveError, match="lam"):
        drmmd(Y[:7], Yd, GaussianKernel(S), lam=1e-30)
    with pytest.raises(DrMMDSolveError, match="residual"):
        GramFactorisation(gauss(Y, Y, S), tol=1e-30).solve(v, 0.01)


def test_a_reused_inverse_solves_the_same_system_and_is_certified_alike():
    # at a fixed lam a flow forms (K + m lam I)^-1 once: each solve is then one product with it,
    # certified by the same measured residual; a new lam forms a new inverse
    rng = np.random.default_rng(1)
    Y = rng.normal(size=(40, 2))
    fact = TargetFactorisation(Y, GaussianKernel(S))
    for lam in (0.01, 0.01, 1.0, 0.01):
        v = rng.normal(size=40)
        a, _ = fact.solve(v, lam)
        b, residual = fact.solve(v, lam, reuse=True)
        K = gauss(Y, Y, S) + 40 * lam * np.eye(40)
        # both solve the same system: their difference is the rounding of a condition number
        # cond(K + m lam I) <= (||K|| + m lam) / (m lam) times eps, relative
        cond = (np.linalg.norm(K, 2)) / (40 * lam)
        assert np.abs(a - b).max() <= 100 * cond * 2.2e-16 * np.abs(a).max()
        recomputed = np.abs(K @ b - v).max() / (
            np.abs(K).sum(axis=1).max() * np.abs(b).max() + np.abs(v).max()
        )
        # (at the eps level the two computations of the residual, each from its own rounded
        # Gram matrix, differ by a fraction of eps)
        assert residual == pytest.approx(recomputed, rel=1e-3, abs=2.2e-16)
        assert residual < 1e-13
        assert fact._inverse[0] == lam
    with pytest.raises(DrMMDSolveError, match="residual"):
        GramFactorisation(gauss(Y, Y, S), tol=1e-30).solve(v, 0.01, reuse=True)


def test_bad_input_is_refused_before_any_work(clouds):
    X, Y = clouds
    k = GaussianKernel(S)
    with pytest.raises(ValueError, match="lam"):
        drmmd(X, Y, k, lam=0.0)
    with pytest.raises(ValueError, match="lam"):
        drmmd(X, Y, k, lam=float("nan"))
    with pytest.raises(ValueError, match="P"):
        drmmd(np.full((3, 2), np.nan), Y, k, lam=1.0)
    with pytest.raises(ValueError, match="dimension"):
        drmmd(X[:, :1], Y, k, lam=1.0)
    with pytest.raises(ValueError, match="tol"):
        drmmd(X, Y, k, lam=1.0, tol=0.0)
    with pytest.raises(ValueError, match="min_step"):
        drmmd_flow(X, Y, k, lam=1.0, step=0.1, n_steps=2, min_step=1e-3)
    with pytest.raises(ValueError, match="adaptive"):
        drmmd_flow(X, Y, k, lam=1.0, step=0.1, n_steps=2, adaptive="yes")
    with pytest.raises(ValueError, match="step"):
        drmmd_flow(X, Y, k, lam=1.0, step=-0.1, n_steps=2)
    with pytest.raises(ValueError, match="features"):
        deregularized_residual(np.zeros(3), np.zeros((2, 4)), 0.1)
    with pytest.raises(TypeError):
        drmmd(X, Y, k, 1.0)  # lam is keyword-only


def test_fixed_lambda_flow_steps_are_the_hand_computed_steps(clouds):
    X, Y = clouds
    lam, step = 0.05, 0.02
    res = drmmd_flow(X, Y, GaussianKernel(S), lam=lam, step=step, n_steps=3, record_every=1)
    Z = X.copy()
    for k in range(3):
        value, velocity = drmmd_by_hand(Z, Y, S, lam)
        np.testing.assert_allclose(res.trajectory[k], Z, rtol=0, atol=1e-12)
        assert res.loss[k] == pytest.approx(0.5 * value, rel=1e-10)
        Z = Z + step * velocity
    np.testing.assert_allclose(res.particles, Z, rtol=0, atol=1e-12)
    assert np.all(res.step_info["residual"] < 1e-12)


def test_adaptive_flow_follows_the_schedule_by_hand(clouds):
    # lam_{k+1} = lam_0 sqrt(DrMMD_{lam_k}(X_{k+1}) / DrMMD_{lam_0}(X_0)),
    # step_k = max(step lam_k / lam_0, min_step)
    X, Y = clouds
    lam0, step, min_step = 0.05, 0.05, 0.049
    res = drmmd_flow(
        X,
        Y,
        GaussianKernel(S),
        lam=lam0,
        step=step,
        n_steps=4,
        adaptive=True,
        min_step=min_step,
        record_every=1,
    )
    Z, lam = X.copy(), lam0
    d0 = drmmd_by_hand(X, Y, S, lam0)[0]
    for k in range(4):
        lam = lam0 * np.sqrt(drmmd_by_hand(Z, Y, S, lam)[0] / d0)
        step_k = max(step * lam / lam0, min_step)
        assert res.step_info["lam"][k] == pytest.approx(lam, rel=1e-10)
        assert res.step_info["step_factor"][k] == pytest.approx(step_k / step, rel=1e-10)
        Z = Z + step_k * drmmd_by_hand(Z, Y, S, lam)[1]
    np.testing.assert_allclose(res.particles, Z, rtol=0, atol=1e-12)
    assert res.step_info["step_factor"][-1] == pytest.approx(min_step / step)  # the floor acts


def test_noise_injection_evaluates_the_particles_field_elsewhere(clouds):
    X, Y = clouds
    field = DrMMDVelocity(Y, GaussianKernel(S), 0.1)
    at = X + 0.3
    out = field(X, field.init(X), at=at)
    expected = -drmmd(X, Y, GaussianKernel(S), lam=0.1).witness.grad(at)
    np.testing.assert_allclose(out.velocity, expected, rtol=1e-11, atol=1e-13)


def test_velocity_follows_the_one_contract(clouds):
    # drmmd_velocity against the dense formula: at the particles, at other points (with the
    # particles' velocity and the loss when recorded), with a factorisation passed in
    X, Y = clouds
    k, lam = GaussianKernel(S), 0.1
    value, v_x = drmmd_by_hand(X, Y, S, lam)
    at = X[:7] + 0.25
    v_at = -drmmd(X, Y, k, lam=lam).witness.grad(at)
    out = drmmd_velocity(X, Y, k, lam=lam)
    np.testing.assert_allclose(out.velocity, v_x, rtol=1e-10, atol=1e-12)
    assert out.loss is None and out.info["residual"] <= 1e-10
    rec = drmmd_velocity(X, Y, k, lam=lam, at=at, record=True, target=TargetFactorisation(Y, k))
    np.testing.assert_allclose(rec.velocity, v_at, rtol=1e-10, atol=1e-12)
    np.testing.assert_allclose(rec.particle_velocity, v_x, rtol=1e-10, atol=1e-12)
    assert rec.loss == pytest.approx(value / 2, rel=1e-10)
    with pytest.raises(ValueError, match="target"):
        drmmd_velocity(X, Y, k, lam=lam, target=TargetFactorisation(Y + 1.0, k))
    with pytest.raises(ValueError, match="at"):
        drmmd_velocity(X, Y, k, lam=lam, at=np.zeros((3, 5)))


def test_large_lambda_flow_is_the_mmd_flow(clouds):
    # f_lam -> mu_nu - mu_nu* with corrections O(1/lam): at lam = 1e8 the trajectories agree
    # to about 1e-8 relative per step
    X, Y = clouds
    a = drmmd_flow(X, Y, GaussianKernel(S), lam=1e8, step=0.1, n_steps=20)
    b = mmd_flow(X, Y, GaussianKernel(S), step=0.1, n_steps=20)
    np.testing.assert_allclose(a.particles, b.particles, rtol=0, atol=1e-6)
    np.testing.assert_allclose(a.loss, b.loss, rtol=1e-6)


def test_network_residual_is_drmmd_under_the_network_kernel():
    # the training's feature formulation against drmmd's witness under NetworkKernel: the
    # same first variation, two formulations
    net = MeanFieldNetwork(5, 3)
    rng = np.random.default_rng(1)
    Z, U, X = net.init_particles(20, rng), net.init_particles(3, rng), sphere_inputs(30, 5, rng)
    lam = 0.1
    expected = drmmd(Z, U, NetworkKernel(net, X), lam=lam).witness.grad(Z)
    phiZ, phiU = net.features(Z, X), net.features(U, X)
    c = deregularized_residual(phiZ.mean(0) - phiU.mean(0), phiU, lam)
    got = net.param_grad(Z, X, np.broadcast_to(c / len(X), phiZ.shape))
    np.testing.assert_allclose(got, expected, rtol=1e-10, atol=1e-13)


def test_training_field_with_lam_is_the_drmmd_flow_under_the_network_kernel():
    # minibatch training with lam, one batch holding every input (the network kernel does not
    # depend on their order): its velocity is -grad of drmmd's witness under NetworkKernel
    from kernelflows.networks import MinibatchVelocity

    net = MeanFieldNetwork(5, 3)
    rng = np.random.default_rng(2)
    Z, U, X = net.init_particles(20, rng), net.init_particles(3, rng), sphere_inputs(30, 5, rng)
    field = MinibatchVelocity(net, U, X, 30, seed=0, lam=0.1)
    out = field(Z, field.init(Z), record=True)
    expected = -drmmd(Z, U, NetworkKernel(net, X), lam=0.1).witness.grad(Z)
    np.testing.assert_allclose(out.velocity, expected, rtol=1e-10, atol=1e-13)
    # the recorded loss stays the MSE, the MMD flow's field gives the same loss
    plain = MinibatchVelocity(net, U, X, 30, seed=0)
    assert out.loss == plain(Z, plain.init(Z), record=True).loss


def test_exports():
    assert kf.drmmd is drmmd and kf.drmmd_flow is drmmd_flow
    assert kf.DrMMDSolveError is DrMMDSolveError


def test_drmmd_flow_takes_the_flows_options_by_keyword_only():
    from test_flows import test_every_flow_takes_its_options_by_keyword_only as keyword_only

    keyword_only(drmmd_flow)


def test_three_rings_comparison_records_divergence_and_picks_a_stable_step():
    from kernelflows.experiments.drmmd import drmmd_three_rings, drmmd_three_rings_settings

    s = drmmd_three_rings_settings("reduced") | {
        "n_steps": 20,
        "record_every": 10,
        "mmd_step_grid": [1e-3, 1e4],  # the second throws the particles away at once
    }
    out = drmmd_three_rings(s)
    thrown = out["mmd_step_grid"]["10000"]
    # thrown far from the rings, the particles have a small MMD^2 too (the snapshots even
    # descend): lost, and not chosen
    assert thrown["lost"] == 300
    assert out["runs"]["mmd, best stable step"]["lost"] == 0
    assert out["best_mmd_step"] == 1e-3
    for name, r in out["runs"].items():
        assert sum(r["per_ring"]) == 300, name
        assert r["mmd2_curve"][0] == pytest.approx(r["mmd2_start"])
        assert r["stragglers"] <= 300


def test_student_teacher_pieces_run_every_flow_and_say_what_is_missing():
    from dataclasses import replace

    from kernelflows.experiments import REDUCED_SETTINGS, run_student_teacher
    from kernelflows.experiments.drmmd import (
        MMD_BASELINES,
        STUDENT_TEACHER,
        drmmd_student_teacher_settings,
        drmmd_student_teacher_table,
    )
    from kernelflows.experiments.registry import jsonable

    tiny = replace(
        REDUCED_SETTINGS,
        n_student=4,
        n_train=20,
        n_valid=20,
        batch_size=10,
        epochs=2,
        record_every=1,
        input_dim=5,
    )
    s = drmmd_student_teacher_settings("reduced")
    s["students"] = {"per-particle": jsonable(tiny)}
    s["seeds"] = [0, 1]
    s["order"] = [["per-particle", 0], ["per-particle", 1]]
    s["flows"] = {
        "drmmd, lr 0.1": {"lam": 0.1, "lr": 0.1},
        "mmd, lr 0.1": {"lam": None, "lr": 0.1},
        "mmd, lr 1e+30": {"lam": None, "lr": 1e30},  # the weights overflow at once
    }
    s["mmd_baseline"] = MMD_BASELINES["paper"]  # the paper scale reads the MMD flow's files
    pieces = list(STUDENT_TEACHER.iter_metrics(s))
    assert len(pieces) == 2 and len(pieces[0]["missing"]) == 1
    last = pieces[-1]
    assert last["missing"] == []
    runs = last["runs"]
    dr, mmd = runs["drmmd, lr 0.1"]["per-particle"], runs["mmd, lr 0.1"]["per-particle"]
    alone = run_student_teacher(tiny, noises=("none",), rng=0)["none"]
    # the MMD flow's run is the student-teacher experiment's own run of the same seed
    assert mmd["none"]["0"]["train_curve"] == alone.train_loss.tolist()
    # same problem and batches, different flows: the same start, different ends
    assert dr["none"]["0"]["train_curve"][0] == alone.train_loss[0]
    assert dr["none"]["0"]["train_mse"] != alone.train_loss[-1]
    mean = last["mean"]["drmmd, lr 0.1"]["per-particle"]["injection"]
    assert mean["train_mse"] == pytest.approx(
        np.mean([dr["injection"][k]["train_mse"] for k in ("0", "1")])
    )
    # a diverged run is recorded as such, and never chosen as a flow's best lr
    assert "diverged" in runs["mmd, lr 1e+30"]["per-particle"]["none"]["0"]
    for mode in ("injection", "none"):
        best = last["best"]["mmd"]["per-particle"][mode]
        assert best["flow"] == "mmd, lr 0.1" and best["lr"] == 0.1
        assert best["train_mse"] == last["mean"]["mmd, lr 0.1"]["per-particle"][mode]["train_mse"]
        assert last["best"]["drmmd"]["per-particle"][mode]["flow"] == "drmmd, lr 0.1"
    # while a seed is missing, no best is claimed
    assert pieces[0]["best"] == {}
    # the committed sweep ran other settings: its MMD runs are not taken as the baseline
    baseline = last["mmd_baseline"]["mmd, lr 0.1"]["per-particle"]
    assert "settings differ" in baseline["unavailable"]
    # the reduced scale pairs each DrMMD lr with the MMD flow's at 2 (1 + lam) / lam times it
    reduced = drmmd_student_teacher_settings("reduced")
    assert reduced["mmd_baseline"] == {}
    for d, m in reduced["lr_pairs"]:
        assert m == pytest.approx(22 * d)
        assert reduced["flows"][f"drmmd, lr {d:g}"] == {"lam": 0.1, "lr": d}
        assert reduced["flows"][f"mmd, lr {m:g}"] == {"lam": None, "lr": m}
    table = drmmd_student_teacher_table(last)
    assert table.count("per-particle") == 6 and table.count("diverged") == 4


@pytest.mark.parametrize("adaptive", [False, True])
def test_one_matrix_and_two_passes_give_the_same_field(clouds, adaptive):
    # two ways to the same sums (k(X, Y) held as one matrix, or the kernel's tiled
    # sums_and_grad for v and again for the target's part of the velocity): equal to rounding,
    # velocity, loss and state, with and without an evaluation point
    X, Y = clouds
    one = DrMMDVelocity(Y, GaussianKernel(S), 0.1, adaptive=adaptive)
    two = DrMMDVelocity(Y, GaussianKernel(S), 0.1, adaptive=adaptive, max_elements=0)
    s1, s2 = one.init(X), two.init(X)
    for at in (None, X + 0.2):
        a, b = one(X, s1, at=at, record=True), two(X, s2, at=at, record=True)
        np.testing.assert_allclose(a.velocity, b.velocity, rtol=1e-12, atol=1e-14)
        assert a.loss == pytest.approx(b.loss, rel=1e-12)
        if adaptive:
            assert a.info["lam"] == pytest.approx(b.info["lam"], rel=1e-12)


def test_three_rings_runs_are_pieces_that_combine_as_the_whole():
    from kernelflows.experiments.drmmd import (
        THREE_RINGS,
        three_rings_combine,
        three_rings_piece,
        three_rings_pieces,
        three_rings_run_of,
    )

    s = THREE_RINGS.settings("reduced", n_steps=4, record_every=2, mmd_step_grid=[1e-3, 1e-2])
    pieces = three_rings_pieces(s)
    assert pieces == [
        "drmmd",
        "drmmd adaptive",
        "mmd, authors' step",
        "mmd, step 0.001",
        "mmd, step 0.01",
    ]
    done = [(p, three_rings_piece(s, p)) for p in pieces]
    whole = three_rings_combine(s, done)
    # the runs are independent: any order of the pieces gives the same metrics
    assert three_rings_combine(s, done[::-1]) == whole
    for piece, r in done:  # what a resumed run reads back is what was run
        assert three_rings_run_of(s, whole, piece) == r
    # before any grid run, no best step is claimed
    partial = three_rings_combine(s, done[:3])
    assert "best_mmd_step" not in partial and "mmd, best stable step" not in partial["runs"]
    with pytest.raises(ValueError, match="no run"):
        three_rings_piece(s, "mmd, step 7")
