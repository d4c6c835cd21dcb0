"""The core checks: Gram matrix, MMD^2, witness, one MMD flow step, KALE; and what every check
shares: calling the student's function (:func:`call`), comparing (:func:`close`), and naming the
mistake (:func:`run_cases`, :class:`Outcome`, :func:`diagnose`).

How a check names a mistake. Each case of a check gives an :class:`Outcome`: the answer, the right
answer, and the values that the likely mistakes would give on that case, each with its words.
At the first case the answer gets wrong, :func:`diagnose` looks in turn for

1. a listed mistake that the answer matches on that case and on every other case where the
   mistake is visible (a hint must be true of the answer it is given for: "multiply by the step"
   is not said of an answer that is twice too large because the failing case has step 1/2);
2. the ratio of the answer to the right one, when it is the same everywhere (on every entry of an
   array, on every case for a number), named when it is a factor such as 2, 1/2, n/(n-1), 1/N or
   sqrt(N) in the case's sizes or parameters (the same name on every case);
3. for an answer that is a sum of terms (attraction and repulsion, the two mean embeddings), which
   term is off and by what factor, from a least-squares fit of the answer on the terms.

The words never state the reference formula: a student reads them.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from functools import partial
from itertools import combinations

import numpy as np

from ...divergences import mmd2
from ...kernels import GaussianKernel, Kernel, LaplaceKernel
from ...measures import witness
from ..wire import ProtocolError

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


def tolerance(rtol: float = 1e-7, atol: float = 1e-10) -> Callable[[object, object], bool]:
    """A comparison :func:`close` with these tolerances, for :class:`Outcome`'s ``same``."""
    return partial(close, rtol=rtol, atol=atol)


def exactly(a, b) -> bool:
    """Equality, for answers that are counts."""
    return bool(np.all(np.asarray(a) == np.asarray(b)))


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


def ok(name: str, message: str) -> None:
    print(f"{name}: {message}")


# ---------------------------------------------------------------------------------------------
# naming the mistake

#: (value the mistake gives on this case, or None where it does not apply; its words)
Mistake = tuple[object, str]


@dataclass
class Outcome:
    """One case of a check: the answer ``got``, the right answer ``want`` and the means to name
    what is wrong.

    ``where`` describes the case for the message. ``mistakes`` (a function, called only when
    needed) lists the values the likely mistakes give on this case, in the same order on every
    case. ``sizes`` (n, m, N, d, ...) and ``params`` (gamma, beta, 1 + lambda, ...) are what a
    ratio may be named after. ``origin``: compare ``got - origin`` with ``want - origin`` (the
    displacement of particles after a step). ``terms`` (a function) gives ``{words: (T, c)}``
    with ``want - origin = sum c T``. ``same(a, b)`` decides agreement (default :func:`close`).
    """

    got: object
    want: object
    where: str = ""
    mistakes: Callable[[], Sequence[Mistake]] | None = None
    sizes: Mapping[str, float] = field(default_factory=dict)
    params: Mapping[str, float] = field(default_factory=dict)
    origin: object = None
    terms: Callable[[], Mapping[str, tuple[np.ndarray, float]]] | None = None
    same: Callable[[object, object], bool] = close
    case: object = None  # set by run_cases: the case this is the outcome of
    _listed: list | None = field(default=None, repr=False)

    def agrees(self) -> bool:
        return self.same(self.got, self.want)

    def listed(self) -> Sequence[Mistake]:
        if self._listed is None:
            self._listed = list(self.mistakes()) if self.mistakes is not None else []
        return self._listed

    def ratio(self) -> float | None:
        """got / want when that is one number on every entry (displacements from ``origin``)."""
        a, b = _displacement(self.got, self.origin), _displacement(self.want, self.origin)
        if a is None or b is None or a.shape != b.shape or not np.any(b):
            return None
        if not (np.all(np.isfinite(a)) and np.all(np.isfinite(b))):
            return None
        r = float(a.ravel() @ b.ravel() / (b.ravel() @ b.ravel()))
        scale = float(np.max(np.abs(b)))
        if np.max(np.abs(a - r * b)) > 1e-6 * max(scale, abs(r) * scale) + 1e-12:
            return None
        return r


