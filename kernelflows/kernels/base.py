"""Kernels: Gram matrices, weighted sums and weighted gradient sums, computed in row blocks.

Talk, slide "All of kernel methods": a function in the RKHS is f(x) = sum_i alpha_i k(x_i, x),
infinitely many features written with m coefficients. Everything downstream (mean embeddings,
witness functions, MMD, the velocity of a flow) is a weighted kernel sum

    s(z)      = sum_j w_j k(z, x_j)                   (``kernel.weighted_sum``)
    grad s(z) = sum_j w_j grad_z k(z, x_j)            (``kernel.weighted_grad``)

evaluated at many points z at once. Both are computed over blocks of rows of z, so that no more
than about ``BLOCK_ELEMENTS`` kernel values exist at a time, and no (n, m, d) array is ever built.

Samples are arrays of shape (n, d); a 1-D array of shape (n,) is read as n points in d = 1.
"""

from __future__ import annotations

import math
import numbers

import numpy as np
from scipy.spatial.distance import pdist

from .._validation import (
    as_samples,
    as_weights,
    length_scale,
    positive_int,
    same_dimension,
)
from ._parallel import n_threads, run_chunks, split_by_cost

#: Number of kernel values held at once by the blocked primitives (8 MB of float64).
BLOCK_ELEMENTS = 2**20
#: Kernel values in one tile of the fused sum-and-gradient fast path (1 MB of float64: a tile and
#: its products stay near one core on current x86 machines; smaller tiles spend more of their
#: time in the interpreter, which two threads share).
VELOCITY_BLOCK_ELEMENTS = 2**17

__all__ = [
    "BLOCK_ELEMENTS",
    "Kernel",
    "GaussianKernel",
    "LaplaceKernel",
    "IMQKernel",
    "EnergyKernel",
    "PolynomialKernel",
    "check_kernel",
    "median_heuristic",
    "sq_distances",
    "row_blocks",
]


