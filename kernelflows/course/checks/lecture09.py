"""Checks for the exercises of lecture 09 (KALE flow).

* :func:`check_ex9_1_kale_first_variation` - the first variation (1 + lam) f* of KALE_lam;
* :func:`check_ex9_2_max_distance` - max_i min_j ||x_i - y_j||, the farthest particle from the
  target's support;
* :func:`check_ex9_3_kale_flow_step` - one KALE flow step X - step (1 + lam) grad f*(X);
* :func:`check_ex9_4_ula_step` - one step of the KL flow by the unadjusted Langevin algorithm;
* :func:`check_ex9_5_newton_step` - one Newton step on the KALE dual (the warm start of the flow).

Conventions of :mod:`kernelflows.flows.kale`: the moving particles nu are P (the linear term
E_nu f), the target nu* is Q (the exponential term E_nu* exp f); velocity -(1 + lam) grad f*
(the slide's div form is an ascent; lecture 09, "Check the slide").
"""

from __future__ import annotations

from collections.abc import Callable
from functools import partial

import numpy as np

from ...divergences import kale
from ...experiments import mixture_grad_log_density
from ...kernels import GaussianKernel, LaplaceKernel
from .core import CheckFailed, call, close, ok, returned_array, returned_number

__all__ = [
    "check_ex9_1_kale_first_variation",
    "check_ex9_2_max_distance",
    "check_ex9_3_kale_flow_step",
    "check_ex9_4_ula_step",
    "check_ex9_5_newton_step",
]

#: Student code may call ``kale`` with its default tolerance (Newton decrement^2 / 2 <= 1e-6):
#: its witness is then off by up to about 1e-4 of its largest value (measured on these cases),
#: so values are compared to 1e-3 of the largest reference value (of the largest displacement for
#: a flow step), far from the typical mistakes (factors 1 + lam with lam >= 0.1, swapped
#: measures, signs).
_KALE_RTOL = 1e-3


def _near(a, b, scale: float, origin=0.0) -> bool:
    """max |a - b| <= _KALE_RTOL * scale; for particles ``origin`` = X, displacements compared."""
    a, b = np.asarray(a, dtype=float) - origin, np.asarray(b, dtype=float) - origin
    return a.shape == b.shape and float(np.max(np.abs(a - b))) <= _KALE_RTOL * scale + 1e-12


def _kale_cases(seed: int):
    """(X particles, Y target, kernel, lam): n != m, d = 1 and 2, small and large lam, n = 1."""
    rng = np.random.default_rng(seed)
    return [
        (rng.normal(size=(15, 2)), rng.normal(size=(20, 2)) + 1.0, GaussianKernel(1.0), 0.1),
        (rng.normal(size=(12, 1)), 1.5 * rng.normal(size=(9, 1)), GaussianKernel(0.7), 1.0),
        (rng.normal(size=(10, 2)), rng.laplace(size=(14, 2)), LaplaceKernel(1.2), 10.0),
        (rng.normal(size=(1, 2)), rng.normal(size=(6, 2)) + 0.5, GaussianKernel(1.5), 0.5),
    ]


def _witness(X, Y, k, lam):
    return kale(X, Y, k, lam=lam, tol=1e-12).witness


def _mmd_first_variation(X, Y, k, Z):
    return k(Z, X).mean(axis=1) - k(Z, Y).mean(axis=1)


