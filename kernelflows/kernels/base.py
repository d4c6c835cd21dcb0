"""The :class:`Kernel` base class: Gram matrices, weighted sums and gradient sums in row blocks.

Talk, slide "All of kernel methods": a function in the RKHS is f(x) = sum_i alpha_i k(x_i, x),
infinitely many features written with m coefficients. Everything downstream (mean embeddings,
witness functions, MMD, the velocity of a flow) is a weighted kernel sum

    s(z)      = sum_j w_j k(z, x_j)                   (``kernel.weighted_sum``)
    grad s(z) = sum_j w_j grad_z k(z, x_j)            (``kernel.weighted_grad``)

evaluated at many points z at once. Both are computed over blocks of rows of z
(:func:`~.geometry.row_blocks`), so that no more than about ``BLOCK_ELEMENTS`` kernel values exist
at a time; the blocked sums never build an (n, m, d) array (the Stein derivatives
``stein_parts`` and ``grad_xy`` do: their callers give them blocks).

Samples are arrays of shape (n, d); a 1-D array of shape (n,) is read as n points in d = 1.
"""

from __future__ import annotations

import numpy as np

from .._validation import as_samples, as_weights, flag, same_dimension
from ._parallel import n_threads, run_chunks, split_by_cost
from .geometry import EPS, row_blocks

__all__ = ["Kernel", "check_kernel"]


