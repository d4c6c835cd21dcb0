"""The runner's worker processes (:class:`kernelflows.experiments.workers.Workers`): every result
comes back, a task's error and a worker's death are raised with what was running, and leaving
the block stops every worker at once, whatever is running."""

import math
import multiprocessing
import os
import time

import pytest

from kernelflows.experiments.workers import WorkerDied, Workers

CTX = multiprocessing.get_context("spawn")


def test_every_result_comes_back_once():
    with Workers(CTX, math.sqrt, 2) as w:
        assert sorted(w.results([16.0, 4.0, 9.0, 1.0, 25.0])) == [1.0, 2.0, 3.0, 4.0, 5.0]
    assert not any(p.is_alive() for p, _ in w.workers)


def test_a_tasks_error_is_raised_here_with_the_workers_traceback():
    with Workers(CTX, math.sqrt, 2) as w, pytest.raises(ValueError) as info:
        list(w.results([4.0, -1.0, 9.0]))
    assert any("in a worker process" in note for note in getattr(info.value, "__notes__", [""]))


def test_a_worker_that_dies_is_named_with_its_task():
    # os._exit(3): the worker ends without a reply, as a killed or out-of-memory one does
    with Workers(CTX, os._exit, 2) as w, pytest.raises(WorkerDied, match=r"exit code 3\b.*3"):
        list(w.results([3]))


def test_leaving_early_stops_every_worker_at_once():
    w = Workers(CTX, time.sleep, 2)
    with w:
        results = w.results([0.0, 600.0, 600.0])
        assert next(results) is None  # the short task; the other worker sleeps
        t0 = time.monotonic()
    # terminated, not waited for: well under the 600 s the sleeping worker would take (the
    # bound leaves room for a loaded machine)
    assert time.monotonic() - t0 < 60
    assert not any(p.is_alive() for p, _ in w.workers)
