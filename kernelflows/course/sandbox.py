"""How a hand-in runs: one exercise of one student, in a fresh sandboxed Python process.

The sandbox is Debian's ``bubblewrap`` (``bwrap``): new mount, PID, network, IPC and UTS
namespaces; the file system is an empty read-only root into which only the Python installation,
the virtual environment and the ``kernelflows`` package are mounted read-only, plus ``/dev``, a
new ``/proc`` and a size-limited ``/tmp`` (the only place the student's code may write, thrown
away with the process). No network, no lectures, no submissions, no home folder. Run as root,
bwrap sets up the namespaces and the runner then becomes an unprivileged user of its own (a uid
per sandbox, no capabilities); run as another user, bwrap adds a user namespace and the process
keeps that user's uid without capabilities. Resource limits (memory, processes, file size) are
rlimits, and cgroups where the grader may create them. The process is killed with everything it
started when its time is up (``--die-with-parent`` and the PID namespace).

:func:`probe` finds out once whether isolation works here and says how in one line, or raises
:class:`SandboxUnavailable`; ``isolation="none"`` (the grader's ``--no-isolation``) runs the
student's code as a plain child process, with the time limit only.
"""

from __future__ import annotations

import os
import shutil
import signal
import subprocess
import sys
import tempfile
import time
from dataclasses import dataclass, field
from pathlib import Path

from .wire import Channel, ChannelClosed, Deadline, ProtocolError

__all__ = ["Isolation", "Sandbox", "SandboxUnavailable", "probe", "DEFAULT_LIMITS"]

WORK = "/tmp/work"
#: rlimits of the student's process: address space, processes (per sandbox uid), file size.
DEFAULT_LIMITS = {"as": 4 * 2**30, "nproc": 256, "fsize": 256 * 2**20, "core": 0, "nofile": 1024}
TMP_SIZE = 256 * 2**20
_UID_BASE = 1_000_000  # root: the sandbox of grader process P runs as uid _UID_BASE + P
_START_TIMEOUT = 120.0


class SandboxUnavailable(RuntimeError):
    """Isolation cannot be set up here; the message says why, in one line."""


@dataclass(frozen=True)
class Isolation:
    mode: str  # "bwrap" (as root: namespaces, then an unprivileged uid), "bwrap-userns", "none"
    bwrap: str | None = None
    binds: tuple[str, ...] = ()
    description: str = ""
    limits: dict = field(default_factory=lambda: dict(DEFAULT_LIMITS))


def _environment() -> dict[str, str]:
    bindir = str(Path(sys.executable).parent)
    return {
        "PATH": f"{bindir}:/usr/local/bin:/usr/bin:/bin",
        "HOME": "/tmp/home",
        "TMPDIR": "/tmp",
        "LANG": "C.UTF-8",
        "MPLBACKEND": "Agg",
        "MPLCONFIGDIR": "/tmp/matplotlib",
        "IPYTHONDIR": "/tmp/ipython",
        "PYTHONHASHSEED": "0",
        "PYTHONDONTWRITEBYTECODE": "1",
        "OPENBLAS_NUM_THREADS": "1",
        "OMP_NUM_THREADS": "1",
        "MKL_NUM_THREADS": "1",
    }


def _read_only_paths() -> list[str]:
    """What the student's process may read: the interpreter, the environment, the package."""
    import kernelflows

    paths = {
        os.path.realpath(sys.prefix),
        os.path.realpath(sys.base_prefix),
        os.path.realpath(os.path.dirname(kernelflows.__file__)),
        os.path.realpath(os.path.dirname(os.path.realpath(sys.executable))),
    }
    for path in ("/usr", "/etc/ld.so.cache", "/etc/localtime", "/etc/ssl/certs"):
        if os.path.exists(path):
            paths.add(path)
    # inner paths first dropped when a parent is already there (bwrap mounts them in order)
    kept = sorted(paths, key=len)
    return [p for i, p in enumerate(kept) if not any(p.startswith(q + "/") for q in kept[:i])]


