"""The mean-field student-teacher network, its kernel, and its training as an MMD flow.

Talk, slides "Motivation: Neural Net training", "Connection to the MMD" and "Noise injection:
neural net setting"; Arbel, Korba, Salim, Gretton, "Maximum Mean Discrepancy Gradient Flow"
(NeurIPS 2019), the student-teacher experiment of its Figure 1; the mean-field view is that of
Chizat and Bach (NeurIPS 2018).

A particle Z = (W0, b0, W1, b1) is the weight vector of one small network with H hidden units,

    phi_Z(x) = G(b1 + W1 ReLU(W0 x + b0)),        G(u) = exp(-u^2 / sigma^2),  sigma = 2,

and the model is the average over N particles, f_nu(x) = (1/N) sum_i phi_{Z_i}(x), nu the
empirical measure of the particles. The teacher is the same model with its own M particles U_m.
With the kernel k(Z, Z') = E_x[phi_Z(x) phi_Z'(x)], the mean-squared error is an MMD,

    MSE(nu) = E_x[(f_nu(x) - f_nu*(x))^2] = MMD^2(nu, nu*)          (biased / V-statistic form)

("Connection to the MMD"; with E_x the average over a fixed input set the identity is exact).

**Loss scaling and step size.** Training flows F(nu) = MMD^2(nu, nu*) / 2 = MSE / 2, whose first
variation is the witness-like function f(Z) = E_x[phi_Z(x) (f_nu(x) - f_nu*(x))], and each
particle moves by Z <- Z - gamma grad f(Z): this is SGD on N * MSE / 2 (the mean-field scaling,
grad f rather than grad_Z_i MSE = (2 / N) grad f). The authors' code trains with learning rate
0.1 on losses that reach each particle with factor 1/2 (noise injection), 1/N (its "no noise"
loss) or 1 (diffusion): gamma = 0.05, 0.1 / N and 0.1 in this convention
(:func:`kernelflows.experiments.loss_scale`).

Particles are stored as rows of an array of shape (N, p) (the package's sample convention), packed
as [W0 (H x d, row by row), b0 (H), W1 (H), b1 (1)], or [W0, W1] without biases (p = H (d + 1)).
"""

from __future__ import annotations

import time
from dataclasses import dataclass, field

import numpy as np
from tqdm.auto import tqdm

from ._validation import as_rng, as_samples, nonnegative, positive, positive_int
from .flows.perturbations import NoiseInjection, as_perturbation

__all__ = [
    "DenseMeanFieldNetwork",
    "MeanFieldNetwork",
    "StudentTeacherResult",
    "sphere_inputs",
    "mse",
    "first_variation_grad",
    "train_student_teacher",
]


def sphere_inputs(n: int, d: int, rng=None) -> np.ndarray:
    """n points uniform on the unit sphere of R^d, shape (n, d) (normalised Gaussian vectors)."""
    n = positive_int(n, "n")
    d = positive_int(d, "d")
    rng = as_rng(rng)
    X = rng.standard_normal((n, d))
    X /= np.linalg.norm(X, axis=1, keepdims=True)
    return X


