"""The particle flow engine and the MMD gradient flow (Arbel, Korba, Salim, Gretton, NeurIPS 2019).

Talk, slides "Wasserstein gradient flow on MMD" to "Noise injected MMD flow in practice".

Convention (stated once, used everywhere in the package)
--------------------------------------------------------
The energy is F(nu) = 1/2 MMD^2(nu, nu*), with nu the particles and nu* the target. Its first
variation is the (unnormalised) witness

    f(z) = f_{nu*, nu}(z) = mu_nu(z) - mu_nu*(z) = E_{X ~ nu} k(X, z) - E_{Y ~ nu*} k(Y, z),

and particles move with velocity -grad f(z): attracted by the data (confinement, the -mu_nu*
term) and repelled by each other (interaction, the mu_nu term). The slide "Wasserstein gradient
flow on MMD" writes f = 2 (mu_nu* - mu_nu): a factor 2 too many and the opposite sign; its flow
d_t nu = div(nu grad f) then needs our sign to be a descent (lecture 03 checks this numerically).

How the engine is built
-----------------------
A flow is a state plus a step, made of small pieces composed around one velocity field:

* a **velocity field** ``field(particles, state, at=None) -> (velocity, diagnostics)``: the
  velocity at the points ``at`` (default: the particles) of the field built from ``particles``;
  ``diagnostics`` is a dict, whose optional key ``"state"`` is the state for the next step (how
  a field with memory, e.g. KALE's warm-started dual coefficients, carries it). A field also has
  ``init(particles) -> state`` and ``loss(particles, state) -> float``. :class:`MMDVelocity` is
  the MMD one; the engine never knows which divergence it flows.
* a **noise** piece: :class:`NoiseInjection` (evaluate the velocity at X + beta_n u, move X) or
  :class:`Diffusion` (move X, then add beta_n u), with beta_n from a schedule of
  :mod:`kernelflows.schedules`;
* the forward **Euler step** X <- X + step * velocity;
* a :class:`Recorder` of snapshots, giving a :class:`FlowResult`.

:func:`run_flow` composes them; :func:`mmd_flow` is the entry point for the MMD flow.

A new flow (e.g. KALE flow) brings its own field and calls :func:`run_flow`::

    class KaleVelocity:
        def init(self, particles):            # e.g. initial dual coefficients
            ...
        def __call__(self, particles, state, at=None):
            alpha = solve_dual(particles, warm_start=state)
            return velocity_at(at if at is not None else particles, alpha), {"state": alpha}
        def loss(self, particles, state):     # e.g. the KALE value for these coefficients
            ...

    result = run_flow(KaleVelocity(...), X0, step, n_steps, noise=beta)

It gets the same :class:`FlowResult`, noise injection, diffusion, schedules and progress bar.
Scalar entries of the diagnostics dict (e.g. Newton iterations) are recorded in
``FlowResult.extras``.
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field
from typing import Any

import numpy as np

from ._validation import (
    as_rng,
    as_samples,
    nonnegative,
    positive,
    positive_int,
    same_dimension,
)
from .kernels import GaussianKernel, Kernel, row_blocks
from .schedules import as_schedule

__all__ = [
    "VELOCITY_BLOCK_ELEMENTS",
    "Diffusion",
    "FlowResult",
    "MMDVelocity",
    "NoiseInjection",
    "Recorder",
    "gaussian_mmd_velocity",
    "mmd_energy",
    "mmd_flow",
    "mmd_velocity",
    "run_flow",
    "snapshot_steps",
]

#: Kernel values held at once by the fast Gaussian velocity (2 MB of float64: cache friendly).
VELOCITY_BLOCK_ELEMENTS = 2**18


def _check_kernel(kernel) -> Kernel:
    if not isinstance(kernel, Kernel):
        raise ValueError(f"kernel must be a kernelflows Kernel, got {type(kernel).__name__}")
    return kernel


# ---------------------------------------------------------------------------------------------
# The MMD energy and its velocity field
# ---------------------------------------------------------------------------------------------


def mmd_energy(X, Y, kernel: Kernel, weights=None, target_total: float | None = None) -> float:
    """F(nu) = 1/2 MMD^2(nu, nu*) for nu = sum_i a_i delta_{x_i} and nu* = (1/m) sum_j delta_{y_j}.

    The plug-in (V-statistic) value: with ``weights=None``, a_i = 1/n and

        F = 1/2 [ (1/n^2) sum_ii' k(x_i, x_i') - (2/(n m)) sum_ij k(x_i, y_j)
                  + (1/m^2) sum_jj' k(y_j, y_j') ].

    Talk, slide "Preliminaries: Wasserstein gradient flow on MMD" (interaction, constant and
    confinement terms). Signed weights are allowed (the first variation is a derivative in the
    direction of a signed measure). ``target_total`` may pass a cached sum_jj' k(y_j, y_j').
    """
    X = as_samples(X, "X")
    Y = as_samples(Y, "Y")
    same_dimension(X, Y)
    _check_kernel(kernel)
    m = len(Y)
    syy = kernel.total(Y) if target_total is None else float(target_total)
    if weights is None:
        n = len(X)
        sxx = kernel.total(X) / n**2
        sxy = kernel.total(X, Y) / (n * m)
    else:
        a = np.asarray(weights, dtype=float)
        if a.shape != (len(X),) or not np.all(np.isfinite(a)):
            raise ValueError(f"weights must be a finite vector of shape ({len(X)},)")
        sxx = float(a @ kernel.weighted_sum(X, X, a))
        sxy = float(a @ kernel.weighted_sum(X, Y)) / m
    return 0.5 * (sxx - 2.0 * sxy + syy / m**2)


def gaussian_mmd_velocity(Z, X, Y, bandwidth: float, block_elements: int | None = None):
    """-grad f(z) for the Gaussian kernel: the fast path of :func:`mmd_velocity`.

    With centres c = [X; Y] and weights w = [1/n, ..., 1/n, -1/m, ..., -1/m],

        -grad f(z) = (1/s^2) sum_j w_j (z - c_j) k(z, c_j)
                   = (1/s^2) [ z (K w)(z) - (K (w c))(z) ],   s = bandwidth.

    The exponent -||z - c||^2 / (2 s^2) of every pair in a block of rows is one matrix product on
    augmented coordinates [z / s^2, -||z||^2 / (2 s^2), 1] . [c, 1, -||c||^2 / (2 s^2)], the
    exponential is taken in place, and a second product with [w c, w] gives both sums at once.
    Only one block of about ``block_elements`` kernel values exists at a time. When Z holds the
    particles themselves (no noise injection), the symmetry k(x_i, x_j) = k(x_j, x_i) saves
    half of the particle-particle exponentials.
    """
    Z = as_samples(Z, "Z")
    X = as_samples(X, "X")
    Y = as_samples(Y, "Y")
    same_dimension(X, Y)
    same_dimension(Z, X, "Z", "X")
    inv = 1.0 / positive(bandwidth, "bandwidth") ** 2
    n, m, d = len(X), len(Y), X.shape[1]
    C = np.concatenate([X, Y])
    w = np.concatenate([np.full(n, 1.0 / n), np.full(m, -1.0 / m)])
    right = np.empty((d + 2, n + m))  # [c, 1, -||c||^2 / (2 s^2)] as columns
    right[:d] = C.T
    right[d] = 1.0
    right[d + 1] = -0.5 * inv * np.einsum("ij,ij->i", C, C)
    sums = np.empty((d + 1, n + m))  # rows: [w c, w]
    sums[:d] = C.T * w[None, :]
    sums[d] = w
    left = np.empty((len(Z), d + 2))
    left[:, :d] = Z * inv
    left[:, d] = -0.5 * inv * np.einsum("ij,ij->i", Z, Z)
    left[:, d + 1] = 1.0
    block = VELOCITY_BLOCK_ELEMENTS if block_elements is None else block_elements
    S = np.zeros((len(Z), d + 1))  # rows: [(K w c)(z), (K w)(z)]
    symmetric = Z is X or (Z.shape == X.shape and np.array_equal(Z, X))
    for rows in row_blocks(len(Z), n + m, block):
        # At the particles themselves, k(x_i, x_j) is symmetric: a block of rows only computes
        # the columns from its first row on, and hands the transposed values to later rows.
        first = rows.start if symmetric else 0
        E = left[rows] @ right[:, first:]
        np.exp(E, out=E)
        S[rows] += _products(E, sums[:, first:])
        if symmetric and rows.stop < n:
            later = E[:, rows.stop - first : n - first]
            S[rows.stop : n] += _products(later.T, sums[:, rows])
    return inv * (Z * S[:, d : d + 1] - S[:, :d])


def _products(E, sums):
    """E @ sums.T: a few matrix-vector products beat one thin matrix product for small d."""
    if len(sums) <= 4:
        return np.stack([E @ s for s in sums], axis=1)
    return E @ sums.T


def mmd_velocity(Z, X, Y, kernel: Kernel) -> np.ndarray:
    """The MMD flow velocity -grad f(z) at the rows of Z, shape (len(Z), d).

    f = mu_nu - mu_nu* with nu = (1/n) sum delta_{x_i} (rows of X) and nu* = (1/m) sum delta_{y_j}
    (rows of Y); talk, slide "Preliminaries" (force on a particle), Arbel, Korba, Salim, Gretton
    (NeurIPS 2019), Section 2. Gaussian kernels take the fast path
    :func:`gaussian_mmd_velocity`; any other kernel goes through its blocked ``weighted_grad``.
    """
    _check_kernel(kernel)
    if type(kernel) is GaussianKernel:
        return gaussian_mmd_velocity(Z, X, Y, kernel.bandwidth)
    Z = as_samples(Z, "Z")
    X = as_samples(X, "X")
    Y = as_samples(Y, "Y")
    same_dimension(X, Y)
    n, m = len(X), len(Y)
    w = np.concatenate([np.full(n, 1.0 / n), np.full(m, -1.0 / m)])
    return -kernel.weighted_grad(Z, np.concatenate([X, Y]), w)


class MMDVelocity:
    """The MMD flow's velocity field: ``field(X, state, at) -> (-grad f(at), {})``.

    f = mu_nu - mu_nu* is built from the particles X (never from ``at``), as noise injection
    needs. The field has no state; ``loss`` is the plug-in F = 1/2 MMD^2 (:func:`mmd_energy`),
    with the target's own sum cached.
    """

    def __init__(self, Y, kernel: Kernel):
        self.target = as_samples(Y, "Y")
        self.kernel = _check_kernel(kernel)
        self._target_total: float | None = None

    def init(self, particles) -> Any:
        return None

    def __call__(self, particles, state=None, at=None):
        Z = particles if at is None else at
        return mmd_velocity(Z, particles, self.target, self.kernel), {}

    def loss(self, particles, state=None) -> float:
        if self._target_total is None:
            self._target_total = self.kernel.total(self.target)
        return mmd_energy(particles, self.target, self.kernel, target_total=self._target_total)


# ---------------------------------------------------------------------------------------------
# Noise: injection (the paper's) and diffusion (the "entropic regularisation" baseline)
# ---------------------------------------------------------------------------------------------


class NoiseInjection:
    """Evaluate the velocity at X + beta_n u, u ~ N(0, I), and move the unperturbed X.

    Z_{n+1} = Z_n - gamma grad f_{nu*, nu_n}(Z_n + beta_n u_n): talk, slide "Noise injection to
    improve convergence"; Arbel, Korba, Salim, Gretton (NeurIPS 2019), Section 3.
    """

    def evaluation_points(self, X, beta, rng):
        if beta == 0.0:
            return None
        return X + beta * rng.standard_normal(X.shape)

    def after_step(self, X, beta, rng):
        return X


class Diffusion:
    """Move X with the velocity at X, then add beta_n u (the slide's "entropic regularization").

    Z_{n+1} = Z_n - gamma grad f(Z_n) + beta_n u_n; talk, slide "Noise injection to improve
    convergence" (the contrast it draws). The noise is not scaled by sqrt(gamma): as on the slide.
    """

    def evaluation_points(self, X, beta, rng):
        return None

    def after_step(self, X, beta, rng):
        if beta == 0.0:
            return X
        return X + beta * rng.standard_normal(X.shape)


# ---------------------------------------------------------------------------------------------
# Recorder and result
# ---------------------------------------------------------------------------------------------


@dataclass(frozen=True)
class FlowResult:
    """What every flow returns.

    Attributes
    ----------
    particles : (n, d) final particles (after ``n_steps`` steps).
    trajectory : (T, n, d) snapshots, taken before the step of the same index.
    steps : (T,) step index of each snapshot; first 0, last n_steps.
    loss : (T,) the field's loss at each snapshot (MMD flow: F = 1/2 MMD^2, plug-in).
    grad_sq_norm : (T,) mean over particles of ||velocity||^2 at the unperturbed particles
        (MMD flow: mean ||grad f||^2, the dissipation rate of the slide "Consistency (2)").
    noise : (T,) beta_n of the schedule at each snapshot.
    step : the step size gamma.
    extras : (T,) arrays by name: the velocity field's scalar diagnostics at each snapshot, and
        ``step_sq_norm``, the mean squared velocity of the step taken from that snapshot (with
        noise injection: E ||grad f(X + beta u)||^2, one draw of u; NaN at the last snapshot).
    """

    particles: np.ndarray
    trajectory: np.ndarray
    steps: np.ndarray
    loss: np.ndarray
    grad_sq_norm: np.ndarray
    noise: np.ndarray
    step: float
    extras: dict = field(default_factory=dict)

    @property
    def times(self) -> np.ndarray:
        """Flow time t = gamma * n of each snapshot."""
        return self.step * self.steps

    @property
    def mmd2(self) -> np.ndarray:
        """MMD^2 = 2 F at each snapshot (for the MMD flow)."""
        return 2.0 * self.loss


def snapshot_steps(n_steps: int, record_every: int | None = None) -> np.ndarray:
    """Step indices of the snapshots: 0, every ``record_every`` steps, and ``n_steps``.

    ``record_every=None`` picks the smallest spacing giving at most 101 snapshots.
    """
    if record_every is None:
        record_every = max(1, math.ceil(n_steps / 100))
    record_every = positive_int(record_every, "record_every")
    return np.unique(np.append(np.arange(0, n_steps, record_every), n_steps))


class Recorder:
    """Collects snapshots (particles, loss, mean squared velocity, beta, field diagnostics)."""

    def __init__(self, steps: np.ndarray):
        self.steps = np.asarray(steps)
        self._due = set(int(s) for s in self.steps)
        self.rows: list[tuple] = []
        self.extras: dict[str, list] = {}
        self.notes: dict[str, list] = {}

    def due(self, n: int) -> bool:
        return n in self._due

    def record(self, n, X, velocity, loss, beta, diagnostics) -> None:
        self.rows.append((X.copy(), float(loss), float(np.mean(np.sum(velocity**2, axis=1))), beta))
        for key, value in diagnostics.items():
            if key != "state" and np.isscalar(value):
                self.extras.setdefault(key, []).append(float(value))

    def note(self, key: str, value: float) -> None:
        """Attach a value to the latest snapshot (e.g. a quantity of the step that follows it)."""
        column = self.notes.setdefault(key, [])
        column.extend([np.nan] * (len(self.rows) - 1 - len(column)))
        column.append(float(value))

    def result(self, step: float) -> FlowResult:
        traj = np.stack([r[0] for r in self.rows])
        extras = {k: np.asarray(v) for k, v in self.extras.items() if len(v) == len(self.rows)}
        for key, column in self.notes.items():
            extras[key] = np.asarray(column + [np.nan] * (len(self.rows) - len(column)))
        return FlowResult(
            particles=traj[-1].copy(),
            trajectory=traj,
            steps=self.steps.copy(),
            loss=np.array([r[1] for r in self.rows]),
            grad_sq_norm=np.array([r[2] for r in self.rows]),
            noise=np.array([r[3] for r in self.rows]),
            step=step,
            extras=extras,
        )


# ---------------------------------------------------------------------------------------------
# The engine
# ---------------------------------------------------------------------------------------------


def run_flow(
    field,
    X0,
    step: float,
    n_steps: int,
    noise=0.0,
    diffusion: bool = False,
    rng=None,
    record_every: int | None = None,
    progress: bool = True,
    desc: str = "flow",
) -> FlowResult:
    """Forward Euler for a particle flow X <- X + step * velocity, with noise and a recorder.

    ``field`` is a velocity field (see the module docstring); ``noise`` is a float (constant
    beta) or a schedule n -> beta_n (:mod:`kernelflows.schedules`); ``diffusion`` chooses
    :class:`Diffusion` instead of :class:`NoiseInjection`. Randomness comes from ``rng`` (a
    Generator or a seed). Returns a :class:`FlowResult` with snapshots at
    :func:`snapshot_steps`. ``progress=False`` turns the progress bar off.
    """
    X = as_samples(X0, "X0").copy()
    step = positive(step, "step")
    n_steps = positive_int(n_steps, "n_steps")
    schedule = as_schedule(noise)
    recorder = Recorder(snapshot_steps(n_steps, record_every))
    rng = as_rng(rng)
    perturbation = Diffusion() if diffusion else NoiseInjection()

    from tqdm.auto import tqdm

    state = field.init(X)
    for n in tqdm(range(n_steps + 1), disable=not progress, desc=desc, leave=False):
        beta = nonnegative(schedule(n), "noise")  # a custom schedule may misbehave
        velocity = None
        if recorder.due(n):
            velocity, diagnostics = field(X, state, None)
            state = diagnostics.get("state", state)  # e.g. dual coefficients solved for this X
            recorder.record(n, X, velocity, field.loss(X, state), beta, diagnostics)
        if n == n_steps:
            break
        at = perturbation.evaluation_points(X, beta, rng)
        if at is not None or velocity is None:
            velocity, diagnostics = field(X, state, at)
            state = diagnostics.get("state", state)
        if recorder.due(n):  # the squared speed actually used (noise injection: at X + beta u)
            recorder.note("step_sq_norm", np.mean(np.sum(velocity**2, axis=1)))
        X += step * velocity
        X = perturbation.after_step(X, beta, rng)
    return recorder.result(step)


def mmd_flow(
    X0,
    Y,
    kernel: Kernel,
    step: float,
    n_steps: int,
    noise=0.0,
    rng=None,
    record_every: int | None = None,
    diffusion: bool = False,
    progress: bool = True,
) -> FlowResult:
    """The MMD gradient flow of particles X0 (n, d) towards target samples Y (m, d).

    Forward Euler for the Wasserstein-2 gradient flow of F(nu) = 1/2 MMD^2(nu, nu*):

        X_{n+1} = X_n - step * grad f_{nu*, nu_n}(X_n + beta_n u_n),  f = mu_nu - mu_nu*,

    with u_n ~ N(0, I) (noise injection, Section 3 of Arbel, Korba, Salim, Gretton, NeurIPS 2019;
    ``noise=0`` gives the plain scheme of the slide "Wasserstein gradient flow on the MMD").
    ``diffusion=True`` gives the baseline X_{n+1} = X_n - step * grad f(X_n) + beta_n u_n.
    ``noise`` is a float or a schedule (``kernelflows.schedules``). Velocities are computed in
    blocks (memory bounded in n and m). Returns a :class:`FlowResult`.
    """
    X0 = as_samples(X0, "X0")
    Y = as_samples(Y, "Y")
    same_dimension(X0, Y, "X0", "Y")
    field_ = MMDVelocity(Y, kernel)
    return run_flow(
        field_,
        X0,
        step,
        n_steps,
        noise=noise,
        diffusion=diffusion,
        rng=rng,
        record_every=record_every,
        progress=progress,
        desc="MMD flow",
    )
