"""Grade one exercise of one hand-in: setup, the student's cells, the test cell, in a fresh
sandboxed process (:mod:`kernelflows.course.sandbox`), each cell with a time limit.

The checks run here, in the grader's process, never in the student's: when the test cell calls
``check_x(my_function)``, the student's process sends the call over
(:mod:`kernelflows.course.runner`) and the real check runs here on a stand-in for
``my_function`` that forwards every call back to the student's process and receives plain
numbers and arrays (:mod:`kernelflows.course.wire`). So a
student's cell that redefines ``check_*``, ``np.allclose`` or patches numpy changes nothing the
check concludes. The exercise earns its points when every check its test cell calls passed here
and the test cell ran to its end; a cell that runs past its time limit is stopped with its whole
process, and costs this exercise only.
"""

from __future__ import annotations

import builtins
import contextlib
import io
import pickle
import sys
import time
import types
from dataclasses import dataclass, field

from .sandbox import Isolation, Sandbox, SandboxUnavailable
from .wire import ChannelClosed, Deadline, Handle, ProtocolError, decode

__all__ = ["ExerciseJob", "CellRun", "ExerciseResult", "run_exercise", "StudentError"]


@dataclass(frozen=True)
class ExerciseJob:
    """What to run for one exercise of one hand-in (all sources from the lecture but the
    student's cells)."""

    student: str
    lecture: str  # file stem, e.g. "03_mmd_flow"
    number: int
    grade_id: str
    max_points: float
    setup: str
    student_cells: tuple[str, ...]
    test: str
    checks: tuple[str, ...]  # the check_* names the test cell calls
    files: tuple[tuple[str, str], ...] = ()  # (name, text) written into the student's folder


@dataclass
class CellRun:
    kind: str  # "setup", "student" or "test"
    source: str
    ok: bool = False
    stdout: str = ""
    stderr: str = ""
    error: str = ""  # "ValueError: message"
    traceback: str = ""
    seconds: float = 0.0
    stopped: str = ""  # why the grader stopped the process during this cell, if it did


@dataclass
class ExerciseResult:
    student: str
    lecture: str
    number: int
    grade_id: str
    points: float
    max_points: float
    status: str  # "passed", "failed", "timeout", "crashed", "grader"
    diagnosis: str
    detail: str = ""  # the traceback of the student's code that the diagnosis refers to
    checks: list = field(default_factory=list)  # [(name, passed, message)]
    cells: list = field(default_factory=list)
    seconds: float = 0.0


class StudentError(Exception):
    """The student's function raised an exception that is not one of Python's builtins."""


class _Remote:
    """Stands for an object of the student's process (a function, what it returned)."""

    def __init__(self, judge: _Judge, handle: Handle):
        self._judge, self._handle = judge, handle

    def __getattr__(self, name):
        if name.startswith("__"):
            raise AttributeError(name)
        return self._judge.ask({"op": "getattr", "handle": self._handle.number, "name": name})

    def __getitem__(self, key):
        return self._judge.ask(
            {"op": "getitem", "handle": self._handle.number, "key": self._judge.pickled(key)}
        )

    def __len__(self):
        return int(self._judge.ask({"op": "len", "handle": self._handle.number}))

    def __iter__(self):
        return iter(self._judge.ask({"op": "iter", "handle": self._handle.number}))

    def __bool__(self):
        return bool(self._judge.ask({"op": "bool", "handle": self._handle.number}))

    def __repr__(self):
        return f"<your {self._handle.type_name}>"


class _RemoteCallable(_Remote):
    def __call__(self, *args, **kwargs):
        message = {"op": "call", "handle": self._handle.number}
        return self._judge.ask({**message, "args": self._judge.pickled((args, kwargs))})