def _bwrap_command(iso: Isolation, argv: list[str]) -> list[str]:
    cmd = [iso.bwrap, "--die-with-parent", "--new-session", "--unshare-pid", "--unshare-net"]
    cmd += ["--unshare-ipc", "--unshare-uts", "--unshare-cgroup-try"]
    if iso.mode == "bwrap-userns":
        cmd += ["--unshare-user", "--disable-userns", "--cap-drop", "ALL"]
    for name in ("bin", "sbin", "lib", "lib32", "lib64", "libx32"):
        path = f"/{name}"
        if os.path.islink(path):
            cmd += ["--symlink", os.readlink(path), path]
        elif os.path.isdir(path):
            cmd += ["--ro-bind", path, path]
    # the throwaway /tmp first: an environment that lives under /tmp (a checkout in /tmp/ci)
    # is then bound on top of it instead of being hidden by it
    cmd += ["--dev", "/dev", "--proc", "/proc", "--size", str(TMP_SIZE), "--tmpfs", "/tmp"]
    cmd += ["--chmod", "1777", "/tmp"]
    parents = sorted({str(q) for p in iso.binds for q in Path(p).parents if str(q) != "/"}, key=len)
    for path in parents:  # bwrap would make them 0700: the unprivileged uid must pass through
        if not os.path.islink(path) and path != "/tmp":
            cmd += ["--perms", "0755", "--dir", path]
    for path in iso.binds:
        cmd += ["--ro-bind", path, path]
    cmd += ["--remount-ro", "/", "--chdir", "/tmp", "--clearenv"]
    for key, value in _environment().items():
        cmd += ["--setenv", key, value]
    return cmd + ["--", *argv]


def _runner_argv() -> list[str]:
    return [sys.executable, "-I", "-m", "kernelflows.course.runner"]


def probe(isolation: str = "auto") -> Isolation:
    """The isolation available here (``"auto"``: bwrap, or :class:`SandboxUnavailable`;
    ``"none"``: none, the caller having asked for it)."""
    if isolation == "none":
        return Isolation("none", description="no isolation (--no-isolation): time limits only")
    bwrap = shutil.which("bwrap")
    if bwrap is None:
        raise SandboxUnavailable(
            "bubblewrap (bwrap) is not installed: `make grade` installs it (apt-get install "
            "bubblewrap); or pass --no-isolation to run students' code unconfined"
        )
    mode = "bwrap" if os.geteuid() == 0 else "bwrap-userns"
    iso = Isolation(mode, bwrap, tuple(_read_only_paths()))
    check = [sys.executable, "-I", "-c", "import kernelflows.course.runner, socket, os"]
    proc = subprocess.run(
        _bwrap_command(iso, check), capture_output=True, text=True, timeout=_START_TIMEOUT
    )
    if proc.returncode != 0:
        reason = (proc.stderr.strip().splitlines() or ["no message"])[-1]
        raise SandboxUnavailable(
            f"bwrap cannot set up the sandbox here ({reason}); pass --no-isolation to run "
            "students' code unconfined"
        )
    who = "an unprivileged uid of its own" if mode == "bwrap" else "your uid, no capabilities"
    limits = iso.limits
    text = (
        f"bwrap: mount/PID/network/IPC/UTS namespaces, read-only Python, venv and package, "
        f"/tmp of {TMP_SIZE >> 20} MB, no network, {who}; rlimits: memory "
        f"{limits['as'] >> 30} GiB, {limits['nproc']} processes, files {limits['fsize'] >> 20} MB"
    )
    return Isolation(mode, bwrap, iso.binds, text + _cgroup_note(), iso.limits)


# -- cgroups: best effort (root on a host whose cgroup file system is writable) ----------------


def _cgroup_note() -> str:
    return "; cgroup pids/memory limits" if _cgroup_dirs("probe", dry=True) else ""


