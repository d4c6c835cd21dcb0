"""The Gaussian kernel and its fast paths: one exponential per pair, in cache-sized tiles.

k(x, y) = exp(-||x - y||^2 / (2 s^2)). Its gradient is a function of its value,
grad_z k(z, c) = -(z - c) / s^2 k(z, c), so one exponential gives both: the fused flow sums of
:meth:`GaussianKernel.sums_and_grad` (tiled, on the kernels' thread pool) and
:meth:`GaussianKernel.grad_from_gram`.
"""

from __future__ import annotations

import math

import numpy as np

from .._validation import length_scale
from ._parallel import n_threads, run_chunks, split_by_cost
from .geometry import centred
from .radial import RadialKernel

__all__ = ["VELOCITY_BLOCK_ELEMENTS", "GaussianKernel"]

#: Kernel values in one tile of the fused sum-and-gradient fast path (1 MB of float64: a tile and
#: its products stay near one core on current x86 machines; smaller tiles spend more of their
#: time in the interpreter, which two threads share).
VELOCITY_BLOCK_ELEMENTS = 2**17


class GaussianKernel(RadialKernel):
    """Gaussian kernel k(x, y) = exp(-||x - y||^2 / (2 bandwidth^2)).

    ``bandwidth`` is the standard deviation sigma. (The KALE flow code of Glaser, Arbel, Gretton,
    NeurIPS 2021 writes exp(-||x - y||^2 / s): s = 2 sigma^2.)
    """

    def __init__(self, bandwidth: float = 1.0):
        self.bandwidth = length_scale(bandwidth, "bandwidth")

    def __repr__(self) -> str:
        return f"GaussianKernel(bandwidth={self.bandwidth:.6g})"

    # One matrix product on augmented coordinates gives the exponent of every pair:
    # -||z - c||^2 / (2 s^2) = [z / s^2, -|z|^2 / (2 s^2), 1] . [c, 1, -|c|^2 / (2 s^2)].
    # This is the one place where that identity is written; the fast paths below all use it.
    def exponent_factors(self, Z, C):
        """(left, right) of shapes (n, d + 2), (d + 2, N): left @ right = -||z - c||^2 / (2 s^2).

        Z and C are centred on one reference point (the mean of C) first, so the exponents, and
        the kernel values, do not lose accuracy when the points sit far from the origin.
        """
        return self._centred_factors(*centred(Z, C))

    def _centred_factors(self, Z, C):
        inv = 1.0 / self.bandwidth**2
        d = Z.shape[1]
        left = np.empty((len(Z), d + 2))
        left[:, :d] = Z * inv
        left[:, d] = -0.5 * inv * np.einsum("ij,ij->i", Z, Z)
        left[:, d + 1] = 1.0
        right = np.empty((d + 2, len(C)))
        right[:d] = C.T
        right[d] = 1.0
        right[d + 1] = -0.5 * inv * np.einsum("ij,ij->i", C, C)
        return left, right

    @staticmethod
    def _exp_block(left, right, clamp: bool = True):
        E = left @ right
        if clamp:  # rounding may make the exponent of a pair at 0 slightly > 0
            np.minimum(E, 0.0, out=E)
        np.exp(E, out=E)
        return E

    def _gram(self, Z, X):
        return self._exp_block(*self.exponent_factors(Z, X))

    def flow_gram(self, Z, C):
        """k(Z, C) without the clamp of the exponent at 0 (a third of the time at the KALE flow's
        sizes): a coincident pair's value may be 1 + O(eps |z|^2 / s^2), the rounding of every
        pair, as in :meth:`sums_and_grad`."""
        return self._exp_block(*self.exponent_factors(Z, C), clamp=False)

    def _grad_block(self, Z, X, w):
        K = self._gram(Z, X)
        return GaussianKernel.grad_from_gram(self, Z, X, K, w)  # not a subclass's override

    def grad_from_gram(self, Z, C, K, w):
        """sum_j w_j grad_z k(z_i, c_j) from the kernel values K = k(Z, C): one product with
        [w c, w], as grad_z k(z, c) = -(z - c) / s^2 k(z, c)."""
        # sum_j w_j grad = ((K w c)(z) - z (K w)(z)) / s^2
        d = C.shape[1]
        Z, C = centred(Z, C)  # (K w c)(z) - z (K w)(z) cancels less
        sums = np.empty((d + 1, len(C)))
        sums[:d] = C.T * w[None, :]
        sums[d] = w
        acc = _products(K, sums)
        return (acc[:, :d] - Z * acc[:, d:]) / self.bandwidth**2

    def sums_and_grad(self, Z, C, W, *, z_is_head: bool = False, block_elements=None, threads=None):
        """Gaussian fast path of :meth:`Kernel.sums_and_grad`: one exponential per pair.

        The pairs are cut into tiles of about ``block_elements`` kernel values (default
        :data:`VELOCITY_BLOCK_ELEMENTS`: 1 MB, so that the exponent, its exponential and the
        products of a tile stay in a core's cache). A tile of rows I and columns J is
        exp(left_I @ right_J); one product with [W[:, 0] c, W]_J gives both the weighted sums and
        sum_j w_j (z - c_j) k(z, c_j) of rows I at once. With ``z_is_head`` (the particles
        themselves, no noise injection) k(x_i, x_j) = k(x_j, x_i) saves half of the
        particle-particle exponentials: row tile I takes the columns from its first row on, and
        the transposed product of a tile hands the same values to the rows of J.

        The row tiles run on the kernels' thread pool (``threads`` as in
        :meth:`Kernel.sums_and_grad`), cut into chunks of equal cost that do not depend on the
        number of threads. A chunk adds its own rows and the transposed values it hands on into
        a partial sum of its own (rows from its first on); the partial sums are added in chunk
        order at the end, so the result is bit for bit the same on any number of threads.

        The exponent of a pair is not clamped at 0 here (unlike :meth:`_gram`): the augmented
        product has an absolute rounding error of about eps (|z|^2 + |c|^2) / (2 s^2) for every
        pair, so a coincident pair's kernel value may come out as 1 + O(eps |z|^2 / s^2), the
        same error as every other pair's; the clamp cost a quarter of the time. Identical
        particles still see identical kernel values (the same arithmetic on the same numbers).
        """
        n, N, d, r = len(Z), len(C), C.shape[1], W.shape[1]
        Z, C = centred(Z, C)  # once, for the exponents and for sum_j w_j (z - c_j) k
        left, right = self._centred_factors(Z, C)
        sums = np.empty((N, d + r))  # columns: [w c, W]
        sums[:, :d] = C * W[:, :1]
        sums[:, d:] = W
        tile = VELOCITY_BLOCK_ELEMENTS if block_elements is None else block_elements
        tile_rows = max(1, min(n, math.isqrt(tile)))
        tile_cols = max(1, tile // tile_rows)
        starts = list(range(0, n, tile_rows))
        first = [start if z_is_head else 0 for start in starts]
        chunks = split_by_cost(
            [(min(n, a + tile_rows) - a) * (N - f) for a, f in zip(starts, first, strict=True)]
        )
        acc = np.empty((n, d + r))

        def task(c):
            lo = starts[chunks[c][0]] if starts else 0
            part = np.zeros((n - lo, d + r)) if z_is_head else None
            buffer = np.empty(tile_rows * tile_cols)
            for t in range(*chunks[c]):
                i0 = starts[t]
                i1 = min(n, i0 + tile_rows)
                own = np.zeros((i1 - i0, d + r))
                for j0 in range(first[t], N, tile_cols):
                    j1 = min(N, j0 + tile_cols)
                    E = buffer[: (i1 - i0) * (j1 - j0)].reshape(i1 - i0, j1 - j0)
                    np.matmul(left[i0:i1], right[:, j0:j1], out=E)
                    np.exp(E, out=E)
                    own += E @ sums[j0:j1]
                    a, b = max(j0, i1), min(j1, n)  # particles after this row tile
                    if z_is_head and a < b:
                        part[a - lo : b - lo] += E[:, a - j0 : b - j0].T @ sums[i0:i1]
                if z_is_head:
                    part[i0 - lo : i1 - lo] += own
                else:
                    acc[i0:i1] = own
            return lo, part

        parts = run_chunks(task, len(chunks), n_threads(n * N, threads))
        if z_is_head:
            acc[:] = 0.0
            for lo, part in parts:  # in chunk order: the same sums on any number of threads
                acc[lo:] += part
        S = acc[:, d:]
        G = (acc[:, :d] - Z * S[:, :1]) / self.bandwidth**2
        return S, G

    def _psi(self, r2):
        return np.exp(-r2 / (2.0 * self.bandwidth**2))

    def _dpsi(self, r2):
        return -self._psi(r2) / (2.0 * self.bandwidth**2)

    def radial_derivatives(self, r2, order: int = 3):
        """psi^(j)(r2) = (-1 / (2 bandwidth^2))^j psi(r2), j = 0, ..., order."""
        psi = self._psi(np.asarray(r2, dtype=np.float64))
        c = -1.0 / (2.0 * self.bandwidth**2)
        return [psi * c**j for j in range(order + 1)]


def _products(E, sums):
    """E @ sums.T: a few matrix-vector products beat one thin matrix product for small d."""
    if len(sums) <= 4:
        return np.stack([E @ s for s in sums], axis=1)
    return E @ sums.T
