"""Mean embeddings and witness functions: the feature view and the function view of the MMD.

Talk, slides "MMD as an integral probability metric" and "Integral prob. metric vs feature
difference": E_P f(X) = <f, mu_P>, so

    MMD(P, Q) = sup_{||f|| <= 1} E_P f - E_Q f = ||mu_P - mu_Q||,
    f*(z) = (mu_P(z) - mu_Q(z)) / ||mu_P - mu_Q||,   mu_P(z) = E_P k(X, z).

Population embeddings of 1-D densities come from quadrature (the functions ``quadrature_*``):
mu_P(z) = int k(x, z) p(x) dx ~ sum_i h_i p(x_i) k(x_i, z) on a grid with trapezoid weights h_i,
the same :class:`RKHSFunction` with quadrature weights in place of 1/n.

Every function here is an RKHS function with finitely many centres, f(z) = sum_j w_j k(c_j, z)
(slide "All of kernel methods"), represented by :class:`RKHSFunction`.
"""

from __future__ import annotations

import numpy as np

from ._validation import as_samples, as_weights, flag, same_dimension
from .kernels import Kernel, check_kernel

__all__ = [
    "RKHSFunction",
    "mean_embedding",
    "witness",
    "trapezoid_weights",
    "quadrature_embedding",
    "quadrature_mean",
]


class RKHSFunction:
    """f(z) = sum_j w_j k(c_j, z): an RKHS function written with finitely many coefficients.

    Calling it on points Z of shape (n, d) returns f(Z) of shape (n,); ``grad(Z)`` returns the
    gradient (n, d); ``norm()`` returns ||f||_H = sqrt(w^T K w). All evaluations are blocked.

    ``centres`` and ``weights`` are read-only copies of the caller's arrays: changing the
    caller's arrays later does not change f, and ``f.weights[...] = ...`` raises ``ValueError``.
    """

    def __init__(self, centres, weights, kernel: Kernel):
        self.kernel = check_kernel(kernel)
        self.centres = np.array(as_samples(centres, "centres"), copy=True)
        self.weights = np.array(as_weights(weights, len(self.centres), "weights"), copy=True)
        self.centres.flags.writeable = False
        self.weights.flags.writeable = False

    @property
    def dim(self) -> int:
        return self.centres.shape[1]

    def _points(self, Z) -> np.ndarray:
        Z = as_samples(Z, "z")
        same_dimension(Z, self.centres, "z", "centres")
        return Z

    def __call__(self, Z) -> np.ndarray:
        return self.kernel.weighted_sum(self._points(Z), self.centres, self.weights)

    def grad(self, Z) -> np.ndarray:
        return self.kernel.weighted_grad(self._points(Z), self.centres, self.weights)

    def norm(self) -> float:
        """The RKHS norm sqrt(sum_ij w_i w_j k(c_i, c_j)) (blocked; no Gram matrix is kept)."""
        sq = float(
            self.weights @ self.kernel.weighted_sum(self.centres, self.centres, self.weights)
        )
        return float(np.sqrt(max(sq, 0.0)))

    def __mul__(self, scalar: float) -> RKHSFunction:
        return RKHSFunction(self.centres, self.weights * float(scalar), self.kernel)

    __rmul__ = __mul__

    def __truediv__(self, scalar: float) -> RKHSFunction:
        return self * (1.0 / float(scalar))

    def __sub__(self, other: RKHSFunction) -> RKHSFunction:
        if not isinstance(other, RKHSFunction) or other.kernel is not self.kernel:
            raise ValueError("can only subtract an RKHSFunction with the same kernel object")
        same_dimension(self.centres, other.centres, "self.centres", "other.centres")
        return RKHSFunction(
            np.vstack([self.centres, other.centres]),
            np.concatenate([self.weights, -other.weights]),
            self.kernel,
        )

    def __repr__(self) -> str:
        return f"RKHSFunction({len(self.centres)} centres in R^{self.dim}, {self.kernel!r})"


def mean_embedding(X, kernel: Kernel) -> RKHSFunction:
    """The empirical mean embedding mu_P(z) = (1/n) sum_i k(x_i, z), as a callable of z.

    Talk, slide "MMD as an integral probability metric": E_P f(X) = <f, mu_P>_H.
    """
    X = as_samples(X, "X")
    check_kernel(kernel)
    return RKHSFunction(X, np.full(len(X), 1.0 / len(X)), kernel)