class _Judge:
    """The grader's end of the channel during one exercise."""

    def __init__(self, sandbox: Sandbox, checks: tuple[str, ...]):
        self.channel = sandbox.channel
        self.allowed = set(checks)
        self.in_test = False
        self.in_check = False
        self.verdicts: list[tuple[str, bool, str]] = []
        self.student_traceback = ""
        self.functions: dict[int, object] = {}  # the grader's functions the student may call
        self._classes: dict[tuple, type] = {}
        self.interrupted = ""

    # -- values crossing the channel ----------------------------------------------------------
    def pickled(self, value) -> str:
        import base64

        judge = self

        class Pickler(pickle.Pickler):
            def persistent_id(self, obj):
                if isinstance(obj, _Remote):
                    return ("h", obj._handle.number)
                if isinstance(obj, types.FunctionType) and not _importable(obj):
                    number = len(judge.functions) + 1
                    judge.functions[number] = obj
                    return ("j", number)
                return None

        buf = io.BytesIO()
        Pickler(buf, protocol=pickle.HIGHEST_PROTOCOL).dump(value)
        return base64.b64encode(buf.getvalue()).decode()

    def value(self, data):
        """The decoded value (untrusted: plain data), with handles as remote stand-ins."""
        return self._wrap(decode(data))

    def _wrap(self, value):
        if isinstance(value, Handle):  # named after the student's type, for the checks' messages
            base = _RemoteCallable if value.callable else _Remote
            key = (value.type_name, base)
            if key not in self._classes:
                self._classes[key] = type(value.type_name or "object", (base,), {})
            return self._classes[key](self, value)
        if isinstance(value, list):
            return [self._wrap(v) for v in value]
        if isinstance(value, tuple):
            return tuple(self._wrap(v) for v in value)
        if isinstance(value, dict):
            return {k: self._wrap(v) for k, v in value.items()}
        return value

    # -- requests ------------------------------------------------------------------------------
    def ask(self, message: dict):
        """Send a request about a student's object; serve the student's requests meanwhile."""
        self.channel.send(message)
        while True:
            reply = self.channel.recv()
            op = reply["op"]
            if op == "result":
                return self.value(reply.get("value"))
            if op == "raised":
                raise self._raised(reply)
            if op == "done":
                raise ProtocolError("the cell ended in the middle of a call")
            self.serve(reply)

    def _raised(self, reply: dict) -> Exception:
        name = str(reply.get("ename", "Exception"))[:80]
        text = str(reply.get("evalue", ""))[:4000]
        self.student_traceback = str(reply.get("traceback", ""))[:20000]
        cls = getattr(builtins, name, None)
        if isinstance(cls, type) and issubclass(cls, Exception):
            try:
                return cls(text)
            except Exception:
                pass
        return StudentError(f"{name}: {text}")

    def serve(self, message: dict) -> None:
        op = message["op"]
        if op == "check":
            self.channel.send(self.check(message))
        elif op == "jcall":
            function = self.functions.get(message.get("jid"))
            try:
                if function is None:
                    raise ProtocolError("no such function")
                args, kwargs = self.value(message.get("args"))
                self.channel.send(
                    {"op": "result", "pickle": self.pickled(function(*args, **dict(kwargs)))}
                )
            except (Deadline, ProtocolError):
                raise
            except Exception as exc:
                self.channel.send({"op": "raised", "message": f"{type(exc).__name__}: {exc}"})
        else:
            raise ProtocolError(f"unexpected request {op!r}")

    def check(self, message: dict) -> dict:
        """Run the real check named in ``message`` here; the verdict goes back to the cell."""
        from . import checks as real

        name = message.get("name")
        if not self.in_test or self.in_check or name not in self.allowed:
            why = "a check can only be run by its exercise's check cell"
            return {"op": "verdict", "ok": False, "kind": "CheckFailed", "message": why}
        args = self.value(message.get("args"))
        kwargs = self.value(message.get("kwargs"))
        if not isinstance(args, tuple) or not isinstance(kwargs, dict):
            raise ProtocolError("check arguments")
        out = io.StringIO()
        self.in_check = True
        self.student_traceback = ""
        try:
            with contextlib.redirect_stdout(out):
                getattr(real, name)(*args, **kwargs)
            ok, kind, text = True, "", out.getvalue().strip()
        except real.CheckFailed as exc:
            ok, kind, text = False, type(exc).__name__, str(exc)
        except (Deadline, ProtocolError):
            self.interrupted = name  # stopped inside the student's function, called by the check
            raise
        except Exception as exc:  # the student's function raised, or returned the unusable
            ok, kind = False, "error"
            if self.student_traceback:
                text = f"{name} called your function, which raised {_name(exc)}: {exc}"
            else:
                text = (
                    f"{name} could not use what your function returned ({_name(exc)}: {exc}); "
                    "check the type and shape it returns"
                )
        finally:
            self.in_check = False
        self.verdicts.append((name, ok, text))
        return {"op": "verdict", "ok": ok, "kind": kind, "message": text}

    def run_cell(self, kind: str, source: str, timeout: float) -> CellRun:
        cell = CellRun(kind, source)
        start = time.monotonic()
        self.channel.deadline = start + timeout
        self.in_test = kind == "test"
        try:
            self.channel.send({"op": "cell", "source": source})
            while True:
                reply = self.channel.recv()
                if reply["op"] == "done":
                    break
                self.serve(reply)
            cell.ok = reply.get("ok") is True
            cell.stdout = str(reply.get("stdout", ""))[:40000]
            cell.stderr = str(reply.get("stderr", ""))[:40000]
            if not cell.ok:
                cell.error = f"{str(reply.get('ename', 'Error'))[:80]}: {reply.get('evalue', '')}"
                cell.traceback = str(reply.get("traceback", ""))[:40000]
        finally:
            cell.seconds = time.monotonic() - start
            self.channel.deadline = None
            self.in_test = False
        return cell


