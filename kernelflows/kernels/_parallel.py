"""The kernels' thread pool: row blocks of the flows' kernel sums on the machine's cores.

The fused sums of :meth:`Kernel.sums_and_grad` spend their time in numpy's exponential and in
small matrix products, which release the GIL: row blocks run on threads scale with the cores,
with no environment variable to set. The pieces:

* one ``ThreadPoolExecutor`` with ``os.cpu_count()`` workers per process, created on first use
  (and forgotten in a forked child, which does not inherit the threads);
* the work is cut into at most :data:`N_CHUNKS` chunks of consecutive row blocks of about equal
  cost. The cut depends on the sizes only, never on the number of threads, and each chunk writes
  its own output (partial sums are added in chunk order afterwards): results are bit for bit the
  same with 1, 2 or any number of threads;
* BLAS is held to one thread inside (:func:`blas_one_thread`; the products are thin and the
  threads are ours), in the parallel and the serial case alike, so its own threading cannot
  change the rounding either. The limit is process-wide while it lasts;
* below :data:`PARALLEL_MIN_ELEMENTS` kernel values the chunks run in the calling thread (the
  hand-off to a thread costs more than it saves), as they do inside a pool worker (no nesting).

:func:`kernel_threads` sets the number of threads for a block of code (``kernel_threads(1)``:
the single-threaded path, e.g. to time it); the default is ``os.cpu_count()``.
"""

from __future__ import annotations

import contextlib
import contextvars
import os
import threading
from concurrent.futures import ThreadPoolExecutor

import numpy as np

from .._validation import positive_int

__all__ = [
    "N_CHUNKS",
    "PARALLEL_MIN_ELEMENTS",
    "blas_one_thread",
    "kernel_threads",
    "run_chunks",
    "split_by_cost",
]

#: Most chunks a sum is cut into (so at most this many threads help one sum).
N_CHUNKS = 16
#: Kernel values (rows x columns) below which a sum runs in the calling thread.
PARALLEL_MIN_ELEMENTS = 2**18

_requested: contextvars.ContextVar[int | None] = contextvars.ContextVar(
    "kernelflows_kernel_threads", default=None
)
_pool: ThreadPoolExecutor | None = None
_pool_lock = threading.Lock()
_worker = threading.local()
_blas = None  # the ThreadpoolController, built on first use
_blas_lock = threading.Lock()
_blas_depth = 0  # blocks inside blas_one_thread, in every thread
_blas_limiter = None  # what restores the limits when the last block ends


def _forget_after_fork() -> None:
    global _pool, _pool_lock, _blas, _blas_lock, _blas_depth, _blas_limiter
    _pool, _pool_lock = None, threading.Lock()
    _blas, _blas_lock, _blas_depth, _blas_limiter = None, threading.Lock(), 0, None


if hasattr(os, "register_at_fork"):
    os.register_at_fork(after_in_child=_forget_after_fork)


def _mark_worker() -> None:
    _worker.active = True


def _get_pool() -> ThreadPoolExecutor:
    global _pool
    if _pool is None:
        with _pool_lock:
            if _pool is None:
                _pool = ThreadPoolExecutor(
                    max_workers=os.cpu_count() or 1,
                    thread_name_prefix="kernelflows",
                    initializer=_mark_worker,
                )
    return _pool


def _controller():
    """The process's ``threadpoolctl.ThreadpoolController`` (built once: tens of milliseconds)."""
    global _blas
    if _blas is None:
        from threadpoolctl import ThreadpoolController

        _blas = ThreadpoolController()
    return _blas


@contextlib.contextmanager
def blas_one_thread():
    """Hold BLAS to one thread in this block (a context manager, or ``@blas_one_thread()`` on a
    function), whatever the environment says.

    The package's dense linear algebra is small (factorisations and products of a few hundred
    rows): on a machine with several cores, or busy with other work, BLAS's own threads cost
    more than they save (a 300-point KALE solve took a hundred times longer with two OpenBLAS
    threads on a loaded machine), and they would change the rounding from one machine to the
    next. The KALE solver, ``kale_path``, ``mmd_test``, network training and every flow hold
    it; nobody needs ``OPENBLAS_NUM_THREADS``. Blocks nest and may overlap across threads: the
    first to enter sets the limit, the last to leave restores what was there (an inner block
    costs a lock, not a call into the BLAS libraries). The limit is process-wide while it lasts.
    """
    global _blas_depth, _blas_limiter
    with _blas_lock:
        if _blas_depth == 0:
            _blas_limiter = _controller().limit(limits=1, user_api="blas")
        _blas_depth += 1
    try:
        yield
    finally:
        with _blas_lock:
            _blas_depth -= 1
            if _blas_depth == 0:
                limiter, _blas_limiter = _blas_limiter, None
                limiter.restore_original_limits()


@contextlib.contextmanager
def kernel_threads(threads: int | None):
    """Run the kernels' sums in this block on ``threads`` threads (None: ``os.cpu_count()``).

    ``kernel_threads(1)`` is the single-threaded path. Results do not depend on the setting.
    """
    token = _requested.set(None if threads is None else positive_int(threads, "threads"))
    try:
        yield
    finally:
        _requested.reset(token)


def n_threads(elements: int, threads: int | None = None) -> int:
    """How many threads a sum of ``elements`` kernel values gets."""
    if getattr(_worker, "active", False) or elements < PARALLEL_MIN_ELEMENTS:
        return 1
    if threads is None:
        threads = _requested.get()
    return (os.cpu_count() or 1) if threads is None else positive_int(threads, "threads")


def split_by_cost(costs, n_chunks: int = N_CHUNKS) -> list[tuple[int, int]]:
    """Consecutive index ranges [a, b) of ``costs`` into at most ``n_chunks`` of similar cost."""
    costs = np.asarray(costs, dtype=float)
    k = min(n_chunks, len(costs))
    if k <= 1:
        return [(0, len(costs))]
    cum = np.cumsum(costs)
    cuts = np.searchsorted(cum, cum[-1] * np.arange(1, k) / k, side="left") + 1
    bounds = np.unique(np.concatenate([[0], np.minimum(cuts, len(costs)), [len(costs)]]))
    return [(int(a), int(b)) for a, b in zip(bounds[:-1], bounds[1:], strict=True)]


def run_chunks(task, n_tasks: int, threads: int) -> list:
    """``[task(0), ..., task(n_tasks - 1)]`` on ``threads`` threads (the caller is one of them).

    Tasks are taken in order from a shared counter; each result goes to its own slot, so the
    list does not depend on which thread ran what. BLAS is held to one thread throughout.
    """
    results: list = [None] * n_tasks
    with blas_one_thread():
        if threads <= 1 or n_tasks <= 1:
            for i in range(n_tasks):
                results[i] = task(i)
            return results
        lock = threading.Lock()
        state = {"next": 0, "failed": False}

        def runner():
            while True:
                with lock:
                    i = state["next"]
                    state["next"] += 1
                if i >= n_tasks or state["failed"]:
                    return
                try:
                    results[i] = task(i)
                except BaseException:
                    state["failed"] = True
                    raise

        pool = _get_pool()
        futures = [pool.submit(runner) for _ in range(min(threads, n_tasks) - 1)]
        try:
            runner()
        finally:
            for future in futures:
                future.result()
    return results
