"""SrMMD (Tian, Sriperumbudur, Gretton, Chen, arXiv 2605.11884, 2026): the closed form against an
independent feature-space computation, its lambda limits, the witness's derivatives, the flow,
bad input, and the authors' code (numbers in ``data/srmmd_authors.json``, computed outside the
project by their JAX code; the file's ``provenance`` says how)."""

import json
import math
from pathlib import Path

import numpy as np
import pytest

import kernelflows as kf
from kernelflows.divergences import mmd2
from kernelflows.divergences.srmmd import (
    SrMMDSolveError,
    derivative_gram,
    srmmd,
)
from kernelflows.flows import SrMMDVelocity, srmmd_flow
from kernelflows.kernels import (
    EnergyKernel,
    GaussianKernel,
    IMQKernel,
    LaplaceKernel,
    PolynomialKernel,
)

REF = json.loads((Path(__file__).parent / "data" / "srmmd_authors.json").read_text())
KERNELS = [GaussianKernel(0.8), IMQKernel(c=1.0, beta=-0.5)]


@pytest.fixture
def clouds():
    rng = np.random.default_rng(3)
    return rng.normal(size=(9, 2)), rng.normal(size=(7, 2)) * 0.8 + [1.0, 0.5]


def _fd_grad(f, Z, h=1e-5):
    """Central differences of a scalar function of each row of Z (error O(h^2))."""
    return np.stack([(f(Z + h * e) - f(Z - h * e)) / (2 * h) for e in np.eye(Z.shape[1])], 1)


# -- the closed form against an explicit feature space ---------------------------------------
def _taylor_features(x, s, K=70):
    """1-D Gaussian kernel exp(-(x - y)^2 / (2 s^2)) = sum_k phi_k(x) phi_k(y) with
    phi_k(x) = exp(-x^2 / (2 s^2)) (x / s)^k / sqrt(k!); and phi_k'(x). Truncated at K terms:
    for |x| / s <= 2.5 the tail is below 6.25^K / K! < 1e-30."""
    x = np.asarray(x, dtype=float)[:, None]
    k = np.arange(K)[None, :]
    logfact = np.array([math.lgamma(j + 1) for j in range(K)])[None, :]
    base = np.exp(-(x**2) / (2 * s**2) - 0.5 * logfact)
    phi = base * (x / s) ** k
    # d/dx [e^{-x^2/2s^2} (x/s)^k] = e^{..} [ k x^{k-1} / s^k - x^{k+1} / s^{k+2} ]
    dphi = base * (
        k * np.where(k > 0, (x / s) ** np.maximum(k - 1, 0), 0.0) / s - x * (x / s) ** k / s**2
    )
    return phi, dphi


@pytest.mark.parametrize("lam", [1e-3, 0.1, 10.0])
def test_closed_form_equals_the_feature_space_solution_in_1d(lam):
    # In the explicit (truncated Taylor) feature space of the 1-D Gaussian kernel the witness is
    # f = (S + lam I)^-1 g with S = (1/n) sum_i phi'(x_i) phi'(x_i)^T: a dense K x K solve, no
    # Woodbury identity and no derivative Gram matrix. Tolerance: the two solves' rounding,
    # amplified by the condition number of S + lam I (at most ~||S|| / lam ~ 1e3 here).
    rng = np.random.default_rng(11)
    s = 0.9
    P = rng.uniform(-1.5, 1.5, 8)
    Q = rng.uniform(-1.0, 2.0, 6)
    phiP, dphiP = _taylor_features(P, s)
    phiQ, _ = _taylor_features(Q, s)
    g = phiP.mean(0) - phiQ.mean(0)
    S = dphiP.T @ dphiP / len(P)
    f = np.linalg.solve(S + lam * np.eye(len(g)), g)
    res = srmmd(P, Q, GaussianKernel(s), lam=lam)
    assert res.value == pytest.approx(g @ f, rel=1e-10)
    Z = np.linspace(-2.0, 2.0, 9)
    phiZ, dphiZ = _taylor_features(Z, s)
    scale = np.abs(phiZ @ f).max()
    assert np.abs(res.witness(Z) - phiZ @ f).max() <= 1e-10 * scale
    assert np.abs(res.witness.grad(Z)[:, 0] - dphiZ @ f).max() <= 1e-10 * np.abs(dphiZ @ f).max()


