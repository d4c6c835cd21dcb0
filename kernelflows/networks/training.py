"""Minibatch training of a student network as an MMD flow, run by the flow engine.

Training is a particle flow whose particles are the student's weight vectors: its velocity
field (:class:`MinibatchVelocity`) is -grad f_B, the first variation of F = MSE / 2 on the next
minibatch B of the training inputs, and its state carries the batch stream (the Generator that
reshuffles the inputs every epoch, the epoch's order and the next batch). The flow engine
(:func:`kernelflows.flows.run_flow`) runs it with the same Euler step, perturbations (noise
injection, diffusion), recorder, finiteness checks and :class:`~kernelflows.flows.FlowDivergedError`
as every particle flow; :func:`train_student_teacher` states the run in epochs.
"""

from __future__ import annotations

import copy
import time
from dataclasses import dataclass, field, replace

import numpy as np

from .._validation import as_rng, positive, positive_int
from ..divergences.drmmd import deregularized_residual
from ..divergences.velocity import FieldStep
from ..flows.engine import run_flow
from ..flows.perturbations import NoiseInjection, Perturbation, as_perturbation
from ..kernels import blas_one_thread
from .base import Forward, MeanFieldModel, Network

__all__ = ["MinibatchVelocity", "StudentTeacherResult", "train_student_teacher"]


@dataclass(frozen=True)
class BatchStream:
    """The state of :class:`MinibatchVelocity`: the Generator of the batch order, the current
    epoch's order of the training inputs (``None`` before the first epoch) and where the next
    batch starts in it."""

    rng: np.random.Generator
    order: np.ndarray | None = None
    first: int = 0

    def next(self, n: int, batch_size: int) -> tuple[np.ndarray, BatchStream]:
        """The next batch of indices into the n inputs (reshuffled at each epoch's start; a
        last incomplete batch is used as it is) and the stream after it. A value: this stream
        is left as it was (a new epoch draws from a copy of its Generator)."""
        rng, order, first = self.rng, self.order, self.first
        if order is None or first >= n:
            rng = copy.deepcopy(rng)
            order, first = rng.permutation(n), 0
        return order[first : first + batch_size], BatchStream(rng, order, first + batch_size)