def when(holds: bool, got):
    """The value of a mistake recognised by a property of the answer rather than by a value of
    its own (a slope near 0, a value near 0): the answer itself where the property holds, else
    None (the mistake does not apply)."""
    return got if holds else None


def _displacement(value, origin):
    try:
        a = np.asarray(value, dtype=float)
        return a if origin is None else a - np.asarray(origin, dtype=float)
    except (TypeError, ValueError):
        return None


def _factors(sizes: Mapping[str, float], params: Mapping[str, float]):
    """(name, value, value shown) of every factor a ratio may be named by: small constants, the
    sizes and their usual combinations, the parameters; then the same with a minus sign."""
    rows = [("2", 2.0, ""), ("1/2", 0.5, ""), ("4", 4.0, ""), ("1/4", 0.25, ""),
            ("sqrt(2)", np.sqrt(2), ""), ("1/sqrt(2)", np.sqrt(0.5), ""), ("3", 3.0, ""),
            ("1/3", 1 / 3, "")]  # fmt: skip
    for a, v in sizes.items():
        if v <= 1:
            continue
        rows += [
            (a, v, f"{v:g}"), (f"1/{a}", 1 / v, f"1/{v:g}"),
            (f"{a}/({a}-1)", v / (v - 1), f"{v:g}/{v - 1:g}"),
            (f"({a}-1)/{a}", (v - 1) / v, f"{v - 1:g}/{v:g}"),
            (f"sqrt({a})", np.sqrt(v), f"sqrt({v:g})"), (f"1/sqrt({a})", v**-0.5, f"1/sqrt({v:g})"),
            (f"{a}^2", v**2, f"{v**2:g}"), (f"1/{a}^2", v**-2, f"1/{v**2:g}"),
            (f"2/{a}", 2 / v, f"2/{v:g}"), (f"{a} - 1", v - 1, f"{v - 1:g}"),
        ]  # fmt: skip
    for (a, v), (b, w) in combinations([(a, v) for a, v in sizes.items() if v > 1], 2):
        rows += [
            (f"{a}/{b}", v / w, f"{v:g}/{w:g}"), (f"{b}/{a}", w / v, f"{w:g}/{v:g}"),
            (f"{a} {b}", v * w, f"{v * w:g}"), (f"1/({a} {b})", 1 / (v * w), f"1/{v * w:g}"),
        ]  # fmt: skip
    for p, v in params.items():
        if v == 0 or v == 1:
            continue
        inv = f"1/{p}" if p.replace("_", "").isalnum() else f"1/({p})"
        rows += [(p, v, f"{v:g}"), (inv, 1 / v, f"1/{v:g}")]
    rows = [("-1", -1.0, ""), ("0", 0.0, "")] + rows
    return rows + [(f"-{n}", -v, f"-{s}" if s else "") for n, v, s in rows[2:]]


def _factor_value(name, sizes, params) -> float | None:
    for n, v, _ in _factors(sizes, params):
        if n == name:
            return v
    return None


def _equal(r: float, v: float) -> bool:
    return abs(r - v) <= 1e-6 * max(abs(v), 1e-3) + 1e-12


def factor_name(r: float, sizes: Mapping[str, float] = {}, params: Mapping[str, float] = {}):
    """The names of ``r`` among :func:`_factors`, simplest first ("2", "n/(n-1) = 30/29")."""
    return [(n, s) for n, v, s in _factors(sizes, params) if _equal(r, v)]


def _shown(name: str, value: str) -> str:
    return f"{name} = {value}" if value and value != name else name


