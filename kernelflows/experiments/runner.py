"""Running experiments piece by piece: in this process or in worker processes, resumable.

An experiment is a list of independent pieces (:mod:`.registry`). :func:`run_experiments` runs
the pieces of one or more results files, in this process (``jobs=1``) or in ``jobs`` worker
processes, each holding BLAS and the kernels' sums to one thread, and writes each results file
after every piece it finishes. The pieces of every file go to the same workers, longest first
by the seconds the files record (:mod:`.estimates`), so the workers stay busy until the last
pieces whichever file they belong to. Results do not depend on ``jobs``: a piece is computed
alone from its settings and seed, on one thread, and the metrics are combined from the pieces in
their own order whichever finished first (a test compares a parallel run with a serial one, bit
for bit).

Run again after an interruption (Ctrl-C, SIGTERM, a closed laptop), it keeps the pieces a
results file already holds when the file was written with the same settings by the same code
(:func:`code_version`, a hash of the package's computing modules) and computes only the missing
ones; ``fresh=True`` starts over. An interruption stops the workers and raises
:class:`RunInterrupted`, whose message says what was kept (the files are written after every
piece, atomically, so nothing is lost but the pieces that were running).

Progress (``progress=True``): a bar over the pieces, and one bar per running piece with its
step, loss and time left (:func:`kernelflows.flows.flow_progress`).
"""

from __future__ import annotations

import contextlib
import hashlib
import json
import multiprocessing
import os
import signal
import sys
import threading
import time
from dataclasses import dataclass, field
from pathlib import Path

from .._io import write_text
from .estimates import duration, handed_out_seconds, longest_first, piece_estimates
from .registry import experiment, jsonable
from .workers import Workers

__all__ = [
    "RunInterrupted",
    "code_version",
    "run_experiments",
]

#: The package's folders whose code cannot change a number in a results file (grading,
#: figures and their drawing): a change there keeps the pieces already computed.
_NOT_COMPUTING = ("course", "figures", "viz")


def code_version() -> str:
    """A hash of the package's computing modules (every ``.py`` file of ``kernelflows`` but
    the grading, figures and drawing code): pieces written by the same code are kept."""
    root = Path(__file__).resolve().parents[1]
    h = hashlib.sha256()
    for path in sorted(root.rglob("*.py")):
        rel = path.relative_to(root)
        if rel.parts[0] in _NOT_COMPUTING:
            continue
        h.update(str(rel.as_posix()).encode() + b"\0" + path.read_bytes() + b"\0")
    return h.hexdigest()[:16]


class RunInterrupted(KeyboardInterrupt):
    """A run stopped by Ctrl-C or SIGTERM; ``str(exc)`` says what was kept and where."""


@dataclass
class _File:
    """One results file being made: its experiment, settings, and the pieces done so far."""

    experiment_id: str
    scale: str
    path: Path
    settings: dict
    pieces: list
    done: dict = field(default_factory=dict)  # index -> (summary, (wall, CPU seconds))
    kept: int = 0
    previous_wall: float = 0.0
    start: float = 0.0

    @property
    def missing(self) -> list[int]:
        return [i for i in range(len(self.pieces)) if i not in self.done]

    def label(self, index: int) -> str:
        piece = self.pieces[index]
        return (
            self.experiment_id if piece is None else f"{self.experiment_id} [{_piece_name(piece)}]"
        )


def _piece_name(piece) -> str:
    if isinstance(piece, list):
        return " ".join(_piece_name(p) for p in piece)
    return str(piece)


def _read_kept(f: _File, code: str) -> str:
    """Fill ``f.done`` from the results file already at ``f.path`` when it was written with the
    same settings by the same code; say what was found."""
    if not f.path.exists():
        return "no results file yet"
    try:
        doc = json.loads(f.path.read_text())
    except (OSError, ValueError):
        return "the results file there cannot be read: starting over"
    if json.loads(json.dumps(doc.get("settings"))) != f.settings:
        return "the results file there has other settings: starting over"
    if doc.get("provenance", {}).get("code") != code:
        return "the results file there was written by other code: starting over"
    e = experiment(f.experiment_id)
    records = doc.get("pieces") or []
    index = {json.dumps(p): i for i, p in enumerate(f.pieces)}
    for rec in records:
        i = index.get(json.dumps(rec.get("piece")))
        if i is None:
            continue
        if "summary" in rec:
            summary = rec["summary"]
        elif e.pieces is None:
            summary = doc["metrics"]
        else:
            summary = e.summary_of(f.settings, doc["metrics"], rec["piece"])
        times = (float(rec.get("seconds", "nan")), float(rec.get("cpu_seconds", "nan")))
        f.done[i] = (summary, times)
    f.kept = len(f.done)
    f.previous_wall = float(doc["provenance"].get("wall_seconds", 0.0)) if f.done else 0.0
    if f.done:
        f.start = _parse_start(doc["provenance"].get("start"), f.start)
    return f"kept {f.kept} of {len(f.pieces)} pieces"


