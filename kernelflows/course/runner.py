"""The student's side of grading: ``python -m kernelflows.course.runner``, inside the sandbox.

Started by :mod:`kernelflows.course.sandbox` with the channel on its stdin and stdout, it runs
the cells it is sent (one exercise: setup, the student's cells, the test cell) in one IPython
shell and answers the grader's requests. The test cell's ``check_*`` functions are stand-ins:
each sends its arguments to the grader (plain data, or handles for the student's functions) and
the real check runs there, in a process the student's code never ran in; every call the check
makes to the student's function comes back here as a request. Nothing this process says is
trusted by the grader: it decides the marks from what its own checks concluded.

Nothing here runs before the sandbox is set up; everything after ``start`` may be rewritten by
the student's code, which is why nothing here is trusted.
"""

from __future__ import annotations

import base64
import io
import os
import pickle
import sys
import traceback
import types

from .wire import Channel, encode

CHECKS = "kernelflows.course.checks"
_TEXT_LIMIT = 20_000

__all__ = ["main", "CheckFailed", "NotImplementedYet"]


class CheckFailed(AssertionError):
    """The implementation disagrees with the package; the message says how."""


class NotImplementedYet(CheckFailed):
    """The implementation is still the stub that raises NotImplementedError."""


def _clip(text: str, limit: int = _TEXT_LIMIT) -> str:
    if len(text) <= limit:
        return text
    return (
        text[: limit // 2]
        + f"\n... [{len(text) - limit} characters left out] ...\n"
        + text[-limit // 2 :]
    )


class JudgeFunction:
    """A function of the grader's that a check passed to the student's function."""

    def __init__(self, link: Link, number: int):
        self._link, self._number = link, number

    def __call__(self, *args, **kwargs):
        reply = self._link.request(
            {"op": "jcall", "jid": self._number, "args": self._link.out((args, kwargs))}
        )
        return self._link.unpickle(reply.get("pickle", ""))


class Link:
    """The runner's end of the channel: requests to the grader, and the objects it may call."""

    def __init__(self, channel: Channel):
        self.channel = channel
        self.objects: dict[int, object] = {}

    def handle_of(self, obj) -> int:
        number = len(self.objects) + 1
        self.objects[number] = obj
        return number

    def out(self, value):
        return encode(value, self.handle_of)

    def unpickle(self, text: str):
        link = self

        class Loader(pickle.Unpickler):
            def persistent_load(self, pid):
                kind, number = pid
                return link.objects[number] if kind == "h" else JudgeFunction(link, number)

        return Loader(io.BytesIO(base64.b64decode(text))).load()

    def request(self, message: dict) -> dict:
        self.channel.send(message)
        while True:
            reply = self.channel.recv()
            if reply["op"] in ("verdict", "result", "raised"):
                if reply["op"] == "raised":
                    raise RuntimeError(reply.get("message", "the grader's function failed"))
                return reply
            self.serve(reply)

    def serve(self, message: dict) -> None:
        """Answer one request of the grader about an object of the student's."""
        op = message["op"]
        try:
            target = self.objects[message["handle"]]
            if op == "call":
                args, kwargs = self.unpickle(message["args"])
                value = target(*args, **kwargs)
            elif op == "getattr":
                value = getattr(target, str(message["name"]))
            elif op == "getitem":
                value = target[self.unpickle(message["key"])]
            elif op == "len":
                value = len(target)
            elif op == "iter":
                value = list(target)
            elif op == "bool":
                value = bool(target)
            else:
                raise ValueError(f"unknown request {op!r}")
            reply = {"op": "result", "value": self.out(value)}
        except BaseException as exc:  # the student's function raised: tell the check
            reply = {
                "op": "raised",
                "ename": type(exc).__name__,
                "evalue": _clip(str(exc), 2000),
                "traceback": _clip(_student_frames(exc)),
            }
        self.channel.send(reply)


def _student_frames(exc: BaseException) -> str:
    """The traceback of ``exc`` from the student's function down (this module's frame left out)."""
    tb = exc.__traceback__.tb_next if exc.__traceback__ is not None else None
    lines = traceback.format_exception(type(exc), exc, tb)
    return "".join(lines)


def _checks_module(link: Link) -> types.ModuleType:
    """The stand-in for ``kernelflows.course.checks``: every ``check_*`` is sent to the grader."""
    module = types.ModuleType(CHECKS, "The exercise checks, run by the grader.")
    # its submodules stay importable (a check may pass one of their objects to a function)
    module.__path__ = [os.path.join(os.path.dirname(__file__), "checks")]
    module.CheckFailed, module.NotImplementedYet = CheckFailed, NotImplementedYet

    def forward(name):
        def check(*args, **kwargs):
            verdict = link.request(
                {"op": "check", "name": name, "args": link.out(args), "kwargs": link.out(kwargs)}
            )
            if verdict.get("ok"):
                print(verdict.get("message", ""))
                return None
            kind = NotImplementedYet if verdict.get("kind") == "NotImplementedYet" else CheckFailed
            raise kind(verdict.get("message", ""))

        check.__name__ = check.__qualname__ = name
        return check

    def __getattr__(name):
        if name.startswith("check_"):
            return forward(name)
        raise AttributeError(name)

    module.__getattr__ = __getattr__
    return module


def _limits(spec: dict) -> None:
    import resource

    for name, value in spec.items():
        which = getattr(resource, f"RLIMIT_{name.upper()}", None)
        if which is not None and isinstance(value, int) and value > 0:
            try:
                resource.setrlimit(which, (value, value))
            except (ValueError, OSError):
                pass


def _drop_privileges(uid: int) -> None:
    """As root inside the sandbox (bwrap without a user namespace), become ``uid``: no
    capabilities, no other uid's files but the world-readable ones."""
    os.setgroups([])
    os.setgid(uid)
    os.setuid(uid)
    if os.getuid() != uid or os.geteuid() != uid:
        raise SystemExit("could not drop privileges")


def _shell():
    from IPython.core.interactiveshell import InteractiveShell
    from traitlets.config import Config

    config = Config()
    config.HistoryManager.enabled = False
    config.InteractiveShell.colors = "NoColor"
    shell = InteractiveShell.instance(config=config)
    shell.tracebacks = []

    def show(etype, evalue, stb):
        shell.tracebacks.append(shell.InteractiveTB.stb2text(stb))

    shell._showtraceback = show
    return shell


def _run_cell(shell, source: str) -> dict:
    from IPython.utils.capture import capture_output

    shell.tracebacks.clear()
    with capture_output(display=True) as captured:
        result = shell.run_cell(source, store_history=False)
    error = result.error_before_exec or result.error_in_exec
    texts = [o.data.get("text/plain", "") for o in captured.outputs if hasattr(o, "data")]
    done = {
        "op": "done",
        "stdout": _clip(captured.stdout + "".join(t + "\n" for t in texts)),
        "stderr": _clip(captured.stderr),
        "ok": error is None,
    }
    if error is not None:
        done.update(
            ename=type(error).__name__,
            evalue=_clip(str(error), 4000),
            traceback=_clip("\n".join(shell.tracebacks)),
        )
    return done


def main() -> None:
    # the channel: the grader's pipes, moved off fds 0/1 so that whatever the student's code
    # (or a library) writes to stdout and stderr cannot garble it
    channel = Channel(os.dup(0), os.dup(1))
    null = os.open(os.devnull, os.O_RDWR)
    for fd in (0, 1):
        os.dup2(null, fd)
    start = channel.recv()
    if start.get("op") != "start":
        raise SystemExit("expected start")
    if isinstance(start.get("uid"), int) and os.getuid() == 0:
        _drop_privileges(start["uid"])
    _limits(start.get("limits") or {})
    os.makedirs(start["cwd"], exist_ok=True)
    os.chdir(start["cwd"])
    for name, text in (start.get("files") or {}).items():
        with open(os.path.basename(name), "w") as fh:
            fh.write(text)
    link = Link(channel)
    sys.modules[CHECKS] = _checks_module(link)
    package = sys.modules.get(CHECKS.rsplit(".", 1)[0])
    if package is not None:
        package.checks = sys.modules[CHECKS]
    shell = _shell()
    os.dup2(null, 2)  # start-up errors went to the grader's log; the student's do not
    channel.send({"op": "ready"})
    while True:
        message = channel.recv()
        if message["op"] == "cell":
            channel.send(_run_cell(shell, message["source"]))
        elif message["op"] == "quit":
            break
        else:
            link.serve(message)


if __name__ == "__main__":
    main()
