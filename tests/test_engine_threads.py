"""The kernels' thread pool: same bits on any number of threads, and threads really used."""

import numpy as np
import pytest

import kernelflows.kernels._parallel as parallel
from kernelflows.divergences import mmd_velocity
from kernelflows.flows import mmd_flow
from kernelflows.kernels import EnergyKernel, GaussianKernel, IMQKernel, Kernel, kernel_threads


@pytest.fixture
def spy(monkeypatch):
    """Records the thread count every sum was run with."""
    seen = []
    run = parallel.run_chunks

    def spying(task, n_tasks, threads):
        seen.append((n_tasks, threads))
        return run(task, n_tasks, threads)

    for module in ("base", "gaussian"):  # the generic sums and the Gaussian fast path
        monkeypatch.setattr(f"kernelflows.kernels.{module}.run_chunks", spying)
    return seen


def _problem(n, m, d=2, seed=0):
    rng = np.random.default_rng(seed)
    X, Y = rng.normal(size=(n, d)), rng.normal(size=(m, d)) + 0.5
    C = np.concatenate([X, Y])
    W = np.zeros((n + m, 2))
    W[:n, 0], W[n:, 0], W[n:, 1] = 1 / n, -1 / m, 1.0
    return X, Y, C, W


@pytest.mark.parametrize("z_is_head", [True, False])
def test_gaussian_sums_are_bit_identical_on_one_and_two_threads(spy, z_is_head):
    # 1200 x 2200 kernel values: above the small-size guard; 4 row tiles of 362 rows (tiles of
    # 2^17 values), in as many chunks; the symmetric path hands transposed values on.
    X, Y, C, W = _problem(1200, 1000)
    Z = X if z_is_head else X + 0.1
    kernel = GaussianKernel(0.7)
    out = {}
    for threads in (1, 2, 3):
        S, G = kernel.sums_and_grad(Z, C, W, z_is_head=z_is_head, threads=threads)
        out[threads] = (S, G)
    assert [t for _, t in spy] == [1, 2, 3] and all(k == 4 for k, _ in spy)
    for threads in (2, 3):
        np.testing.assert_array_equal(out[threads][0], out[1][0])
        np.testing.assert_array_equal(out[threads][1], out[1][1])
    # and the values are right (independent formula; 1e-12: sums of 2200 terms <= 1 in float64)
    np.testing.assert_allclose(out[1][0], kernel(Z, C) @ W, atol=1e-12)
    np.testing.assert_allclose(out[1][1], kernel.weighted_grad(Z, C, W[:, 0]), atol=1e-12)


@pytest.mark.parametrize("kernel", [IMQKernel(1.0, -0.5), EnergyKernel()])
def test_generic_sums_are_bit_identical_on_one_and_two_threads(spy, kernel):
    X, Y, C, W = _problem(700, 500, d=3)
    S1, G1 = kernel.sums_and_grad(X, C, W, threads=1, block_elements=2**14)
    S2, G2 = kernel.sums_and_grad(X, C, W, threads=2, block_elements=2**14)
    assert [t for _, t in spy] == [1, 2] and spy[0][0] > 1
    np.testing.assert_array_equal(S1, S2)
    np.testing.assert_array_equal(G1, G2)
    np.testing.assert_allclose(S1, kernel(X, C) @ W, rtol=1e-12, atol=1e-9)


def test_totals_are_bit_identical_on_one_and_two_threads(spy):
    X, Y, _, _ = _problem(1500, 900)
    kernel = GaussianKernel(0.9)
    with kernel_threads(1):
        one = (kernel.total(X), kernel.total(X, Y), kernel.total(X, exclude_diagonal=True))
    with kernel_threads(2):
        two = (kernel.total(X), kernel.total(X, Y), kernel.total(X, exclude_diagonal=True))
    assert {t for _, t in spy} == {1, 2}
    assert one == two
    # the symmetric half-sum is the full sum (1e-9 relative: 2e6 terms of size <= 1)
    assert one[0] == pytest.approx(kernel(X).sum(), rel=1e-9)


def test_flow_is_bit_identical_with_kernel_threads(spy):
    X, Y, _, _ = _problem(600, 600, seed=1)
    kw = dict(step=0.5, n_steps=4, record_every=1)
    with kernel_threads(1):
        a = mmd_flow(X, Y, GaussianKernel(1.0), **kw)
    with kernel_threads(2):
        b = mmd_flow(X, Y, GaussianKernel(1.0), **kw)
    assert {t for _, t in spy} == {1, 2}
    np.testing.assert_array_equal(a.trajectory, b.trajectory)
    np.testing.assert_array_equal(a.loss, b.loss)


def test_small_sums_stay_in_the_calling_thread(spy):
    X, Y, _, _ = _problem(50, 60)
    with kernel_threads(2):
        mmd_velocity(X, Y, GaussianKernel(1.0))
    assert spy == [(1, 1)]  # 50 x 110 values: one block, one thread


def test_chunks_depend_on_costs_only_and_cover_every_block():
    costs = np.arange(100, 0, -1)
    chunks = parallel.split_by_cost(costs)
    assert chunks[0][0] == 0 and chunks[-1][1] == 100 and len(chunks) <= parallel.N_CHUNKS
    following = chunks[1:] + [(100, 0)]
    assert all(a < b and b == c for (a, b), (c, _) in zip(chunks, following, strict=True))
    # roughly equal cost: no chunk more than twice the mean plus one block
    sums = [costs[a:b].sum() for a, b in chunks]
    assert max(sums) <= 2 * costs.sum() / len(chunks) + costs.max()


def test_errors_in_a_thread_reach_the_caller():
    class Broken(Kernel):
        def _gram(self, Z, X):
            raise ArithmeticError("boom")

    X, Y, C, W = _problem(700, 500)
    with pytest.raises(ArithmeticError, match="boom"):
        Broken().sums_and_grad(X, C, W, threads=2, block_elements=2**14)


def test_kernel_threads_validates():
    with pytest.raises(ValueError), kernel_threads(0):
        pass


@pytest.mark.parametrize("z_is_head", [True, False])
def test_gaussian_sums_by_cells_are_bit_identical_on_one_and_two_threads(z_is_head):
    # a cloud 12 bandwidths wide: the Gaussian fast path tiles it by grid cells (rows permuted,
    # each tile centred on its cell); the chunks still do not depend on the number of threads
    X, Y, C, W = _problem(1200, 1000)
    X, C = 6.0 * X, 6.0 * C
    Z = X if z_is_head else X + 0.1
    kernel = GaussianKernel(0.5)
    d = Z.shape[1]
    left, right = kernel.exponent_factors(Z, C)
    assert kernel._plan(Z, -left[:, d], -right[d + 1], 362) is not None  # the path under test
    out = {t: kernel.sums_and_grad(Z, C, W, z_is_head=z_is_head, threads=t) for t in (1, 2, 3)}
    for threads in (2, 3):
        np.testing.assert_array_equal(out[threads][0], out[1][0])
        np.testing.assert_array_equal(out[threads][1], out[1][1])
    # independent formula (the blocked Gram matrix, weighted_grad); 1e-12 as above
    np.testing.assert_allclose(out[1][0], kernel(Z, C) @ W, atol=1e-12)
    np.testing.assert_allclose(out[1][1], kernel.weighted_grad(Z, C, W[:, 0]), atol=1e-12)