def _parse_start(text, default: float) -> float:
    import datetime as _dt

    try:
        return _dt.datetime.fromisoformat(text).timestamp()
    except (TypeError, ValueError):
        return default


def _write(f: _File, code: str, commit: str, jobs: int, t0: float) -> None:
    from ..kernels import blas_one_thread
    from .files import provenance

    e = experiment(f.experiment_id)
    order = sorted(f.done)
    done = [(f.pieces[i], f.done[i][0]) for i in order]
    stored = e.pieces is None or e.summary_of is not None
    records = [
        {"piece": f.pieces[i], "seconds": f.done[i][1][0], "cpu_seconds": f.done[i][1][1]}
        | ({} if stored else {"summary": f.done[i][0]})
        for i in order
    ]
    wall = f.previous_wall + time.perf_counter() - t0
    with blas_one_thread():  # the BLAS line says what the pieces ran on: one thread
        where = provenance(f.start, wall, commit)
    # the file's own cost, whatever else shared the run: its pieces' CPU seconds (``wall`` runs
    # from the start of the command, which may have run other files' pieces too)
    where["cpu_seconds"] = sum(r["cpu_seconds"] for r in records)
    doc = {
        "id": f.experiment_id,
        "scale": f.scale,
        "description": e.description,
        "settings": f.settings,
        "metrics": jsonable(e.metrics(f.settings, done)),
        "pieces": records,
        "provenance": where | {"code": code, "jobs": jobs},
    }
    text = json.dumps(doc, indent=1, sort_keys=True) + "\n"
    with _signals_held():  # a Ctrl-C now is taken once the piece is on disk
        write_text(f.path, text)


#: What stops a run: Ctrl-C and SIGTERM (the command line turns SIGTERM into a Ctrl-C).
_STOPS = (signal.SIGINT, signal.SIGTERM)


@contextlib.contextmanager
def _signals_held(ignored=()):
    """Hold Ctrl-C and SIGTERM back in this block: a stop that arrives is noted, and taken when
    the block ends by the handler that was there before. ``ignored``: signals ignored instead
    (a process started in the block inherits an ignored signal; it would not inherit a handler).

    Python runs signal handlers in the main thread only, so handlers are what can hold a signal
    (a thread's signal mask cannot: BLAS's own threads take a signal the main thread blocks, and
    Python still raises it in the main thread). Off the main thread this holds nothing: a signal
    reaches the main thread's code there."""
    if threading.current_thread() is not threading.main_thread():
        yield
        return
    arrived = []

    def note(signum, frame):
        arrived.append(signum)

    previous = {s: signal.signal(s, signal.SIG_IGN if s in ignored else note) for s in _STOPS}
    try:
        yield
    finally:
        for s, handler in previous.items():
            signal.signal(s, signal.SIG_DFL if handler is None else handler)
        if arrived:
            signal.raise_signal(arrived[0])


# -- the workers ---------------------------------------------------------------------------------

_worker: dict = {}


def _init_worker(lock, progress: bool, position: int) -> None:
    """Worker ``position`` (1, 2, ...): Ctrl-C is the parent's to handle (ignored here from the
    worker's start: see :func:`_run_tasks`); BLAS on one thread for good; its progress bars on
    line ``position``."""
    signal.signal(signal.SIGINT, signal.SIG_IGN)
    from threadpoolctl import threadpool_limits

    _worker["limits"] = threadpool_limits(limits=1)
    _worker["position"] = position
    _worker["progress"] = progress
    from tqdm.auto import tqdm

    # the parent's lock, or a thread lock: tqdm would otherwise make a multiprocessing lock
    # here, which a worker stopped by Ctrl-C leaves to the resource tracker (and its warning)
    tqdm.set_lock(lock if progress else threading.RLock())