def check_ex9_1_kale_first_variation(my_first_variation: Callable) -> None:
    """Check ``my_first_variation(X, Y, kernel, lam, Z)`` = (1 + lam) f*(Z), shape (len(Z),).

    f* maximises E_nu f - E_nu* exp(f) + 1 - lam/2 ||f||^2 with nu on X, nu* on Y; by the
    envelope argument the first variation of KALE_lam in nu is (1 + lam) f* (slide "Wasserstein
    gradient flow on KALE"; Glaser, Arbel, Gretton, NeurIPS 2021, Lemma 3).
    """
    name = "check_ex9_1_kale_first_variation"
    rng = np.random.default_rng(91)
    cases = _kale_cases(91)
    for X, Y, k, lam in cases:
        Z = 1.5 * rng.normal(size=(7, X.shape[1]))
        got = returned_array(name, call(name, my_first_variation, X.copy(), Y.copy(), k, lam, Z))
        f = _witness(X, Y, k, lam)(Z)
        want = (1 + lam) * f
        if got.shape != want.shape:
            raise CheckFailed(
                f"{name}: expected one value per row of Z, shape {want.shape}; got {got.shape}."
            )

        near = partial(_near, scale=float(np.max(np.abs(want))))

        if near(got, want):
            continue
        swapped = _witness(Y, X, k, lam)(Z)
        if near(got, f):
            hint = (
                "the (1 + lambda) in front is missing: KALE = (1 + lam) max_f K(f, nu), and the "
                "envelope argument differentiates only E_nu f, leaving (1 + lam) f*"
            )
        elif near(got, (1 + lam) ** 2 * f):
            hint = "(1 + lambda) appears twice: the first variation is (1 + lam) f*"
        elif near(got, -want):
            hint = "the sign is flipped: f* is large where the particles are and the target is not"
        elif (
            near(got, (1 + lam) * swapped) or near(got, -(1 + lam) * swapped) or near(got, swapped)
        ):
            hint = (
                "P and Q are swapped: the particles nu enter the linear term E_nu f (P), the "
                "target nu* the exponential term E_nu* exp(f) (Q): kale(X, Y, ...)"
            )
        elif lam != 1 and near(got, (1 + lam) / lam * f):
            hint = _OVER_LAMBDA
        elif words := _scaled_lambda(X, Y, lam, partial(_fv_at, X, Y, k, lam, Z), near, got):
            hint = words
        elif near(got, _mmd_first_variation(X, Y, k, Z)):
            hint = (
                "this is mu_nu - mu_nu*, the MMD flow's first variation: the lambda -> infinity "
                "limit, not KALE at finite lambda"
            )
        else:
            hint = f"values differ from (1 + lam) f* by up to {np.max(np.abs(got - want)):.3g}"
        raise CheckFailed(f"{name}: for lam = {lam}, n = {len(X)}, m = {len(Y)}, {k!r}: {hint}.")
    ok(name, f"all {len(cases)} cases agree with (1 + lam) * kale(X, Y, kernel, lam).witness.")


def check_ex9_2_max_distance(my_max_distance: Callable) -> None:
    """Check ``my_max_distance(X, Y)`` = max_i min_j ||x_i - y_j||: the farthest particle's
    distance to its nearest target point (:func:`kernelflows.kale_flow.max_distance_to_target`).
    """
    name = "check_ex9_2_max_distance"
    rng = np.random.default_rng(92)
    Y0 = rng.normal(size=(8, 2))
    cases = [
        (rng.normal(size=(20, 2)) + 0.5, rng.normal(size=(30, 2))),
        (rng.normal(size=(9, 1)), 3 * rng.normal(size=(4, 1))),
        (rng.normal(size=(6, 3)), rng.normal(size=(15, 3)) + 1.0),
        (np.vstack([Y0[:3], [[4.0, 0.0]]]), Y0),  # particles on the target and one outlier
        (rng.normal(size=(1, 2)), rng.normal(size=(5, 2))),  # one particle
        (Y0[2:6].copy(), Y0),  # every particle on a target point: 0
    ]
    for X, Y in cases:
        got = returned_number(name, call(name, my_max_distance, X.copy(), Y.copy()))
        D = np.sqrt(((X[:, None, :] - Y[None, :, :]) ** 2).sum(-1))
        want = float(D.min(axis=1).max())
        if close(got, want):
            continue
        reverse = float(D.min(axis=0).max())
        if close(got, want**2):
            hint = "you returned a squared distance: take the square root"
        elif close(got, reverse):
            hint = (
                "you measured from the target to the particles: for each particle take its "
                "nearest target point, then the largest of these distances"
            )
        elif close(got, max(want, reverse)):
            hint = "this is the symmetric (Hausdorff) distance: only particles -> target counts"
        elif close(got, float(D.min(axis=1).mean())):
            hint = "you averaged the nearest distances: take the largest (the farthest particle)"
        elif close(got, float(D.min())):
            hint = "you took the smallest distance of all: max over particles of the min over Y"
        elif close(got, float(D.max())):
            hint = "you took the largest distance of all pairs: the inner one is a minimum over Y"
        else:
            hint = f"you returned {got:.6g}, the farthest particle is {want:.6g} from the target"
        raise CheckFailed(f"{name}: for n = {len(X)}, m = {len(Y)}, d = {X.shape[1]}: {hint}.")
    ok(name, f"all {len(cases)} cases agree with max_i min_j ||x_i - y_j||.")