class MinibatchVelocity:
    """The velocity field of minibatch training: v(Z) = -grad f_B(Z), where

        f_B(Z) = (1/|B|) sum_{x in B} phi_Z(x) (f_nu(x) - f_nu*(x))

    is the first variation of F = MSE / 2 on the minibatch B at the current (unperturbed)
    student nu, nu* the teacher. With ``lam`` it is the DrMMD flow's (Chen et al., JMLR 2025)
    under the minibatch's network kernel k(Z, Z') = (1/|B|) sum_{x in B} phi_Z(x) phi_Z'(x),
    the teacher as target: f_B is the first variation of DrMMD / 2, the residual
    f_nu - f_nu* replaced by :func:`~kernelflows.divergences.drmmd.deregularized_residual`
    (the recorded loss stays the MSE). Each call takes the next batch of its state's stream
    (:class:`BatchStream`, built by ``init`` from ``seed``: the order of the inputs is
    reshuffled every epoch). Evaluated at perturbed weights ``at`` (noise injection), the
    field keeps the residual f_nu - f_nu* of the unperturbed student. Its recorded loss is the
    MSE on all training inputs; arithmetic is in the dtype of the weights and inputs.

    Parameters
    ----------
    network : a network (:class:`~kernelflows.networks.Network`)
    teacher : (M, p') the teacher's particles (``network.teacher_network``)
    X_train : (n, d) the training inputs
    batch_size : int, at most n
    seed : a ``SeedSequence`` or an integer (not a Generator: ``init`` builds one from it)
    dtype : "float64" or "float32", of the weights, inputs and arithmetic
    lam : None (the MMD flow) or the DrMMD flow's lam > 0
    """

    name = "MSE on the training inputs"

    def __init__(
        self, network, teacher, X_train, batch_size: int, *, seed=None, dtype="float64", lam=None
    ):
        if dtype not in ("float64", "float32"):
            raise ValueError(f"dtype must be 'float64' or 'float32', got {dtype!r}")
        self.dtype = np.dtype(dtype)
        self.network = network
        tnet = network.teacher_network
        U = tnet.particles(teacher, "teacher").astype(self.dtype)
        self.X_train = network.inputs(X_train, "X_train").astype(self.dtype)
        self.batch_size = positive_int(batch_size, "batch_size")
        if self.batch_size > len(self.X_train):
            raise ValueError(
                f"batch_size must be at most the number of training inputs {len(self.X_train)}, "
                f"got {batch_size}"
            )
        if isinstance(seed, np.random.Generator):
            raise ValueError("seed must be a SeedSequence or an integer, not a Generator")
        self.seed = (
            seed
            if isinstance(seed, np.random.SeedSequence)
            else np.random.SeedSequence(0 if seed is None else seed)
        )
        self.teacher = U
        # the teacher is fixed: its outputs (and for DrMMD its features) on the training inputs
        # are computed once
        self.lam = None if lam is None else positive(lam, "lam")
        features = network.teacher_network.forward(U, self.X_train).phi
        self.teacher_features = None if lam is None else features
        self.teacher_train = features.mean(axis=0)
        # scratch arrays of the forward and backward passes, reused every step (a network with
        # ``takes_workspace``): warm in the cache, no page faults; not state (a call leaves
        # nothing in them that the next one reads), but one field object runs one flow at a time
        self._work = {} if getattr(network, "takes_workspace", False) else None

    @property
    def steps_per_epoch(self) -> int:
        return -(-len(self.X_train) // self.batch_size)

    def init(self, particles) -> BatchStream:
        return BatchStream(np.random.default_rng(self.seed))

    def teacher_output(self, X) -> np.ndarray:
        """f_nu*(x) on inputs X (trusted, in the field's dtype), shape (n,)."""
        return self.network.teacher_network.forward(self.teacher, X).phi.mean(axis=0)

    def __call__(self, particles, state: BatchStream, at=None, record: bool = False) -> FieldStep:
        if not isinstance(state, BatchStream):
            raise ValueError("the minibatch field's state is its BatchStream: start from init(Z)")
        net, Z = self.network, particles
        batch, state = state.next(len(self.X_train), self.batch_size)
        X = self.X_train[batch]
        if at is not None:
            at = at.astype(self.dtype, copy=False)
        work = {} if self._work is None else {"work": self._work}
        if at is not None and getattr(net, "independent_rows", False):
            # one forward pass for the particles and their perturbed copies (noise injection),
            # without the stacked copy of both where the network takes them apart (also=)
            if self._work is not None:
                both = net.forward(Z, X, also=at, **work)
            else:
                both = net.forward(np.concatenate([Z, at]), X)
            forward = Forward(*(a[: len(Z)] for a in both))
            forward_at = Forward(*(a[len(Z) :] for a in both))
        else:
            forward, forward_at = net.forward(Z, X, **work), None
        # -C with C_ij = r(x_j) / |B|, r = f_nu - f_nu* (DrMMD: its de-regularized residual):
        # the velocity is -grad f_B, and param_grad is linear in C, so this is exactly -(the
        # gradient) in any rounding
        r = forward.phi.mean(axis=0) - self.teacher_train[batch]
        if self.lam is not None:
            r = deregularized_residual(r, self.teacher_features[:, batch], self.lam)
            r = r.astype(self.dtype)
        C = np.broadcast_to(-r / len(X), forward.phi.shape)
        if at is None:
            v = v_Z = net.param_grad(Z, X, C, forward, **work)
        else:
            v = net.param_grad(at, X, C, forward_at, **work)
            v_Z = net.param_grad(Z, X, C, forward, **work) if record else None
        if not record:
            return FieldStep(v, state)
        loss = _mse(self.network, Z, self.X_train, self.teacher_train)
        return FieldStep(v, state, loss=loss, particle_velocity=None if at is None else v_Z)


def _mse(network, Z, X, target) -> float:
    """mean_x (f_Z(x) - target(x))^2 on trusted arrays, in their dtype."""
    return float(np.mean((network.forward(Z, X).phi.mean(axis=0) - target) ** 2))


@dataclass(frozen=True)
class StudentTeacherResult:
    """What :func:`train_student_teacher` returns (the same fields whatever the noise mode).

    ``epochs[k]`` is the number of epochs done when ``train_loss[k]`` (MSE on the training inputs)
    and ``valid_loss[k]`` (MSE on the validation inputs, NaN without them) were recorded;
    ``beta[k]`` is the noise level of the epoch that followed (0 without noise). ``noise`` names
    the perturbation (``"injection"``, ``"diffusion"`` or ``"none"``). ``student``: the final
    particles. ``speed2[k]``: the engine's mean squared speed at that snapshot (on the minibatch
    of the step taken from it; :func:`~kernelflows.divergences.mean_speed2`).
    """

    epochs: np.ndarray
    train_loss: np.ndarray
    valid_loss: np.ndarray
    beta: np.ndarray
    student: np.ndarray
    noise: str
    step: float
    batch_size: int
    wall_time: float = field(default=float("nan"), compare=False)
    speed2: np.ndarray | None = field(default=None, compare=False)


def _per_epoch(perturbation: Perturbation, steps_per_epoch: int) -> Perturbation:
    """The perturbation whose level at step n is the given one's at epoch n // steps_per_epoch."""
    return replace(perturbation, schedule=lambda n: perturbation.level(n // steps_per_epoch))


def _noise_name(noise, perturbation: Perturbation) -> str:
    if noise == 0:
        return "none"
    return "injection" if isinstance(perturbation, NoiseInjection) else "diffusion"


@blas_one_thread()
def train_student_teacher(
    network: Network,
    student,
    teacher,
    X_train,
    X_valid=None,
    *,
    step: float = 1e-2,
    epochs: int = 100,
    batch_size: int = 100,
    noise=0.0,
    record_every: int = 1,
    rng=None,
    dtype="float64",
    progress: bool = False,
    lam: float | None = None,
) -> StudentTeacherResult:
    """Train the student particles by minibatch SGD in the mean-field scaling: an MMD flow.

    For each minibatch B of the training inputs (reshuffled every epoch) and every particle,

    * no noise (``noise=0``):   Z <- Z - gamma grad f_B(Z)
    * ``NoiseInjection(schedule)``: Z <- Z - gamma grad f_B(Z + beta_n u),  u ~ N(0, I) per
      particle and step
    * ``Diffusion(schedule)``: Z <- Z - gamma grad f_B(Z) + beta_n u

    (the perturbations of :mod:`kernelflows.flows.perturbations`, as in the particle flows), where
    f_B is the minibatch first variation of F = MSE / 2 at the current (unperturbed) student
    (:class:`MinibatchVelocity`) and beta_n is the perturbation's schedule at the epoch index n.
    Noise injection evaluates the gradient at perturbed weights and moves the unperturbed
    particle (slide "Noise injection to improve convergence"; Arbel et al., NeurIPS 2019, the
    noisy update); the diffusion baseline adds the noise to the weights, as written on that
    slide (not scaled by sqrt(gamma) as a Langevin discretisation would be). The flow engine
    runs the steps (:func:`kernelflows.flows.run_flow`), so a run whose weights stop being finite
    raises :class:`~kernelflows.flows.FlowDivergedError` at that step.

    Parameters
    ----------
    network : MeanFieldNetwork or DenseMeanFieldNetwork
        The per-particle model of the paper's equations, or the original code's dense student
        (whose rows are perturbed and moved the same way; its teacher is a
        :class:`MeanFieldNetwork`, ``network.teacher_network``).
    student, teacher : arrays of shape (N, p) and (M, p)
        Initial student particles, and the fixed teacher particles.
    X_train, X_valid : arrays of shape (n, d)
        Training inputs (batched) and validation inputs (only evaluated; ``None`` to skip).
    step : float
        gamma, applied to grad f with F = MSE / 2 (package docstring: the loss scaling).
    epochs, batch_size : int
        Passes over X_train, and inputs per SGD step (batch_size <= len(X_train); a last
        incomplete batch is used as it is).
    noise : a perturbation, or a number or schedule (noise injection); 0 means none
        The paper's: ``NoiseInjection(halving(1.0, 1000))`` (beta per epoch).
    record_every : int
        Record the losses every this many epochs (and before the first and after the last).
    rng : numpy.random.Generator or int or None
        All randomness (batch order, noise). Batch order and noise use separate child streams
        (``rng.spawn(2)``), so that noise injection with beta = 0 follows plain training exactly.
    dtype : "float64" or "float32"
        The precision of the weights, inputs and arithmetic ("float32" as in the original
        code); the noise is drawn in that dtype (float32:
        :func:`kernelflows.flows.perturbations.standard_normal`).
    progress : bool
        Show a progress bar over the steps (off by default, as for every flow).
    lam : float or None
        ``None``: the MMD flow above. A number: the DrMMD flow with this lam (Chen et al., JMLR
        2025) under the minibatch's network kernel, with the teacher as target
        (:class:`MinibatchVelocity`); the losses recorded stay the MSE.
    """
    if not isinstance(network, MeanFieldModel):
        raise ValueError(
            "network must be a MeanFieldNetwork or DenseMeanFieldNetwork instance (e.g. "
            f"MeanFieldNetwork(d, hidden)), got {network!r:.80}"
        )
    if dtype not in ("float64", "float32"):
        raise ValueError(f"dtype must be 'float64' or 'float32', got {dtype!r}")
    dt = np.dtype(dtype)
    Z = network.particles(student, "student").astype(dt)
    batch_rng, noise_rng = as_rng(rng).spawn(2)
    velocity = MinibatchVelocity(
        network,
        teacher,
        X_train,
        batch_size,
        seed=batch_rng.bit_generator.seed_seq,
        dtype=dtype,
        lam=lam,
    )
    X_valid = None if X_valid is None else network.inputs(X_valid, "X_valid").astype(dt)
    step = positive(step, "step")
    epochs = positive_int(epochs, "epochs")
    perturbation = as_perturbation(noise)
    record_every = positive_int(record_every, "record_every")
    per_epoch = velocity.steps_per_epoch
    name = _noise_name(noise, perturbation)

    start = time.perf_counter()
    flow = run_flow(
        velocity,
        Z,
        step=step,
        n_steps=epochs * per_epoch,
        noise=_per_epoch(perturbation, per_epoch),
        rng=noise_rng,
        record_every=record_every * per_epoch,
        progress=progress,
        desc=f"student-teacher ({name})",
        dtype=dtype,
    )
    if X_valid is None:
        valid = np.full(len(flow.steps), np.nan)
    else:
        # on one BLAS thread, as the run: float32 products round the same on any machine
        target = velocity.teacher_output(X_valid)
        valid = np.array([_mse(network, Zk, X_valid, target) for Zk in flow.trajectory])
    return StudentTeacherResult(
        epochs=flow.steps // per_epoch,
        train_loss=flow.loss,
        valid_loss=valid,
        beta=flow.beta,
        student=flow.particles,
        noise=name,
        step=step,
        batch_size=velocity.batch_size,
        wall_time=time.perf_counter() - start,
        speed2=flow.speed2,
    )