def _compute(
    experiment_id: str, settings: dict, piece, label: str, position, progress: bool, threads=None
):
    """One piece's summary and its (wall, CPU) seconds, BLAS on one thread, the kernels' sums on
    ``threads`` (a worker: 1; this process: every core). Neither changes a bit of the result."""
    from ..flows import flow_progress
    from ..kernels import blas_one_thread, kernel_threads

    e = experiment(experiment_id)
    bars = flow_progress(label, position=position) if progress else contextlib.nullcontext()
    t0, c0 = time.perf_counter(), time.process_time()
    with blas_one_thread(), kernel_threads(threads), bars:
        summary = e.piece_summary(settings, piece)
    return summary, (time.perf_counter() - t0, time.process_time() - c0)


def _work(task):
    key, experiment_id, settings, piece, label = task
    import kernelflows.experiments  # noqa: F401  (registers every experiment)

    summary, seconds = _compute(
        experiment_id, settings, piece, label, _worker["position"], _worker["progress"], 1
    )
    return key, summary, seconds


@contextlib.contextmanager
def _one_thread_environment():
    """Worker processes start with one BLAS thread (their BLAS reads these when loaded)."""
    names = ("OPENBLAS_NUM_THREADS", "OMP_NUM_THREADS", "MKL_NUM_THREADS")
    saved = {n: os.environ.get(n) for n in names}
    os.environ.update({n: "1" for n in names})
    try:
        yield
    finally:
        for n, v in saved.items():
            if v is None:
                os.environ.pop(n, None)
            else:
                os.environ[n] = v


# -- the runner ----------------------------------------------------------------------------------


def _say(message: str) -> None:
    print(message, file=sys.stderr, flush=True)


def run_experiments(
    runs,
    directory=None,
    *,
    jobs: int = 1,
    fresh: bool = False,
    progress: bool = False,
    settings: dict | None = None,
    quiet: bool = False,
) -> list:
    """Run the results files ``runs`` (``[(experiment_id, scale), ...]``) into ``directory``
    (default ``./results``; the package's own folder only when named) and return what was
    written (:class:`~kernelflows.experiments.Results`, in the order given).

    ``jobs``: worker processes (1: in this process). The pieces of every file share the
    workers, longest first (estimated from the files already there, or else shipped), pieces
    without an estimate first. ``fresh``: ignore the pieces already written. ``settings``: run
    these settings instead of the scale's (one file only; tests and trials). ``quiet``: no
    lines on stderr.

    Raises :class:`RunInterrupted` on Ctrl-C or SIGTERM (with the SIGTERM handler of the
    command line), after stopping the workers; every piece finished is in its file.
    """
    from .files import DEFAULT_OUT, Results, git_commit, results_path

    if not isinstance(jobs, int) or isinstance(jobs, bool) or jobs < 1:
        raise ValueError(f"jobs must be a positive integer, got {jobs!r}")
    runs = [(i, s) for i, s in runs]
    if settings is not None and len(runs) != 1:
        raise ValueError("settings can replace the settings of one results file only")
    code, commit, now = code_version(), git_commit(), time.time()
    files: list[_File] = []
    for experiment_id, scale in runs:
        e = experiment(experiment_id)
        s = e.settings(scale) if settings is None else jsonable(settings)
        path = results_path(experiment_id, scale, DEFAULT_OUT if directory is None else directory)
        path.parent.mkdir(parents=True, exist_ok=True)
        f = _File(experiment_id, scale, path, s, e.piece_list(s), start=now)
        found = "starting over (--fresh)" if fresh else _read_kept(f, code)
        if not quiet:
            _say(f"{experiment_id} ({scale}): {found}; {len(f.missing)} to run")
        files.append(f)

    tasks, seconds = _longest_first(files)
    if tasks and not quiet:
        _say(_estimate_line(seconds, min(jobs, len(tasks))))
    t0 = time.perf_counter()
    if tasks:
        try:
            _run_tasks(files, tasks, jobs, progress, code, commit, t0)
        except KeyboardInterrupt as exc:
            raise RunInterrupted(_kept_line(files)) from exc
    return [Results.read(f.path) for f in files if f.path.exists()]