@pytest.mark.parametrize("kernel", KERNELS, ids=repr)
def test_derivative_gram_is_the_mixed_second_derivative(kernel, clouds):
    # H_(ia),(jb) = d^2 k(x_i, x_j) / dx_a dx'_b, by central differences of the kernel's own
    # gradient in its second argument (error O(h^2) ~ 1e-10).
    X = clouds[0][:4]
    H = derivative_gram(X, kernel)
    h = 1e-5
    for i in range(4):
        for j in range(4):
            for b in range(2):
                e = np.zeros(2)
                e[b] = h
                # d/dx'_b of grad_x k(x_i, x')
                gp = kernel.weighted_grad(X[i : i + 1], X[j : j + 1] + e, [1.0])[0]
                gm = kernel.weighted_grad(X[i : i + 1], X[j : j + 1] - e, [1.0])[0]
                assert np.allclose(H[2 * i : 2 * i + 2, 2 * j + b], (gp - gm) / (2 * h), atol=1e-8)
    assert np.allclose(H, H.T)
    assert np.linalg.eigvalsh(H).min() > -1e-12  # a Gram matrix of derivative features


# -- the witness -----------------------------------------------------------------------------
@pytest.mark.parametrize("kernel", KERNELS, ids=repr)
def test_witness_gradient_against_finite_differences(kernel, clouds):
    P, Q = clouds
    res = srmmd(P, Q, kernel, lam=0.2)
    Z = np.random.default_rng(5).normal(size=(6, 2))
    fd = _fd_grad(res.witness, Z)
    # central differences: truncation h^2 |f'''| ~ 1e-10 and rounding eps |f| / h ~ 1e-11
    assert np.abs(res.witness.grad(Z) - fd).max() <= 1e-7 * (1 + np.abs(fd).max())
    # the closed form at the particles: grad f(x_i) = (r - H V)_i / lam = n ((H + n lam I)^-1 r)_i
    assert np.allclose(res.witness.grad(P), res.particle_gradient, rtol=1e-10, atol=1e-13)


@pytest.mark.parametrize("kernel", KERNELS, ids=repr)
def test_the_witness_solves_the_variational_problem(kernel, clouds):
    # f* maximises 2 (E_P f - E_Q f) - E_P ||grad f||^2 - lam ||f||^2 with maximum SrMMD^2; at the
    # optimum <f, (S + lam) f> = <g, f>, so value = E_P f* - E_Q f*, and for any other f (a
    # perturbation along an RKHS direction) the objective is lower.
    P, Q = clouds
    lam = 0.3
    res = srmmd(P, Q, kernel, lam=lam)
    f = res.witness
    assert f(P).mean() - f(Q).mean() == pytest.approx(res.value, rel=1e-12)

    def objective(t, h):
        # f + t h with h = k(c, .): ||f + t h||^2 = ||f||^2 + 2 t h_c-eval + t^2 k(c, c)
        def ev(Z):
            return f(Z) + t * kernel(Z, c)[:, 0]

        def gr(Z):
            return f.grad(Z) + t * kernel.weighted_grad(Z, c, [1.0])

        norm2_f = (res.value - np.mean(np.sum(f.grad(P) ** 2, 1))) / lam
        norm2 = norm2_f + 2 * t * f(c)[0] + t**2 * kernel(c, c)[0, 0]
        return 2 * (ev(P).mean() - ev(Q).mean()) - np.mean(np.sum(gr(P) ** 2, 1)) - lam * norm2

    c = np.array([[0.3, -0.2]])
    assert objective(0.0, c) == pytest.approx(res.value, rel=1e-10)
    for t in (-0.1, 0.05, 0.2):
        assert objective(t, c) < res.value


@pytest.mark.parametrize("kernel", KERNELS, ids=repr)
def test_value_gradient_in_the_particles_is_the_envelope_formula(kernel, clouds):
    # The penalty's measure is P itself: d SrMMD^2 / dx_i = (1/n) [2 grad f*(x_i)
    # - grad ||grad f*||^2 (x_i)] (envelope theorem), not (2/n) grad f* alone. Both sides by
    # central differences (h = 1e-5: error ~1e-9 relative).
    P, Q = clouds
    lam, h = 0.3, 1e-5
    res = srmmd(P, Q, kernel, lam=lam)
    f = res.witness
    i = 4
    G = np.zeros(2)
    for a in range(2):
        Pp, Pm = P.copy(), P.copy()
        Pp[i, a] += h
        Pm[i, a] -= h
        G[a] = (srmmd(Pp, Q, kernel, lam=lam).value - srmmd(Pm, Q, kernel, lam=lam).value) / (2 * h)
    sq = _fd_grad(lambda Z: np.sum(f.grad(Z) ** 2, 1), P[i : i + 1])[0]
    predicted = (2 * f.grad(P[i : i + 1])[0] - sq) / len(P)
    assert np.allclose(G, predicted, rtol=1e-6, atol=1e-9)
    assert not np.allclose(G, 2 * f.grad(P[i : i + 1])[0] / len(P), rtol=1e-3)


