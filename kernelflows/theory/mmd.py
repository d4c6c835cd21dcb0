"""Numerical checks of the MMD flow theory (Arbel, Korba, Salim, Gretton, NeurIPS 2019).

Talk, slides "Wasserstein gradient flows" to "Noise injection: consistency". Conventions as in
:mod:`kernelflows.flows`: F(nu) = 1/2 MMD^2(nu, nu*), first variation f = mu_nu - mu_nu*,
velocity -grad f. Every function returns the two sides of a statement so that a test or a
lecture can compare them.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from .._validation import as_samples, positive, positive_int, same_dimension
from ..divergences.mmd import mmd_energy, mmd_velocity, signed_weights
from ..divergences.velocity import mean_speed2
from ..flows import FlowResult, MMDVelocity, mmd_flow
from ..kernels import GaussianKernel, Kernel
from ..measures import RKHSFunction
from .perturbation import perturbed_measure

__all__ = [
    "assumption_a_constants",
    "bad_equilibrium_energy",
    "convexity_counterexample",
    "descent_check",
    "descent_lipschitz_constant",
    "dissipation_check",
    "dissipation_second_derivative",
    "euler_convergence",
    "first_variation",
    "first_variation_check",
    "gaussian_bandwidth",
    "geodesic_energies",
    "lojasiewicz_bound",
    "Proposition8Check",
    "proposition8_check",
    "sobolev_distance",
    "sobolev_lower_bound",
    "wasserstein_gradient_check",
]


def gaussian_bandwidth(kernel) -> float:
    """The bandwidth s of a Gaussian kernel; a ``ValueError`` for any other kernel.

    The constants below (Assumption A, the descent Lipschitz constant, the Sobolev Gram
    matrix) are derived for k = exp(-||x - y||^2 / (2 s^2)) and hold for no other kernel.
    """
    if not isinstance(kernel, GaussianKernel):
        raise ValueError(
            f"kernel must be a GaussianKernel (the constants are derived for it), got {kernel!r}"
        )
    return kernel.bandwidth


def _xy(X, Y, kernel):
    X = as_samples(X, "X")
    Y = as_samples(Y, "Y")
    same_dimension(X, Y)
    if not isinstance(kernel, Kernel):
        raise ValueError(f"kernel must be a kernelflows Kernel, got {type(kernel).__name__}")
    return X, Y


def first_variation(X, Y, kernel: Kernel) -> RKHSFunction:
    """f = F'(nu) = mu_nu - mu_nu* for nu = uniform on the rows of X, nu* on the rows of Y.

    Talk, slide "Wasserstein gradient flow on MMD" (which writes 2 (mu_nu* - mu_nu): see the
    convention in :mod:`kernelflows.flows`). Its gradient is the Wasserstein gradient.
    """
    X, Y = _xy(X, Y, kernel)
    n, m = len(X), len(Y)
    w = signed_weights(n, m)
    return RKHSFunction(np.concatenate([X, Y]), w, kernel)


def first_variation_check(X, Y, kernel: Kernel, xi_points, xi_weights, *, eps: float = 1e-4):
    """d/d eps F(nu + eps xi) at 0 by central differences, and int f d xi (eq. (2) of the talk).

    xi = sum_j c_j delta_{z_j} is a signed measure of total mass zero (so nu + eps xi keeps mass
    one). Returns ``(finite_difference, formula)``.
    """
    X, Y = _xy(X, Y, kernel)
    P, base, direction, Z, c = perturbed_measure(X, xi_points, xi_weights)
    eps = positive(eps, "eps")
    up = mmd_energy(P, Y, kernel, weights=base + eps * direction)
    down = mmd_energy(P, Y, kernel, weights=base - eps * direction)
    formula = float(c @ first_variation(X, Y, kernel)(Z))
    return (up - down) / (2.0 * eps), formula


def wasserstein_gradient_check(X, Y, kernel: Kernel, h, *, eps: float = 1e-4):
    """d/d eps F((Id + eps h)_# nu) at 0 by central differences, and <grad f, h>_{L2(nu)}.

    Eq. (1) of the talk with grad_{W2} F = grad F'(nu) = grad f. ``h`` holds the vector field's
    values at the particles, shape (n, d). Returns ``(finite_difference, formula)``.
    """
    X, Y = _xy(X, Y, kernel)
    h = as_samples(h, "h")
    if h.shape != X.shape:
        raise ValueError(f"h must have the shape of X {X.shape}, got {h.shape}")
    eps = positive(eps, "eps")
    up = mmd_energy(X + eps * h, Y, kernel)
    down = mmd_energy(X - eps * h, Y, kernel)
    grad_f = -mmd_velocity(X, Y, kernel).velocity
    return (up - down) / (2.0 * eps), float(np.mean(np.sum(grad_f * h, axis=1)))


def geodesic_energies(X1, X2, Y, kernel: Kernel, ts):
    """F along the displacement geodesic and along the mixture path between nu_1 and nu_2.

    nu_1, nu_2 are uniform on the rows of X1, X2, matched row by row (the map x1_i -> x2_i, which
    is the optimal transport map when it is monotone). Talk, slide "Consistency (1)":

        displacement  rho_t = ((1 - t) Id + t T)_# nu_1,
        mixture       (1 - t) nu_1 + t nu_2,
        chord         (1 - t) F(nu_1) + t F(nu_2).

    Returns ``(displacement, mixture, chord)``, arrays over ``ts``. Mixture convexity says
    mixture <= chord always; displacement convexity would say displacement <= chord.
    """
    X1, Y = _xy(X1, Y, kernel)
    X2 = as_samples(X2, "X2")
    if X2.shape != X1.shape:
        raise ValueError(f"X2 must have the shape of X1 {X1.shape}, got {X2.shape}")
    ts = np.asarray(ts, dtype=float)
    n = len(X1)
    both = np.concatenate([X1, X2])
    disp = np.array([mmd_energy((1 - t) * X1 + t * X2, Y, kernel) for t in ts])
    mix = np.array(
        [
            mmd_energy(both, Y, kernel, weights=np.r_[np.full(n, (1 - t) / n), np.full(n, t / n)])
            for t in ts
        ]
    )
    chord = (1 - ts) * mmd_energy(X1, Y, kernel) + ts * mmd_energy(X2, Y, kernel)
    return disp, mix, chord


def convexity_counterexample(
    kernel: GaussianKernel | None = None, *, a: float = 2.0, n_points: int = 21
):
    """MMD is mixture convex but not displacement convex: a counterexample in the plane.

    Target nu* = 1/2 (delta_{-a e1} + delta_{a e1}); nu_1 = delta_{-a e1}, nu_2 = delta_{a e1}.
    The displacement geodesic delta_{(2t - 1) a e1} passes through the origin, where

        F(rho_1/2) - F(nu_1) = 1/2 (1 - 2 k(a) + k(2a)),   k(r) = exp(-r^2 / (2 s^2)),

    which is positive (F rises above the chord) once a is large enough relative to s, while the
    mixture path reaches nu* itself at t = 1/2 (F = 0). Returns ``(ts, displacement, mixture,
    chord)``.
    """
    a = positive(a, "a")
    kernel = GaussianKernel(1.0) if kernel is None else kernel
    gaussian_bandwidth(kernel)
    n_points = positive_int(n_points, "n_points")
    ts = np.linspace(0.0, 1.0, n_points)
    e1 = np.array([[1.0, 0.0]])
    Y = np.concatenate([-a * e1, a * e1])
    disp, mix, chord = geodesic_energies(-a * e1, a * e1, Y, kernel, ts)
    return ts, disp, mix, chord


def dissipation_check(X, Y, kernel: Kernel, steps):
    """(F(nu_1) - F(nu_0)) / gamma for one Euler step of each size gamma, and -E ||grad f||^2.

    Talk, slide "Consistency (2)" ([A, Proposition 2]): dF/dt = -E_nu ||grad f||^2; the
    difference quotient of one step tends to it with an O(gamma) error. Returns
    ``(quotients, rate)``.
    """
    X, Y = _xy(X, Y, kernel)
    steps = np.asarray(steps, dtype=float)
    if np.any(steps <= 0) or not np.all(np.isfinite(steps)):
        raise ValueError("steps must be positive and finite")
    v = mmd_velocity(X, Y, kernel).velocity
    F0 = mmd_energy(X, Y, kernel)
    quotients = np.array([(mmd_energy(X + g * v, Y, kernel) - F0) / g for g in steps])
    return quotients, -mean_speed2(v)


def dissipation_second_derivative(X, Y, kernel: GaussianKernel):
    """The second derivative at gamma = 0 of phi(gamma) = F(X + gamma v), v = -grad f(X).

    It is the leading coefficient of the error of :func:`dissipation_check`: phi(gamma) =
    phi(0) - gamma E ||grad f||^2 + (gamma^2 / 2) phi''(0) + O(gamma^3), so
    (F_1 - F_0) / gamma - (-E ||grad f||^2) = (gamma / 2) phi''(0) + O(gamma^2). With
    F = 1/2 ||mu_X - mu_Y||_H^2 and d mu / d gamma = (1/n) sum_i v_i . grad_1 k(x_i, .),

        phi''(0) = ||d mu / d gamma||_H^2 + <f, d^2 mu / d gamma^2>_H
                 = (1/n^2) sum_ij v_i^T [d_x d_y k](x_i, x_j) v_j    (interaction, >= 0)
                 + (1/n) sum_i v_i^T [Hess f](x_i) v_i                (curvature of f along v),

    for the Gaussian kernel d_x d_y k(x, y) = k [I / s^2 - u u^T / s^4] and Hess_x k(x, y) =
    k [u u^T / s^4 - I / s^2], u = x - y. When the two terms cancel, the error of the difference
    quotient is second order over a range of gamma. Returns ``(interaction, curvature)``; their
    sum is phi''(0). Builds (n, n, d, d) arrays: for small n only.
    """
    s = gaussian_bandwidth(kernel)
    X, Y = _xy(X, Y, kernel)
    n, d = X.shape
    v = mmd_velocity(X, Y, kernel).velocity
    s2 = s * s
    eye = np.eye(d)

    def hess_terms(A, B):
        # sum over b in B of k(a, b) [u u^T / s^4 - I / s^2], u = a - b, applied as v_a^T . v_a
        U = A[:, None, :] - B[None, :, :]
        K = kernel(A, B)
        proj = np.einsum("ijd,id->ij", U, v) ** 2 / s2**2 - np.sum(v**2, axis=1)[:, None] / s2
        return np.sum(K * proj, axis=1)

    curvature = float(np.mean(hess_terms(X, X) / n - hess_terms(X, Y) / len(Y)))
    U = X[:, None, :] - X[None, :, :]
    K = kernel(X, X)
    M = K[:, :, None, None] * (eye[None, None] / s2 - U[..., :, None] * U[..., None, :] / s2**2)
    interaction = float(np.einsum("ia,ijab,jb->", v, M, v) / n**2)
    return interaction, curvature


def euler_convergence(X0, Y, kernel: Kernel, t_final: float, steps, reference_step: float):
    """RMS distance at time ``t_final`` between Euler particles of step gamma and a fine reference.

    Talk, slide "Wasserstein gradient flow on the MMD": under Assumption A nu_n approaches nu_t
    as gamma -> 0; forward Euler is first order, so the error is O(gamma). Each step in ``steps``
    must divide ``t_final`` into a whole number of steps. Returns the errors (one per step).
    """
    X0, Y = _xy(X0, Y, kernel)
    t_final = positive(t_final, "t_final")

    def run(g):
        n_steps = int(round(t_final / g))
        if n_steps < 1 or abs(n_steps * g - t_final) > 1e-9 * t_final:
            raise ValueError(f"step {g} does not divide t_final={t_final}")
        return mmd_flow(X0, Y, kernel, step=g, n_steps=n_steps, record_every=n_steps).particles

    ref = run(positive(reference_step, "reference_step"))
    return np.array([np.sqrt(np.mean(np.sum((run(g) - ref) ** 2, axis=1))) for g in steps])


def assumption_a_constants(kernel: GaussianKernel, d: int):
    """Assumption A of the talk for the Gaussian kernel k = exp(-||x - y||^2 / (2 s^2)) on R^d.

    K = sup k(x, x) = 1; K_1d = sum_i ||d_i k(x, .)||_H^2 = sum_i d_{x_i} d_{y_i} k(x, y)|_{y=x}
    = d / s^2; K_2d = sum_{i,j} ||d_i d_j k(x, .)||_H^2 = d(d + 2) / s^4 (the fourth derivative of
    exp(-u^2 / (2 s^2)) at 0 is 3 / s^4, the product of two second derivatives 1 / s^4).
    Returns ``(K, K1d, K2d)``; all three hold with equality at every x.
    """
    s = gaussian_bandwidth(kernel)
    d = positive_int(d, "d")
    return 1.0, d / s**2, d * (d + 2) / s**4


def descent_lipschitz_constant(kernel: GaussianKernel) -> float:
    """L = 1 / s^2: grad_1 k(x, y) is L-Lipschitz in (x, y) jointly for the Gaussian kernel.

    With it the plug-in F descends for small steps (the discrete-time descent result of Arbel,
    Korba, Salim, Gretton, NeurIPS 2019): F(nu_{n+1}) - F(nu_n) <= -gamma (1 - 3 gamma L / 2)
    E ||grad f||^2, for gamma < 2 / (3 L). One
    derivation: f(T x) - f(x) <= -gamma ||grad f||^2 + L gamma^2 ||grad f||^2 (grad f is
    2L-Lipschitz) and 1/2 ||mu_{T nu} - mu_nu||^2 <= (L / 2) gamma^2 E ||grad f||^2 (as
    ||k(a, .) - k(b, .)||^2 = 2 (1 - k(a, b)) <= ||a - b||^2 / s^2).
    """
    return 1.0 / gaussian_bandwidth(kernel) ** 2


def descent_check(X, Y, kernel: GaussianKernel, step: float):
    """One Euler step of the MMD flow: ``(F_1 - F_0, -step (1 - 3 step L / 2) E ||grad f||^2)``.

    The first should be at most the second (:func:`descent_lipschitz_constant`).
    """
    L = descent_lipschitz_constant(kernel)
    X, Y = _xy(X, Y, kernel)
    step = positive(step, "step")
    v = mmd_velocity(X, Y, kernel).velocity
    lhs = mmd_energy(X + step * v, Y, kernel) - mmd_energy(X, Y, kernel)
    return lhs, -step * (1.0 - 1.5 * step * L) * mean_speed2(v)


def bad_equilibrium_energy(a: float, kernel: GaussianKernel) -> float:
    """F(delta_0) for the target 1/2 (delta_a + delta_-a): 1/2 [1 - 2 k(a) + (1 + k(2a)) / 2]."""
    a = positive(a, "a")
    s = gaussian_bandwidth(kernel)

    def k(r):
        return np.exp(-(r**2) / (2 * s**2))

    return float(0.5 * (1.0 - 2.0 * k(a) + 0.5 * (1.0 + k(2 * a))))


@dataclass(frozen=True)
class Proposition8Check:
    """The per-step constants of :func:`proposition8_check` (arrays over steps) and the bound."""

    c_n: np.ndarray
    c: float
    C_n: np.ndarray
    lambda_n: np.ndarray
    exponent: np.ndarray
    bound: np.ndarray


def proposition8_check(result: FlowResult) -> Proposition8Check:
    """The chain behind Proposition 8 (noise injection), from a run recorded at every step.

    Arbel, Korba, Salim, Gretton (NeurIPS 2019), Proposition 8; talk, slide "Noise injection:
    consistency". If every step satisfies F_{n+1} <= F_n (1 - c gamma beta_n^2) with one c > 0,
    then F_n <= F_0 exp(-c gamma sum_{i<n} beta_i^2), which tends to 0 iff sum beta_i^2 = inf.
    Here c_n = (F_n - F_{n+1}) / (gamma beta_n^2 F_n) is measured at each step and c = min c_n.

    The slide splits c into two conditions, also returned per step: the descent
    F_n - F_{n+1} >= C gamma E ||grad f(X_n + beta_n u)||^2 (``C_n``) and the noisy gradient being
    large where F is, E ||grad f(X_n + beta_n u)||^2 >= lambda beta_n^2 F_n (``lambda_n``), with
    c_n = C_n lambda_n (from ``result.step_speed2``).

    Returns a :class:`Proposition8Check` with ``c_n``, ``c`` (their minimum), ``C_n``,
    ``lambda_n``, ``exponent`` (gamma sum_{i<n} beta_i^2, per snapshot) and ``bound``
    (F_0 exp(-c * exponent)).
    """
    if not np.all(np.diff(result.steps) == 1):
        raise ValueError("result must be recorded at every step (record_every=1)")
    beta = result.beta
    F = result.loss
    if np.any(beta[:-1] <= 0):
        raise ValueError("proposition8_check needs beta_n > 0 at every step")
    c_n = (F[:-1] - F[1:]) / (result.step * beta[:-1] ** 2 * F[:-1])
    exponent = result.step * np.concatenate([[0.0], np.cumsum(beta[:-1] ** 2)])
    c = float(np.min(c_n))
    noisy_sq = result.step_speed2[:-1]
    return Proposition8Check(
        c_n=c_n,
        c=c,
        C_n=(F[:-1] - F[1:]) / (result.step * noisy_sq),
        lambda_n=noisy_sq / (beta[:-1] ** 2 * F[:-1]),
        exponent=exponent,
        bound=F[0] * np.exp(-c * exponent),
    )


def sobolev_distance(X, Y, kernel: GaussianKernel, *, reg: float = 1e-3) -> float:
    """A regularised estimate of the negative Sobolev distance S(nu* | nu) over the RKHS.

    S(nu* | nu) = sup { |E_nu g - E_nu* g| : E_nu ||grad g||^2 <= 1 } (talk, slide
    "Consistency (2)"). Restricting g to the Gaussian RKHS H and adding reg ||g||_H^2 to the
    constraint gives

        S_reg^2 = sup_g <g, delta>^2 / (E_nu ||grad g||^2 + reg ||g||_H^2)
                = <delta, (D + reg I)^{-1} delta>_H,   delta = mu_nu - mu_nu* = f,

    with D = E_nu sum_a d_a k(x, .) (x) d_a k(x, .). By the push-through identity, with the
    (n d) x (n d) matrix G = (1/n) [d_{x_a} d_{y_b} k(x_i, x_j)] and b = grad f(x_i) / sqrt(n),

        S_reg^2 = (||f||_H^2 - b^T (G + reg I)^{-1} b) / reg,   ||f||_H^2 = 2 F.

    S_reg increases as reg decreases. Between two different empirical measures the unregularised
    S is infinite (a bump on a target point with zero gradient on the particles), so only the
    growth with 1 / reg is informative: for a collapsed clump G has rank d and grad f ~ 0 on it,
    so S_reg ~ sqrt(2 F / reg), while for spread particles it grows far more slowly. Builds an
    (n d) x (n d) matrix: for small n only.
    """
    gaussian_bandwidth(kernel)
    X, Y = _xy(X, Y, kernel)
    reg = positive(reg, "reg")
    n, d = X.shape
    s2 = kernel.bandwidth**2
    K = kernel(X, X)
    U = X[:, None, :] - X[None, :, :]  # (n, n, d): small n only
    # d_{x_a} d_{y_b} k(x, y) = k(x, y) [delta_ab / s^2 - (x - y)_a (x - y)_b / s^4]
    G = K[:, :, None, None] * (
        np.eye(d)[None, None] / s2 - U[..., :, None] * U[..., None, :] / s2**2
    )
    G = G.transpose(0, 2, 1, 3).reshape(n * d, n * d) / n
    grad_f = -mmd_velocity(X, Y, kernel).velocity
    b = grad_f.reshape(-1) / np.sqrt(n)
    norm_sq = 2.0 * mmd_energy(X, Y, kernel)
    val = (norm_sq - b @ np.linalg.solve(G + reg * np.eye(n * d), b)) / reg
    return float(np.sqrt(max(val, 0.0)))


def sobolev_lower_bound(result: FlowResult) -> np.ndarray:
    """S_eff = 2 F / sqrt(E ||grad f||^2) at each snapshot of an MMD flow: the smallest S for
    which the Cauchy-Schwarz step holds.

    Taking g = f / ||grad f||_{L2(nu)} in the definition of S gives 2 F = E_nu f - E_nu* f
    <= S(nu* | nu) (E_nu ||grad f||^2)^(1/2), i.e. S >= S_eff.
    """
    if not isinstance(result.field, MMDVelocity):
        raise ValueError(
            f"sobolev_lower_bound needs an MMD flow's result, got a flow of {result.loss_name}; "
            "for KALE flow use kale_sobolev_lower_bound"
        )
    loss = np.asarray(result.loss, dtype=float)
    with np.errstate(divide="ignore"):  # grad f = 0 with F > 0 (a bad equilibrium): S = inf
        return 2.0 * loss / np.sqrt(np.asarray(result.speed2, dtype=float))


def lojasiewicz_bound(F0: float, t, S: float):
    """F(nu_t) <= 1 / (F(nu_0)^-1 + 4 t / S^2) when S(nu* | nu_s) <= S for all s <= t.

    The correct powers: Cauchy-Schwarz gives F^2 <= (S^2 / 4) E ||grad f||^2 (not F <= C E||grad
    f||^2, which would give an exponential rate). With dF/dt = -E ||grad f||^2 this is
    dF/dt <= -(4 / S^2) F^2, so d(1/F)/dt >= 4 / S^2. The slide's form 1 / (F_0^-1 + 2 C^-1 t)
    is the same with C = S^2 / 2 (Arbel, Korba, Salim, Gretton, NeurIPS 2019, Proposition 7).
    """
    F0 = positive(F0, "F0")
    S = positive(S, "S")
    return 1.0 / (1.0 / F0 + 4.0 * np.asarray(t, dtype=float) / S**2)