class Kernel:
    """A positive definite kernel k(x, y) on R^d.

    Subclasses implement ``_gram(Z, X)`` (the kernel values of validated arrays) and
    ``_grad_block(Z, X, w)`` (sum_j w_j grad_z k(z_i, x_j) for one block of rows of Z), and may
    implement ``_paired(X, Y)`` (k(x_i, y_i)). These hooks are called by this class only, and
    must be pure functions of their arguments: the blocked sums call them from several threads.

    The public methods come in two kinds: the checked ones (``__call__``, ``diag``, ``paired``,
    ``weighted_sum``, ``weighted_grad``, ``total``) validate their arguments; the fast paths of
    the flows (``sums_and_grad``, ``flow_gram``, ``grad_from_gram``) take validated float arrays,
    and a kernel with a cheaper joint form overrides them (the Gaussian does); a caller always
    calls them, whatever the kernel.
    """

    #: Why the kernel has no Stein kernel (None when it has one): the Stein discrepancies and
    #: the score-based flows need tr(grad_x grad_y k), second derivatives of k. Read by
    #: :func:`kernelflows.divergences.stein.check_stein_kernel`, which refuses the kernel up front.
    no_second_derivatives: str | None = "it provides no second derivatives (stein_parts)"

    # -- what subclasses provide -------------------------------------------------------------
    def _gram(self, Z: np.ndarray, X: np.ndarray) -> np.ndarray:  # pragma: no cover - abstract
        raise NotImplementedError

    def _grad_block(self, Z: np.ndarray, X: np.ndarray, w: np.ndarray) -> np.ndarray:
        raise NotImplementedError  # pragma: no cover - abstract

    def _paired(self, X: np.ndarray, Y: np.ndarray) -> np.ndarray:
        # Generic fallback: k(x_i, y_i) one row at a time in blocks (subclasses may override).
        return np.array([self._gram(X[i : i + 1], Y[i : i + 1])[0, 0] for i in range(len(X))])

    def _blocked_grad(self, Z, X, w, block_elements=None) -> np.ndarray:
        out = np.empty_like(Z)
        for rows in row_blocks(len(Z), len(X), block_elements):
            out[rows] = self._grad_block(Z[rows], X, w)
        return out

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

    def weighted_sum(self, Z, X, weights=None, *, block_elements: int | None = None) -> np.ndarray:
        """s(z_i) = sum_j w_j k(z_i, x_j) for each row z_i of Z, shape (n,); computed in blocks."""
        Z = as_samples(Z, "Z")
        X = as_samples(X, "X")
        same_dimension(Z, X, "Z", "X")
        w = as_weights(weights, len(X))
        out = np.empty(len(Z))
        for rows in row_blocks(len(Z), len(X), block_elements):
            out[rows] = self._gram(Z[rows], X) @ w
        return out

    def weighted_grad(self, Z, X, weights=None, *, block_elements: int | None = None) -> np.ndarray:
        """grad s(z_i) = sum_j w_j grad_z k(z_i, x_j) for each row z_i of Z, shape (n, d).

        The gradient is taken in the first argument. Computed in blocks of rows of Z.
        """
        Z = as_samples(Z, "Z")
        X = as_samples(X, "X")
        same_dimension(Z, X, "Z", "X")
        return self._blocked_grad(Z, X, as_weights(weights, len(X)), block_elements)

    @staticmethod
    def _total_inputs(X, Y, exclude_diagonal):
        """The checked arguments of :meth:`total`: X, Y, whether Y is X, and the flag."""
        exclude_diagonal = flag(exclude_diagonal, "exclude_diagonal")
        X = as_samples(X, "X")
        same = Y is None
        Y = X if same else as_samples(Y, "Y")
        same_dimension(X, Y)
        if exclude_diagonal and not same:
            raise ValueError("exclude_diagonal needs Y=None (pairs within one sample)")
        return X, Y, same, exclude_diagonal

    def total(self, X, Y=None, *, exclude_diagonal: bool = False) -> float:
        """sum_{i, j} k(x_i, y_j) without building the Gram matrix (blocks of rows).

        With ``Y=None`` the sum is over pairs of X; ``exclude_diagonal`` drops the i = j terms.
        The row blocks run on the kernels' thread pool (as :meth:`sums_and_grad`).
        """
        X, Y, same, exclude_diagonal = self._total_inputs(X, Y, exclude_diagonal)
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

    def flow_gram(self, Z, C) -> np.ndarray:
        """The kernel values k(Z, C) that a flow's sums consume (validated arrays, no copy kept).

        :meth:`__call__` without the checks, or a cheaper form that may differ from it by
        rounding (the Gaussian drops the clamp that keeps k <= 1 exactly). Pass the result to
        :meth:`grad_from_gram`.
        """
        return self._gram(Z, C)

    def grad_from_gram(self, Z, C, K, w) -> np.ndarray:
        """sum_j w_j grad_z k(z_i, c_j), given K = :meth:`flow_gram` (Z, C) already computed.

        The generic version does not use K (it sums the gradient over row blocks, as
        :meth:`weighted_grad`); a kernel whose gradient is a function of its value (the
        Gaussian) overrides it, so that a flow that needs the values and the gradient pays for
        one kernel evaluation. Inputs are validated arrays.
        """
        return self._blocked_grad(Z, C, w)

    # -- rounding: what a certificate computed from kernel values must allow for ---------------
    def value_bound(self, X, Y) -> float:
        """max |k(x_i, y_j)| over the pairs of rows of X and Y (validated arrays), bounded by
        Cauchy-Schwarz, |k(x, y)| <= sqrt(k(x, x) k(y, y)), from the O(n + m) diagonal values."""
        kx = float(np.abs(self._paired(X, X)).max(initial=0.0))
        ky = float(np.abs(self._paired(Y, Y)).max(initial=0.0))
        return float(np.sqrt(kx * ky))

    def value_error(self, X, Y) -> float:
        """A bound on |computed k(x_i, y_j) - k(x_i, y_j)| over the pairs (validated arrays).

        Generic: 16 eps of :meth:`value_bound` (a kernel evaluated by a few rounded operations on
        values of that size); a kernel that knows its rounding better states it (the Gaussian,
        Laplace, IMQ, polynomial and energy kernels do).
        """
        return 16.0 * EPS * self.value_bound(X, Y)

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