def witness(X, Y, kernel: Kernel, *, normalized: bool = False) -> RKHSFunction:
    """The witness z -> mu_P(z) - mu_Q(z) of samples X ~ P and Y ~ Q.

    With ``normalized=True`` it is divided by ||mu_P - mu_Q||_H (the square root of the biased
    MMD^2 estimate), giving the maximiser f* of the slide "Integral prob. metric vs feature
    difference", whose mean difference E_P f* - E_Q f* equals that norm.

    The unnormalised witness is also the first variation of 1/2 MMD^2(P, Q) in P.
    """
    X = as_samples(X, "X")
    Y = as_samples(Y, "Y")
    same_dimension(X, Y)
    normalized = flag(normalized, "normalized")
    f = mean_embedding(X, kernel) - mean_embedding(Y, kernel)
    if normalized:
        norm = f.norm()
        # ||mu_P - mu_Q||^2 is a difference of kernel sums: below this level it is rounding
        scale = np.sum(np.abs(f.weights)) ** 2 * np.max(np.abs(kernel.diag(f.centres)))
        if not norm**2 > 1e-12 * scale:
            raise ValueError(
                "witness: ||mu_P - mu_Q|| is zero for these samples, so it cannot be normalized"
            )
        f = f / norm
    return f


# -- population embeddings of 1-D densities, by quadrature ----------------------------------


def trapezoid_weights(nodes) -> np.ndarray:
    """Trapezoid-rule weights h_i with sum_i h_i g(x_i) ~ int_{x_1}^{x_N} g(x) dx.

    ``nodes`` is a strictly increasing 1-D array of at least two finite points.
    """
    x = np.asarray(nodes, dtype=float)
    if x.ndim != 1 or len(x) < 2:
        raise ValueError(f"nodes must be a 1-D array of at least two points, got shape {x.shape}")
    if not np.all(np.isfinite(x)):
        raise ValueError("nodes contains NaN or inf")
    dx = np.diff(x)
    if not np.all(dx > 0):
        raise ValueError("nodes must be strictly increasing")
    h = np.zeros_like(x)
    h[:-1] += dx / 2
    h[1:] += dx / 2
    return h


def _density_weights(nodes, density, normalize: bool) -> tuple[np.ndarray, np.ndarray]:
    x = np.asarray(nodes, dtype=float)
    h = trapezoid_weights(x)
    p = density(x) if callable(density) else density
    p = as_weights(p, len(x), "density")
    if np.any(p < 0):
        raise ValueError("density must be non-negative at every node")
    w = h * p
    if normalize:
        total = w.sum()
        if not total > 0:
            raise ValueError("density integrates to zero on these nodes")
        w = w / total
    return x, w


def quadrature_embedding(nodes, density, kernel: Kernel, *, normalize: bool = True) -> RKHSFunction:
    """The population mean embedding mu_P(z) = int k(x, z) p(x) dx of a 1-D density, by quadrature.

    Parameters
    ----------
    nodes : strictly increasing 1-D array; should cover the mass of p (e.g. mean +- 10 std).
    density : callable x -> p(x) (vectorised) or the array of values p(nodes).
    kernel : a kernelflows Kernel on R.
    normalize : rescale the weights to sum to one, so that the quadrature measure is a
        probability measure (removes the truncation error of the mass; default True).

    Returns
    -------
    RKHSFunction with centres ``nodes`` and weights h_i p(x_i) (trapezoid rule), so that
    ``f(z)`` is mu_P(z), ``f.norm() ** 2`` is E k(X, X') and, for P and Q on the same nodes,
    ``(f_P - f_Q).norm() ** 2`` is the population MMD^2(P, Q) (talk, slide "Computing the MMD").
    The trapezoid rule converges as O(h^2) for densities with kinks at nodes (e.g. a Laplace
    density with a node at its centre) and much faster for smooth, rapidly decaying ones.
    """
    check_kernel(kernel)
    x, w = _density_weights(nodes, density, flag(normalize, "normalize"))
    return RKHSFunction(x[:, None], w, kernel)


def quadrature_mean(f, nodes, density, *, normalize: bool = True) -> float:
    """E_P f(X) = int f(x) p(x) dx by the trapezoid rule on ``nodes`` (``f`` is vectorised).

    ``f`` is called on the nodes as an array of shape (N, 1) (the package's sample shape) and
    must return N values; an :class:`RKHSFunction` on R qualifies. This is the left-hand side
    of E_P f = <f, mu_P>_H (talk, slide "MMD as an integral probability metric").
    """
    x, w = _density_weights(nodes, density, normalize)
    values = np.asarray(f(x[:, None]), dtype=float).reshape(-1)
    if values.shape != (len(x),):
        raise ValueError(f"f must return {len(x)} values, got shape {values.shape}")
    return float(w @ values)