def check_ex9_3_kale_flow_step(my_step: Callable) -> None:
    """Check ``my_step(X, Y, kernel, lam, step)`` = X - step (1 + lam) grad f*(X), shape of X.

    One forward Euler step of the descent flow d_t nu = (1 + lam) div(nu grad f*) (Glaser, Arbel,
    Gretton, NeurIPS 2021; the slide writes the opposite sign, an ascent); compared with the
    witness of :func:`kernelflows.kale` solved to 1e-12.
    """
    name = "check_ex9_3_kale_flow_step"
    n_checked = 0
    for X, Y, k, lam in _kale_cases(93):
        grad = _witness(X, Y, k, lam).grad(X)
        for step in (0.05, 0.5):
            got = returned_array(name, call(name, my_step, X.copy(), Y.copy(), k, lam, step))
            want = X - step * (1 + lam) * grad
            if got.shape != X.shape:
                raise CheckFailed(
                    f"{name}: expected particles of shape {X.shape}, got {got.shape}."
                )
            n_checked += 1

            near = partial(_near, origin=X, scale=float(np.max(np.abs(want - X))))

            if near(got, want):
                continue
            swapped = _witness(Y, X, k, lam).grad(X)
            if near(got, X - step * grad):
                hint = (
                    "the (1 + lambda) factor is missing: the first variation is (1 + lam) f*, "
                    "the velocity -(1 + lam) grad f*"
                )
            elif near(got, X + step * (1 + lam) * grad) or near(got, X + step * grad):
                hint = (
                    "the particles move uphill: that is the slide's d_t nu = -(1 + lam) "
                    "div(nu grad f*), an ascent of the KALE; descend along -(1 + lam) grad f*"
                )
            elif near(got, X - step * (1 + lam) ** 2 * grad):
                hint = "(1 + lambda) appears twice: the velocity is -(1 + lam) grad f*"
            elif any(near(got, X + s * step * c * swapped) for s in (1, -1) for c in (1, 1 + lam)):
                hint = (
                    "P and Q are swapped: the particles are the linear term (P) of the KALE, "
                    "the target the exponential term (Q): kale(X, Y, ...)"
                )
            elif lam != 1 and near(got, X - step * (1 + lam) / lam * grad):
                hint = _OVER_LAMBDA
            elif words := _scaled_lambda(
                X, Y, lam, partial(_step_at, X, Y, k, lam, step), near, got
            ):
                hint = words
            elif near(got, X - step * k.weighted_grad(X, np.vstack([X, Y]), _mmd_weights(X, Y))):
                hint = "this is the MMD flow's step (lambda -> infinity), not the KALE flow's"
            else:
                hint = f"particles differ by up to {np.max(np.abs(got - want)):.3g}"
            raise CheckFailed(
                f"{name}: for lam = {lam}, step {step}, n = {len(X)}, m = {len(Y)}, {k!r}: {hint}."
            )
    ok(name, f"all {n_checked} steps agree with X - step (1 + lam) grad f*(X).")