@dataclass(frozen=True)
class MeanFieldNetwork:
    """The architecture phi_Z(x) = G(b1 + W1 ReLU(W0 x + b0)), G(u) = exp(-u^2 / sigma^2).

    Parameters
    ----------
    input_dim : int
        d, the dimension of the inputs x.
    hidden : int
        H, the number of hidden units of one particle's network.
    bias : bool
        Whether particles carry the biases b0, b1 (the published run has none).
    sigma : float
        Width of the Gaussian output G; sigma = 2 as in the MMD flow paper's experiment.
    """

    input_dim: int = 50
    hidden: int = 3
    bias: bool = False
    sigma: float = 2.0

    def __post_init__(self):
        positive_int(self.input_dim, "input_dim")
        positive_int(self.hidden, "hidden")
        positive(self.sigma, "sigma")
        if not isinstance(self.bias, (bool, np.bool_)):
            raise ValueError(f"bias must be a bool (True or False), got {self.bias!r}")

    @property
    def n_params(self) -> int:
        """p, the dimension of a particle: H d + H (+ H + 1 with biases)."""
        H, d = self.hidden, self.input_dim
        return H * d + H + (H + 1 if self.bias else 0)

    @property
    def teacher_network(self) -> MeanFieldNetwork:
        """The teacher's architecture: this one."""
        return self

    # -- packing -------------------------------------------------------------------------------
    def unpack(self, Z: np.ndarray):
        """Views (W0 (N, H, d), b0 (N, H), W1 (N, H), b1 (N,)); b0, b1 are zeros without biases."""
        N, H, d = Z.shape[0], self.hidden, self.input_dim
        W0 = Z[:, : H * d].reshape(N, H, d)
        if self.bias:
            b0 = Z[:, H * d : H * d + H]
            W1 = Z[:, H * d + H : H * d + 2 * H]
            b1 = Z[:, -1]
        else:
            b0 = np.zeros((N, H))
            W1 = Z[:, H * d :]
            b1 = np.zeros(N)
        return W0, b0, W1, b1

    def pack(self, W0, b0, W1, b1) -> np.ndarray:
        """The inverse of :meth:`unpack` (b0, b1 are dropped without biases)."""
        N = W0.shape[0]
        parts = [W0.reshape(N, -1)]
        parts += [b0, W1, b1[:, None]] if self.bias else [W1]
        return np.hstack(parts)

    def particles(self, Z, name: str = "Z") -> np.ndarray:
        """Validate particles: a finite array of shape (N, p) with p = ``n_params``."""
        Z = as_samples(Z, name)
        if Z.shape[1] != self.n_params:
            raise ValueError(
                f"{name} must have shape (N, {self.n_params}) for {self!r}, got {Z.shape}"
            )
        return Z

    def inputs(self, X, name: str = "X") -> np.ndarray:
        X = as_samples(X, name)
        if X.shape[1] != self.input_dim:
            raise ValueError(f"{name} must have shape (n, {self.input_dim}), got {X.shape}")
        return X

    def init_particles(
        self, n: int, rng=None, mean: float = 0.0, std: float = 1.0, second_layer_std=None
    ) -> np.ndarray:
        """n particles with independent N(mean, std^2) weights (and biases), shape (n, p).

        ``second_layer_std`` gives W1 that spread instead: the same draws, rescaled about the
        mean (so a run with and without it starts from the same first layer)."""
        n = positive_int(n, "n")
        std = nonnegative(std, "std")
        Z = as_rng(rng).normal(float(mean), std, size=(n, self.n_params))
        if second_layer_std is not None:
            s2 = nonnegative(second_layer_std, "second_layer_std")
            W1 = self.unpack(Z)[2]
            W1[:] = mean + (W1 - mean) * (s2 / std)
        return Z

    # -- the network ---------------------------------------------------------------------------
    def _forward(self, Z: np.ndarray, X: np.ndarray):
        """phi (N, n) and the intermediates (u (N, n), pre-activations (N, H, n)) for grads."""
        W0, b0, W1, b1 = self.unpack(Z)
        N, H, d = W0.shape
        # One matrix product for all particles and inputs: (N H, d) @ (d, n).
        pre = (W0.reshape(N * H, d) @ X.T).reshape(N, H, len(X))
        if self.bias:
            pre += b0[:, :, None]
        u = np.einsum("nh,nhb->nb", W1, np.maximum(pre, 0.0))
        if self.bias:
            u += b1[:, None]
        phi = np.exp(-(u**2) / self.sigma**2)
        return phi, u, pre

    def features(self, Z, X) -> np.ndarray:
        """phi_{Z_i}(x_j) for every particle and input, shape (N, n) (no loop over particles)."""
        return self._forward(self.particles(Z), self.inputs(X))[0]

    def output(self, Z, X) -> np.ndarray:
        """The mean-field model f_nu(x_j) = (1/N) sum_i phi_{Z_i}(x_j), shape (n,)."""
        return self.features(Z, X).mean(axis=0)

    def _weighted_param_grad(
        self, Z: np.ndarray, X: np.ndarray, C: np.ndarray, forward=None
    ) -> np.ndarray:
        """sum_j C_ij grad_Z phi_{Z_i}(x_j) for each particle, shape (N, p).

        Back-propagation written out: with u = b1 + W1 . a, a = ReLU(p), p = W0 x + b0 and
        G'(u) = -2 u / sigma^2 G(u),
        d phi / d b1 = G'(u), d phi / d W1_h = G'(u) a_h, d phi / d b0_h = G'(u) W1_h 1[p_h > 0]
        and d phi / d W0_h = G'(u) W1_h 1[p_h > 0] x. ``forward`` may pass ``_forward(Z, X)``.
        """
        phi, u, pre = self._forward(Z, X) if forward is None else forward
        W0, b0, W1, b1 = self.unpack(Z)
        N, H, d = W0.shape
        g = C * (-2.0 / self.sigma**2) * u * phi  # (N, n): C_ij G'(u_ij)
        gW1 = np.einsum("nb,nhb->nh", g, np.maximum(pre, 0.0))
        delta = g[:, None, :] * W1[:, :, None] * (pre > 0)  # (N, H, n)
        gW0 = (delta.reshape(N * H, len(X)) @ X).reshape(N, H, d)
        return self.pack(gW0, delta.sum(axis=2), gW1, g.sum(axis=1))

    def feature_grad(self, Z, X, weights) -> np.ndarray:
        """sum_j w_j grad_Z phi_{Z_i}(x_j), shape (N, p), for input weights w of shape (n,)."""
        Z = self.particles(Z)
        X = self.inputs(X)
        w = np.asarray(weights, dtype=float)
        if w.shape != (len(X),) or not np.all(np.isfinite(w)):
            raise ValueError(f"weights must be a finite vector of shape ({len(X)},)")
        return self._weighted_param_grad(Z, X, np.broadcast_to(w, (len(Z), len(X))))


