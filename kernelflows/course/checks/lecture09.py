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
from .core import (
    CheckFailed,
    Outcome,
    call,
    ok,
    returned_array,
    returned_number,
    run_cases,
    tolerance,
)

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
    cases = [(*c, 1.5 * rng.normal(size=(7, c[0].shape[1]))) for c in _kale_cases(91)]

    def evaluate(case):
        X, Y, k, lam, Z = case
        got = returned_array(name, call(name, my_first_variation, X.copy(), Y.copy(), k, lam, Z))
        f = _witness(X, Y, k, lam)(Z)
        want = (1 + lam) * f
        if got.shape != want.shape:
            raise CheckFailed(
                f"{name}: expected one value per row of Z, shape {want.shape}; got {got.shape}."
            )

        def mistakes():
            swapped = _witness(Y, X, k, lam)(Z)
            said_swapped = (
                "P and Q are swapped: the particles nu enter the linear term E_nu f (P), the "
                "target nu* the exponential term E_nu* exp(f) (Q): kale(X, Y, ...)"
            )
            said_exp = (
                "you returned exp(f*) where the first variation needs f* itself: exp(f*) is the "
                "density ratio that the dual coefficients estimate (m alpha_i = exp(f*(y_i)))"
            )
            return [
                (f, "the (1 + lambda) in front is missing: KALE = (1 + lam) max_f K(f, nu), and "
                 "the envelope argument differentiates only E_nu f, leaving (1 + lam) f*"),
                ((1 + lam) ** 2 * f, "(1 + lambda) appears twice: the first variation is "
                 "(1 + lam) f*"),
                (-want, "the sign is flipped: f* is large where the particles are and the "
                 "target is not"),
                ((1 + lam) * swapped, said_swapped),
                (-(1 + lam) * swapped, said_swapped),
                (swapped, said_swapped),
                ((1 + lam) / lam * f if lam != 1 else None, _OVER_LAMBDA),
                ((1 + lam) * np.exp(f), said_exp),
                (np.exp(f), said_exp),
                *_scaled_lambda(X, Y, lam, partial(_fv_at, X, Y, k, lam, Z)),
                (_mmd_first_variation(X, Y, k, Z), "this is mu_nu - mu_nu*, the MMD flow's "
                 "first variation: the lambda -> infinity limit, not KALE at finite lambda"),
            ]  # fmt: skip

        return Outcome(
            got, want, f"for lam = {lam}, n = {len(X)}, m = {len(Y)}, {k!r}", mistakes,
            params={"1 + lambda": 1 + lam, "lambda": lam}, sizes={"n": len(X), "m": len(Y)},
            same=partial(_near, scale=float(np.max(np.abs(want)))),
        )  # fmt: skip

    def generic(outcome):
        err = np.max(np.abs(outcome.got - outcome.want))
        return f"values differ from (1 + lam) f* by up to {err:.3g}"

    count = run_cases(name, cases, evaluate, generic)
    ok(name, f"all {count} cases agree with (1 + lam) * kale(X, Y, kernel, lam).witness.")


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

    def evaluate(case):
        X, Y = case
        got = returned_number(name, call(name, my_max_distance, X.copy(), Y.copy()))
        diff = X[:, None, :] - Y[None, :, :]
        D = np.sqrt((diff**2).sum(-1))
        want = float(D.min(axis=1).max())

        def mistakes():
            reverse = float(D.min(axis=0).max())
            return [
                (want**2, "you returned a squared distance: take the square root"),
                (reverse, "you measured from the target to the particles: for each particle "
                 "take its nearest target point, then the largest of these distances"),
                (max(want, reverse), "this is the symmetric (Hausdorff) distance: only "
                 "particles -> target counts"),
                (float(D.min(axis=1).mean()), "you averaged the nearest distances: take the "
                 "largest (the farthest particle)"),
                (float(D.min()), "you took the smallest distance of all: max over particles of "
                 "the min over Y"),
                (float(D.max()), "you took the largest distance of all pairs: the inner one is "
                 "a minimum over Y"),
                (float(np.abs(diff).sum(-1).min(axis=1).max()), "use Euclidean distances, not "
                 "the sum of the absolute coordinates"),
            ]  # fmt: skip

        where = f"for n = {len(X)}, m = {len(Y)}, d = {X.shape[1]}"
        return Outcome(got, want, where, mistakes, sizes={"n": len(X), "m": len(Y)})

    def generic(outcome):
        return (
            f"you returned {outcome.got:.6g}, the farthest particle is {outcome.want:.6g} from "
            "the target"
        )

    count = run_cases(name, cases, evaluate, generic)
    ok(name, f"all {count} cases agree with max_i min_j ||x_i - y_j||.")


