"""Mean embeddings and witness functions: the feature view and the function view of the MMD.

Talk, slides "MMD as an integral probability metric" and "Integral prob. metric vs feature
difference": E_P f(X) = <f, mu_P>, so

    MMD(P, Q) = sup_{||f|| <= 1} E_P f - E_Q f = ||mu_P - mu_Q||,
    f*(z) = (mu_P(z) - mu_Q(z)) / ||mu_P - mu_Q||,   mu_P(z) = E_P k(X, z).

Every function here is an RKHS function with finitely many centres, f(z) = sum_j w_j k(c_j, z)
(slide "All of kernel methods"), represented by :class:`RKHSFunction`.
"""

from __future__ import annotations

import numpy as np

from ._validation import as_samples, as_weights, same_dimension
from .kernels import Kernel

__all__ = ["RKHSFunction", "mean_embedding", "witness"]


def _check_kernel(kernel) -> Kernel:
    if not isinstance(kernel, Kernel):
        raise ValueError(f"kernel must be a kernelflows Kernel, got {type(kernel).__name__}")
    return kernel


class RKHSFunction:
    """f(z) = sum_j w_j k(c_j, z): an RKHS function written with finitely many coefficients.

    Calling it on points Z of shape (n, d) returns f(Z) of shape (n,); ``grad(Z)`` returns the
    gradient (n, d); ``norm()`` returns ||f||_H = sqrt(w^T K w). All evaluations are blocked.
    """

    def __init__(self, centres, weights, kernel: Kernel):
        self.kernel = _check_kernel(kernel)
        self.centres = as_samples(centres, "centres")
        self.weights = as_weights(weights, len(self.centres), "weights")

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
    _check_kernel(kernel)
    return RKHSFunction(X, np.full(len(X), 1.0 / len(X)), kernel)


def witness(X, Y, kernel: Kernel, normalized: bool = False) -> RKHSFunction:
    """The witness z -> mu_P(z) - mu_Q(z) of samples X ~ P and Y ~ Q.

    With ``normalized=True`` it is divided by ||mu_P - mu_Q||_H (the square root of the biased
    MMD^2 estimate), giving the maximiser f* of the slide "Integral prob. metric vs feature
    difference", whose mean difference E_P f* - E_Q f* equals that norm.

    The unnormalised witness is also the first variation of 1/2 MMD^2(P, Q) in P.
    """
    X = as_samples(X, "X")
    Y = as_samples(Y, "Y")
    same_dimension(X, Y)
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
