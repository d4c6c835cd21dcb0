"""The particle flow engine: a velocity field, a perturbation, a forward Euler step, a recorder.

Talk, slides "Wasserstein gradient flow on MMD" to "KALE flow vs MMD flow in practice". A flow is
a state plus a step, made of small pieces composed around one velocity field (the way optax
composes transformations):

* a **velocity field** (:class:`VelocityField`, one module per divergence in this package):
  ``field.init(X)`` gives the field's initial state (KALE: the dual coefficients), and
  ``field(X, state, at=None, record=False)`` returns a :class:`FieldStep` (the one velocity
  contract of :mod:`kernelflows.divergences.velocity`): the velocity at the points ``at``
  (default: the particles X) of the field built from X, the next state, per-step information
  (scalars: Newton steps, a duality gap), and when ``record`` is true the loss at X and the
  velocity at X, computed from the same solve. The field keeps no state of its own between
  calls: everything it carries is in ``state``, so one field object can run several flows;
* a **perturbation** (:mod:`.perturbations`): noise injection (evaluate the velocity at
  X + beta_n u, move X) or diffusion (move X, then add beta_n u), with beta_n from a schedule
  (:mod:`.schedules`);
* the forward **Euler step** X <- X + step * velocity;
* a **recorder** of snapshots (:mod:`.record`: the loss, the mean squared speeds of
  :func:`~kernelflows.divergences.mean_speed2`, the field's information), giving a
  :class:`~.record.FlowResult`.

:func:`run_flow` composes them and checks the contract: a field must return a finite velocity of
the right shape (else :class:`FlowDivergedError` names the step, the last loss and ``step``),
and a field that cannot certify its step (KALE's solver) raises at that step.

A new flow brings its own field (a class with ``init`` and ``__call__``) and an entry point made
by :func:`flow_entry_point` from the function that builds the field; it gets the same
:class:`FlowResult`, options, perturbations, schedules and progress bar.
"""

from __future__ import annotations

import functools
import inspect
import math
from typing import Any, Protocol, runtime_checkable

import numpy as np

from .._validation import (
    MAX_COORDINATE,
    as_rng,
    as_samples,
    flag,
    positive,
    positive_int,
    same_dimension,
)
from ..divergences.velocity import FieldStep, mean_speed2
from ..kernels import blas_one_thread
from . import progress as _bars
from .perturbations import as_perturbation
from .record import FlowResult, Recorder, snapshot_steps

__all__ = [
    "ENGINE_OPTIONS",
    "FieldStep",
    "FlowDivergedError",
    "VelocityField",
    "flow_entry_point",
    "run_flow",
]


@runtime_checkable
class VelocityField(Protocol):
    """The contract between a divergence's velocity field and the engine.

    ``init(particles) -> state`` and ``__call__(particles, state, at=None, record=False) ->
    FieldStep``. The field is built from ``particles`` (never from ``at``: noise injection needs
    the field of the unperturbed particles at perturbed points); with ``record=True`` it also
    reports the loss at the particles and, when ``at`` is given, the velocity at the particles
    (``FieldStep.particle_velocity``), reusing its own solve. ``init`` checks that the particles
    fit the field (their dimension). ``name`` is what the loss is (e.g. ``"F = MMD^2 / 2"``).
    """

    name: str

    def init(self, particles: np.ndarray) -> Any: ...

    def __call__(self, particles, state, at=None, record: bool = False) -> FieldStep: ...


class FlowDivergedError(FloatingPointError):
    """The particles or the velocity became NaN or infinite (or the particles left the range
    where squared distances are finite): the step size is too large."""


def _check_field(field_) -> None:
    if not (callable(field_) and callable(getattr(field_, "init", None))):
        raise ValueError(
            "field must be a velocity field: an object with init(particles) and "
            f"__call__(particles, state, at=None, record=False), got {type(field_).__name__}"
        )


#: Floating-point overflow in a diverging flow is not warned about: the engine's finiteness
#: checks report it as FlowDivergedError (whatever the warning filters say).
_QUIET = dict(over="ignore", invalid="ignore")


def _call(field_, n: int, last_loss: float, *args) -> FieldStep:
    """The field's step; an error it raises (a solver that cannot certify) names the step."""
    try:
        with np.errstate(**_QUIET):
            return field_(*args)
    except RuntimeError as exc:
        raise type(exc)(f"at step {n} (loss at the last snapshot {last_loss:.6g}): {exc}") from exc
    except ValueError as exc:  # a callback's bad output (it names the callback): not the step's
        raise ValueError(f"at step {n}: {exc}") from exc


