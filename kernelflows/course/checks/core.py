"""The core checks: Gram matrix, MMD^2, witness, one MMD flow step, KALE; and the helpers
that the lecture checks share (:func:`call`, :func:`close`, :func:`ok`)."""

from __future__ import annotations

from collections.abc import Callable

import numpy as np

from ...divergences import mmd2
from ...kernels import GaussianKernel, Kernel, LaplaceKernel
from ...measures import witness

__all__ = [
    "CheckFailed",
    "NotImplementedYet",
    "check_gram",
    "check_mmd2",
    "check_witness",
    "check_mmd_flow_step",
    "check_kale",
]


class CheckFailed(AssertionError):
    """The implementation disagrees with the package; the message says how."""


class NotImplementedYet(CheckFailed):
    """The implementation is still the stub that raises NotImplementedError."""


def call(name: str, fn: Callable, *args, **kwargs):
    try:
        return fn(*args, **kwargs)
    except NotImplementedError as exc:
        raise NotImplementedYet(
            f"{name}: your function still raises NotImplementedError (the exercise stub). "
            "Write your solution in the cell above, run it, then run this check again."
        ) from exc


def close(a, b, rtol=1e-7, atol=1e-10) -> bool:
    a, b = np.asarray(a, dtype=float), np.asarray(b, dtype=float)
    return a.shape == b.shape and bool(np.allclose(a, b, rtol=rtol, atol=atol))


def returned_array(name: str, value, what: str = "your function") -> np.ndarray:
    """``value`` as a float array; None, non-numbers and NaN/inf raise :class:`CheckFailed`."""
    if value is None:
        raise CheckFailed(f"{name}: {what} returned None: is the `return` line missing?")
    try:
        arr = np.asarray(value, dtype=float)
    except (TypeError, ValueError) as exc:
        raise CheckFailed(
            f"{name}: {what} returned a {type(value).__name__}, not numbers: {exc}"
        ) from exc
    if not np.all(np.isfinite(arr)):
        raise CheckFailed(f"{name}: {what} returned NaN or inf: {np.round(arr, 6).tolist()}")
    return arr


def returned_number(name: str, value, what: str = "your function") -> float:
    """One finite number from ``value`` (see :func:`returned_array`)."""
    return as_float(name, returned_array(name, value, what))


def as_float(name: str, value) -> float:
    if value is None:
        raise CheckFailed(f"{name}: your function returned None: is the `return` line missing?")
    arr = np.asarray(value, dtype=float)
    if arr.size != 1:
        raise CheckFailed(f"{name}: expected one number, got an array of shape {arr.shape}")
    return float(arr.reshape(()))


def sample_cases(seed: int = 0):
    """(X, Y, kernel) cases: n != m, d = 1 and 2, two kernels, and the smallest sizes."""
    rng = np.random.default_rng(seed)
    return [
        (rng.normal(size=(12, 2)), rng.normal(size=(12, 2)) + 0.5, GaussianKernel(1.0)),
        (rng.normal(size=(15, 2)), rng.normal(size=(9, 2)) * 1.5, GaussianKernel(0.7)),
        (rng.normal(size=(9, 1)), rng.laplace(size=(14, 1)), LaplaceKernel(1.3)),
        (rng.normal(size=(2, 2)), rng.normal(size=(3, 2)), GaussianKernel(2.0)),
        (rng.normal(size=(30, 3)), rng.normal(size=(25, 3)), GaussianKernel(1.5)),
        (rng.normal(size=(7, 2)), rng.normal(size=(7, 2)) - 1, LaplaceKernel(0.5)),
    ]


def first_hint(got, candidates, default: str, want=None) -> str:
    """The text of the first ``(value, text)`` candidate whose value ``got`` matches, skipping
    candidates that coincide with the right answer ``want``; ``default`` when none matches."""
    for value, text in candidates:
        if close(got, value) and (want is None or not close(value, want)):
            return text
    return default


def ok(name: str, message: str) -> None:
    print(f"{name}: {message}")