def check_ex9_3_kale_flow_step(my_step: Callable) -> None:
    """Check ``my_step(X, Y, kernel, lam, step)`` = X - step (1 + lam) grad f*(X), shape of X.

    One forward Euler step of the descent flow d_t nu = (1 + lam) div(nu grad f*) (Glaser, Arbel,
    Gretton, NeurIPS 2021; the slide writes the opposite sign, an ascent); compared with the
    witness of :func:`kernelflows.kale` solved to 1e-12.
    """
    name = "check_ex9_3_kale_flow_step"
    cases = [(*c, step) for c in _kale_cases(93) for step in (0.05, 0.5)]

    def evaluate(case):
        X, Y, k, lam, step = case
        grad = _witness(X, Y, k, lam).grad(X)
        got = returned_array(name, call(name, my_step, X.copy(), Y.copy(), k, lam, step))
        want = X - step * (1 + lam) * grad
        if got.shape != X.shape:
            raise CheckFailed(f"{name}: expected particles of shape {X.shape}, got {got.shape}.")

        def mistakes():
            swapped = _witness(Y, X, k, lam).grad(X)
            uphill = (
                "the particles move uphill: that is the slide's d_t nu = -(1 + lam) div(nu grad "
                "f*), an ascent of the KALE; descend along -(1 + lam) grad f*"
            )
            said_swapped = (
                "P and Q are swapped: the particles are the linear term (P) of the KALE, the "
                "target the exponential term (Q): kale(X, Y, ...)"
            )
            mmd_step = X - step * k.weighted_grad(X, np.vstack([X, Y]), _mmd_weights(X, Y))
            return [
                (X - step * grad, "the (1 + lambda) factor is missing: the first variation is "
                 "(1 + lam) f*, the velocity -(1 + lam) grad f*"),
                (X + step * (1 + lam) * grad, uphill),
                (X + step * grad, uphill),
                (X - step * (1 + lam) ** 2 * grad, "(1 + lambda) appears twice: the velocity is "
                 "-(1 + lam) grad f*"),
                *[(X + sign * step * c * swapped, said_swapped)
                  for sign in (1, -1) for c in (1, 1 + lam)],
                (X - step * (1 + lam) / lam * grad if lam != 1 else None, _OVER_LAMBDA),
                *_scaled_lambda(X, Y, lam, partial(_step_at, X, Y, k, lam, step)),
                (mmd_step, "this is the MMD flow's step (lambda -> infinity), not the KALE "
                 "flow's"),
            ]  # fmt: skip

        return Outcome(
            got, want, f"for lam = {lam}, step {step}, n = {len(X)}, m = {len(Y)}, {k!r}",
            mistakes, origin=X, params={"1 + lambda": 1 + lam, "lambda": lam, "gamma": step},
            same=partial(_near, origin=X, scale=float(np.max(np.abs(want - X)))),
        )  # fmt: skip

    def generic(outcome):
        return f"particles differ by up to {np.max(np.abs(outcome.got - outcome.want)):.3g}"

    count = run_cases(name, cases, evaluate, generic)
    ok(name, f"all {count} steps agree with X - step (1 + lam) grad f*(X).")


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


def _scaled_lambda(X, Y, lam, answers_at) -> list:
    """The answers computed with lambda scaled by a sample size (lambda / n, ...), as mistakes:
    ``answers_at(lam2)`` are the answers with f* solved at lam2 (the factor in front (1 + lam)
    or (1 + lam2))."""
    n, m = len(X), len(Y)
    scaled = {
        "lambda / n": lam / n, "lambda / m": lam / m, "lambda / (n + m)": lam / (n + m),
        "lambda * n": lam * n, "lambda * m": lam * m,
    }  # fmt: skip
    listed = []
    for words, lam2 in scaled.items():
        said = (
            f"f* was computed with {words}: lambda is the penalty's weight as given, never "
            "divided or multiplied by a sample size (the means over nu and nu* already carry "
            "1/n and 1/m): kale(X, Y, kernel, lam)"
        )
        values = answers_at(lam2) if not np.isclose(lam2, lam) else [None, None]
        listed += [(v, said) for v in values]
    return listed


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
    cases = []
    for label, score, d in targets:
        for n, step in ((25, 0.01), (3, 0.2), (1, 3.0)):  # steps with sqrt(step) != step, 2 step
            X = 1.5 * rng.normal(size=(n, d))
            cases.append((label, score, X, step, rng.normal(size=(n, d))))

    def evaluate(case):
        label, score, X, step, u = case
        got = returned_array(name, call(name, my_ula_step, X.copy(), score, step, u.copy()))
        drift = score(X)
        noise = np.sqrt(2 * step) * u
        want = X + step * drift + noise
        if got.shape != X.shape:
            raise CheckFailed(f"{name}: expected particles of shape {X.shape}, got {got.shape}.")

        def mistakes():
            like_step = "the noise must scale like sqrt(step), not like step: sqrt(2 step) u"
            return [
                (X - step * drift + noise, "the drift climbs log pi: + step grad log pi(X) "
                 "(- grad of the potential)"),
                (X + step * drift, "the noise is missing: without it the particles collapse "
                 "onto the modes (gradient ascent on log pi); the entropy of the KL needs the "
                 "diffusion"),
                (X + step * drift + np.sqrt(step) * u, "the noise is sqrt(step) u: the Langevin "
                 "diffusion has sqrt(2) dW"),
                (X + step * drift + step * u, like_step),
                (X + step * drift + 2 * step * u, like_step),
                (X + step * drift + np.sqrt(2) * u, "the noise must shrink with the step: "
                 "sqrt(2 step) u"),
                (X + step * score(X + noise) + noise, "the drift is evaluated at the current X, "
                 "before the noise is added"),
            ]  # fmt: skip

        where = f"target {label}, step {step}, n = {len(X)}"
        return Outcome(got, want, where, mistakes, origin=X, params={"gamma": step})

    def generic(outcome):
        return f"particles differ by up to {np.max(np.abs(outcome.got - outcome.want)):.3g}"

    count = run_cases(name, cases, evaluate, generic)
    ok(name, f"all {count} steps agree with X + step grad log pi(X) + sqrt(2 step) u.")