def _longest_first(files: list[_File]) -> tuple[list[tuple[int, int]], list]:
    """The missing pieces of every file, ``(file, piece)``, in the order the workers take them,
    and their estimated seconds (``None``: no estimate): longest first by the seconds the file
    there records for each piece, or else the file shipped with the package
    (:func:`.piece_estimates`), pieces without an estimate first (:func:`.longest_first`)."""
    from .files import results_path

    tasks, seconds = [], []
    for k, f in enumerate(files):
        missing = f.missing
        pieces = [f.pieces[i] for i in missing]
        found = piece_estimates(f.path, pieces, results_path(f.experiment_id, f.scale))
        tasks += [(k, i) for i in missing]
        seconds += found or [None] * len(missing)
    order = longest_first(seconds)
    return [tasks[j] for j in order], [seconds[j] for j in order]


def _estimate_line(seconds: list, jobs: int) -> str:
    """What the pieces to run should take on ``jobs`` workers, by the files' records."""
    known = [s for s in seconds if s is not None]
    line = f"{len(seconds)} pieces to run on {jobs} process{'es' * (jobs > 1)}, longest first"
    if known:
        line += f": about {duration(handed_out_seconds(known, jobs))} by the files' records"
    if len(known) < len(seconds):
        line += f" ({len(seconds) - len(known)} without an estimate: no results file)"
    return line


def _on_disk(f: _File) -> int:
    """How many pieces the file on disk holds (read back: a stop can land anywhere in a
    write)."""
    if not f.path.exists():
        return 0
    try:
        doc = json.loads(f.path.read_text())
    except (OSError, ValueError):
        return 0
    if json.loads(json.dumps(doc.get("settings"))) != f.settings:
        return 0  # another run's file, left as it was
    return len(doc.get("pieces") or [])


def _kept_line(files: list[_File]) -> str:
    parts = []
    for f in files:
        n, done = len(f.pieces), _on_disk(f)
        if done == n and f.kept == n:
            continue
        where = f.path if done else "nothing written"
        parts.append(f"{f.experiment_id} ({f.scale}) {done} of {n} pieces ({where})")
    return (
        "interrupted: kept "
        + ("; ".join(parts) or "every piece")
        + ". Run the same command again to compute only the missing pieces (--fresh starts over)."
    )


def _run_tasks(files, tasks, jobs, progress, code, commit, t0) -> None:
    from tqdm.auto import tqdm

    total = sum(len(f.pieces) for f in files)
    kept = total - len(tasks)
    desc = ", ".join(f"{f.experiment_id} ({f.scale})" for f in files)
    if len(desc) > 40:
        desc = f"{len(files)} results files"
    if jobs == 1 or len(tasks) == 1:
        with tqdm(total=total, initial=kept, desc=desc, unit="piece", disable=not progress) as bar:
            for k, i in tasks:
                f = files[k]
                summary, seconds = _compute(
                    f.experiment_id, f.settings, f.pieces[i], f.label(i), None, progress
                )
                f.done[i] = (summary, seconds)
                _write(f, code, commit, 1, t0)
                bar.update(1)
        return
    ctx = multiprocessing.get_context("spawn")
    lock = None
    if progress:  # the bars of every process write under one lock
        lock = ctx.RLock()
        tqdm.set_lock(lock)
    work = [
        ((k, i), files[k].experiment_id, files[k].settings, files[k].pieces[i], files[k].label(i))
        for k, i in tasks
    ]
    # Ctrl-C reaches the whole process group, workers too: they start with it ignored (a worker
    # still importing, before _init_worker, would die of it with a traceback), so this process
    # ignores it while it starts them; a SIGTERM then is held. Leaving the block (the last
    # piece, Ctrl-C, SIGTERM, an error) stops the workers and waits for them (:class:`Workers`).
    with _one_thread_environment(), _signals_held(ignored=(signal.SIGINT,)):
        workers = Workers(
            ctx, _work, min(jobs, len(tasks)), _init_worker, lambda k: (lock, progress, k)
        )
    with workers:
        bar = tqdm(total=total, initial=kept, desc=desc, unit="piece", disable=not progress)
        with bar:
            for (k, i), summary, seconds in workers.results(work, name=lambda task: task[-1]):
                files[k].done[i] = (summary, seconds)
                _write(files[k], code, commit, jobs, t0)
                bar.update(1)