@dataclass(frozen=True)
class DenseMeanFieldNetwork:
    """The student of the authors' original code (PyTorch, 2019): one wide network, not N.

    Its first layer maps x to all N H hidden units, W0 of shape (N H, d), and its second layer is
    a dense (N H) x N matrix W2, so "particle" i outputs

        phi_i(x) = G(sum_k W2[i, k] ReLU(W0[k] . x)),        G(u) = exp(-u^2 / sigma^2),

    a sum over every particle's hidden units; the model is again f(x) = (1/N) sum_i phi_i(x). With
    W2 block-diagonal (W2[i, k] = 0 unless k // H = i) it is :class:`MeanFieldNetwork` without
    biases (a test checks it). The original initialises every entry of W0 and W2 with the same
    N(mean, std^2), so u_i sums N H terms where the per-particle model sums H: its spread grows
    like sqrt(N), and most G(u_i) start near 0.

    The weights are stored as N rows, row i = [W0 rows i H, ..., i H + H - 1 (H d numbers),
    W2 row i (N H numbers)]: the first-layer units a particle owns under the block-diagonal
    reading and its output row. Noise injection and diffusion perturb every entry, as the
    original does. Only training (:func:`train_student_teacher`) and :func:`mse` accept it.

    Parameters
    ----------
    n_particles : int
        N (the second layer's size depends on it).
    input_dim, hidden, sigma
        d, H and the width of G, as for :class:`MeanFieldNetwork` (no biases: the original's
        default).
    """

    n_particles: int = 1000
    input_dim: int = 50
    hidden: int = 3
    sigma: float = 2.0

    def __post_init__(self):
        positive_int(self.n_particles, "n_particles")
        positive_int(self.input_dim, "input_dim")
        positive_int(self.hidden, "hidden")
        positive(self.sigma, "sigma")

    @property
    def n_params(self) -> int:
        """Numbers per row: H d (first layer) + N H (a row of the second layer)."""
        return self.hidden * self.input_dim + self.n_particles * self.hidden

    @property
    def teacher_network(self) -> MeanFieldNetwork:
        """The teacher's architecture: one network with H hidden units, no biases."""
        return MeanFieldNetwork(self.input_dim, self.hidden, False, self.sigma)

    def unpack(self, Z: np.ndarray):
        """Views (W0 (N H, d), W2 (N, N H))."""
        N, H, d = self.n_particles, self.hidden, self.input_dim
        return Z[:, : H * d].reshape(N * H, d), Z[:, H * d :]

    def pack(self, W0, W2) -> np.ndarray:
        """The inverse of :meth:`unpack`."""
        return np.hstack([W0.reshape(self.n_particles, -1), W2])

    def particles(self, Z, name: str = "Z") -> np.ndarray:
        """Validate weights: a finite array of shape (N, H d + N H)."""
        Z = as_samples(Z, name)
        if Z.shape != (self.n_particles, self.n_params):
            raise ValueError(
                f"{name} must have shape ({self.n_particles}, {self.n_params}) for {self!r}, "
                f"got {Z.shape}"
            )
        return Z

    def init_particles(
        self, n: int, rng=None, mean: float = 0.0, std: float = 1.0, second_layer_std=None
    ) -> np.ndarray:
        """Independent N(mean, std^2) entries in both layers (the original's initialisation);
        ``second_layer_std`` replaces std in W2 (e.g. std / sqrt(N), which gives u_i the
        per-particle model's spread). ``n`` must be N."""
        n = positive_int(n, "n")
        if n != self.n_particles:
            raise ValueError(f"n must be n_particles = {self.n_particles}, got {n}")
        std = nonnegative(std, "std")
        s2 = std if second_layer_std is None else nonnegative(second_layer_std, "second_layer_std")
        rng = as_rng(rng)
        H, d = self.hidden, self.input_dim
        W0 = rng.normal(float(mean), std, size=(n * H, d))
        W2 = rng.normal(float(mean), s2, size=(n, n * H))
        return self.pack(W0, W2)

    def block_diagonal(self, Z) -> np.ndarray:
        """The weights of a :class:`MeanFieldNetwork` without biases (rows of shape (H d + H))
        written in this packing: W2 block-diagonal with particle i's W1 in its block."""
        H, d, N = self.hidden, self.input_dim, self.n_particles
        Z = self.teacher_network.particles(Z)
        if len(Z) != N:
            raise ValueError(f"Z must have {N} rows, got {len(Z)}")
        W2 = np.zeros((N, N * H), dtype=Z.dtype)
        for h in range(H):
            W2[np.arange(N), np.arange(N) * H + h] = Z[:, H * d + h]
        return np.hstack([Z[:, : H * d], W2])

    def _forward(self, Z: np.ndarray, X: np.ndarray):
        """phi (N, n) and the intermediates (u (N, n), pre-activations (n, N H))."""
        W0, W2 = self.unpack(Z)
        pre = X @ W0.T
        u = W2 @ np.maximum(pre, 0.0).T
        phi = np.exp(-(u**2) / self.sigma**2)
        return phi, u, pre

    # the same input check, and the same outputs from this class's _forward
    inputs = MeanFieldNetwork.inputs
    features = MeanFieldNetwork.features
    output = MeanFieldNetwork.output

    def _weighted_param_grad(
        self, Z: np.ndarray, X: np.ndarray, C: np.ndarray, forward=None
    ) -> np.ndarray:
        """The gradient of sum_ij C_ij phi_i(x_j) with respect to every weight, shape (N, p).

        With g_ij = C_ij G'(u_ij) and a = ReLU(pre): d/dW2 = g a, and back through the ReLU,
        d/dW0 = ((W2^T g) * 1[pre > 0]) x. Unlike the per-particle model, row i's first-layer
        gradient collects every particle's output, not only its own.
        """
        phi, u, pre = self._forward(Z, X) if forward is None else forward
        _, W2 = self.unpack(Z)
        g = C * (-2.0 / self.sigma**2) * u * phi  # (N, n)
        a = np.maximum(pre, 0.0)  # (n, N H)
        gW2 = g @ a
        delta = (W2.T @ g) * (pre.T > 0)  # (N H, n)
        return self.pack(delta @ X, gW2)