def check_gram(my_gram: Callable[[np.ndarray, np.ndarray, Kernel], np.ndarray]) -> None:
    """Check ``my_gram(X, Y, kernel)`` returns the (n, m) matrix K[i, j] = k(x_i, y_j)."""
    name = "check_gram"
    for X, Y, k in sample_cases():
        got = np.asarray(call(name, my_gram, X, Y, k), dtype=float)
        want = k(X, Y)
        if got.shape == want.T.shape and close(got, want.T) and not close(got, want):
            raise CheckFailed(
                f"{name}: your matrix is transposed: K[i, j] must be k(x_i, y_j), one row per x "
                f"and one column per y (shape {want.shape} for n={len(X)}, m={len(Y)})."
            )
        if got.shape != want.shape:
            raise CheckFailed(
                f"{name}: expected shape {want.shape} for n={len(X)}, m={len(Y)}, got {got.shape}."
            )
        if not close(got, want):
            raise CheckFailed(
                f"{name}: entries differ from k(x_i, y_j), largest error "
                f"{np.max(np.abs(got - want)):.3g} (kernel {k!r})."
            )
    ok(name, "all cases agree with kernel(X, Y).")


def mmd2_mistakes(got: float, estimator: str, Kxx, Kyy, Kxy, sizes=("n", "m")) -> list[str]:
    """Plain-words hints for an MMD^2 estimate ``got`` that misses the ``estimator`` value
    computed from the Gram blocks; ``sizes`` names the two sample sizes in the messages."""
    n, m = len(Kxx), len(Kyy)
    a, b = sizes
    within = {
        "biased": Kxx.mean() + Kyy.mean(),
        "unbiased": (Kxx.sum() - np.trace(Kxx)) / (n * (n - 1))
        + (Kyy.sum() - np.trace(Kyy)) / (m * (m - 1)),
    }
    values = {e: v - 2 * Kxy.mean() for e, v in within.items()}
    want = values[estimator]
    hints = []
    if estimator == "unbiased" and close(got, values["biased"]):
        hints.append(
            "this is the biased V-statistic: the unbiased U-statistic leaves out the i = j terms "
            f"of the within-sample sums and divides them by {a}({a}-1) and {b}({b}-1)"
        )
    if estimator == "biased" and close(got, values["unbiased"]):
        hints.append("this is the unbiased U-statistic: the V-statistic keeps the i = j terms")
    mixed = (Kxx.sum() - np.trace(Kxx)) / n**2 + (Kyy.sum() - np.trace(Kyy)) / m**2
    if close(got, mixed - 2 * Kxy.mean()):
        hints.append(f"you dropped the diagonal but still divided by {a}^2: use {a}({a}-1)")
    if close(got, want + 2 * Kxy.mean()) or close(got, want + Kxy.mean()):
        hints.append("the cross term carries a factor 2: subtract 2 mean k(x, y)")
    if close(got, -want):
        hints.append("the sign is flipped")
    if close(got, np.sqrt(abs(want))):
        hints.append("you returned MMD, not MMD^2")
    return hints


def check_mmd2(my_mmd2: Callable, estimator: str = "unbiased") -> None:
    """Check ``my_mmd2(X, Y, kernel)`` against ``kernelflows.mmd2(X, Y, kernel, estimator)``."""
    name = "check_mmd2"
    cases = sample_cases()
    for X, Y, k in cases:
        got = as_float(name, call(name, my_mmd2, X, Y, k))
        want = mmd2(X, Y, k, estimator=estimator)
        if close(got, want):
            continue
        n, m = len(X), len(Y)
        hints = mmd2_mistakes(got, estimator, k(X), k(Y), k(X, Y))
        if n != m and not hints:
            try:
                sq = mmd2(X[: min(n, m)], Y[: min(n, m)], k, estimator=estimator)
            except ValueError:
                sq = np.nan
            if close(got, sq):
                hints.append("you assumed n = m: X and Y may have different sizes")
            else:
                hints.append(f"wrong for n = {n} != m = {m}: use n for X's sums, m for Y's")
        hint = "; ".join(hints) if hints else "no common mistake matches; compare term by term"
        raise CheckFailed(
            f"{name}: for n={n}, m={m}, d={X.shape[1]}, {k!r} you returned {got:.6g} but the "
            f"{estimator} estimate is {want:.6g}: {hint}."
        )
    ok(name, f"all {len(cases)} cases agree with kernelflows.mmd2 ({estimator}).")


