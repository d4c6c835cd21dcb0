"""Flows and divergences give the same bits whatever BLAS thread count the caller set.

A user's Jupyter runs OpenBLAS at its default thread count, `make` at one thread: the numbers a
lecture prints and the figures must not depend on which. The multi-threaded BLAS sums blocks in
another order, so any factorisation done outside the package's one-thread guard shows up here
as a last-bit difference (it did for DrMMD's target factorisation, built before the engine's
guard).
"""

import numpy as np
import pytest
from threadpoolctl import threadpool_limits

import kernelflows as kf


def _clouds():
    rng = np.random.default_rng(7)
    # 400 target points: large enough for OpenBLAS to split an eigendecomposition across threads
    return rng.normal(size=(60, 2)) + 2.0, rng.normal(size=(400, 2))


def _under(threads, fn):
    with threadpool_limits(threads):
        return fn()


FLOWS = {
    "drmmd_flow": lambda X, Y, k: kf.drmmd_flow(X, Y, k, lam=0.01, step=0.1, n_steps=5),
    "drmmd_flow adaptive": lambda X, Y, k: kf.drmmd_flow(
        X, Y, k, lam=0.01, step=0.1, n_steps=5, adaptive=True
    ),
    "kale_flow": lambda X, Y, k: kf.kale_flow(X, Y, k, lam=0.01, step=0.1, n_steps=3),
    "srmmd_flow": lambda X, Y, k: kf.srmmd_flow(X[:40], Y, k, lam=0.1, step=0.1, n_steps=3),
    "mmd_flow": lambda X, Y, k: kf.mmd_flow(X, Y, k, step=0.1, n_steps=5),
}


@pytest.mark.parametrize("name", FLOWS)
def test_flows_are_bit_identical_on_one_and_four_blas_threads(name):
    X, Y = _clouds()
    k = kf.GaussianKernel(1.0)
    one = _under(1, lambda: FLOWS[name](X, Y, k))
    four = _under(4, lambda: FLOWS[name](X, Y, k))
    np.testing.assert_array_equal(one.particles, four.particles)
    np.testing.assert_array_equal(one.loss, four.loss)


DIVERGENCES = {
    "drmmd": lambda X, Y, k: kf.drmmd(X, Y, k, lam=0.01).value,
    "kale": lambda X, Y, k: kf.kale(X, Y, k, lam=0.01).value,
    "srmmd": lambda X, Y, k: kf.srmmd(X[:40], Y, k, lam=0.1).value,
    "regularized chi2": lambda X, Y, k: kf.regularized_divergence(X, Y, k, "chi2", lam=0.1).value,
}


@pytest.mark.parametrize("name", DIVERGENCES)
def test_divergences_are_bit_identical_on_one_and_four_blas_threads(name):
    X, Y = _clouds()
    k = kf.GaussianKernel(1.0)
    assert _under(1, lambda: DIVERGENCES[name](X, Y, k)) == _under(
        4, lambda: DIVERGENCES[name](X, Y, k)
    )
