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


def mmd2_by_hand(X, Y, s, estimator):
    """The three MMD^2 estimators of the slide "Computing the MMD" (and Gretton et al., JMLR
    2012, Lemma 14 for the linear one), each written as its definition over explicit pairs."""
    n, m = len(X), len(Y)
    Kxx, Kyy, Kxy = gauss(X, X, s), gauss(Y, Y, s), gauss(X, Y, s)
    if estimator == "biased":
        return Kxx.mean() + Kyy.mean() - 2 * Kxy.mean()
    if estimator == "unbiased":
        off_x = Kxx.sum() - np.trace(Kxx)
        off_y = Kyy.sum() - np.trace(Kyy)
        return off_x / (n * (n - 1)) + off_y / (m * (m - 1)) - 2 * Kxy.mean()
    # linear: pairs (x_{2i-1}, x_{2i}), (y_{2i-1}, y_{2i}) for i <= floor(min(n, m) / 2)
    h = [
        Kxx[2 * i, 2 * i + 1]
        + Kyy[2 * i, 2 * i + 1]
        - Kxy[2 * i, 2 * i + 1]
        - Kxy[2 * i + 1, 2 * i]
        for i in range(min(n, m) // 2)
    ]
    return float(np.mean(h))


def central_difference(fun, Z, eps=1e-6):
    """The gradient of the scalar fun at Z by central differences, one entry at a time."""
    out = np.zeros_like(Z)
    for idx in np.ndindex(*Z.shape):
        Zp, Zm = Z.copy(), Z.copy()
        Zp[idx] += eps
        Zm[idx] -= eps
        out[idx] = (fun(Zp) - fun(Zm)) / (2 * eps)
    return out


def drmmd_by_hand(X, Y, s, lam):
    """DrMMD_lam(X || Y) = (1 + lam)/lam [MMD^2 - v^T (K_YY + m lam I)^-1 v] (the paper's
    estimator, plug-in MMD^2) and the velocity -grad f at the rows of X, f = (1 + lam)/lam
    [mu_X - mu_Y - sum_i a_i k(y_i, .)], by numpy's dense solve."""
    m = len(Y)
    Kyy = gauss(Y, Y, s)
    v = gauss(Y, X, s).mean(axis=1) - Kyy.mean(axis=1)
    a = np.linalg.solve(Kyy + m * lam * np.eye(m), v)
    mmd2 = gauss(X, X, s).mean() - 2 * gauss(X, Y, s).mean() + Kyy.mean()
    value = (1 + lam) / lam * (mmd2 - v @ a)
    grad = (
        gauss_grad_first(X, X, s).mean(axis=1)
        - gauss_grad_first(X, Y, s).mean(axis=1)
        - np.einsum("j,ijd->id", a, gauss_grad_first(X, Y, s))
    )
    return value, -(1 + lam) / lam * grad