# -- the lambda limits -----------------------------------------------------------------------
@pytest.mark.parametrize("kernel", KERNELS, ids=repr)
def test_large_lambda_gives_mmd_with_the_stated_bound(kernel, clouds):
    # lam SrMMD^2 = MMD^2 - r^T (H + n lam I)^-1 r, and 0 <= r^T (H + n lam)^-1 r <= ||r||^2 /
    # (n lam) since H >= 0: a bound fixed in advance, not read from the run.
    P, Q = clouds
    m2 = mmd2(P, Q, kernel, estimator="biased")
    r = kernel.weighted_grad(
        P, np.concatenate([P, Q]), np.r_[np.full(9, 1 / 9), np.full(7, -1 / 7)]
    )
    for lam in (1.0, 1e2, 1e4, 1e6):
        res = srmmd(P, Q, kernel, lam=lam)
        gap = m2 - lam * res.value
        assert -1e-14 <= gap <= np.sum(r**2) / (len(P) * lam) * (1 + 1e-10) + 1e-16
    # and lam f* -> g = mu_P - mu_Q: lam grad f*(x_i) = n (H / lam + n I)^-1 r -> r
    res = srmmd(P, Q, kernel, lam=1e6)
    assert np.allclose(1e6 * res.particle_gradient, r, rtol=1e-5, atol=1e-12)


@pytest.mark.parametrize("kernel", KERNELS, ids=repr)
def test_small_lambda_limits(kernel, clouds):
    # lam -> 0: lam SrMMD^2 decreases to ||g - Pi g||^2 = MMD^2 - r^T H^+ r (Pi the projection
    # on the derivative features' span: H^+ from an eigendecomposition, independent of the
    # Cholesky solve), and grad f*(x_i) -> n (H^+ r)_i, the Sobolev discrepancy's gradient field;
    # SrMMD^2 itself grows like 1 / lam. Distinct particles: H is invertible (checked).
    P, Q = clouds
    n = len(P)
    m2 = mmd2(P, Q, kernel, estimator="biased")
    r = kernel.weighted_grad(
        P, np.concatenate([P, Q]), np.r_[np.full(9, 1 / 9), np.full(7, -1 / 7)]
    )
    H = derivative_gram(P, kernel)
    w, U = np.linalg.eigh(H)
    assert w.min() > 1e-8 * w.max()
    Hinv_r = U @ ((U.T @ r.ravel()) / w)
    limit = m2 - r.ravel() @ Hinv_r
    lams = [1e-1, 1e-2, 1e-3, 1e-4, 1e-5]
    scaled = [lam * srmmd(P, Q, kernel, lam=lam).value for lam in lams]
    values = [srmmd(P, Q, kernel, lam=lam).value for lam in lams]
    assert all(a > b for a, b in zip(scaled, scaled[1:], strict=False))  # lam SrMMD^2 decreases
    assert all(a < b for a, b in zip(values, values[1:], strict=False))  # SrMMD^2 grows
    # H^-1 - (H + s)^-1 = s H^-1 (H + s)^-1 <= s H^-2 (s = n lam): the gap is at most
    # n lam ||H^-1 r||^2, a bound fixed in advance
    for lam, v in zip(lams, scaled, strict=True):
        assert -1e-12 <= v - limit <= n * lam * np.sum(Hinv_r**2) * (1 + 1e-8) + 1e-12
    res = srmmd(P, Q, kernel, lam=1e-7)
    # n (H + n lam)^-1 r - n H^-1 r = O(n lam / lambda_min(H)) relative
    tol = 10 * n * 1e-7 / w.min()
    assert np.allclose(
        res.particle_gradient.ravel(), n * Hinv_r, rtol=tol, atol=tol * np.abs(n * Hinv_r).max()
    )