def _ratio_words(first: Outcome, others: Sequence[Outcome]) -> str | None:
    """ "your answer is <factor> times the right one" when the ratio is a constant: named when a
    name fits every case (on a case the answer gets right, the factor must be 1 there)."""
    r = first.ratio()
    if r is None or _equal(r, 1.0):
        return None
    names = factor_name(r, first.sizes, first.params)
    for name, value in names:
        fits = True
        for o in others:
            v = _factor_value(name, o.sizes, o.params)
            if v is None:  # the factor has no value there (n - 1 = 0): only a right answer fits
                fits = o.agrees()
            elif o.agrees():
                fits = _equal(v, 1.0) or o.ratio() is None
            else:
                ro = o.ratio()
                fits = ro is not None and _equal(ro, v)
            if not fits:
                break
        if fits:
            return _times(_shown(name, value), first)
    if np.ndim(first.got) == 0:
        ratios = [o.ratio() for o in others if not o.agrees()]
        if ratios and all(q is not None and _equal(q, r) for q in ratios):
            return _times(f"{r:.4g}", first) + " on every case"
        return None
    return _times(f"{r:.4g}", first)


def _times(factor: str, outcome: Outcome) -> str:
    if factor == "-1":
        return "your answer is the right one with the opposite sign"
    if factor == "0":
        return "your answer is 0 where it should not be"
    what = "your step" if outcome.origin is not None else "your answer"
    return f"{what} is {factor} times the right one"


def _term_words(outcome: Outcome) -> str | None:
    """Which of the terms of the right answer are off, and by what factor (least squares)."""
    if outcome.terms is None:
        return None
    terms = outcome.terms()
    names = list(terms)
    b = _displacement(outcome.got, outcome.origin)
    w = _displacement(outcome.want, outcome.origin)
    if b is None or w is None or b.shape != w.shape:
        return None
    A = np.stack([np.asarray(terms[t][0], dtype=float).ravel() for t in names], axis=1)
    if A.shape[0] < len(names) + 2:
        return None
    sv = np.linalg.svd(A, compute_uv=False)
    if sv[-1] <= 1e-8 * sv[0]:
        return None
    coef = np.linalg.lstsq(A, b.ravel(), rcond=None)[0]
    if np.max(np.abs(A @ coef - b.ravel())) > 1e-6 * np.max(np.abs(w)) + 1e-12:
        return None
    ratios = coef / np.array([terms[t][1] for t in names])
    if np.ptp(ratios) <= 1e-6 * max(np.max(np.abs(ratios)), 1.0):
        return None  # one factor for all: the ratio says it
    words = []
    for t, r in zip(names, ratios, strict=True):
        if _equal(r, 1.0):
            continue
        if _equal(r, 0.0):
            words.append(f"{t} is missing")
        elif _equal(r, -1.0):
            words.append(f"{t} has the wrong sign")
        else:
            named = factor_name(r, outcome.sizes, outcome.params)
            factor = _shown(*named[0]) if named else f"{r:.4g}"
            words.append(f"{t} is {factor} times the right one")
    right = [t for t, r in zip(names, ratios, strict=True) if _equal(r, 1.0)]
    if right:
        words.append(f"{' and '.join(right)} {'is' if len(right) == 1 else 'are'} right")
    return "; ".join(words)


def diagnose(first: Outcome, others: Sequence[Outcome] = ()) -> str | None:
    """Words for what is wrong with ``first`` (a case the answer gets wrong), checked against
    ``others`` (the other cases): a listed mistake that explains every case, else the ratio to
    the right answer, else the terms that are off, else a listed mistake that explains this case
    only (said so: the answer has a further mistake elsewhere)."""
    matching = [
        j
        for j, (value, _) in enumerate(first.listed())
        if value is not None and first.same(first.got, value) and not first.same(value, first.want)
    ]
    hint = next(
        (first.listed()[j][1] for j in matching if all(_consistent(o, j) for o in others)), None
    )
    ratio = _ratio_words(first, others)
    if hint is None:
        if ratio:
            return ratio
        terms = _term_words(first)
        if terms or not matching:
            return terms
        return f"{first.listed()[matching[0]][1]} (on this case; other cases differ otherwise too)"
    if ratio and "times the right one" not in hint and "opposite sign" not in ratio:
        hint = f"{hint} ({ratio})"
    return hint


