"""Processes the tests start, and making sure none outlives the test run.

- :func:`stop_tree`: what every fixture that starts a process (or a process group) does in
  teardown: SIGTERM to the process, its group and every descendant, then SIGKILL to whatever is
  left after a grace period.
- :func:`become_subreaper` (at session start) makes the pytest process the Linux "child
  subreaper" of everything it starts: a process whose parent died is re-parented to pytest, not
  to init, so it is still found among pytest's descendants.
- :func:`leftover_processes` (at session end): pytest's descendants still running; the run fails
  if there are any (tests/conftest.py, ``pytest_sessionfinish``).
"""

from __future__ import annotations

import contextlib
import ctypes
import os
import signal
import subprocess
import sys
import time
from collections.abc import Sequence
from typing import Any

import psutil

PR_SET_CHILD_SUBREAPER = 36
"""prctl(2) option (linux/prctl.h)."""


def become_subreaper() -> bool:
    """Make orphaned descendants of this process its children (Linux); False elsewhere."""
    if not sys.platform.startswith("linux"):
        return False
    with contextlib.suppress(OSError):
        libc = ctypes.CDLL(None, use_errno=True)
        return libc.prctl(PR_SET_CHILD_SUBREAPER, 1, 0, 0, 0) == 0
    return False


def descendants(pid: int) -> list[psutil.Process]:
    with contextlib.suppress(psutil.Error):
        return psutil.Process(pid).children(recursive=True)
    return []


def _signal_all(procs: list[psutil.Process], sig: int) -> None:
    for p in procs:
        with contextlib.suppress(psutil.Error):
            p.send_signal(sig)


def stop_tree(
    proc: subprocess.Popen[Any] | int, grace: float = 10.0, extra: Sequence[psutil.Process] = ()
) -> list[int]:
    """SIGTERM ``proc`` (a Popen or a pid), its process group if it leads one, and all its
    descendants (and ``extra`` processes, e.g. descendants seen earlier); SIGKILL what is still
    running after ``grace`` seconds. Returns the pids that had to be killed."""
    pid = proc if isinstance(proc, int) else proc.pid
    tree: list[psutil.Process] = []
    with contextlib.suppress(psutil.Error):
        tree.append(psutil.Process(pid))
    tree += descendants(pid) + list(extra)
    own_group = False
    with contextlib.suppress(OSError):
        own_group = os.getpgid(pid) == pid
    if own_group:
        with contextlib.suppress(OSError):
            os.killpg(pid, signal.SIGTERM)
    _signal_all(tree, signal.SIGTERM)
    _, alive = psutil.wait_procs(tree, timeout=grace)
    killed = [p.pid for p in alive]
    if own_group:
        with contextlib.suppress(OSError):
            os.killpg(pid, signal.SIGKILL)
    _signal_all(alive, signal.SIGKILL)
    psutil.wait_procs(alive, timeout=5)
    if not isinstance(proc, int):
        with contextlib.suppress(subprocess.TimeoutExpired):
            proc.wait(5)
    return killed


def _reap_zombies() -> None:
    with contextlib.suppress(ChildProcessError):
        while os.waitpid(-1, os.WNOHANG)[0]:
            pass


def leftover_processes(grace: float = 5.0) -> list[str]:
    """Descendants of this process still running ``grace`` seconds from now (exited ones are
    reaped); each described as ``pid command line``. They are killed."""
    deadline = time.monotonic() + grace
    while True:
        _reap_zombies()
        left = [p for p in descendants(os.getpid()) if _running(p)]
        if not left or time.monotonic() > deadline:
            break
        time.sleep(0.1)
    described = []
    for p in left:
        with contextlib.suppress(psutil.Error):
            described.append(f"{p.pid} {' '.join(p.cmdline())[:200]}")
    _signal_all(left, signal.SIGKILL)
    psutil.wait_procs(left, timeout=5)
    _reap_zombies()
    return described


def _running(p: psutil.Process) -> bool:
    with contextlib.suppress(psutil.Error):
        return p.status() != psutil.STATUS_ZOMBIE
    return False