# -- the flow --------------------------------------------------------------------------------
def test_flow_first_step_is_the_witness_gradient(clouds):
    P, Q = clouds
    k = GaussianKernel(0.8)
    res = srmmd_flow(P, Q, k, lam=0.3, step=0.05, n_steps=1, record_every=1)
    f = srmmd(P, Q, k, lam=0.3)
    assert np.allclose(res.particles, P - 0.05 * f.witness.grad(P), rtol=0, atol=1e-14)
    assert res.loss[0] == pytest.approx(f.value / 2, rel=1e-13)
    assert res.step_info["residual"][0] <= 1e-10


def test_field_away_from_the_particles_is_the_witness_gradient(clouds):
    # noise injection evaluates the velocity at X + beta u: the witness's gradient there
    P, Q = clouds
    k = IMQKernel()
    field = SrMMDVelocity(Q, k, 0.4)
    at = P + 0.1
    out = field(P, None, at=at, record=True)
    f = srmmd(P, Q, k, lam=0.4)
    assert np.allclose(out.velocity, -f.witness.grad(at), rtol=1e-12, atol=1e-15)
    assert np.allclose(out.particle_velocity, -f.particle_gradient, rtol=1e-12, atol=1e-15)
    assert out.loss == pytest.approx(f.value / 2, rel=1e-13)


def test_flow_with_noise_runs_and_descends(clouds):
    P, Q = clouds
    res = srmmd_flow(
        P,
        Q,
        GaussianKernel(1.0),
        lam=0.5,
        step=0.05,
        n_steps=20,
        noise=0.01,
        rng=1,
        record_every=20,
    )
    # a small step on the regularised witness: F decreases (and the flow reports it)
    assert res.loss[-1] < res.loss[0]


def test_large_lambda_flow_is_the_mmd_flow_with_step_over_lambda(clouds):
    # lam f* -> mu_nu - mu_nu*: at lam = 1e7 the SrMMD flow with step lam s is the MMD flow with
    # step s, to O(||H|| / (n lam)) relative per step (~1e-7 here)
    P, Q = clouds
    k = GaussianKernel(1.0)
    a = srmmd_flow(P, Q, k, lam=1e7, step=1e7 * 0.1, n_steps=10)
    b = kf.mmd_flow(P, Q, k, step=0.1, n_steps=10)
    assert np.abs(a.particles - b.particles).max() <= 1e-5


# -- bad input -------------------------------------------------------------------------------
@pytest.mark.parametrize(
    "kernel", [LaplaceKernel(1.0), EnergyKernel(), PolynomialKernel()], ids=repr
)
def test_kernels_without_second_derivatives_are_refused_up_front(kernel, clouds):
    P, Q = clouds
    with pytest.raises(ValueError, match="kernel"):
        srmmd(P, Q, kernel, lam=1.0)
    with pytest.raises(ValueError, match="kernel"):
        srmmd_flow(P, Q, kernel, lam=1.0, step=0.1, n_steps=1)


def test_bad_arguments_are_named(clouds):
    P, Q = clouds
    k = GaussianKernel(1.0)
    for lam in (0.0, -1.0, np.nan, "a"):
        with pytest.raises((ValueError, TypeError), match="lam"):
            srmmd(P, Q, k, lam=lam)
    with pytest.raises(ValueError, match="P"):
        srmmd(P[:, :1], Q, k, lam=1.0)
    with pytest.raises(ValueError, match="Q"):
        srmmd(P, np.full((3, 2), np.nan), k, lam=1.0)
    with pytest.raises(ValueError, match="tol"):
        srmmd(P, Q, k, lam=1.0, tol=0.0)
    with pytest.raises(ValueError, match="lam"):
        srmmd_flow(P, Q, k, lam=-1.0, step=0.1, n_steps=1)
    with pytest.raises(ValueError, match="X0"):
        srmmd_flow(P[:, :1], Q, k, lam=1.0, step=0.1, n_steps=1)
    with pytest.raises(ValueError, match="kernel"):
        srmmd(P, Q, "gaussian", lam=1.0)
    with pytest.raises(TypeError):
        srmmd(P, Q, k, 1.0)  # lam is keyword-only


def test_a_singular_system_is_refused_not_returned(clouds):
    # two coincident particles make H singular; at lam = 1e-300 the shift n lam is far below
    # rounding: the solve cannot be certified and says so
    P, Q = clouds
    P = np.concatenate([P, P[:1]])
    with pytest.raises(SrMMDSolveError, match="lam"):
        srmmd(P, Q, GaussianKernel(1.0), lam=1e-300)
    with pytest.raises(SrMMDSolveError):
        srmmd_flow(P, Q, GaussianKernel(1.0), lam=1e-300, step=0.1, n_steps=2)


