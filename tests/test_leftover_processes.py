"""The session-end check of tests/conftest.py: a run whose tests leave a process running fails,
names the process and kills it, even when the process's parent is gone (an orphan, as the
redis-server of a ``wirefeed up`` killed without its stop); a run that stops what it starts
passes."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import psutil

ROOT = Path(__file__).resolve().parents[1]
CONFTEST = "from tests.conftest import pytest_sessionfinish, pytest_sessionstart  # noqa: F401\n"
LEAVES_AN_ORPHAN = """
import subprocess

def test_starts_a_process_whose_parent_exits():
    # sh starts sleep in the background and exits: sleep is an orphan, in a session of its own
    subprocess.run(["setsid", "sh", "-c", "sleep 300 & echo $! > PIDFILE"], check=True)
"""
STOPS_WHAT_IT_STARTS = """
import subprocess

def test_starts_and_stops_a_process():
    p = subprocess.Popen(["sleep", "300"])
    p.terminate()
    p.wait()
"""


def _run(tmp_path: Path, test: str) -> subprocess.CompletedProcess[str]:
    (tmp_path / "conftest.py").write_text(CONFTEST)
    (tmp_path / "test_it.py").write_text(test.replace("PIDFILE", str(tmp_path / "orphan.pid")))
    env = {**os.environ, "PYTHONPATH": str(ROOT)}
    return subprocess.run(
        [
            sys.executable,
            "-m",
            "pytest",
            "-q",
            "-p",
            "no:cacheprovider",
            "--rootdir",
            str(tmp_path),
            str(tmp_path),
        ],
        cwd=tmp_path,
        env=env,
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )


def test_a_run_that_leaves_an_orphan_running_fails_and_kills_it(tmp_path: Path) -> None:
    run = _run(tmp_path, LEAVES_AN_ORPHAN)
    pid = int((tmp_path / "orphan.pid").read_text())
    try:
        assert run.returncode == 1, run.stdout + run.stderr
        assert "1 passed" in run.stdout
        assert "processes the tests started outlived them" in run.stderr
        assert f"{pid} sleep 300" in run.stderr
        assert not psutil.pid_exists(pid) or psutil.Process(pid).status() == psutil.STATUS_ZOMBIE
    finally:
        if psutil.pid_exists(pid):
            with psutil.Process(pid).oneshot():
                if psutil.Process(pid).cmdline() == ["sleep", "300"]:
                    psutil.Process(pid).kill()


def test_a_run_that_stops_what_it_starts_passes(tmp_path: Path) -> None:
    run = _run(tmp_path, STOPS_WHAT_IT_STARTS)
    assert run.returncode == 0, run.stdout + run.stderr
    assert "outlived" not in run.stderr