def row_blocks(n_rows: int, n_cols: int, block_elements: int | None = None):
    """Yield row slices of ``range(n_rows)``, each with at most ``block_elements`` values."""
    block_elements = BLOCK_ELEMENTS if block_elements is None else block_elements
    step = max(1, block_elements // max(1, n_cols))
    for start in range(0, n_rows, step):
        yield slice(start, min(n_rows, start + step))


def centred(Z: np.ndarray, X: np.ndarray):
    """Z and X shifted by one reference point, the mean of X: every difference z - x is unchanged,
    and expansions such as ||z||^2 + ||x||^2 - 2 z.x or z sum_j g_j - sum_j g_j x_j lose no
    accuracy when the points sit far from the origin. O((n + m) d)."""
    ref = X.mean(axis=0)
    return Z - ref, X - ref


def weighted_differences(Z: np.ndarray, X: np.ndarray, G: np.ndarray) -> np.ndarray:
    """sum_j G_ij (z_i - x_j) for each row z_i of Z, shape (n, d), on centred coordinates."""
    Zc, Xc = centred(Z, X)
    return Zc * G.sum(axis=1)[:, None] - G @ Xc


def sq_distances(Z: np.ndarray, X: np.ndarray) -> np.ndarray:
    """Squared Euclidean distances ||z_i - x_j||^2 as an (n, m) array, accurate under translation.

    Both arrays are first centred on one reference point (the mean of X: O((n + m) d)), so the
    result does not depend on where the cloud sits; then ||z||^2 + ||x||^2 - 2 z.x (one matrix
    product). That expansion has an absolute error of about 1e-16 (||z||^2 + ||x||^2), so the
    few pairs whose distance is below ``1e-5`` of that scale (coincident or very close points) are
    recomputed directly as sum (z - x)^2 (all pairs below 1e-5 of the largest such scale are
    candidates: a few per point): coincident points give exactly 0 and small distances keep
    their relative accuracy. Nothing is clipped.
    """
    Zc, Xc = centred(Z, X)
    zz = np.einsum("ij,ij->i", Zc, Zc)
    xx = np.einsum("ij,ij->i", Xc, Xc)
    D = Zc @ Xc.T
    D *= -2.0
    D += zz[:, None]
    D += xx[None, :]
    # candidates under one scalar threshold (>= each pair's own: no (n, m) temporary)
    i, j = np.nonzero(D <= 1e-5 * (zz.max(initial=0.0) + xx.max(initial=0.0)))
    if len(i):
        diff = Zc[i] - Xc[j]
        D[i, j] = np.einsum("ij,ij->i", diff, diff)
    return D


class Kernel:
    """A positive definite kernel k(x, y) on R^d.

    Subclasses implement ``_gram(Z, X)`` (the kernel values of validated arrays) and
    ``_grad_block(Z, X, w)`` (sum_j w_j grad_z k(z_i, x_j) for one block of rows of Z). Both
    must be pure functions of their arguments: the blocked sums call them from several threads.
    """

    # -- what subclasses provide -------------------------------------------------------------
    def _gram(self, Z: np.ndarray, X: np.ndarray) -> np.ndarray:  # pragma: no cover - abstract
        raise NotImplementedError

    def _grad_block(self, Z: np.ndarray, X: np.ndarray, w: np.ndarray) -> np.ndarray:
        raise NotImplementedError  # pragma: no cover - abstract

    def _flow_gram(self, Z: np.ndarray, X: np.ndarray) -> np.ndarray:
        """The kernel values a flow's sums consume: :meth:`_gram`, or a cheaper form that may
        differ from it by rounding (the Gaussian drops the clamp that keeps k <= 1 exactly)."""
        return self._gram(Z, X)

    def _paired(self, X: np.ndarray, Y: np.ndarray) -> np.ndarray:
        # Generic fallback: k(x_i, y_i) one row at a time in blocks (subclasses may override).
        return np.array([self._gram(X[i : i + 1], Y[i : i + 1])[0, 0] for i in range(len(X))])

    # -- public API ----------------------------------------------------------------------------
    def __call__(self, X, Y=None) -> np.ndarray:
        """The Gram matrix K[i, j] = k(x_i, y_j) of shape (n, m) (``Y=None`` means ``Y = X``)."""
        X = as_samples(X, "X")
        Y = X if Y is None else as_samples(Y, "Y")
        same_dimension(X, Y)
        return self._gram(X, Y)

    def diag(self, X) -> np.ndarray:
        """k(x_i, x_i) for each row, shape (n,)."""
        X = as_samples(X, "X")
        return self._paired(X, X)

    def paired(self, X, Y) -> np.ndarray:
        """k(x_i, y_i) for rows of equal index, shape (n,); X and Y have the same shape."""
        X = as_samples(X, "X")
        Y = as_samples(Y, "Y")
        if X.shape != Y.shape:
            raise ValueError(f"X and Y must have the same shape, got {X.shape} and {Y.shape}")
        return self._paired(X, Y)

    def weighted_sum(self, Z, X, weights=None, block_elements: int | None = None) -> np.ndarray:
        """s(z_i) = sum_j w_j k(z_i, x_j) for each row z_i of Z, shape (n,); computed in blocks."""
        Z = as_samples(Z, "Z")
        X = as_samples(X, "X")
        same_dimension(Z, X, "Z", "X")
        w = as_weights(weights, len(X))
        out = np.empty(len(Z))
        for rows in row_blocks(len(Z), len(X), block_elements):
            out[rows] = self._gram(Z[rows], X) @ w
        return out

    def weighted_grad(self, Z, X, weights=None, block_elements: int | None = None) -> np.ndarray:
        """grad s(z_i) = sum_j w_j grad_z k(z_i, x_j) for each row z_i of Z, shape (n, d).

        The gradient is taken in the first argument. Computed in blocks of rows of Z.
        """
        Z = as_samples(Z, "Z")
        X = as_samples(X, "X")
        same_dimension(Z, X, "Z", "X")
        w = as_weights(weights, len(X))
        out = np.empty_like(Z)
        for rows in row_blocks(len(Z), len(X), block_elements):
            out[rows] = self._grad_block(Z[rows], X, w)
        return out

    def total(self, X, Y=None, exclude_diagonal: bool = False) -> float:
        """sum_{i, j} k(x_i, y_j) without building the Gram matrix (blocks of rows).

        With ``Y=None`` the sum is over pairs of X; ``exclude_diagonal`` drops the i = j terms.
        The row blocks run on the kernels' thread pool (as :meth:`sums_and_grad`).
        """
        X = as_samples(X, "X")
        same = Y is None
        Y = X if same else as_samples(Y, "Y")
        same_dimension(X, Y)
        if exclude_diagonal and not same:
            raise ValueError("exclude_diagonal needs Y=None (pairs within one sample)")
        blocks = list(row_blocks(len(X), len(Y)))
        if same:
            costs = [(rows.stop - rows.start) * (len(X) - rows.start) for rows in blocks]
        else:
            costs = [rows.stop - rows.start for rows in blocks]
        chunks = split_by_cost(costs)

        def task(c):
            part = 0.0
            for rows in blocks[chunks[c][0] : chunks[c][1]]:
                if same:
                    # k is symmetric: each row block against the columns from its first row
                    # onwards, off-diagonal blocks counted twice (half the kernel evaluations).
                    G = self._gram(X[rows], X[rows.start :])
                    width = rows.stop - rows.start
                    part += 2.0 * float(G.sum()) - float(G[:, :width].sum())
                else:
                    part += float(self._gram(X[rows], Y).sum())
            return part

        # chunk sums added in chunk order: the same value on any number of threads
        acc = 0.0
        for part in run_chunks(task, len(chunks), n_threads(len(X) * len(Y))):
            acc += part
        if exclude_diagonal:
            acc -= float(self._paired(X, X).sum())
        return acc

    # -- fast paths: methods a kernel overrides ------------------------------------------------
    def sums_and_grad(self, Z, C, W, *, z_is_head: bool = False, block_elements=None, threads=None):
        """S = K(Z, C) W and G = sum_j W[j, 0] grad_z k(z, c_j), in one pass over row blocks.

        ``W`` has shape (len(C), r): S has shape (len(Z), r); the gradient uses the first column.
        This is the kernel sum behind a flow's velocity (first column: the signed weights of the
        first variation) and its loss (the other columns). ``z_is_head`` says that Z is the first
        len(Z) rows of C (a kernel may then use the symmetry of k). Inputs are validated arrays.
        The generic version evaluates the kernel and its gradient block by block; a kernel with a
        cheaper joint form (the Gaussian: one exponential gives both) overrides it.

        The row blocks run on the kernels' thread pool (:mod:`._parallel`): ``threads`` (default:
        :func:`~kernelflows.kernels.kernel_threads`, else ``os.cpu_count()``; 1 = the calling
        thread only). Each block writes its own rows: the result does not depend on ``threads``.
        """
        S = np.empty((len(Z), W.shape[1]))
        G = np.empty_like(Z)
        blocks = list(row_blocks(len(Z), len(C), block_elements))
        chunks = split_by_cost([rows.stop - rows.start for rows in blocks])

        def task(c):
            for rows in blocks[chunks[c][0] : chunks[c][1]]:
                S[rows] = self._gram(Z[rows], C) @ W
                G[rows] = self._grad_block(Z[rows], C, W[:, 0])

        run_chunks(task, len(chunks), n_threads(len(Z) * len(C), threads))
        return S, G

    def grad_from_gram(self, Z, C, K, w):
        """sum_j w_j grad_z k(z_i, c_j) from the already computed K = k(Z, C), or None.

        A kernel whose gradient is a function of its value (the Gaussian) overrides this, so
        that a flow that needs both pays for one kernel evaluation; ``None`` means "not
        available: call :meth:`weighted_grad`".
        """
        return None

    # -- second derivatives: what Stein discrepancies need (radial kernels provide them) ----------
    def _no_second_derivatives(self, what: str):
        return NotImplementedError(
            f"{type(self).__name__} provides no {what}: Stein discrepancies and the score-based "
            "flows (SVGD, KSD descent) need a kernel with second derivatives, such as "
            "GaussianKernel or IMQKernel"
        )

    def radial_derivatives(self, r2, order: int = 3) -> list[np.ndarray]:
        """[psi(r2), psi'(r2), ..., psi^(order)(r2)] for a radial kernel k = psi(||x - y||^2).

        Derivatives are in r2 = ||x - y||^2. Only smooth radial kernels provide them.
        """
        raise self._no_second_derivatives("radial profile derivatives")

    def stein_parts(self, X, Y):
        """The pieces of a Stein kernel for each pair (x_i, y_j), as four arrays:

        k (n, m); grad_x k (n, m, d); grad_y k (n, m, d); tr(grad_x grad_y k) (n, m),
        with tr(grad_x grad_y k) = sum_a d^2 k / dx_a dy_a. Memory O(n m d): call it on blocks.
        """
        raise self._no_second_derivatives("stein_parts")

    def grad_xy(self, X, Y) -> np.ndarray:
        """The mixed second derivatives d^2 k(x_i, y_j) / dx_a dy_b, shape (n, m, d, d).

        Memory O(n m d^2): for small inputs (tests, teaching); :meth:`stein_parts` gives the
        trace over a and b = a, which is what a Stein kernel needs.
        """
        raise self._no_second_derivatives("grad_xy")


def check_kernel(kernel) -> Kernel:
    """``kernel`` if it is a :class:`Kernel`, else a ``ValueError`` naming the argument."""
    if not isinstance(kernel, Kernel):
        raise ValueError(f"kernel must be a kernelflows Kernel, got {type(kernel).__name__}")
    return kernel


class _RadialKernel(Kernel):
    """k(x, y) = psi(||x - y||^2): the gradient is 2 psi'(r^2) (z - x)."""

    def _psi(self, r2: np.ndarray) -> np.ndarray:  # pragma: no cover - abstract
        raise NotImplementedError

    def _dpsi(self, r2: np.ndarray) -> np.ndarray:  # pragma: no cover - abstract
        raise NotImplementedError

    def _gram(self, Z, X):
        return self._psi(sq_distances(Z, X))

    def _paired(self, X, Y):
        return self._psi(np.sum((X - Y) ** 2, axis=1))

    def _grad_block(self, Z, X, w):
        G = self._dpsi(sq_distances(Z, X))
        G *= w[None, :]
        return 2.0 * weighted_differences(Z, X, G)

    # With u = x - y, r2 = ||u||^2 and psi', psi'' at r2:
    #   grad_x k = 2 psi' u = -grad_y k,
    #   d^2 k / dx_a dy_b = -4 psi'' u_a u_b - 2 psi' delta_ab,
    #   tr(grad_x grad_y k) = -4 psi'' r2 - 2 d psi'.
    def _pairs(self, X, Y):
        X = as_samples(X, "X")
        Y = as_samples(Y, "Y")
        same_dimension(X, Y)
        U = X[:, None, :] - Y[None, :, :]
        return U, np.einsum("ijd,ijd->ij", U, U)

    def stein_parts(self, X, Y):
        U, r2 = self._pairs(X, Y)
        psi, d1, d2 = self.radial_derivatives(r2, 2)
        grad_x = 2.0 * d1[:, :, None] * U
        trace = -4.0 * d2 * r2 - 2.0 * U.shape[2] * d1
        return psi, grad_x, -grad_x, trace

    def grad_xy(self, X, Y):
        U, r2 = self._pairs(X, Y)
        _, d1, d2 = self.radial_derivatives(r2, 2)
        H = -4.0 * d2[:, :, None, None] * U[:, :, :, None] * U[:, :, None, :]
        H -= 2.0 * d1[:, :, None, None] * np.eye(U.shape[2])
        return H


class GaussianKernel(_RadialKernel):
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

    def _flow_gram(self, Z, X):
        # no clamp (a third of the time at the KALE flow's sizes): a coincident pair's value may
        # be 1 + O(eps |z|^2 / s^2), the rounding of every pair, as in sums_and_grad
        return self._exp_block(*self.exponent_factors(Z, X), clamp=False)

    def _grad_block(self, Z, X, w):
        K = self._gram(Z, X)
        return GaussianKernel.grad_from_gram(self, Z, X, K, w)  # not a subclass's override

    def grad_from_gram(self, Z, C, K, w):
        # grad_z k(z, c) = -(z - c) / s^2 k(z, c): sum_j w_j grad = ((K w c)(z) - z (K w)(z)) / s^2
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


class LaplaceKernel(_RadialKernel):
    """Laplace kernel k(x, y) = exp(-||x - y|| / bandwidth).

    Not differentiable at x = y; the gradient there is taken as 0 (the symmetric subgradient).
    """

    def __init__(self, bandwidth: float = 1.0):
        self.bandwidth = length_scale(bandwidth, "bandwidth")

    def __repr__(self) -> str:
        return f"LaplaceKernel(bandwidth={self.bandwidth:.6g})"

    def _psi(self, r2):
        return np.exp(-np.sqrt(r2) / self.bandwidth)

    def _dpsi(self, r2):
        r = np.sqrt(r2)
        out = np.zeros_like(r)
        nz = r > 0
        out[nz] = -np.exp(-r[nz] / self.bandwidth) / (2.0 * self.bandwidth * r[nz])
        return out


class IMQKernel(_RadialKernel):
    """Inverse multiquadric kernel k(x, y) = (c^2 + ||x - y||^2)^beta with c > 0, -1 < beta < 0."""

    def __init__(self, c: float = 1.0, beta: float = -0.5):
        self.c = length_scale(c, "c")
        beta = _real(beta, "beta")
        if not -1.0 < beta < 0.0:
            raise ValueError(f"beta must lie in (-1, 0), got {beta!r}")
        self.beta = beta

    def __repr__(self) -> str:
        return f"IMQKernel(c={self.c:.6g}, beta={self.beta:.6g})"

    def _psi(self, r2):
        return (self.c**2 + r2) ** self.beta

    def _dpsi(self, r2):
        return self.beta * (self.c**2 + r2) ** (self.beta - 1.0)

    def radial_derivatives(self, r2, order: int = 3):
        """psi^(j)(r2) = beta (beta - 1) ... (beta - j + 1) (c^2 + r2)^(beta - j), j <= order."""
        base = self.c**2 + np.asarray(r2, dtype=np.float64)
        out, coef = [], 1.0
        for j in range(order + 1):
            out.append(coef * base ** (self.beta - j))
            coef *= self.beta - j
        return out


class EnergyKernel(Kernel):
    """Distance-induced kernel k(x, y) = ||x|| + ||y|| - ||x - y|| (positive definite).

    Its MMD^2 is the energy distance: MMD^2 = 2 E||X - Y|| - E||X - X'|| - E||Y - Y'||. Unbounded,
    so it falls outside Assumption A of the MMD flow paper. The gradient of ||z - x|| at z = x, and
    of ||z|| at z = 0, is taken as 0.
    """

    def __repr__(self) -> str:
        return "EnergyKernel()"

    def _gram(self, Z, X):
        R = np.sqrt(sq_distances(Z, X))
        nz = np.linalg.norm(Z, axis=1)
        nx = np.linalg.norm(X, axis=1)
        return nz[:, None] + nx[None, :] - R

    def _paired(self, X, Y):
        return np.linalg.norm(X, axis=1) + np.linalg.norm(Y, axis=1) - np.linalg.norm(X - Y, axis=1)

    def _grad_block(self, Z, X, w):
        R = np.sqrt(sq_distances(Z, X))
        inv_r = np.zeros_like(R)
        np.divide(1.0, R, out=inv_r, where=R > 0)
        inv_r *= w[None, :]
        nz = np.linalg.norm(Z, axis=1)
        unit = np.zeros_like(Z)
        np.divide(Z, nz[:, None], out=unit, where=nz[:, None] > 0)
        # grad_z k = z/||z|| - (z - x)/||z - x||
        return unit * w.sum() - weighted_differences(Z, X, inv_r)


class PolynomialKernel(Kernel):
    """Polynomial kernel k(x, y) = (x.y + c)^degree with an integer degree >= 1 and c >= 0.

    Its RKHS is the polynomials of degree <= ``degree`` (for c > 0): with degree 2 it holds
    log dP/dQ of two Gaussians, which the KALE lectures use for the KL limit.
    """

    def __init__(self, degree: int = 2, c: float = 1.0):
        self.degree = positive_int(degree, "degree")
        c = _real(c, "c")
        if not np.isfinite(c) or c < 0:
            raise ValueError(f"c must be non-negative and finite, got {c!r}")
        self.c = c

    def __repr__(self) -> str:
        return f"PolynomialKernel(degree={self.degree}, c={self.c:.6g})"

    def _gram(self, Z, X):
        return (Z @ X.T + self.c) ** self.degree

    def _paired(self, X, Y):
        return (np.einsum("ij,ij->i", X, Y) + self.c) ** self.degree

    def _grad_block(self, Z, X, w):
        # grad_z (z.x + c)^p = p (z.x + c)^(p - 1) x
        G = self.degree * (Z @ X.T + self.c) ** (self.degree - 1)
        G *= w[None, :]
        return G @ X


def _real(value, name: str) -> float:
    """``value`` as a float; a ``ValueError`` naming ``name`` if it is not a real number."""
    if isinstance(value, bool) or not isinstance(value, numbers.Real):
        raise ValueError(f"{name} must be a real number, got {value!r}")
    return float(value)


def _products(E, sums):
    """E @ sums.T: a few matrix-vector products beat one thin matrix product for small d."""
    if len(sums) <= 4:
        return np.stack([E @ s for s in sums], axis=1)
    return E @ sums.T


def median_heuristic(X, Y=None, max_samples: int = 2000) -> float:
    """Bandwidth from the median heuristic: the median of the pairwise Euclidean distances.

    Convention: ``sigma = median{ ||z_i - z_j|| : i < j }`` over the pooled sample Z = [X; Y],
    to be used as ``GaussianKernel(sigma)``, i.e. k = exp(-||x - y||^2 / (2 sigma^2)) (Gretton,
    Borgwardt, Rasch, Schoelkopf, Smola, JMLR 2012). Other texts use the median of the squared
    distances, or sqrt(median / 2): these differ by a constant factor.

    With more than ``max_samples`` pooled points an evenly spaced deterministic subset of that
    size is used. Raises ``ValueError`` if the median distance is zero (all, or at least half of
    the pairs of, points coincide), where a zero bandwidth would be meaningless.
    """
    X = as_samples(X, "X")
    Z = X
    if Y is not None:
        Y = as_samples(Y, "Y")
        same_dimension(X, Y)
        Z = np.vstack([X, Y])
    max_samples = positive_int(max_samples, "max_samples")
    if len(Z) < 2:
        raise ValueError("median_heuristic needs at least two points in X (and Y) together")
    if len(Z) > max_samples:
        Z = Z[np.linspace(0, len(Z) - 1, max_samples).astype(int)]
    sigma = float(np.median(pdist(Z)))
    if not sigma > 0:
        raise ValueError(
            "median_heuristic: the median pairwise distance is zero (the points coincide), "
            "so it gives no bandwidth; pass a bandwidth explicitly"
        )
    return sigma
