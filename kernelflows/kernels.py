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

import numpy as np
from scipy.spatial.distance import pdist

from ._validation import as_samples, as_weights, positive, positive_int, same_dimension

#: Number of kernel values held at once by the blocked primitives (8 MB of float64).
BLOCK_ELEMENTS = 2**20

__all__ = [
    "BLOCK_ELEMENTS",
    "Kernel",
    "GaussianKernel",
    "LaplaceKernel",
    "IMQKernel",
    "EnergyKernel",
    "PolynomialKernel",
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


def sq_distances(Z: np.ndarray, X: np.ndarray) -> np.ndarray:
    """Squared Euclidean distances ||z_i - x_j||^2 as an (n, m) array, clipped at zero.

    Computed as ||z||^2 + ||x||^2 - 2 z.x (one matrix product). Entries below a relative
    rounding level of the norms are set to exactly zero, so coincident points give 0.
    """
    zz = np.einsum("ij,ij->i", Z, Z)
    xx = np.einsum("ij,ij->i", X, X)
    D = Z @ X.T
    D *= -2.0
    D += zz[:, None]
    D += xx[None, :]
    tiny = 1e-12 * (zz[:, None] + xx[None, :])
    D[D <= tiny] = 0.0
    return D


class Kernel:
    """A positive definite kernel k(x, y) on R^d.

    Subclasses implement ``_gram(Z, X)`` (the kernel values of validated arrays) and
    ``_grad_block(Z, X, w)`` (sum_j w_j grad_z k(z_i, x_j) for one block of rows of Z).
    """

    #: True when k is bounded with k(x, x) constant (e.g. translation invariant).
    bounded = True

    # -- what subclasses provide -------------------------------------------------------------
    def _gram(self, Z: np.ndarray, X: np.ndarray) -> np.ndarray:  # pragma: no cover - abstract
        raise NotImplementedError

    def _grad_block(self, Z: np.ndarray, X: np.ndarray, w: np.ndarray) -> np.ndarray:
        raise NotImplementedError  # pragma: no cover - abstract

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
        """
        X = as_samples(X, "X")
        same = Y is None
        Y = X if same else as_samples(Y, "Y")
        same_dimension(X, Y)
        if exclude_diagonal and not same:
            raise ValueError("exclude_diagonal needs Y=None (pairs within one sample)")
        acc = 0.0
        if same:
            # k is symmetric: each row block against the columns from its first row onwards,
            # off-diagonal blocks counted twice (half the kernel evaluations).
            for rows in row_blocks(len(X), len(X)):
                G = self._gram(X[rows], X[rows.start :])
                width = rows.stop - rows.start
                acc += 2.0 * float(G.sum()) - float(G[:, :width].sum())
        else:
            for rows in row_blocks(len(X), len(Y)):
                acc += float(self._gram(X[rows], Y).sum())
        if exclude_diagonal:
            acc -= float(self._paired(X, X).sum())
        return acc


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
        # sum_j G_ij (z_i - x_j) = z_i * sum_j G_ij - (G @ X)_i
        return 2.0 * (Z * G.sum(axis=1)[:, None] - G @ X)


class GaussianKernel(_RadialKernel):
    """Gaussian kernel k(x, y) = exp(-||x - y||^2 / (2 bandwidth^2)).

    ``bandwidth`` is the standard deviation sigma. (The KALE flow code of Glaser, Arbel, Gretton,
    NeurIPS 2021 writes exp(-||x - y||^2 / s): s = 2 sigma^2.)
    """

    def __init__(self, bandwidth: float = 1.0):
        self.bandwidth = positive(bandwidth, "bandwidth")

    def __repr__(self) -> str:
        return f"GaussianKernel(bandwidth={self.bandwidth:.6g})"

    def _gram(self, Z, X):
        # One matrix product on augmented coordinates gives the exponent of every pair:
        # -||z - x||^2 / (2 s^2) = [z / s^2, -|z|^2 / (2 s^2), 1] . [x, 1, -|x|^2 / (2 s^2)].
        inv = 1.0 / self.bandwidth**2
        zz = np.einsum("ij,ij->i", Z, Z)
        xx = np.einsum("ij,ij->i", X, X)
        A = np.hstack([Z * inv, (-0.5 * inv * zz)[:, None], np.ones((len(Z), 1))])
        B = np.hstack([X, np.ones((len(X), 1)), (-0.5 * inv * xx)[:, None]])
        E = A @ B.T
        np.minimum(E, 0.0, out=E)
        np.exp(E, out=E)
        return E

    def _grad_block(self, Z, X, w):
        K = self._gram(Z, X)
        K *= w[None, :]
        # grad_z k(z, x) = -(z - x) / s^2 k(z, x)
        return (K @ X - Z * K.sum(axis=1)[:, None]) / self.bandwidth**2

    def _psi(self, r2):
        return np.exp(-r2 / (2.0 * self.bandwidth**2))

    def _dpsi(self, r2):
        return -self._psi(r2) / (2.0 * self.bandwidth**2)


class LaplaceKernel(_RadialKernel):
    """Laplace kernel k(x, y) = exp(-||x - y|| / bandwidth).

    Not differentiable at x = y; the gradient there is taken as 0 (the symmetric subgradient).
    """

    def __init__(self, bandwidth: float = 1.0):
        self.bandwidth = positive(bandwidth, "bandwidth")

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
        self.c = positive(c, "c")
        beta = float(beta)
        if not -1.0 < beta < 0.0:
            raise ValueError(f"beta must lie in (-1, 0), got {beta!r}")
        self.beta = beta

    def __repr__(self) -> str:
        return f"IMQKernel(c={self.c:.6g}, beta={self.beta:.6g})"

    def _psi(self, r2):
        return (self.c**2 + r2) ** self.beta

    def _dpsi(self, r2):
        return self.beta * (self.c**2 + r2) ** (self.beta - 1.0)


class EnergyKernel(Kernel):
    """Distance-induced kernel k(x, y) = ||x|| + ||y|| - ||x - y|| (positive definite).

    Its MMD^2 is the energy distance: MMD^2 = 2 E||X - Y|| - E||X - X'|| - E||Y - Y'||. Unbounded,
    so it falls outside Assumption A of the MMD flow paper. The gradient of ||z - x|| at z = x, and
    of ||z|| at z = 0, is taken as 0.
    """

    bounded = False

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
        return unit * w.sum() - (Z * inv_r.sum(axis=1)[:, None] - inv_r @ X)


class PolynomialKernel(Kernel):
    """Polynomial kernel k(x, y) = (x.y + c)^degree with an integer degree >= 1 and c >= 0.

    Its RKHS is the polynomials of degree <= ``degree`` (for c > 0): with degree 2 it holds
    log dP/dQ of two Gaussians, which the KALE lectures use for the KL limit.
    """

    bounded = False

    def __init__(self, degree: int = 2, c: float = 1.0):
        self.degree = positive_int(degree, "degree")
        c = float(c)
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