def test_exports_and_keyword_only_options():
    from test_flows import test_every_flow_takes_its_options_by_keyword_only as keyword_only

    assert kf.srmmd is srmmd and kf.srmmd_flow is srmmd_flow
    assert kf.SrMMDSolveError is SrMMDSolveError
    keyword_only(srmmd_flow)


# -- the authors' code -----------------------------------------------------------------------
@pytest.mark.parametrize("row", REF["values"], ids=lambda r: f"s{r['bandwidth']}-lam{r['lam']:g}")
def test_values_and_witness_match_the_authors_code(row):
    # Their dense solve in float64 against our Cholesky: both backward stable, so the values
    # agree to the conditioning of H + n lam I times eps (measured: at most 7e-14 relative, at
    # lam = 1e-3); 1e-11 leaves room for other BLAS.
    P, Q = np.array(REF["clouds"]["P"]), np.array(REF["clouds"]["Q"])
    res = srmmd(P, Q, GaussianKernel(row["bandwidth"]), lam=row["lam"])
    assert res.value == pytest.approx(row["value"], rel=1e-11)
    g = np.array(row["grad_at_P"])
    assert np.abs(res.particle_gradient - g).max() <= 1e-11 * np.abs(g).max()
    w = np.array(row["witness_at_Q5"])
    assert np.abs(res.witness(Q[:5]) - w).max() <= 1e-11 * np.abs(w).max()


@pytest.mark.parametrize("row", REF["values"], ids=lambda r: f"s{r['bandwidth']}-lam{r['lam']:g}")
def test_the_authors_fixed_target_class_flips_the_correction_sign(row):
    # Their ``srmmd_fixed_target`` (what their run.py --flow srmmd runs) adds the derivative
    # correction where ``srmmd`` subtracts it: its gradient at the particles is
    # (r + H V) / lam, not (r - H V) / lam. Reproduced from our pieces, to their CG tolerance
    # (1e-8 relative to ||r||, amplified by 1 / lam: 1e-6 relative at lam = 1e-3).
    P, Q = np.array(REF["clouds"]["P"]), np.array(REF["clouds"]["Q"])
    k = GaussianKernel(row["bandwidth"])
    lam = row["lam"]
    res = srmmd(P, Q, k, lam=lam)
    n = len(P)
    r = k.weighted_grad(
        P, np.concatenate([P, Q]), np.r_[np.full(n, 1 / n), np.full(len(Q), -1 / len(Q))]
    )
    flipped = 2 * r / lam - res.particle_gradient  # (r + H V) / lam
    theirs = np.array(row["fixed_target_grad_at_P"])
    assert np.abs(flipped - theirs).max() <= 1e-5 * np.abs(theirs).max()


def test_flow_matches_the_authors_trajectory():
    # 50 steps of their gradient_flow (their ``srmmd``, dense solve) against ours from the same
    # arrays: the map is smooth and contracting at this step, so rounding stays at rounding
    # (measured 2e-15); 1e-10 absolute on particles of size ~3.
    F = REF["flows"]
    s = REF["flow_settings"]
    res = srmmd_flow(
        np.array(F["P0"]),
        np.array(F["Q"]),
        GaussianKernel(s["bandwidth"]),
        lam=s["lam"],
        step=s["step"],
        n_steps=s["n_steps"],
    )
    assert np.abs(res.particles - np.array(F["X50"])).max() <= 1e-10
    # their fixed-target class moves the particles elsewhere (the flipped sign)
    assert np.abs(res.particles - np.array(F["X50_fixed_target"])).max() > 0.1