def _consistent(o: Outcome, j: int) -> bool:
    """Mistake j explains case ``o``: there it gives the answer, or it is invisible there."""
    listed = o.listed()
    if j >= len(listed) or listed[j][0] is None:
        return True
    value = listed[j][0]
    if o.same(value, o.want):
        return True
    return o.same(o.got, value)


def run_cases(
    name: str, cases: Sequence, evaluate: Callable[[object], Outcome], generic: Callable
) -> int:
    """Evaluate every case in turn; at the first the answer gets wrong, evaluate the other cases
    too (cases the answer fails on otherwise are left out) and raise :class:`CheckFailed` with
    ``where: <diagnosis>``, or ``where: <generic(outcome)>`` when nothing is recognised. Returns
    the number of cases."""
    for i, case in enumerate(cases):
        outcome = evaluate(case)
        outcome.case = case
        if outcome.agrees():
            continue
        others = []
        for other in cases[:i] + cases[i + 1 :]:
            try:
                others.append(evaluate(other))
            except ProtocolError:  # the grader's channel to the student's process: not theirs
                raise
            except Exception:  # noqa: BLE001 - student code: a case it cannot do says nothing
                continue
        hint = diagnose(outcome, others) or generic(outcome)
        raise CheckFailed(f"{name}: {outcome.where}: {hint}.")
    return len(cases)


def largest_error(outcome: Outcome) -> str:
    """The generic words: the answer differs from the right one by up to ..."""
    diff = np.abs(np.asarray(outcome.got, dtype=float) - np.asarray(outcome.want, dtype=float))
    return f"it differs from the right answer by up to {np.max(diff):.3g}"