def _cgroup_dirs(name: str, dry: bool = False) -> list[Path]:
    """Fresh cgroups (v1 pids and memory, or v2) for one sandbox; empty if not allowed."""
    made = []
    for root in ("/sys/fs/cgroup/pids", "/sys/fs/cgroup/memory"):
        if os.access(root, os.W_OK) and os.path.isdir(root):
            made.append(Path(root) / f"kernelflows-{name}")
    if not made:
        return []
    if dry:
        return made
    out = []
    for path in made:
        try:
            path.mkdir(exist_ok=True)
            out.append(path)
        except OSError:
            pass
    return out


def _into_cgroups(pid: int, limits: dict, name: str) -> list[Path]:
    dirs = _cgroup_dirs(name)
    for path in dirs:
        try:
            if path.parent.name == "pids":
                (path / "pids.max").write_text(str(limits["nproc"]))
            else:
                (path / "memory.limit_in_bytes").write_text(str(limits["as"]))
            (path / "cgroup.procs").write_text(str(pid))
        except OSError:
            pass
    return dirs


class Sandbox:
    """One fresh runner process; :meth:`close` (or the ``with`` block) kills it."""

    def __init__(self, iso: Isolation, files: dict[str, str] | None = None):
        self.iso = iso
        self._scratch = tempfile.mkdtemp(prefix="kernelflows-sandbox-")
        self._errors = open(os.path.join(self._scratch, "stderr"), "w+")  # noqa: SIM115
        if iso.mode == "none":
            argv, cwd = _runner_argv(), self._scratch
            env = {**os.environ, **_environment(), "HOME": self._scratch, "TMPDIR": self._scratch}
            for key in ("MPLCONFIGDIR", "IPYTHONDIR"):
                env[key] = os.path.join(self._scratch, key.lower())
            work = os.path.join(self._scratch, "work")
        else:
            argv, cwd, env, work = _bwrap_command(iso, _runner_argv()), "/", {}, WORK
        self.proc = subprocess.Popen(
            argv,
            stdin=subprocess.PIPE,
            stdout=subprocess.PIPE,
            stderr=self._errors,
            cwd=cwd,
            env=env,
            start_new_session=True,
        )
        self._cgroups = (
            _into_cgroups(self.proc.pid, iso.limits, f"{os.getpid()}-{self.proc.pid}")
            if iso.mode == "bwrap"
            else []
        )
        self.channel = Channel(self.proc.stdout.fileno(), self.proc.stdin.fileno())
        uid = _UID_BASE + os.getpid() if iso.mode == "bwrap" else None
        self.channel.deadline = time.monotonic() + _START_TIMEOUT
        try:
            self.channel.send(
                {"op": "start", "uid": uid, "limits": iso.limits, "cwd": work, "files": files or {}}
            )
            ready = self.channel.recv()
        except (Deadline, ProtocolError) as exc:
            why = self.why(exc)
            self.close()
            raise SandboxUnavailable(f"the student's process did not start: {why}") from None
        if ready.get("op") != "ready":
            self.close()
            raise SandboxUnavailable("the student's process did not start")
        self.channel.deadline = None

    def why(self, exc: BaseException | None = None) -> str:
        """What went wrong at start-up (the last line the process wrote to stderr)."""
        try:
            self._errors.seek(0)
            lines = self._errors.read().strip().splitlines()
        except (OSError, ValueError):
            lines = []
        return lines[-1] if lines else (str(exc) if exc else "no message")

    def close(self) -> None:
        """Kill the process and everything it started, and clean up."""
        if self.proc.poll() is None:
            try:
                os.killpg(self.proc.pid, signal.SIGKILL)
            except (ProcessLookupError, PermissionError):
                pass
        try:
            self.proc.wait(timeout=30)
        except subprocess.TimeoutExpired:
            pass
        for pipe in (self.proc.stdin, self.proc.stdout):
            try:
                pipe.close()
            except OSError:
                pass
        for path in self._cgroups:
            for _ in range(20):
                try:
                    path.rmdir()
                    break
                except OSError:
                    time.sleep(0.05)
        self._errors.close()
        shutil.rmtree(self._scratch, ignore_errors=True)

    def __enter__(self):
        return self

    def __exit__(self, *exc):
        self.close()


__all__ += ["ChannelClosed", "WORK"]