# -- alpha: the gradient penalty mixed with an L2(P) penalty -------------------------------------
@pytest.mark.parametrize("alpha", [0.0, 0.3, 1.0])
def test_alpha_closed_form_equals_the_feature_space_solution_in_1d(alpha):
    # S_alpha = alpha (1/n) sum phi'(x_i) phi'(x_i)^T + (1 - alpha) (1/n) sum phi(x_i) phi(x_i)^T in
    # the explicit feature space: a dense K x K solve, independent of the block system
    rng = np.random.default_rng(12)
    s, lam = 0.9, 0.05
    P = rng.uniform(-1.5, 1.5, 8)
    Q = rng.uniform(-1.0, 2.0, 6)
    phiP, dphiP = _taylor_features(P, s)
    phiQ, _ = _taylor_features(Q, s)
    g = phiP.mean(0) - phiQ.mean(0)
    S = (alpha * dphiP.T @ dphiP + (1 - alpha) * phiP.T @ phiP) / len(P)
    f = np.linalg.solve(S + lam * np.eye(len(g)), g)
    res = srmmd(P, Q, GaussianKernel(s), lam=lam, alpha=alpha)
    assert res.value == pytest.approx(g @ f, rel=1e-10)
    Z = np.linspace(-2.0, 2.0, 9)
    phiZ, dphiZ = _taylor_features(Z, s)
    assert np.abs(res.witness(Z) - phiZ @ f).max() <= 1e-10 * np.abs(phiZ @ f).max()
    assert np.abs(res.witness.grad(Z)[:, 0] - dphiZ @ f).max() <= 1e-10 * np.abs(dphiZ @ f).max()
    assert np.allclose(res.witness.grad(P[:, None]), res.particle_gradient, rtol=1e-10, atol=1e-13)


def test_alpha_zero_is_drmmd_with_the_roles_swapped(clouds):
    # alpha = 0: the penalty E_P f^2 + lam ||f||^2 is DrMMD's with the particles as its "target":
    # (1/lam) [MMD^2 - v^T (K_PP + n lam I)^-1 v] = DrMMD_lam(Q || P) / (1 + lam), the package's
    # DrMMD (an eigendecomposition solve) as the independent reference
    P, Q = clouds
    k = GaussianKernel(0.8)
    for lam in (1e-2, 0.3, 5.0):
        a = srmmd(P, Q, k, lam=lam, alpha=0.0)
        b = kf.drmmd(Q, P, k, lam=lam)
        assert a.value == pytest.approx(b.value / (1 + lam), rel=1e-11)


def test_alpha_one_is_the_default_and_alpha_is_checked(clouds):
    P, Q = clouds
    k = GaussianKernel(0.8)
    a, b = srmmd(P, Q, k, lam=0.2), srmmd(P, Q, k, lam=0.2, alpha=1.0)
    assert a.value == b.value and np.array_equal(a.particle_gradient, b.particle_gradient)
    for alpha in (-0.1, 1.5, np.nan, "x"):
        with pytest.raises(ValueError, match="alpha"):
            srmmd(P, Q, k, lam=0.2, alpha=alpha)
        with pytest.raises(ValueError, match="alpha"):
            srmmd_flow(P, Q, k, lam=0.2, alpha=alpha, step=0.1, n_steps=1)


@pytest.mark.parametrize("kernel", KERNELS, ids=repr)
def test_alpha_witness_gradient_and_flow_step(kernel, clouds):
    P, Q = clouds
    res = srmmd(P, Q, kernel, lam=0.2, alpha=0.6)
    Z = np.random.default_rng(6).normal(size=(5, 2))
    fd = _fd_grad(res.witness, Z)
    assert np.abs(res.witness.grad(Z) - fd).max() <= 1e-7 * (1 + np.abs(fd).max())
    assert np.allclose(res.witness.grad(P), res.particle_gradient, rtol=1e-10, atol=1e-13)
    assert res.witness(P).mean() - res.witness(Q).mean() == pytest.approx(res.value, rel=1e-12)
    run = srmmd_flow(P, Q, kernel, lam=0.2, alpha=0.6, step=0.05, n_steps=1, record_every=1)
    assert np.allclose(run.particles, P - 0.05 * res.particle_gradient, rtol=0, atol=1e-14)
    assert run.loss[0] == pytest.approx(res.value / 2, rel=1e-13)


@pytest.mark.parametrize(
    "row", REF["alpha_values"], ids=lambda r: f"alpha{r['alpha']:g}-lam{r['lam']:g}"
)
def test_alpha_values_match_the_authors_hrmmd(row):
    # their dense block solve against ours (measured: 1e-14 relative); 1e-11 for other BLAS
    P, Q = np.array(REF["clouds"]["P"]), np.array(REF["clouds"]["Q"])
    res = srmmd(P, Q, GaussianKernel(row["bandwidth"]), lam=row["lam"], alpha=row["alpha"])
    assert res.value == pytest.approx(row["value"], rel=1e-11)
    g = np.array(row["grad_at_P8"])
    assert np.abs(res.particle_gradient[:8] - g).max() <= 1e-11 * np.abs(g).max()