def check_gram(my_gram: Callable[[np.ndarray, np.ndarray, Kernel], np.ndarray]) -> None:
    """Check ``my_gram(X, Y, kernel)`` returns the (n, m) matrix K[i, j] = k(x_i, y_j)."""
    name = "check_gram"

    def evaluate(case):
        X, Y, k = case
        got = np.asarray(call(name, my_gram, X, Y, k), dtype=float)
        want = k(X, Y)
        n, m = len(X), len(Y)
        rows, cols = np.divmod(np.arange(n * m), m)  # entry (a, b) is pair r = a m + b
        r = rows * m + cols
        transposed = (
            f"your matrix is transposed: K[i, j] must be k(x_i, y_j), one row per x and one "
            f"column per y (shape {want.shape} for n={n}, m={m})"
        )
        if got.shape == want.T.shape and got.shape != want.shape and close(got, want.T):
            raise CheckFailed(f"{name}: {transposed}.")
        if got.shape != want.shape:
            raise CheckFailed(
                f"{name}: expected shape {want.shape} for n={n}, m={m}, got {got.shape}."
            )

        def mistakes():
            return [
                (want.T, transposed),
                (
                    want[r % n, r // n].reshape(n, m),
                    "np.repeat and np.tile pair the rows in the other order: the pair in row "
                    "r = i m + j of your two arrays must be (x_i, y_j)",
                ),
                (k(X, X) if n == m else None, "your columns run over X: column j is y_j"),
            ]

        return Outcome(got, want, f"for n={n}, m={m}, {k!r}", mistakes)

    run_cases(name, sample_cases(), evaluate, largest_error)
    ok(name, "all cases agree with kernel(X, Y).")


def mmd2_mistakes(estimator: str, Kxx, Kyy, Kxy, sizes=("n", "m")) -> list[Mistake]:
    """The likely wrong MMD^2 estimates from the Gram blocks, with their words; ``sizes`` names
    the two sample sizes in the words."""
    n, m = len(Kxx), len(Kyy)
    a, b = sizes
    cross = Kxy.mean()

    def within(dx, dy, diag=True):
        tx, ty = (np.trace(Kxx), np.trace(Kyy)) if diag else (0.0, 0.0)
        return (Kxx.sum() - tx) / dx + (Kyy.sum() - ty) / dy

    values = {
        "biased": Kxx.mean() + Kyy.mean() - 2 * cross,
        "unbiased": within(n * (n - 1), m * (m - 1)) - 2 * cross if min(n, m) > 1 else None,
    }
    want = values[estimator]
    if want is None:
        return []
    if estimator == "unbiased":
        both_n = within(n * (n - 1), n * (n - 1)) - 2 * cross
    else:
        both_n = Kxx.mean() + Kyy.sum() / n**2 - 2 * cross
    return [
        (values["biased"], "this is the biased V-statistic: the unbiased U-statistic leaves out "
         f"the i = j terms of the within-sample sums and divides them by {a}({a}-1) and "
         f"{b}({b}-1)"),
        (values["unbiased"], "this is the unbiased U-statistic: the V-statistic keeps the i = j "
         "terms"),
        (within(n**2, m**2) - 2 * cross, f"you dropped the diagonal but still divided by {a}^2: "
         f"use {a}({a}-1)"),
        (within(n * (n - 1), m * (m - 1), diag=False) - 2 * cross if min(n, m) > 1 else None,
         f"you divided by {a}({a}-1) but kept the i = j terms (the diagonal) in the sums"),
        (want + 2 * cross, "the cross term carries a factor 2: subtract 2 mean k(x, y)"),
        (want + cross, "the cross term carries a factor 2: subtract 2 mean k(x, y)"),
        (-want, "the sign is flipped"),
        (np.sqrt(want) if want >= 0 else None, "you returned MMD, not MMD^2"),
        (both_n, f"you used {a} for both samples: the sums over the second sample divide by "
         f"its own size {b}"),
        (both_n + 2 * cross - 2 * Kxy.sum() / n**2, f"you used {a} for both samples (as a "
         f"formula written for equal sizes does): the second sample has its own size {b}, in "
         "its own sums and in the cross term"),
    ]  # fmt: skip


def check_mmd2(my_mmd2: Callable, estimator: str = "unbiased") -> None:
    """Check ``my_mmd2(X, Y, kernel)`` against ``kernelflows.mmd2(X, Y, kernel, estimator)``."""
    name = "check_mmd2"

    def evaluate(case):
        X, Y, k = case
        got = as_float(name, call(name, my_mmd2, X, Y, k))
        want = mmd2(X, Y, k, estimator=estimator)
        n, m = len(X), len(Y)

        def mistakes():
            listed = mmd2_mistakes(estimator, k(X), k(Y), k(X, Y))
            if n != m:
                short = (
                    mmd2(X[: min(n, m)], Y[: min(n, m)], k, estimator=estimator)
                    if min(n, m) > 1
                    else None
                )
                listed.append((short, "you assumed n = m: X and Y may have different sizes"))
            return listed

        where = (
            f"for n={n}, m={m}, d={X.shape[1]}, {k!r} you returned {got:.6g} but the "
            f"{estimator} estimate is {want:.6g}"
        )
        return Outcome(got, want, where, mistakes, sizes={"n": n, "m": m})

    def generic(outcome):
        return "no common mistake matches; compare term by term"

    count = run_cases(name, sample_cases(), evaluate, generic)
    ok(name, f"all {count} cases agree with kernelflows.mmd2 ({estimator}).")


def check_witness(my_witness: Callable) -> None:
    """Check ``my_witness(X, Y, kernel)`` returns a callable z -> mu_P(z) - mu_Q(z)."""
    name = "check_witness"
    rng = np.random.default_rng(1)
    cases = [(X, Y, k, rng.normal(size=(6, X.shape[1])) * 1.5) for X, Y, k in sample_cases()]

    def evaluate(case):
        X, Y, k, Z = case
        f = call(name, my_witness, X, Y, k)
        if not callable(f):
            raise CheckFailed(f"{name}: my_witness should return a function of z, got {type(f)}")
        got = np.asarray(call(name, f, Z), dtype=float).reshape(-1)
        want = witness(X, Y, k)(Z)
        mu_x, mu_y = k(Z, X).mean(1), k(Z, Y).mean(1)

        def mistakes():
            norm = np.sqrt(max(mmd2(X, Y, k, estimator="biased"), 0.0))
            unbiased = mmd2(X, Y, k) if min(len(X), len(Y)) > 1 else 0.0
            normalised = (
                "you normalised the witness; here it is mu_P - mu_Q without dividing by "
                "its norm (the MMD)"
            )
            return [
                (-want, "the sign is flipped: the witness is mu_P - mu_Q, positive where P has "
                 "more mass"),
                (k(Z, X).sum(1) - k(Z, Y).sum(1), "you summed the kernels; the mean embedding "
                 "averages them (divide by n and by m)"),
                (want / norm if norm > 0 else None, normalised),
                (want / np.sqrt(unbiased) if unbiased > 0 else None, normalised),
                (mu_x, "the mean embedding of Q is missing: the witness is a difference"),
                (-mu_y, "the mean embedding of P is missing: the witness is a difference"),
            ]  # fmt: skip

        def terms():
            return {"the mean embedding of P": (mu_x, 1.0), "that of Q": (mu_y, -1.0)}

        where = f"values at {len(Z)} points z, n = {len(X)}, m = {len(Y)}, {k!r}"
        sizes = {"n": len(X), "m": len(Y)}
        return Outcome(got, want, where, mistakes, sizes=sizes, terms=terms)

    run_cases(name, cases, evaluate, largest_error)
    ok(name, "all cases agree with kernelflows.witness.")


def check_mmd_flow_step(my_step: Callable) -> None:
    """Check ``my_step(X, Y, kernel, step)`` returns the particles after one MMD flow step.

    The step is forward Euler on F = 1/2 MMD^2(nu, nu*): X <- X - step grad f(X) with
    f = mu_nu - mu_nu* (particles X, target samples Y).
    """
    name = "check_mmd_flow_step"
    cases = [(X, Y, k, step) for X, Y, k in sample_cases(2) for step in (0.1, 1.0)]

    def evaluate(case):
        X, Y, k, step = case
        n, m = len(X), len(Y)
        got = np.asarray(call(name, my_step, X.copy(), Y, k, step), dtype=float)
        if got.shape != X.shape:
            raise CheckFailed(f"{name}: expected particles of shape {X.shape}, got {got.shape}.")
        gx = k.weighted_grad(X, X, np.full(n, 1 / n))  # grad mu_nu: the repulsion's gradient
        gy = k.weighted_grad(X, Y, np.full(m, 1 / m))
        want = X - step * (gx - gy)

        def mistakes():
            def moved(vx, vy=gy):
                return X - step * (vx - vy)

            return [
                (X + step * (gx - gy), "the velocity has the wrong sign: particles must move "
                 "along -grad f (downhill), attracted by the data"),
                (moved(2 * gx, 2 * gy), "your step is twice too large: the slide's f carries a "
                 "factor 2; here F = 1/2 MMD^2 and f = mu_nu - mu_nu*"),
                (X + 2 * step * (gx - gy), "this is the slide's first variation 2 (mu_nu* - "
                 "mu_nu) taken as it stands: both its sign and its factor 2 are off. Here "
                 "F = 1/2 MMD^2, f = mu_nu - mu_nu*, and the particles move along -grad f"),
                (moved(n * gx, m * gy), "you summed the kernel gradients: mu_nu and mu_nu* are "
                 f"means, so divide the sum over the particles by n = {n} and the sum over the "
                 f"target by m = {m}"),
                (X + step * (n * gx - m * gy), "you summed the kernel gradients, and the velocity "
                 "has the wrong sign"),
                (moved(0 * gx), "only the attraction to the data is there: add the repulsion "
                 "between particles (the interaction term)"),
                (moved(n / (n - 1) * gx) if n > 1 else None, "the interaction term is n/(n-1) "
                 f"= {n}/{n - 1} times the right one: you averaged over the n - 1 other "
                 "particles, but mu_nu is the mean over all n of them (a particle's own term "
                 "is there, with zero gradient)"),
            ]  # fmt: skip

        def terms():
            return {
                "the repulsion between particles (the interaction term)": (gx, -step),
                "the attraction to the target (the confinement term)": (gy, step),
            }

        return Outcome(
            got, want, f"step {step}, n = {n}, m = {m}, {k!r}", mistakes,
            sizes={"n": n, "m": m}, params={"gamma": step}, origin=X, terms=terms,
        )  # fmt: skip

    run_cases(name, cases, evaluate, lambda o: "the particles differ from the right step by "
              f"up to {np.max(np.abs(o.got - o.want)):.3g}")  # fmt: skip
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
    samples = [
        (rng.normal(size=(20, 1)), rng.normal(size=(25, 1)) + 1.0, GaussianKernel(1.0)),
        (rng.normal(size=(10, 1)), rng.laplace(size=(7, 1)) - 0.5, LaplaceKernel(1.2)),
        (rng.normal(size=(12, 2)), rng.normal(size=(16, 2)) + [0.8, -0.4], LaplaceKernel(1.0)),
    ]
    cases = [(lam_, P, Q, k) for lam_ in lams for P, Q, k in samples]

    def value(P, Q, k, penalty):
        return kale(P, Q, k, lam=penalty, tol=1e-12).value

    def evaluate(case):
        lam_, P, Q, k = case
        got = as_float(name, call(name, my_kale, P, Q, k, lam_))
        want = value(P, Q, k, lam_)
        n, m = len(P), len(Q)
        where = f"lambda = {lam_:g}, n = {n}, m = {m}, {k!r}"

        def mistakes():
            def inner(penalty):  # max_f E_P f + 1 - E_Q e^f - penalty/2 ||f||^2
                return value(P, Q, k, penalty) / (1 + penalty)

            listed = [
                (want / (1 + lam_), "the (1 + lambda) factor in front is missing"),
                (value(Q, P, k, lam_), "P and Q are swapped: P enters the linear term E_P f, Q "
                 "the exponential term E_Q exp(f)"),
                (want - (1 + lam_), "the + 1 inside the bracket is missing"),
            ]  # fmt: skip
            halved = "the penalty is lambda/2 ||f||^2: you used lambda ||f||^2, without the 1/2"
            listed += [((1 + lam_) * inner(2 * lam_), halved),
                       ((1 + 2 * lam_) * inner(2 * lam_), halved)]  # fmt: skip
            scaled = {
                "lambda / (n + m)": lam_ / (n + m), "lambda * n": lam_ * n, "lambda / n": lam_ / n,
                "lambda * m": lam_ * m, "lambda / m": lam_ / m, "lambda * (n + m)": lam_ * (n + m),
            }  # fmt: skip
            for words, penalty in scaled.items():
                said = (
                    f"your penalty is {words}: lambda is not scaled by the sample size, the "
                    "penalty is lambda/2 ||f||^2 with lambda as given, and the means E_P, E_Q "
                    "already divide by n and m"
                )
                listed += [
                    ((1 + lam_) * inner(penalty), said),
                    ((1 + penalty) * inner(penalty), said),
                ]
            return listed

        return Outcome(
            got, want, f"you returned {got:.6g}, KALE is {want:.6g} ({where})", mistakes,
            sizes={"n": n, "m": m}, params={"1 + lambda": 1 + lam_, "lambda": lam_},
            same=tolerance(1e-4, 1e-8),
        )  # fmt: skip

    def generic(outcome):
        return "no common mistake matches"

    run_cases(name, cases, evaluate, generic)
    ok(name, f"all {len(samples)} cases agree with kernelflows.kale (lambda = "
       f"{', '.join(f'{v:g}' for v in lams)}).")  # fmt: skip
