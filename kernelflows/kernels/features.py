"""Explicit feature maps: the feature view of "the kernel trick".

Talk, slide "All of kernel methods": k(x, y) = <phi(x), phi(y)>_F and

    f(x) = sum_l f_l phi_l(x) = sum_{i=1}^m alpha_i k(x_i, x),   f_l = sum_i alpha_i phi_l(x_i).

Two feature maps make the picture concrete:

* :func:`polynomial_features`: the finite feature map of the polynomial kernel
  (x.y + c)^p, one feature per monomial of degree <= p (multinomial theorem);
* :class:`RandomFourierFeatures`: D random features whose inner product approximates the
  Gaussian kernel (Rahimi and Recht, NeurIPS 2007): the Gaussian kernel has infinitely many
  features, and a random finite subset of them already reproduces it up to O(1/sqrt(D)).
"""

from __future__ import annotations

from itertools import combinations_with_replacement
from math import factorial

import numpy as np

from .._validation import as_rng, as_samples, positive, positive_int
from .base import Kernel

__all__ = ["polynomial_features", "RandomFourierFeatures", "ReLUFeatureKernel"]


def polynomial_features(X, degree: int = 2, c: float = 1.0) -> np.ndarray:
    """The explicit features phi(x) of the polynomial kernel k(x, y) = (x.y + c)^degree.

    With x_0 := sqrt(c), (x.y + c)^p = (sum_{i=0}^d x_i y_i)^p, and the multinomial theorem gives

        (x.y + c)^p = sum_{|a| = p} p! / (a_0! ... a_d!) prod_i (x_i y_i)^{a_i},

    so phi_a(x) = sqrt(p! / prod_i a_i!) prod_i x_i^{a_i} over multi-indices a = (a_0, ..., a_d)
    with |a| = p: binomial(d + p, p) features, and phi(X) @ phi(Y).T is the Gram matrix.

    Parameters
    ----------
    X : array (n, d) or (n,)
    degree : int >= 1
    c : float >= 0 (with c = 0 only the monomials of degree exactly p remain non-zero)

    Returns
    -------
    array (n, binomial(d + degree, degree))
    """
    X = as_samples(X, "X")
    p = positive_int(degree, "degree")
    c = float(c)
    if not np.isfinite(c) or c < 0:
        raise ValueError(f"c must be non-negative and finite, got {c!r}")
    n, d = X.shape
    Xa = np.hstack([np.full((n, 1), np.sqrt(c)), X])  # x_0 = sqrt(c)
    columns = []
    for combo in combinations_with_replacement(range(d + 1), p):
        counts = np.bincount(combo, minlength=d + 1)
        coef = factorial(p) / np.prod([factorial(int(a)) for a in counts])
        columns.append(np.sqrt(coef) * np.prod(Xa[:, list(combo)], axis=1))
    return np.stack(columns, axis=1)


class RandomFourierFeatures:
    """Random Fourier features of the Gaussian kernel exp(-||x - y||^2 / (2 bandwidth^2)).

    By Bochner's theorem k(x, y) = E_w cos(w.(x - y)) with w ~ N(0, bandwidth^-2 I). Drawing
    w_1, ..., w_D once and setting

        phi(x) = D^{-1/2} [cos(w_1.x), ..., cos(w_D.x), sin(w_1.x), ..., sin(w_D.x)]

    gives phi(x).phi(y) = (1/D) sum_l cos(w_l.(x - y)), an unbiased estimate of k(x, y) with
    variance at most 1/(2D) (Rahimi and Recht, "Random features for large-scale kernel
    machines", NeurIPS 2007, Claim 1).

    Parameters
    ----------
    bandwidth : float > 0
    n_features : int, the number D of frequencies (the map has 2 D coordinates)
    dim : int, the dimension d of the inputs
    rng : numpy.random.Generator or int seed (None means seed 0)
    """

    def __init__(self, bandwidth: float, n_features: int, dim: int = 1, *, rng=None):
        self.bandwidth = positive(bandwidth, "bandwidth")
        self.n_features = positive_int(n_features, "n_features")
        self.dim = positive_int(dim, "dim")
        self.frequencies = as_rng(rng).standard_normal((self.n_features, self.dim)) / self.bandwidth

    def __call__(self, X) -> np.ndarray:
        """phi(X) of shape (n, 2 D)."""
        X = as_samples(X, "X")
        if X.shape[1] != self.dim:
            raise ValueError(f"X must have dimension {self.dim}, got shape {X.shape}")
        proj = X @ self.frequencies.T
        return np.hstack([np.cos(proj), np.sin(proj)]) / np.sqrt(self.n_features)

    def __repr__(self) -> str:
        return (
            f"RandomFourierFeatures(bandwidth={self.bandwidth:.6g}, "
            f"n_features={self.n_features}, dim={self.dim})"
        )


class ReLUFeatureKernel(Kernel):
    """k(x, y) = (1/D) sum_l sigma(w_l . x + b_l) sigma(w_l . y + b_l), sigma(u) = max(u, 0)^a.

    A finite random-feature version of the ReLU^a span of the slide "Topological properties of
    KALE (1)": H = span{sigma(w^T x + b) : [w, b] in Theta} with the cone over Theta all of
    R^(d+1) is dense in C(X) on compacts (Zhang, Liu, Zhou, Xu, He, ICLR 2018, Corollary 2.4;
    Arbel, Zhou, Gretton, ICLR 2021, Proposition 1, which the slide cites as "Arbel, Liang,
    G."). Here [w_l, b_l] are ``n_features`` points
    drawn uniformly on the unit sphere of R^(d+1) with ``rng`` (so their cone is R^(d+1) in the
    limit); the kernel is an honest positive semi-definite kernel whose RKHS is the span of the
    D features, with ||f||^2 = D ||beta||^2 for f = sum_l beta_l sigma_l.
    """

    def __init__(self, dim: int, n_features: int = 512, power: int = 1, *, rng=None):
        self.dim = positive_int(dim, "dim")
        self.n_features = positive_int(n_features, "n_features")
        self.power = positive_int(power, "power")
        theta = as_rng(rng).standard_normal((self.n_features, self.dim + 1))
        theta /= np.linalg.norm(theta, axis=1, keepdims=True)
        self.W = theta[:, :-1]
        self.b = theta[:, -1]

    def __repr__(self) -> str:
        return (
            f"ReLUFeatureKernel(dim={self.dim}, n_features={self.n_features}, power={self.power})"
        )

    def features(self, Z) -> np.ndarray:
        """sigma(w_l . z + b_l) / sqrt(D), shape (n, D)."""
        Z = as_samples(Z, "Z")
        if Z.shape[1] != self.dim:
            raise ValueError(f"Z must have dimension {self.dim}, got shape {Z.shape}")
        return self._features(Z)

    def _features(self, Z):
        pre = Z @ self.W.T + self.b
        return np.maximum(pre, 0.0) ** self.power / np.sqrt(self.n_features)

    def _gram(self, Z, X):
        return self._features(Z) @ self._features(X).T

    def _paired(self, X, Y):
        return np.einsum("ij,ij->i", self._features(X), self._features(Y))

    def _grad_block(self, Z, X, w):
        # grad_z sum_j w_j <phi(z), phi(x_j)> = sum_l (Phi_X^T w)_l phi_l'(z) w_l
        coef = self._features(X).T @ w  # (D,)
        pre = Z @ self.W.T + self.b
        dphi = self.power * np.maximum(pre, 0.0) ** (self.power - 1) * (pre > 0)
        dphi /= np.sqrt(self.n_features)
        return (dphi * coef[None, :]) @ self.W
