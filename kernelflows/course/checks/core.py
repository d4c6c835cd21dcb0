"""What every check shares: calling the student's function (:func:`call`), comparing
(:func:`close`), the sample cases, and naming the mistake (:func:`run_cases`, :class:`Outcome`,
:func:`diagnose`). The checks several lectures use (Gram matrix, MMD^2, witness, one MMD flow
step, KALE) are in :mod:`.shared`; each lecture's own in ``lectureNN``.

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

from ...kernels import GaussianKernel, LaplaceKernel, blas_one_thread
from ..wire import ProtocolError

__all__ = [
    "CheckFailed",
    "NotImplementedYet",
    "Outcome",
    "call",
    "close",
    "diagnose",
    "run_cases",
    "tolerance",
]


class CheckFailed(AssertionError):
    """The implementation disagrees with the package; the message says how."""


class NotImplementedYet(CheckFailed):
    """The implementation is still the stub that raises NotImplementedError."""


def call(name: str, fn: Callable, *args, **kwargs):
    """``fn(*args, **kwargs)``, the student's function, with BLAS held to one thread (the
    checks' cases are small: BLAS's own threads on a busy machine made lecture 08's check take
    minutes instead of seconds)."""
    try:
        with blas_one_thread():
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


def two_sample_cases(seed: int, smallest=(2, 3)):
    """(P, Q, kernel) cases of two samples: n != m, d = 1 and 2, two kernels, identical
    samples, and the smallest sizes ``smallest`` (n, m)."""
    rng = np.random.default_rng(seed)
    X = rng.normal(size=(10, 2))
    n, m = smallest
    return [
        (rng.normal(size=(20, 1)), rng.normal(size=(25, 1)) + 1.0, GaussianKernel(1.0)),
        (rng.normal(size=(15, 2)), 1.3 * rng.normal(size=(12, 2)), GaussianKernel(0.7)),
        (rng.normal(size=(14, 1)), rng.laplace(size=(9, 1)), LaplaceKernel(1.2)),
        (X, X.copy(), GaussianKernel(1.5)),
        (rng.normal(size=(n, 2)), rng.normal(size=(m, 2)) + 2.0, GaussianKernel(1.0)),
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
