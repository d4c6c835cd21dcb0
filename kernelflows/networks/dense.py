"""The dense student of the authors' original code (:class:`DenseMeanFieldNetwork`)."""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from .._validation import as_rng, as_samples, nonnegative, positive, positive_int
from .base import Forward, MeanFieldModel, gaussian_output, output_slope
from .mean_field import MeanFieldNetwork

__all__ = ["DenseMeanFieldNetwork"]


@dataclass(frozen=True)
class DenseMeanFieldNetwork(MeanFieldModel):
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
    original does. It follows the network protocol of :mod:`.base`, so training, the losses and
    the shared entry points (features, output, feature_grad) accept it; its teacher is a
    :class:`~kernelflows.networks.MeanFieldNetwork` (:attr:`teacher_network`).

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

    #: Every particle's output reads every particle's first layer: rows are not independent.
    independent_rows = False

    def forward(self, Z: np.ndarray, X: np.ndarray) -> Forward:
        """phi (N, n) and the intermediates u (N, n) and hidden activations (n, N H)."""
        W0, W2 = self.unpack(Z)
        hidden = X @ W0.T
        np.maximum(hidden, 0.0, out=hidden)  # the ReLU, in place
        u = W2 @ hidden.T
        return Forward(gaussian_output(u, self.sigma), u, hidden)

    def param_grad(
        self, Z: np.ndarray, X: np.ndarray, C: np.ndarray, forward: Forward | None = None
    ) -> np.ndarray:
        """The gradient of sum_ij C_ij phi_i(x_j) with respect to every weight, shape (N, p).

        With g_ij = C_ij G'(u_ij) and a = ReLU(pre): d/dW2 = g a, and back through the ReLU,
        d/dW0 = ((W2^T g) * 1[pre > 0]) x. Unlike the per-particle model, row i's first-layer
        gradient collects every particle's output, not only its own.
        """
        phi, u, a = self.forward(Z, X) if forward is None else forward
        _, W2 = self.unpack(Z)
        g = output_slope(C, u, phi, self.sigma)  # (N, n): C_ij G'(u_ij)
        H, d = self.hidden, self.input_dim
        out = np.empty(Z.shape, dtype=np.result_type(g, a))
        np.matmul(g, a, out=out[:, H * d :])  # d/dW2 = g a, a = ReLU(pre), (n, N H)
        delta = W2.T @ g  # (N H, n)
        # 1[pre > 0] = 1[ReLU(pre) > 0], laid out as delta before the product: the product
        # with the transposed view of a's mask (a strided bool-to-float cast) took 6x longer,
        # a sixth of an N = 100 step
        delta *= np.greater(a.T, 0, out=np.empty(delta.shape, dtype=bool))
        out[:, : H * d] = (delta @ X).reshape(self.n_particles, H * d)
        return out