def _diverged(n: int, what: str, last_loss: float, step: float) -> FlowDivergedError:
    return FlowDivergedError(
        f"the flow diverged at step {n}: {what} (loss at the last snapshot {last_loss:.6g}); "
        f"reduce step (now {step:g})"
    )


def _checked(out, n: int, shape, step: float, last_loss: float) -> FieldStep:
    if not isinstance(out, FieldStep):
        raise TypeError(f"a velocity field must return a FieldStep, got {type(out).__name__}")
    v = out.velocity
    if not isinstance(v, np.ndarray) or v.shape != shape:
        raise ValueError(
            f"the velocity field returned a velocity of shape {getattr(v, 'shape', None)}, "
            f"expected {shape}"
        )
    if not _finite(v):
        raise _diverged(n, "the velocity is NaN or infinite", last_loss, step)
    return out


def _finite(a: np.ndarray) -> bool:
    """Every entry finite. A NaN or an infinity makes the sum NaN or infinite, and a finite
    sum is found in one pass without a temporary (the exact test runs only when the sum
    overflows)."""
    with np.errstate(over="ignore", invalid="ignore"):
        total = a.sum()
    return bool(np.isfinite(total)) or bool(np.all(np.isfinite(a)))


def _in_range(a: np.ndarray) -> bool:
    """Every entry finite and within +-MAX_COORDINATE (where squared distances stay finite): a
    NaN fails both comparisons. Two passes (max and min), no temporary array."""
    if a.size == 0:
        return True
    return bool(float(a.max()) <= MAX_COORDINATE and float(a.min()) >= -MAX_COORDINATE)


def _recorded(out: FieldStep, n: int, X, at, step: float, last_loss: float):
    """The recorded loss and mean squared speed at the particles; a loss that turns NaN or
    infinite after a finite one means the flow diverged."""
    v_x = out.velocity if at is None else out.particle_velocity
    if out.loss is None or v_x is None or np.shape(v_x) != X.shape:
        raise ValueError(
            "a velocity field asked to record must return the loss and, when it is evaluated at "
            "other points, the velocity at the particles (FieldStep.particle_velocity)"
        )
    loss = float(out.loss)
    if math.isfinite(last_loss) and not math.isfinite(loss):
        raise _diverged(n, f"the loss is {loss}", last_loss, step)
    with np.errstate(**_QUIET):
        return loss, mean_speed2(v_x)


def _checked_options(step, n_steps, noise, record_every):
    step = positive(step, "step")
    n_steps = positive_int(n_steps, "n_steps")
    return step, n_steps, as_perturbation(noise), snapshot_steps(n_steps, record_every=record_every)


def run_flow(
    field,
    X0,
    *,
    step: float,
    n_steps: int,
    noise=0.0,
    rng=None,
    record_every: int | None = None,
    progress: bool = False,
    desc: str = "flow",
    dtype: str = "float64",
) -> FlowResult:
    """Forward Euler for a particle flow X <- X + step * velocity, with a perturbation.

    ``field`` is a :class:`VelocityField`; ``noise`` is a perturbation of
    :mod:`.perturbations` (``NoiseInjection(schedule)`` or ``Diffusion(schedule)``), or a number
    or schedule, which means noise injection at that level (0: none). Randomness comes from
    ``rng`` only (a Generator or a seed). Returns a :class:`FlowResult` with snapshots at
    :func:`snapshot_steps`. ``progress=True`` shows a progress bar (steps, time left, the
    last recorded loss, and the epoch for a field with ``steps_per_epoch``; also inside
    :func:`~kernelflows.flows.flow_progress`). ``dtype`` ("float64" or
    "float32") is the precision of the particles: the step and a diffusion's noise are rounded
    to it after every step (float32: the student-teacher training of the original code).

    Raises :class:`FlowDivergedError` at the first step whose velocity is not finite or whose
    particles are not finite or leave the range where squared distances are finite, naming the
    step, the last recorded loss and ``step``.
    """
    _check_field(field)
    progress = flag(progress, "progress")
    if dtype not in ("float64", "float32"):
        raise ValueError(f"dtype must be 'float64' or 'float32', got {dtype!r}")
    X = as_samples(X0, "X0").astype(dtype)
    step, n_steps, perturbation, snapshots = _checked_options(step, n_steps, noise, record_every)
    recorder = Recorder(snapshots, n_steps)
    rng = as_rng(rng)
    # BLAS held to one thread for the whole run: the fields' products are small (or run on the
    # kernels' own pool), and OpenBLAS threads on a busy machine stalled a 240 x 240 Cholesky of
    # the KALE flow from 1 ms to 40-400 ms
    with blas_one_thread():
        return _run(field, X, step, n_steps, perturbation, recorder, rng, progress, desc)