def check_witness(my_witness: Callable) -> None:
    """Check ``my_witness(X, Y, kernel)`` returns a callable z -> mu_P(z) - mu_Q(z)."""
    name = "check_witness"
    rng = np.random.default_rng(1)
    for X, Y, k in sample_cases():
        Z = rng.normal(size=(6, X.shape[1])) * 1.5
        f = call(name, my_witness, X, Y, k)
        if not callable(f):
            raise CheckFailed(f"{name}: my_witness should return a function of z, got {type(f)}")
        got = np.asarray(call(name, f, Z), dtype=float).reshape(-1)
        want = witness(X, Y, k)(Z)
        if close(got, want):
            continue
        if close(got, -want):
            raise CheckFailed(
                f"{name}: the sign is flipped: the witness is mu_P - mu_Q, "
                "positive where P has more mass."
            )
        if close(got, k(Z, X).sum(1) - k(Z, Y).sum(1)):
            raise CheckFailed(
                f"{name}: you summed the kernels; the mean embedding averages "
                "them (divide by n and by m)."
            )
        nrm = witness(X, Y, k).norm()
        if nrm > 0 and close(got, want / nrm):
            raise CheckFailed(
                f"{name}: you normalised the witness; here it is mu_P - mu_Q "
                "without dividing by its norm."
            )
        raise CheckFailed(
            f"{name}: values differ from mu_P(z) - mu_Q(z) by up to "
            f"{np.max(np.abs(got - want)):.3g} ({k!r})."
        )
    ok(name, "all cases agree with kernelflows.witness.")


def _reference_flow_step(X, Y, k, step):
    """X - step grad f(X), f = mu_nu - mu_nu* (first variation of 1/2 MMD^2(nu, nu*))."""
    n, m = len(X), len(Y)
    grad = k.weighted_grad(X, X, np.full(n, 1 / n)) - k.weighted_grad(X, Y, np.full(m, 1 / m))
    return X - step * grad


def check_mmd_flow_step(my_step: Callable) -> None:
    """Check ``my_step(X, Y, kernel, step)`` returns the particles after one MMD flow step.

    The step is forward Euler on F = 1/2 MMD^2(nu, nu*): X <- X - step grad f(X) with
    f = mu_nu - mu_nu* (particles X, target samples Y).
    """
    name = "check_mmd_flow_step"
    for X, Y, k in sample_cases(2):
        for step in (0.1, 1.0):
            got = np.asarray(call(name, my_step, X.copy(), Y, k, step), dtype=float)
            want = _reference_flow_step(X, Y, k, step)
            if got.shape != X.shape:
                raise CheckFailed(
                    f"{name}: expected particles of shape {X.shape}, got {got.shape}."
                )
            if close(got, want):
                continue
            if close(got, 2 * X - want):
                raise CheckFailed(
                    f"{name}: the velocity has the wrong sign: particles must move "
                    "along -grad f (downhill), attracted by the data."
                )
            if close(got, _reference_flow_step(X, Y, k, 2 * step)):
                raise CheckFailed(
                    f"{name}: your step is twice too large: the slide's f carries a "
                    "factor 2; here F = 1/2 MMD^2 and f = mu_nu - mu_nu*."
                )
            if close(got, 2 * X - _reference_flow_step(X, Y, k, 2 * step)):
                raise CheckFailed(
                    f"{name}: this is the slide's first variation 2 (mu_nu* - mu_nu) taken "
                    "as it stands: both its sign and its factor 2 are off. Here F = 1/2 MMD^2, "
                    "f = mu_nu - mu_nu*, and the particles move along -grad f."
                )
            n, m = len(X), len(Y)
            summed = X - step * (
                k.weighted_grad(X, X, np.ones(n)) - k.weighted_grad(X, Y, np.ones(m))
            )
            if close(got, summed) or close(got, 2 * X - summed):
                raise CheckFailed(
                    f"{name}: you summed the kernel gradients: mu_nu and mu_nu* are means, "
                    f"so divide the sum over the particles by n = {n} and the sum over the "
                    f"target by m = {m}."
                )
            no_interaction = X + step * k.weighted_grad(X, Y, np.full(len(Y), 1 / len(Y)))
            if close(got, no_interaction):
                raise CheckFailed(
                    f"{name}: only the attraction to the data is there: add the "
                    "repulsion between particles (the interaction term)."
                )
            raise CheckFailed(
                f"{name}: particles differ from the reference step by up to "
                f"{np.max(np.abs(got - want)):.3g} (step {step}, {k!r})."
            )
    ok(name, "all cases agree with one forward Euler step of the MMD flow.")


