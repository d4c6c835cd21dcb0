"""The Gaussian kernel in extended precision (numpy's longdouble: 64-bit mantissa on x86), per pair
from direct differences of the given floats, and the accuracy the package states against it
(``VALUE_RTOL`` eps (1 + e) k per value; sums within the values' error times |w| plus the
summation's own, len(W) eps |w| k). Shared by the accuracy tests of every Gaussian path."""

import numpy as np

from kernelflows.kernels.exponents import VALUE_RTOL

EPS = np.finfo(float).eps
LD = np.longdouble


def exact_sq(A, B):
    A, B = np.asarray(A, LD), np.asarray(B, LD)
    return ((A[:, None, :] - B[None, :, :]) ** 2).sum(-1)


def exact_gauss(A, B, s):
    """(values, exponents) of the Gaussian kernel in extended precision."""
    e = exact_sq(A, B) / (2 * LD(s) ** 2)
    return np.exp(-e), e


def assert_gauss_accurate(K, ref, e):
    # the stated accuracy, VALUE_RTOL eps (1 + e) k; values below 1e-300 (subnormal or 0 in
    # float64) carry an absolute rounding of 5e-324 instead
    err = np.abs(np.asarray(K, LD) - ref)
    bound = VALUE_RTOL * EPS * (1 + e) * ref + LD(1e-300)
    worst = np.unravel_index(np.argmax(err - bound), err.shape)
    assert np.all(err <= bound), (float(err[worst]), float(ref[worst]), float(e[worst]))


def assert_sums_accurate(S, ref, e, W):
    """S = k(X, C) @ W (``sums_and_grad``'s sums) against ``ref`` @ W: each sum within the
    values' error times |w| plus the summation's own (len(W) eps |w| k)."""
    exact = (ref @ np.asarray(W, LD)).astype(float)
    scale = ((ref * (1 + e)) @ np.abs(np.asarray(W, LD))).astype(float)
    assert np.all(np.abs(S - exact) <= (VALUE_RTOL + len(W)) * EPS * scale + 1e-300)
