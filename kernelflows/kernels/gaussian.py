"""The Gaussian kernel and its fast paths: one exponential per pair, in cache-sized tiles.

k(x, y) = exp(-||x - y||^2 / (2 s^2)). Its gradient is a function of its value,
grad_z k(z, c) = -(z - c) / s^2 k(z, c), so one exponential gives both: the fused flow sums of
:meth:`GaussianKernel.sums_and_grad` (tiled, on the kernels' thread pool) and
:meth:`GaussianKernel.grad_from_gram`.

**Accuracy.** Every kernel value is within :data:`VALUE_RTOL` eps (1 + e) k of the exact value for
the given floats, e = ||x - y||^2 / (2 s^2) its exponent (the factor 1 + e is the conditioning of
exp: a relative error r of the exponent is an error r e of the value), however wide the cloud
(up to the coordinate limit) and wherever it sits; so every value is within VALUE_RTOL eps of
the exact one. Coincident points give exactly 1 in the checked methods (``__call__``,
``weighted_sum``, ``total``). The exponents come from one matrix product on centred coordinates
(:meth:`GaussianKernel.exponent_factors`), whose error is at most g (||z||^2 + ||c||^2) / (2 s^2),
g = :func:`~.geometry.expansion_error` (d); the pairs whose error could exceed the target, which
exist only when the cloud is wide compared with the bandwidth (near neighbours far from the
centre), are recomputed from direct differences (:func:`~.geometry.direct_sq_distances`). Where
no pair of a tile can exceed the target, nothing is checked: on clouds a few bandwidths wide the
fast paths cost what they did.
"""

from __future__ import annotations

import math

import numpy as np

from .._validation import length_scale
from ._parallel import n_threads, run_chunks, split_by_cost
from .geometry import EPS, centred, direct_sq_distances, expansion_error, needs_direct
from .radial import RadialKernel

__all__ = ["VALUE_RTOL", "VELOCITY_BLOCK_ELEMENTS", "GaussianKernel"]

#: Kernel values in one tile of the fused sum-and-gradient fast path (1 MB of float64: a tile and
#: its products stay near one core on current x86 machines; smaller tiles spend more of their
#: time in the interpreter, which two threads share).
VELOCITY_BLOCK_ELEMENTS = 2**17
#: The accuracy of every Gaussian kernel value, in eps: |k_computed - k| <= VALUE_RTOL eps
#: (1 + e) k, e the exponent (module docstring). 128 keeps clouds up to about 25 bandwidths^2 of
#: squared radius (so the benchmarks' standard normal clouds at bandwidth 1) on the one-product
#: path with nothing to check; wider clouds recompute their near pairs.
VALUE_RTOL = 128.0
#: Exponents below -UNDERFLOW give kernel values below 1e-308, subnormal or 0: their relative
#: accuracy does not matter (their absolute error is below 1e-308).
UNDERFLOW = 709.0