def check_ex9_5_newton_step(my_newton_step: Callable) -> None:
    """Check ``my_newton_step(alpha, kbar, K_yy, lam)`` = alpha - H^-1 g (one full Newton step)
    on the KALE dual, g = log(m alpha) - f_alpha(y), f_alpha(y) = (kbar - K_yy alpha) / lam,
    H = diag(1 / alpha) + K_yy / lam (Glaser, Arbel, Gretton, NeurIPS 2021, Section 3; lecture 08).
    """
    name = "check_ex9_5_newton_step"
    rng = np.random.default_rng(95)
    cases = []
    for X, Y, k, lam in _kale_cases(95):
        m = len(Y)
        K, kbar = k(Y, Y), k(Y, X).mean(axis=1)
        for alpha in (np.full(m, 1.0 / m), rng.uniform(0.5, 1.5, m) / m):
            cases.append((alpha, kbar, K, lam))

    def evaluate(case):
        alpha, kbar, K, lam = case
        m = len(alpha)
        got = returned_array(
            name, call(name, my_newton_step, alpha.copy(), kbar.copy(), K.copy(), lam)
        )
        if got.shape != alpha.shape:
            raise CheckFailed(f"{name}: expected alpha of shape {alpha.shape}, got {got.shape}.")
        f_y = (kbar - K @ alpha) / lam
        g = np.log(m * alpha) - f_y
        H = np.diag(1 / alpha) + K / lam

        def step_with(g, H):
            return alpha - np.linalg.solve(H, g)

        want = step_with(g, H)

        def mistakes():
            full = want - alpha
            t = float((got - alpha) @ full / (full @ full)) if np.any(full) else 0.0
            return [
                (alpha + np.linalg.solve(H, g), "the step goes uphill: alpha - H^-1 g, with "
                 "g = log(m alpha) - f_alpha(y)"),
                (alpha + t * full if 0 < t < 1 else None, f"this is a damped Newton step, {t:.3g} "
                 "of the full one: the exercise asks for one full step (a damped step or a line "
                 "search belongs to the solver, not to this step)"),
                (step_with(np.log(alpha) - f_y, H), "the gradient is log(m alpha) - f_alpha(y): "
                 "the m inside the log is missing"),
                (step_with(g, np.diag(1 / alpha) + K), "the Hessian's kernel part is K_yy / lam: "
                 "the 1 / lam is missing"),
                (step_with(g, np.diag(alpha) + K / lam), "the Hessian of sum alpha log(m alpha) "
                 "is diag(1 / alpha), not diag(alpha)"),
                (step_with(np.log(m * alpha) - (kbar + K @ alpha) / lam, H), "f_alpha(y) = "
                 "(kbar - K_yy alpha) / lam: the alpha term is subtracted"),
                (alpha - g, "you took a gradient step, alpha - g: Newton's step solves with the "
                 "Hessian, alpha - H^-1 g"),
                (step_with(g, np.diag(1 / alpha)), "the Hessian's kernel part K_yy / lam is "
                 "missing"),
            ]  # fmt: skip

        return Outcome(got, want, f"for lam = {lam}, m = {m}", mistakes, origin=alpha,
                       sizes={"m": m}, params={"lambda": lam},
                       same=tolerance(1e-8, 1e-12))  # fmt: skip

    def generic(outcome):
        return f"alpha differs by up to {np.max(np.abs(outcome.got - outcome.want)):.3g}"

    count = run_cases(name, cases, evaluate, generic)
    ok(name, f"all {count} Newton steps agree with alpha - H^-1 g.")