def check_kale(my_kale: Callable, lam: float | None = None) -> None:
    """Check ``my_kale(P, Q, kernel, lam)`` against ``kernelflows.kale`` (P linear, Q exp term).

    KALE_lam(P || Q) = (1 + lam) max_f E_P f + 1 - E_Q exp(f) - lam/2 ||f||^2. Without ``lam``
    the check runs lam = 0.5 and 3: at lam = 1 a missing (1 + lam) would look like any
    factor 2, so values other than 1 tell the mistakes apart.
    """
    from ...divergences import kale  # imported here: the KALE solver is a separate lecture

    name = "check_kale"
    lams = (0.5, 3.0) if lam is None else (float(lam),)
    rng = np.random.default_rng(3)
    # n != m, d = 1 and 2, two kernels; small enough for a student's generic optimiser
    cases = [
        (rng.normal(size=(20, 1)), rng.normal(size=(25, 1)) + 1.0, GaussianKernel(1.0)),
        (rng.normal(size=(10, 1)), rng.laplace(size=(7, 1)) - 0.5, LaplaceKernel(1.2)),
        (rng.normal(size=(12, 2)), rng.normal(size=(16, 2)) + [0.8, -0.4], LaplaceKernel(1.0)),
    ]

    def inner(P, Q, k, penalty):  # max_f E_P f + 1 - E_Q e^f - penalty/2 ||f||^2
        return kale(P, Q, k, lam=penalty, tol=1e-12).value / (1 + penalty)

    for lam_ in lams:
        for P, Q, k in cases:
            got = as_float(name, call(name, my_kale, P, Q, k, lam_))
            want = kale(P, Q, k, lam=lam_, tol=1e-12).value
            if close(got, want, rtol=1e-4, atol=1e-8):
                continue
            raise CheckFailed(f"{name}: {_kale_hint(got, want, P, Q, k, lam_, inner)}")
    ok(name, f"all {len(cases)} cases agree with kernelflows.kale (lambda = "
       f"{', '.join(f'{v:g}' for v in lams)}).")  # fmt: skip


def _kale_hint(got, want, P, Q, k, lam, inner) -> str:
    """Plain words for a KALE value ``got`` that misses ``want`` (mistakes tried in turn)."""
    from ...divergences import kale

    n, m = len(P), len(Q)
    where = f"lambda = {lam:g}, n = {n}, m = {m}, {k!r}"

    def near(value):
        return close(got, value, rtol=1e-4, atol=1e-8) and not close(value, want, rtol=1e-4)

    if near(want / (1 + lam)):
        return f"the (1 + lambda) factor in front is missing ({where})."
    if near(kale(Q, P, k, lam=lam, tol=1e-12).value):
        return (
            "P and Q are swapped: P enters the linear term E_P f, Q the exponential term "
            f"E_Q exp(f) ({where})."
        )
    if near(want - (1 + lam)):
        return f"the + 1 inside the bracket is missing ({where})."
    if near((1 + lam) * inner(P, Q, k, 2 * lam)) or near((1 + 2 * lam) * inner(P, Q, k, 2 * lam)):
        return (
            f"the penalty is lambda/2 ||f||^2: you used lambda ||f||^2, without the 1/2 ({where})."
        )
    scaled = {
        "lambda / (n + m)": lam / (n + m), "lambda * n": lam * n, "lambda / n": lam / n,
        "lambda * m": lam * m, "lambda / m": lam / m, "lambda * (n + m)": lam * (n + m),
    }  # fmt: skip
    for words, penalty in scaled.items():
        value = inner(P, Q, k, penalty)
        if near((1 + lam) * value) or near((1 + penalty) * value):
            return (
                f"your penalty is {words}: lambda is not scaled by the sample size, the "
                "penalty is lambda/2 ||f||^2 with lambda as given, and the means E_P, E_Q "
                f"already divide by n and m ({where})."
            )
    return f"you returned {got:.6g}, KALE is {want:.6g} ({where})."