_OVER_LAMBDA = (
    "a factor 1/lambda too many: (1 + lam) / lam f*. The witness of kale(...) is f* itself, "
    "its 1/lambda is already inside (f* = (mean_i k(x_i, .) - sum_j alpha_j k(y_j, .)) / lam); "
    "the first variation is (1 + lam) f*"
)


def _fv_at(X, Y, k, lam, Z, lam2):
    f = _witness(X, Y, k, lam2)(Z)
    return [(1 + lam) * f, (1 + lam2) * f]


def _step_at(X, Y, k, lam, step, lam2):
    g = _witness(X, Y, k, lam2).grad(X)
    return [X - step * (1 + lam) * g, X - step * (1 + lam2) * g]


def _scaled_lambda(X, Y, lam, candidates_at, near, got) -> str | None:
    """Words for an answer computed with lambda scaled by a sample size (lambda / n, ...):
    ``candidates_at(lam2)`` are the answers with f* solved at lam2 (the factor in front
    (1 + lam) or (1 + lam2)); ``near(a, b)`` compares."""
    n, m = len(X), len(Y)
    scaled = {
        "lambda / n": lam / n, "lambda / m": lam / m, "lambda / (n + m)": lam / (n + m),
        "lambda * n": lam * n, "lambda * m": lam * m,
    }  # fmt: skip
    for words, lam2 in scaled.items():
        if np.isclose(lam2, lam):
            continue
        if any(near(got, v) for v in candidates_at(lam2)):
            return (
                f"f* was computed with {words}: lambda is the penalty's weight as given, "
                "never divided or multiplied by a sample size (the means over nu and nu* "
                "already carry 1/n and 1/m): kale(X, Y, kernel, lam)"
            )
    return None


def _mmd_weights(X, Y):
    return np.r_[np.full(len(X), 1 / len(X)), np.full(len(Y), -1 / len(Y))]


def check_ex9_4_ula_step(my_ula_step: Callable) -> None:
    """Check ``my_ula_step(X, grad_log_density, step, u)``, one step of the KL flow:
    X + step grad log pi(X) + sqrt(2 step) u.

    The Euler-Maruyama step of the Langevin diffusion dX = grad log pi dt + sqrt(2) dW, the
    particle scheme of the KL flow (:func:`kernelflows.kale_flow.kl_flow`); ``u`` holds the
    standard normal draws, shape of X.
    """
    name = "check_ex9_4_ula_step"
    rng = np.random.default_rng(94)
    targets = [
        ("N(m, 0.5 I)", lambda Z: -(Z - np.array([1.0, -0.5])) / 0.5, 2),
        ("the four-mode mixture", mixture_grad_log_density, 2),
        ("N(0, 2) in 1-d", lambda Z: -Z / 2.0, 1),
    ]
    n_checked = 0
    for label, score, d in targets:
        for n, step in ((25, 0.01), (3, 0.2), (1, 3.0)):  # steps with sqrt(step) != step, 2 step
            X = 1.5 * rng.normal(size=(n, d))
            u = rng.normal(size=(n, d))
            got = returned_array(name, call(name, my_ula_step, X.copy(), score, step, u.copy()))
            drift = score(X)
            want = X + step * drift + np.sqrt(2 * step) * u
            if got.shape != X.shape:
                raise CheckFailed(
                    f"{name}: expected particles of shape {X.shape}, got {got.shape}."
                )
            n_checked += 1
            if close(got, want):
                continue
            noise = np.sqrt(2 * step) * u
            if close(got, X - step * drift + noise):
                hint = "the drift climbs log pi: + step grad log pi(X) (- grad of the potential)"
            elif close(got, X + step * drift):
                hint = (
                    "the noise is missing: without it the particles collapse onto the modes "
                    "(gradient ascent on log pi); the entropy of the KL needs the diffusion"
                )
            elif close(got, X + step * drift + np.sqrt(step) * u):
                hint = "the noise is sqrt(step) u: the Langevin diffusion has sqrt(2) dW"
            elif close(got, X + step * drift + step * u) or close(
                got, X + step * drift + 2 * step * u
            ):
                hint = "the noise must scale like sqrt(step), not like step: sqrt(2 step) u"
            elif close(got, X + step * drift + np.sqrt(2) * u):
                hint = "the noise must shrink with the step: sqrt(2 step) u"
            elif close(got, X + step * score(X + noise) + noise):
                hint = "the drift is evaluated at the current X, before the noise is added"
            else:
                hint = f"particles differ by up to {np.max(np.abs(got - want)):.3g}"
            raise CheckFailed(f"{name}: target {label}, step {step}, n = {n}: {hint}.")
    ok(name, f"all {n_checked} steps agree with X + step grad log pi(X) + sqrt(2 step) u.")