class GaussianKernel(RadialKernel):
    """Gaussian kernel k(x, y) = exp(-||x - y||^2 / (2 bandwidth^2)).

    ``bandwidth`` is the standard deviation sigma. (The KALE flow code of Glaser, Arbel, Gretton,
    NeurIPS 2021 writes exp(-||x - y||^2 / s): s = 2 sigma^2.)
    """

    no_second_derivatives = None

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
        the kernel values, do not lose accuracy to where the cloud sits. Their rounding error is
        at most g (sigma_z + sigma_c), sigma_z = -left[:, d], sigma_c = -right[d + 1] (the
        scaled squared norms), g = :func:`~.geometry.expansion_error` (d): :meth:`_refine` uses
        it to recompute the pairs that need it.
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

    def _reach(self, sigma_rows, sigma_cols_max: float, d: int, exact: bool):
        """Per row: how far below 0 a computed exponent must lie to be within the target
        (:data:`VALUE_RTOL`); None when every pair is (then nothing needs checking, unless
        ``exact`` asks for coincident pairs to come out exactly 0).

        ``sigma_rows`` are the rows' scaled squared norms ||z_i||^2 / (2 s^2) (``-left[:, d]``),
        ``sigma_cols_max`` the largest of the columns'. With sigma_i their sum, the error of
        row i is at most delta_i = g sigma_i (g = :func:`~.geometry.expansion_error` (d)); a
        pair is within the target when delta_i <= VALUE_RTOL eps (1 + e) for its exponent
        e >= e_computed - delta_i, or when it underflows anyway.
        """
        g = expansion_error(d)
        bound = g / (VALUE_RTOL * EPS)  # e must reach bound * sigma - 1
        if not exact and bound * (float(sigma_rows.max(initial=0.0)) + sigma_cols_max) <= 1.0:
            return None
        sigma = sigma_rows + sigma_cols_max
        return np.clip(bound * sigma - 1.0, 0.0, UNDERFLOW) + g * sigma

    def _refine(self, E, Z, C, reach, r0: int = 0, c0: int = 0, sigma=None):
        """Recompute, from direct differences of the original points, the exponents of E (rows
        of Z and columns of C from r0 and c0 on) that lie above -reach (their row's).

        With ``sigma = (sigma_rows, sigma_cols)`` of E's rows and columns, the candidates are
        narrowed first to the pairs whose own bound g (sigma_i + sigma_j) could exceed the
        target (``reach`` uses the largest sigma_j of the columns for every pair of a row)."""
        i, j = needs_direct(E, reach)
        if sigma is not None and len(i):
            d = Z.shape[1]
            g = expansion_error(d)
            s = sigma[0][i] + sigma[1][j]
            pair_reach = np.minimum(np.maximum(g / (VALUE_RTOL * EPS) * s - 1.0, 0.0), UNDERFLOW)
            pair_reach += g * s
            keep = E[i, j] > -pair_reach
            i, j = i[keep], j[keep]
        if len(i):
            E[i, j] = direct_sq_distances(Z, C, i + r0, j + c0) * (-0.5 / self.bandwidth**2)

    def _exponents(self, Z, C, *, exact: bool = True) -> np.ndarray:
        """The exponents -||z - c||^2 / (2 s^2), to the target accuracy (coincident pairs exactly
        0 when ``exact``; else within the target, as every pair)."""
        left, right = self.exponent_factors(Z, C)
        E = left @ right
        d = Z.shape[1]
        reach = self._reach(-left[:, d], -float(right[d + 1].min(initial=0.0)), d, exact)
        if reach is not None:
            self._refine(E, Z, C, reach, sigma=(-left[:, d], -right[d + 1]))
        return E

    def _gram(self, Z, X):
        E = self._exponents(Z, X)
        return np.exp(E, out=E)

    def flow_gram(self, Z, C):
        """k(Z, C) for a flow's sums: coincident pairs need not give exactly 1 (but are within
        the target accuracy, as every pair), so that clouds a few bandwidths wide, the flows'
        usual case, pay for one product and one exponential."""
        E = self._exponents(Z, C, exact=False)
        return np.exp(E, out=E)

    def value_error(self, X, Y) -> float:
        """(VALUE_RTOL + 1) eps: each value is within VALUE_RTOL eps (1 + e) k of the exact one
        and (1 + e) exp(-e) <= 1 (plus the final rounding of exp)."""
        return (VALUE_RTOL + 1.0) * EPS

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

        Kernel values are within the target accuracy (module docstring): a tile in which some
        pair could exceed it (a cloud wide compared with the bandwidth) has those pairs
        recomputed; with ``z_is_head`` a particle's value with itself is exactly 1. Other
        coincident pairs are within the target, not exactly 1.
        """
        n, N, d, r = len(Z), len(C), C.shape[1], W.shape[1]
        Z0, C0 = Z, C
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
        # tiles whose pairs may exceed the target accuracy (a wide cloud): bound * sigma > 1
        sigma_rows, sigma_cols = -left[:, d], -right[d + 1]
        bound = expansion_error(d) / (VALUE_RTOL * EPS)
        wide = [bound * float(sigma_rows[a : a + tile_rows].max()) for a in starts]

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
                    if wide[t] + bound * float(sigma_cols[j0:j1].max()) > 1.0:
                        reach = self._reach(sigma_rows[i0:i1], sigma_cols[j0:j1].max(), d, False)
                        self._refine(
                            E, Z0, C0, reach, i0, j0, (sigma_rows[i0:i1], sigma_cols[j0:j1])
                        )
                    if z_is_head and j0 == i0:
                        np.fill_diagonal(E, 0.0)  # k(x, x) = 1 exactly
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
