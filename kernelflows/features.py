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

from ._validation import as_rng, as_samples, positive, positive_int

__all__ = ["polynomial_features", "RandomFourierFeatures"]


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

    def __init__(self, bandwidth: float, n_features: int, dim: int = 1, rng=None):
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