def _run(field, X, step, n_steps, perturbation, recorder, rng, progress, desc) -> FlowResult:
    with _bars.progress_bar(n_steps, progress, desc) as bar:
        return _steps(field, X, step, n_steps, perturbation, recorder, rng, bar)


def _steps(field, X, step, n_steps, perturbation, recorder, rng, bar) -> FlowResult:
    state = field.init(X)
    last_loss = float("nan")
    per_epoch = getattr(field, "steps_per_epoch", None)
    for n in range(n_steps + 1):
        beta = perturbation.level(n)
        record = recorder.due(n)
        if n == n_steps:
            out = _checked(
                _call(field, n, last_loss, X, state, None, True), n, X.shape, step, last_loss
            )
            loss, speed2 = _recorded(out, n, X, None, step, last_loss)
            _bars.show_loss(bar, n, loss, per_epoch)
            recorder.record(n, X, out, speed2, beta)
            break
        at = perturbation.evaluation_points(X, beta, rng)
        shape = X.shape if at is None else at.shape
        out = _call(field, n, last_loss, X, state, at, record)
        out = _checked(out, n, shape, step, last_loss)
        step_speed2 = None
        if record:
            last_loss, speed2 = _recorded(out, n, X, at, step, last_loss)
            recorder.record(n, X, out, speed2, beta)
            _bars.show_loss(bar, n, last_loss, per_epoch)
        with np.errstate(**_QUIET):
            if record:
                step_speed2 = mean_speed2(out.velocity)
            X += step * out.velocity
        recorder.step_info(n, out, step_speed2)
        state = out.state
        X = np.asarray(perturbation.after_step(X, beta, rng), dtype=X.dtype)
        if not _in_range(X):
            raise _diverged(
                n,
                f"the particles are NaN, infinite or beyond {MAX_COORDINATE:.0e} (where squared "
                "distances overflow)",
                last_loss,
                step,
            )
        bar.update(1)
    return recorder.result(step, field)


#: The engine's options: keyword-only in :func:`run_flow` and in every flow's entry point.
ENGINE_OPTIONS = ("step", "n_steps", "noise", "rng", "record_every", "progress")


def flow_entry_point(desc, *, noise=None):
    """Decorator: a flow's entry point from the function that builds its velocity field.

    ``build(target..., *, field options) -> field`` becomes::

        flow(X0, target..., *, step, n_steps, noise=0.0, rng=None, record_every=None,
             progress=False, field options) -> FlowResult

    which checks X0 and the engine's options (and X0 against target samples named ``Y``) before
    any work, builds the field and runs it with :func:`run_flow`: the one place where a flow's
    options reach the engine. ``desc`` labels the progress bar (a string, or a function of the
    field). A builder that takes ``rng`` gets the flow's Generator, the one the engine draws
    the perturbation's noise from (spawn from it for a stream of the field's own); one that
    takes ``step`` gets the step (checked), for a field whose steps vary around it. With
    ``noise=fn`` the flow has no ``noise`` option: its perturbation is ``fn(step)`` (the KL
    flow's diffusion).
    """

    def decorate(build):
        own = inspect.signature(build).parameters
        engine = inspect.signature(run_flow).parameters
        options = [engine[k] for k in ENGINE_OPTIONS if noise is None or k != "noise"]
        data = [p for p in own.values() if p.kind is p.POSITIONAL_OR_KEYWORD]
        extra = [p for p in own.values() if p.kind is p.KEYWORD_ONLY and p.name not in engine]
        X0 = inspect.Parameter("X0", inspect.Parameter.POSITIONAL_OR_KEYWORD)
        signature = inspect.Signature([X0, *data, *options, *extra], return_annotation=FlowResult)

        @functools.wraps(build)
        def flow(*args, **kwargs):
            given = signature.bind(*args, **kwargs)
            given.apply_defaults()
            given = dict(given.arguments)
            X0 = as_samples(given.pop("X0"), "X0")
            run = {k: given.pop(k) for k in ENGINE_OPTIONS if k in given}
            if noise is not None:
                run["noise"] = noise(positive(run["step"], "step"))
            _checked_options(run["step"], run["n_steps"], run["noise"], run["record_every"])
            flag(run["progress"], "progress")
            if "Y" in given:
                same_dimension(X0, as_samples(given["Y"], "Y"), "X0", "Y")
            run["rng"] = as_rng(run["rng"])
            for k in ("step", "rng"):
                if k in own:
                    given[k] = run[k]
            with blas_one_thread():  # a field's set-up (a target's factorisation) as its steps
                field_ = build(**given)
            label = desc(field_) if callable(desc) else desc
            return run_flow(field_, X0, desc=label, **run)

        flow.__signature__ = signature
        return flow

    return decorate
