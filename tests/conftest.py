"""Shared fixtures: a seeded Generator, the Gaussian kernel on its generic path, the assignment's
stub, a check that must fail with given words, a module's command line."""

import os
import re
import subprocess
import sys
from pathlib import Path

import matplotlib
import numpy as np
import pytest

os.environ.setdefault("MPLBACKEND", "Agg")
matplotlib.use("Agg")

ROOT = Path(__file__).resolve().parents[1]


@pytest.fixture
def rng():
    return np.random.default_rng(20221)


@pytest.fixture(scope="session")
def generic_gaussian():
    """The Gaussian kernel class with its fast paths switched back to the generic versions of
    :class:`~kernelflows.kernels.Kernel` (and its gradient block written out here, since
    GaussianKernel's own goes through its fast ``grad_from_gram``): the same kernel, summed in
    another order."""
    from kernelflows.kernels import GaussianKernel, Kernel

    class GenericGaussian(GaussianKernel):
        sums_and_grad = Kernel.sums_and_grad
        flow_gram = Kernel.flow_gram
        grad_from_gram = Kernel.grad_from_gram

        def _grad_block(self, Z, X, w):
            # sum_j w_j grad_z k(z, x_j) = sum_j w_j k(z, x_j) (x_j - z) / s^2
            Kw = self._gram(Z, X) * w[None, :]
            return (Kw @ X - Z * Kw.sum(axis=1)[:, None]) / self.bandwidth**2

    return GenericGaussian


@pytest.fixture(scope="session")
def stub():
    """What an assignment's solution holds before the student writes anything."""

    def stub(*args, **kwargs):
        raise NotImplementedError("exercise stub")

    return stub


@pytest.fixture(scope="session")
def check_fails():
    """``check_fails(check, wrong, words)``: the check rejects ``wrong`` saying ``words``."""
    from kernelflows.course.checks import CheckFailed

    def check_fails(check, wrong, words):
        with pytest.raises(CheckFailed, match=re.escape(words)):
            check(wrong)

    return check_fails


@pytest.fixture(scope="session")
def run_module():
    """``run_module(module, *argv)``: ``python -m module argv...`` from the repository root."""

    def run_module(module, *argv):
        return subprocess.run(
            [sys.executable, "-m", module, *map(str, argv)],
            capture_output=True,
            text=True,
            cwd=ROOT,
        )

    return run_module