def mse(network, student, teacher, X) -> float:
    """E_x[(f_student(x) - f_teacher(x))^2] over the inputs X: the slide's loss, = MMD^2."""
    Z = network.particles(student, "student")
    tnet = network.teacher_network
    U = tnet.particles(teacher, "teacher")
    X = network.inputs(X)
    r = network._forward(Z, X)[0].mean(axis=0) - tnet._forward(U, X)[0].mean(axis=0)
    return float(np.mean(r**2))


def first_variation_grad(network: MeanFieldNetwork, at, student, teacher, X) -> np.ndarray:
    """grad f(Z) at the rows Z of ``at``, for f the first variation of F = MSE / 2 = MMD^2 / 2.

    f(Z) = E_x[phi_Z(x) (f_nu(x) - f_nu*(x))] with nu the ``student`` particles and nu* the
    ``teacher`` particles; in kernel form f = (1/N) sum_i k(., Z_i) - (1/M) sum_m k(., U_m), the
    witness of the MMD flow (Arbel et al., NeurIPS 2019). The velocity of a particle is -grad f.
    Shape (len(at), p).
    """
    Z = network.particles(student, "student")
    U = network.particles(teacher, "teacher")
    A = network.particles(at, "at")
    X = network.inputs(X)
    r = network._forward(Z, X)[0].mean(axis=0) - network._forward(U, X)[0].mean(axis=0)
    return network._weighted_param_grad(A, X, np.broadcast_to(r / len(X), (len(A), len(X))))


