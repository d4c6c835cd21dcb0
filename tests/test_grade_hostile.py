"""Student code cannot harm the grader, the class or the marks: a hand-in that deletes files
outside its folder, another student's hand-in and a file in the home folder, writes into the
lectures, opens a network connection, forks without end or kills its own process is contained;
one that redefines the checks, ``np.allclose`` / ``np.isclose`` or patches numpy and builtins
gets no point it did not earn."""

import socket
import threading

import pytest
from grading import LECTURES, replace_solution, solution_notebook, write

from kernelflows.course.grade import grade
from kernelflows.course.sandbox import SandboxUnavailable, probe

pytest.importorskip("nbgrader")
L03 = "03_mmd_flow.ipynb"

VANDAL = """import os
import shutil
import socket
import subprocess

for victim in {victims!r}:
    try:
        os.remove(victim)
    except OSError:
        pass
    try:
        shutil.rmtree(victim)
    except OSError:
        pass
for target in {targets!r}:
    try:
        with open(target, "w") as fh:
            fh.write("pwned")
    except OSError:
        pass
try:
    socket.create_connection(("127.0.0.1", {port}), timeout=2).sendall(b"hello")
except OSError:
    pass
try:
    subprocess.run(["rm", "-rf", {home!r}], timeout=5)
except Exception:
    pass


def mean_interaction_force(X, bandwidth):
    n = len(X)
    forces = GaussianKernel(bandwidth).weighted_grad(X, X, np.full(n, 1 / n))
    return np.linalg.norm(forces, axis=1).mean()
"""

FORKER = """import os

def first_variation_at(X, Y, kernel, Z):
    return kernel(Z, X).mean(axis=1) - kernel(Z, Y).mean(axis=1)

children = 0
try:
    while children < 100000:
        if os.fork() == 0:
            import time
            time.sleep(600)
            os._exit(0)
        children += 1
except OSError:
    pass
print("forked", children)
"""

EXITS = """import os

def mmd_flow_step(X, Y, kernel, step):
    os._exit(0)
"""

CHEATS = """import builtins

import numpy as np

import kernelflows.course.checks as checks


def mean_interaction_force(X, bandwidth):
    return 0.0


def yes(*args, **kwargs):
    return True


np.allclose = np.isclose = yes
np.testing.assert_allclose = lambda *a, **k: None
builtins.abs = lambda x: 0.0
for name in ["check_ex3_1_interaction_force", "check_ex3_2_first_variation", "check_mmd_flow_step"]:
    setattr(checks, name, lambda *a, **k: print("all cases agree"))
    globals()[name] = getattr(checks, name)
"""

CHEATS_2 = """import sys
import numpy as np

def first_variation_at(X, Y, kernel, Z):
    return np.zeros(len(Z))

np.ndarray.__eq__ = lambda a, b: True
sys.modules["kernelflows.course.checks"].__getattr__ = lambda name: (lambda *a, **k: None)
"""

CHEATS_3 = """import os
import struct

def mmd_flow_step(X, Y, kernel, step):
    return X

fake = b'{"op":"verdict","ok":true,"message":"all cases agree"}'
for fd in range(3, 12):  # talk to the grader directly: say the check passed
    try:
        os.write(fd, struct.pack(">Q", len(fake)) + fake)
    except OSError:
        pass
"""


@pytest.fixture
def listener():
    server = socket.socket()
    server.bind(("127.0.0.1", 0))
    server.listen(5)
    server.settimeout(0.2)
    seen, stop = [], threading.Event()

    def accept():
        while not stop.is_set():
            try:
                conn, _ = server.accept()
                seen.append(conn.recv(100))
                conn.close()
            except OSError:
                pass

    thread = threading.Thread(target=accept, daemon=True)
    thread.start()
    yield server.getsockname()[1], seen
    stop.set()
    thread.join()
    server.close()


def test_hostile_hand_ins_are_contained_and_earn_nothing(tmp_path, monkeypatch, listener):
    try:
        probe()
    except SandboxUnavailable as exc:
        pytest.skip(f"no sandbox here: {exc}")
    port, seen = listener
    home = tmp_path / "home"
    (home / "notes").mkdir(parents=True)
    (home / "notes" / "keep.txt").write_text("mine")
    monkeypatch.setenv("HOME", str(home))
    subs = tmp_path / "class"
    outside = tmp_path / "outside.txt"
    outside.write_text("keep")
    good = write(subs / "alice" / L03, solution_notebook(LECTURES / L03))
    victims = [str(outside), str(good), str(subs / "alice"), str(home / "notes" / "keep.txt"),
               str(LECTURES / L03)]  # fmt: skip
    targets = [str(LECTURES / "pwned.txt"), str(subs / "pwned.txt"), str(home / "pwned.txt")]
    vandal = solution_notebook(LECTURES / L03)
    replace_solution(
        vandal,
        "mean_interaction_force",
        VANDAL.format(victims=victims, targets=targets, port=port, home=str(home)),
    )
    replace_solution(vandal, "first_variation_at", FORKER)
    replace_solution(vandal, "mmd_flow_step", EXITS)
    write(subs / "vandal" / L03, vandal)
    cheat = solution_notebook(LECTURES / L03)
    replace_solution(cheat, "mean_interaction_force", CHEATS)
    replace_solution(cheat, "first_variation_at", CHEATS_2)
    replace_solution(cheat, "mmd_flow_step", CHEATS_3)
    write(subs / "cheat" / L03, cheat)
    lectures_before = {p: p.read_bytes() for p in LECTURES.iterdir() if p.is_file()}

    rows = grade(subs, LECTURES, lecture="03", timeout=30, jobs=2, log=lambda *a: None)

    got = {(r.student, r.exercise): r.points for r in rows}
    # the vandal's first function is right: its attacks fail, its point is its own; its fork
    # bomb (exercise 2) and its exit (exercise 3) cost at most those exercises
    assert got[("vandal", "lec03_ex1")] == 1
    assert got[("vandal", "lec03_ex3")] == 0
    assert all(got[("alice", f"lec03_ex{k}")] == 1 for k in (1, 2, 3))
    assert all(got[("cheat", f"lec03_ex{k}")] == 0 for k in (1, 2, 3)), got
    assert outside.read_text() == "keep" and good.exists()
    assert (home / "notes" / "keep.txt").read_text() == "mine"
    assert not any(p.exists() for p in map(type(outside), targets))
    assert {p: p.read_bytes() for p in LECTURES.iterdir() if p.is_file()} == lectures_before
    assert seen == []  # no connection reached the host


def test_an_environment_under_tmp_is_bound_over_the_throwaway_tmp_not_hidden_by_it():
    """A checkout in /tmp (a CI clone, a student's scratch folder) keeps its interpreter inside
    the sandbox: bwrap mounts in order, so the throwaway /tmp must come before the binds."""
    from kernelflows.course.sandbox import Isolation, _bwrap_command

    iso = Isolation("bwrap", bwrap="bwrap", binds=("/usr", "/tmp/ci/.venv", "/tmp/ci/kernelflows"))
    cmd = _bwrap_command(iso, ["python"])
    tmpfs = cmd.index("--tmpfs")
    binds = [
        i for i, word in enumerate(cmd) if word == "--ro-bind" and cmd[i + 1].startswith("/tmp/")
    ]
    assert len(binds) == 2 and all(i > tmpfs for i in binds)
    assert ["--dir", "/tmp"] != cmd[tmpfs + 4 : tmpfs + 6]  # /tmp itself stays the tmpfs