def _name(exc: BaseException) -> str:
    return type(exc).__name__


def _importable(fn) -> bool:
    module = sys.modules.get(getattr(fn, "__module__", None) or "")
    obj = module
    for part in fn.__qualname__.split("."):
        obj = getattr(obj, part, None)
    return obj is fn


def run_exercise(iso: Isolation, job: ExerciseJob, timeout: float) -> ExerciseResult:
    """Grade one exercise in a fresh sandbox; never raises for anything the student did."""
    start = time.monotonic()
    result = ExerciseResult(
        job.student, job.lecture, job.number, job.grade_id, 0.0, job.max_points, "failed", ""
    )
    plan = [("setup", job.setup), *[("student", s) for s in job.student_cells], ("test", job.test)]
    try:
        sandbox = Sandbox(iso, dict(job.files))
    except SandboxUnavailable as exc:
        result.status, result.diagnosis = "grader", f"The grader could not start Python: {exc}"
        return result
    judge = _Judge(sandbox, job.checks)
    try:
        for kind, source in plan:
            cell = CellRun(kind, source)
            try:
                cell = judge.run_cell(kind, source, timeout)
            except Deadline:
                cell.stopped = f"ran for more than {timeout:g} s and was stopped"
                if judge.interrupted:
                    cell.stopped += f" (in your function, called by {judge.interrupted})"
                result.status = "timeout"
            except (ChannelClosed, ProtocolError) as exc:
                cell.stopped = _crash_text(exc)
                result.status = "crashed"
            result.cells.append(cell)
            if cell.stopped:
                break
    finally:
        sandbox.close()
    result.checks = list(judge.verdicts)
    result.detail = judge.student_traceback
    _conclude(result, job, timeout)
    result.seconds = time.monotonic() - start
    return result


def _crash_text(exc: BaseException) -> str:
    if isinstance(exc, ChannelClosed):
        return "ended the Python process (exit, crash or out of memory)"
    return f"interfered with the grader ({exc})"


_WHERE = {"setup": "the exercise's setup cell", "student": "your cell", "test": "the check cell"}


def _conclude(result: ExerciseResult, job: ExerciseJob, timeout: float) -> None:
    """Points and the one-paragraph diagnosis, from what the grader saw."""
    cells = result.cells
    last = cells[-1] if cells else None
    test = next((c for c in cells if c.kind == "test"), None)
    called = {name for name, _, _ in result.checks}
    failed = [(n, m) for n, ok, m in result.checks if not ok]
    notes = [
        f"Note: your cell stopped with {_first(c.error)}, so what it defines after that line "
        "is missing."
        for c in cells
        if c.kind == "student" and not c.ok and not c.stopped
    ]
    if last is not None and last.stopped:
        result.diagnosis = f"Stopped: {_WHERE[last.kind]} {last.stopped}."
        if last.kind == "setup" and result.status != "timeout":
            result.status = "grader"
        if result.status == "timeout":
            result.diagnosis += " A loop that never ends, or far more work than the exercise needs?"
        return
    setup = cells[0] if cells else None
    if setup is not None and not setup.ok:
        result.status = "grader"
        result.diagnosis = f"The exercise's setup cell failed ({setup.error}): not your doing."
        return
    if failed:
        result.diagnosis = failed[0][1]
    elif test is not None and not test.ok:
        first = _first(test.error)
        if called and called >= set(job.checks):
            result.diagnosis = f"The checks passed, but the rest of the check cell failed: {first}."
        else:
            result.diagnosis = f"The check cell stopped with {first}."
            if test.error.startswith("NameError"):
                result.diagnosis += " Is the function defined, with this name, in this exercise?"
            if notes:
                result.diagnosis += " " + notes[0]
    elif not set(job.checks) <= called:
        missing = ", ".join(sorted(set(job.checks) - called))
        result.diagnosis = f"The check cell ended without running {missing}."
    else:
        result.points, result.status = job.max_points, "passed"
        result.diagnosis, result.detail = "All checks passed.", ""


def _first(error: str) -> str:
    """The first line of "Name: message", without a dangling colon."""
    line = error.splitlines()[0] if error else "an error"
    return line.rstrip().rstrip(":") or "an error"
