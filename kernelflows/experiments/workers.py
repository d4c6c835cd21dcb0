"""Worker processes for the runner: each takes one task at a time over a pipe of its own.

:class:`Workers` runs a function over tasks in ``jobs`` spawned processes and yields the
results as they finish. Each worker has a private pipe to this process and nothing else is
shared, so stopping the run (Ctrl-C, SIGTERM, an error in a piece) cannot leave this process
waiting on a lock a killed worker held (``multiprocessing.Pool.terminate`` can: a worker stopped
while it held the pool's task-queue lock hangs it). A worker that dies (killed, out of memory)
is reported with the task it was running, instead of waiting for its result forever.
"""

from __future__ import annotations

import traceback
from multiprocessing.connection import wait

__all__ = ["WorkerDied", "Workers"]

#: Seconds between looks at the pipes and the workers' exits (and a pending Ctrl-C or SIGTERM,
#: which Python handles between these waits).
_POLL = 0.25
#: Seconds a stopped worker gets to exit after SIGTERM before it is killed.
_GRACE = 5.0


class WorkerDied(RuntimeError):
    """A worker process ended without returning its task's result."""


def _serve(conn, fn, initializer, initargs) -> None:
    """A worker's loop: run ``fn`` on each task received until ``None``; send back
    ``(True, result)`` or ``(False, (exception, its formatted traceback))``."""
    if initializer is not None:
        initializer(*initargs)
    while True:
        task = conn.recv()
        if task is None:
            return
        try:
            reply = (True, fn(task))
        except Exception as exc:  # the piece's error goes to the parent, which raises it
            reply = (False, (exc, traceback.format_exc()))
        try:
            conn.send(reply)
        except Exception as exc:  # an exception that does not pickle: send its text
            conn.send((False, (RuntimeError(repr(exc)), traceback.format_exc())))


class Workers:
    """``jobs`` processes of the multiprocessing context ``ctx`` that run ``fn`` on the tasks
    :meth:`results` hands them (``fn`` and the tasks must pickle), started here:
    ``initializer(*initargs(k))`` runs first in worker ``k`` (1, 2, ...). A context manager:
    leaving it stops every worker (SIGTERM, then SIGKILL after a grace period) and waits for
    them, so no process outlives it, whatever ended the block."""

    def __init__(self, ctx, fn, jobs: int, initializer=None, initargs=lambda k: ()):
        self.workers = []  # (process, connection)
        try:
            for k in range(1, jobs + 1):
                here, there = ctx.Pipe()
                p = ctx.Process(
                    target=_serve, args=(there, fn, initializer, initargs(k)), daemon=True
                )
                p.start()
                there.close()
                self.workers.append((p, here))
        except BaseException:
            self.stop()
            raise

    def __enter__(self):
        return self

    def __exit__(self, *exc) -> None:
        self.stop()

    def results(self, tasks, name=repr):
        """Yield ``fn(task)`` for every task, in the order they finish. An exception in a task
        is raised here (the worker's traceback in its note); a worker that dies raises
        :class:`WorkerDied` with ``name(task)``."""
        busy = {}  # connection -> (process, task)
        todo = iter(tasks)
        for p, conn in self.workers:
            _hand_out(conn, p, todo, busy)
        while busy:
            ready = wait(list(busy) + [p.sentinel for p, _ in busy.values()], timeout=_POLL)
            for conn in [c for c in busy if c in ready]:
                p, task = busy.pop(conn)
                try:
                    ok, value = conn.recv()
                except (EOFError, OSError):
                    raise WorkerDied(_died(p, name(task))) from None
                if not ok:
                    exc, text = value
                    if hasattr(exc, "add_note"):  # Python 3.11
                        exc.add_note(f"in a worker process:\n{text}")
                    raise exc
                yield value
                _hand_out(conn, p, todo, busy)
            for conn, (p, task) in list(busy.items()):
                if p.sentinel in ready and not conn.poll():
                    raise WorkerDied(_died(p, name(task)))

    def stop(self) -> None:
        for p, _ in self.workers:
            if p.is_alive():
                p.terminate()
        for p, conn in self.workers:
            p.join(_GRACE)
            if p.is_alive():
                p.kill()
                p.join()
            conn.close()


def _hand_out(conn, p, todo, busy) -> None:
    task = next(todo, None)
    try:
        conn.send(task)  # None: no more work, the worker returns
    except OSError:
        if task is not None:
            raise WorkerDied(_died(p, "its next task")) from None
        return
    if task is not None:
        busy[conn] = (p, task)


def _died(p, what: str) -> str:
    p.join(_GRACE)
    return f"a worker process ended (exit code {p.exitcode}) while running {what}"