# -- training ---------------------------------------------------------------------------------
@dataclass(frozen=True)
class StudentTeacherResult:
    """What :func:`train_student_teacher` returns (the same fields whatever the noise mode).

    ``epochs[k]`` is the number of epochs done when ``train_loss[k]`` (MSE on the training inputs)
    and ``valid_loss[k]`` (MSE on the validation inputs) were recorded; ``beta[k]`` is the noise
    level of the epoch that followed (0 without noise). ``noise`` names the perturbation
    (``"injection"``, ``"diffusion"`` or ``"none"``). ``student``: the final particles.
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


def train_student_teacher(
    network: MeanFieldNetwork,
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
) -> StudentTeacherResult:
    """Train the student particles by minibatch SGD in the mean-field scaling: an MMD flow.

    For each minibatch B of the training inputs (reshuffled every epoch) and every particle,

    * no noise (``noise=0``):   Z <- Z - gamma grad f_B(Z)
    * ``NoiseInjection(schedule)``: Z <- Z - gamma grad f_B(Z + beta_n u),  u ~ N(0, I) per
      particle and step
    * ``Diffusion(schedule)``: Z <- Z - gamma grad f_B(Z) + beta_n u

    (the perturbations of :mod:`kernelflows.flows.perturbations`, as in the particle flows), where
    f_B(Z) = (1/|B|) sum_{x in B} phi_Z(x) (f_nu(x) - f_nu*(x)) is the minibatch first
    variation of F = MSE / 2 at the current (unperturbed) student nu, and beta_n is the
    perturbation's schedule at the epoch index n. Noise injection evaluates the gradient at
    perturbed weights and moves the unperturbed particle (slide "Noise injection to improve
    convergence"; Arbel et al., NeurIPS 2019, the noisy update); the diffusion baseline adds the
    noise to the weights, as written on that slide (not scaled by sqrt(gamma) as a Langevin
    discretisation would be).

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
        gamma, applied to grad f with F = MSE / 2 (module docstring: the loss scaling).
    epochs, batch_size : int
        Passes over X_train, and inputs per SGD step (batch_size <= len(X_train); a last
        incomplete batch is used as it is).
    noise : a perturbation, or a number or schedule (noise injection); 0 means none
        The paper's: ``NoiseInjection(halving(1.0, 1000))`` (beta per epoch).
    record_every : int
        Record the losses every this many epochs (and before the first and after the last).
    rng : numpy.random.Generator or int or None
        All randomness (batch order, noise). Batch order and noise use separate child streams,
        so that noise injection with beta = 0 follows plain training exactly.
    dtype : "float64" or "float32"
        The precision of the weights, inputs and arithmetic ("float32" as in the original
        code); the noise is drawn in float64 and rounded.
    progress : bool
        Show a progress bar over epochs (off by default, as for every flow).
    """
    if not isinstance(network, (MeanFieldNetwork, DenseMeanFieldNetwork)):
        raise ValueError(
            "network must be a MeanFieldNetwork or DenseMeanFieldNetwork instance (e.g. "
            f"MeanFieldNetwork(d, hidden)), got {network!r:.80}"
        )
    if dtype not in ("float64", "float32"):
        raise ValueError(f"dtype must be 'float64' or 'float32', got {dtype!r}")
    dt = np.dtype(dtype)
    tnet = network.teacher_network
    Z = network.particles(student, "student").astype(dt)
    U = tnet.particles(teacher, "teacher").astype(dt)
    X_train = network.inputs(X_train, "X_train").astype(dt)
    X_valid = None if X_valid is None else network.inputs(X_valid, "X_valid").astype(dt)
    step = positive(step, "step")
    epochs = positive_int(epochs, "epochs")
    batch_size = positive_int(batch_size, "batch_size")
    if batch_size > len(X_train):
        raise ValueError(
            f"batch_size must be at most the number of training inputs {len(X_train)}, "
            f"got {batch_size}"
        )
    perturbation = as_perturbation(noise)
    name = (
        "none"
        if noise == 0
        else ("injection" if isinstance(perturbation, NoiseInjection) else "diffusion")
    )
    record_every = positive_int(record_every, "record_every")
    batch_rng, noise_rng = as_rng(rng).spawn(2)

    n_train = len(X_train)
    # The teacher is fixed: its outputs on the inputs are computed once.
    teacher_train = tnet._forward(U, X_train)[0].mean(axis=0)
    teacher_valid = None if X_valid is None else tnet._forward(U, X_valid)[0].mean(axis=0)
    step_dt = dt.type(step)

    def loss(X, target):
        return float(np.mean((network._forward(Z, X)[0].mean(axis=0) - target) ** 2))

    rec_epochs, rec_train, rec_valid, rec_beta = [], [], [], []

    def record(epoch):
        rec_epochs.append(epoch)
        rec_train.append(loss(X_train, teacher_train))
        rec_valid.append(np.nan if X_valid is None else loss(X_valid, teacher_valid))
        rec_beta.append(perturbation.level(epoch))

    start = time.perf_counter()
    record(0)
    for epoch in tqdm(range(epochs), disable=not progress, desc=f"student-teacher ({name})"):
        beta = perturbation.level(epoch)
        order = batch_rng.permutation(n_train)
        for first in range(0, n_train, batch_size):
            batch = order[first : first + batch_size]
            X = X_train[batch]
            forward = network._forward(Z, X)
            C = np.broadcast_to(
                (forward[0].mean(axis=0) - teacher_train[batch]) / len(X), forward[0].shape
            )
            at = perturbation.evaluation_points(Z, beta, noise_rng)
            if at is None:
                Z -= step_dt * network._weighted_param_grad(Z, X, C, forward)
            else:
                Z -= step_dt * network._weighted_param_grad(at.astype(dt, copy=False), X, C)
            Z = perturbation.after_step(Z, beta, noise_rng).astype(dt, copy=False)
        if (epoch + 1) % record_every == 0 or epoch + 1 == epochs:
            record(epoch + 1)
        if not np.all(np.isfinite(Z)):
            raise FloatingPointError(f"student weights became non-finite at epoch {epoch + 1}")
    return StudentTeacherResult(
        epochs=np.array(rec_epochs),
        train_loss=np.array(rec_train),
        valid_loss=np.array(rec_valid),
        beta=np.array(rec_beta),
        student=Z,
        noise=name,
        step=step,
        batch_size=batch_size,
        wall_time=time.perf_counter() - start,
    )
