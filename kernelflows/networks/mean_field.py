"""The per-particle mean-field network of the paper's equations (:class:`MeanFieldNetwork`).

Particles are stored as rows of an array of shape (N, p) (the package's sample convention), packed
as [W0 (H x d, row by row), b0 (H), W1 (H), b1 (1)], or [W0, W1] without biases (p = H (d + 1)).
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from .._validation import as_rng, as_samples, nonnegative, positive, positive_int
from .base import Forward, MeanFieldModel, gaussian_output, output_slope, workspace_array

__all__ = ["MeanFieldNetwork"]


@dataclass(frozen=True)
class MeanFieldNetwork(MeanFieldModel):
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

    # -- the network (the protocol of :mod:`.base`) ---------------------------------------------
    #: Each particle's features depend on its own row only: a forward pass of stacked
    #: particles is the forward passes of each (training fuses the perturbed and unperturbed
    #: particles of noise injection into one).
    independent_rows = True
    #: forward and param_grad take a workspace (``work=``) of reused scratch arrays, and
    #: forward more rows to stack below Z (``also=``: noise injection's perturbed copies).
    takes_workspace = True

    def forward(
        self, Z: np.ndarray, X: np.ndarray, *, work: dict | None = None, also=None
    ) -> Forward:
        """phi (N, n) and the intermediates u (N, n) and hidden activations (N, H, n).

        ``work``: a workspace (:func:`~kernelflows.networks.base.workspace_array`) whose arrays
        hold the result (overwritten by the next call with it); ``None``: new arrays.
        ``also``: more particles (M, p): the forward pass of the rows of Z, then those of
        ``also`` (N + M rows, as of ``np.concatenate([Z, also])``, which is not formed: noise
        injection's unperturbed and perturbed particles in one pass)."""
        H, d, n = self.hidden, self.input_dim, len(X)
        N = len(Z) if also is None else len(Z) + len(also)
        dtype = np.result_type(Z, X) if also is None else np.result_type(Z, also, X)
        # every particle's W0 as one contiguous (N H, d) matrix (copied out of the rows, as a
        # reshape of the strided view would), for one product (N H, d) @ (d, n)
        W0 = workspace_array(work, "W0", (N, H * d), dtype)
        if also is None:
            W0[...] = Z[:, : H * d]
            _, b0, W1, b1 = self.unpack(Z)
        else:
            W0[: len(Z)] = Z[:, : H * d]
            W0[len(Z) :] = also[:, : H * d]
            (_, b0, W1, b1), (_, c0, V1, c1) = self.unpack(Z), self.unpack(also)
            b0, W1, b1 = (
                np.concatenate([b0, c0]),
                np.concatenate([W1, V1]),
                np.concatenate([b1, c1]),
            )
        hidden = workspace_array(work, "hidden", (N, H, n), dtype)
        np.matmul(W0.reshape(N * H, d), X.T, out=hidden.reshape(N * H, n))
        if self.bias:
            hidden += b0[:, :, None]
        np.maximum(hidden, 0.0, out=hidden)  # the ReLU, in place
        u = np.einsum("nh,nhb->nb", W1, hidden, out=workspace_array(work, "u", (N, n), dtype))
        if self.bias:
            u += b1[:, None]
        phi = gaussian_output(u, self.sigma, out=workspace_array(work, "phi", (N, n), dtype))
        return Forward(phi, u, hidden)

    def param_grad(
        self,
        Z: np.ndarray,
        X: np.ndarray,
        C: np.ndarray,
        forward: Forward | None = None,
        *,
        work: dict | None = None,
    ) -> np.ndarray:
        """sum_j C_ij grad_Z phi_{Z_i}(x_j) for each particle, shape (N, p).

        Back-propagation written out: with u = b1 + W1 . a, a = ReLU(p), p = W0 x + b0 and
        G'(u) = -2 u / sigma^2 G(u),
        d phi / d b1 = G'(u), d phi / d W1_h = G'(u) a_h, d phi / d b0_h = G'(u) W1_h 1[p_h > 0]
        and d phi / d W0_h = G'(u) W1_h 1[p_h > 0] x. ``forward`` may pass ``forward(Z, X)``;
        ``work``: a workspace for the intermediates (the returned gradient is always new).
        """
        phi, u, hidden = self.forward(Z, X, work=work) if forward is None else forward
        W0, b0, W1, b1 = self.unpack(Z)
        N, H, d = W0.shape
        n = len(X)
        # the dtypes of the products as numpy's promotion gives them (C may be float64 on
        # float32 particles: feature_grad's weights)
        g_dtype = np.result_type(C, -2.0 / self.sigma**2)
        g = output_slope(C, u, phi, self.sigma, out=workspace_array(work, "g", u.shape, g_dtype))
        gW1 = np.einsum("nb,nhb->nh", g, hidden)
        delta = workspace_array(work, "delta", hidden.shape, np.result_type(g, W1))
        # g_ib W1_ih for every (i, h, b): one product each, as g[:, None, :] * W1[:, :, None]
        # (einsum's loops run faster than the broadcast product's 100-long rows)
        np.einsum("nb,nh->nhb", g, W1, out=delta)
        mask = workspace_array(work, "mask", hidden.shape, bool)
        np.greater(hidden, 0, out=mask)  # 1[p > 0] = 1[ReLU(p) > 0]
        delta *= mask
        gW0 = workspace_array(work, "gW0", (N * H, d), np.result_type(delta, X))
        np.matmul(delta.reshape(N * H, n), X, out=gW0)
        gW0 = gW0.reshape(N, H, d)
        if not self.bias:  # [W0, W1]: the biases' gradients are not needed
            return np.concatenate([gW0.reshape(N, H * d), gW1], axis=1)
        return self.pack(gW0, delta.sum(axis=2), gW1, g.sum(axis=1))