def check_ex9_5_newton_step(my_newton_step: Callable) -> None:
    """Check ``my_newton_step(alpha, kbar, K_yy, lam)`` = alpha - H^-1 g (one full Newton step)
    on the KALE dual, g = log(m alpha) - f_alpha(y), f_alpha(y) = (kbar - K_yy alpha) / lam,
    H = diag(1 / alpha) + K_yy / lam (Glaser, Arbel, Gretton, NeurIPS 2021, Section 3; lecture 08).
    """
    name = "check_ex9_5_newton_step"
    rng = np.random.default_rng(95)
    n_checked = 0
    for X, Y, k, lam in _kale_cases(95):
        m = len(Y)
        K = k(Y, Y)
        kbar = k(Y, X).mean(axis=1)
        for alpha in (np.full(m, 1.0 / m), rng.uniform(0.5, 1.5, m) / m):
            got = returned_array(
                name, call(name, my_newton_step, alpha.copy(), kbar.copy(), K.copy(), lam)
            )
            f_y = (kbar - K @ alpha) / lam

            def step_with(g, H, alpha=alpha):
                return alpha - np.linalg.solve(H, g)

            H = np.diag(1 / alpha) + K / lam
            want = step_with(np.log(m * alpha) - f_y, H)
            if got.shape != alpha.shape:
                raise CheckFailed(
                    f"{name}: expected alpha of shape {alpha.shape}, got {got.shape}."
                )
            n_checked += 1
            if close(got, want, rtol=1e-8, atol=1e-12):
                continue
            if close(got, alpha + np.linalg.solve(H, np.log(m * alpha) - f_y)):
                hint = "the step goes uphill: alpha - H^-1 g, with g = log(m alpha) - f_alpha(y)"
            elif close(got, step_with(np.log(alpha) - f_y, H)):
                hint = "the gradient is log(m alpha) - f_alpha(y): the m inside the log is missing"
            elif close(got, step_with(np.log(m * alpha) - f_y, np.diag(1 / alpha) + K)):
                hint = "the Hessian's kernel part is K_yy / lam: the 1 / lam is missing"
            elif close(got, step_with(np.log(m * alpha) - f_y, np.diag(alpha) + K / lam)):
                hint = "the Hessian of sum alpha log(m alpha) is diag(1 / alpha), not diag(alpha)"
            elif close(got, step_with(np.log(m * alpha) - (kbar + K @ alpha) / lam, H)):
                hint = "f_alpha(y) = (kbar - K_yy alpha) / lam: the alpha term is subtracted"
            else:
                hint = f"alpha differs by up to {np.max(np.abs(got - want)):.3g}"
            raise CheckFailed(f"{name}: for lam = {lam}, m = {m}: {hint}.")
    ok(name, f"all {n_checked} Newton steps agree with alpha - H^-1 g.")
