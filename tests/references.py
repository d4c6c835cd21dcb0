"""Independent references for the tests: the Gaussian kernel and the MMD quantities written out
by broadcasting over all pairs, with no call into kernelflows (so a test comparing the package
with these compares two formulations, not the package with itself)."""

import numpy as np


def gauss(A, B, s):
    """k(a, b) = exp(-||a - b||^2 / (2 s^2)) for all pairs of rows: shape (len(A), len(B))."""
    d2 = ((A[:, None, :] - B[None, :, :]) ** 2).sum(axis=-1)
    return np.exp(-d2 / (2.0 * s * s))


def gauss_grad_first(Z, C, s):
    """grad_z k(z, c) for all pairs: shape (len(Z), len(C), d); grad = -(z - c) / s^2 k(z, c)."""
    D = Z[:, None, :] - C[None, :, :]
    return -D / s**2 * gauss(Z, C, s)[..., None]


def mmd_velocity_by_hand(Z, X, Y, s):
    """-grad f(z), f = (1/n) sum_i k(x_i, .) - (1/m) sum_j k(y_j, .), at the rows of Z."""
    return -(gauss_grad_first(Z, X, s).mean(axis=1) - gauss_grad_first(Z, Y, s).mean(axis=1))


def energy_by_hand(X, Y, s):
    """F = 1/2 ||mu_X - mu_Y||_H^2 = 1/2 [mean K_XX - 2 mean K_XY + mean K_YY] (V-statistic)."""
    return 0.5 * (gauss(X, X, s).mean() - 2 * gauss(X, Y, s).mean() + gauss(Y, Y, s).mean())
