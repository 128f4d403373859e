"""Guarantee 7: a bounded soak on loopback. wrk reads topic feeds from the real web service
(gunicorn, 2 processes) for :data:`SECONDS` while dumps are ingested continuously by real
workers; then:

- no response was a 5xx (nor any other non-2xx/3xx), no socket error, no timeout;
- every story of every accepted dump is stored;
- the memory of every process is flat after warm-up: the mean RSS of the last third of the run
  is within 20 % of the middle third's (Redis: its memory per stored story, since its data
  rightly grows with every story).

Figures are printed, and written to ``$WIREFEED_SOAK_REPORT`` (JSON) when that is set, for
bench/RESULTS.md. ``WIREFEED_SOAK_SECONDS`` changes the duration (default 120).
"""

from __future__ import annotations

import json
import os
import re
import subprocess
import threading
import time
from pathlib import Path
from statistics import mean
from typing import Any

import psutil
import pytest
import requests

from tests import clients
from tests.reliability.conftest import RedisServer, Stack, post, wait_for
from tests.reliability.dumps import dump, title_stream
from tests.reliability.observe import leftovers_settled
from wirefeed.feeds.queue import ingests
from wirefeed.feeds.store import keys

pytestmark = pytest.mark.slow

SECONDS = int(os.environ.get("WIREFEED_SOAK_SECONDS", "120"))
DUMP_STORIES = 200
FEEDS = [
    "/feeds/all.atom",
    "/feeds/all.rss",
    "/feeds/all.json",
    "/feeds/politics.rss",
    "/feeds/science.atom",
    "/feeds/culture.json",
    "/feeds/business.atom",
    "/feeds/sports.rss",
    "/feeds/elections.json",
    "/feeds/climate.atom",
]
LUA = """
paths = {%s}
i = 0
request = function()
  i = i %% #paths + 1
  return wrk.format("GET", paths[i])
end
"""
MAX_GROWTH = 1.20
WRK_GRACE = 30
"""Seconds past :data:`SECONDS` the ingest loop goes on if wrk has not ended (it then fails)."""


def _processes(procs: dict[str, int]) -> dict[str, psutil.Process]:
    """Each process by role, gunicorn's worker processes included."""
    out = {}
    for role, pid in procs.items():
        proc = psutil.Process(pid)
        out[role] = proc
        for n, child in enumerate(proc.children(recursive=True)):
            out[f"{role}-child{n + 1}"] = child
    return out


def _wrk_figures(text: str) -> dict[str, Any]:
    figures: dict[str, Any] = {"raw": text}
    if m := re.search(r"(\d+) requests in ([\d.]+)(\w+)", text):
        figures["requests"] = int(m.group(1))
    if m := re.search(r"Requests/sec:\s+([\d.]+)", text):
        figures["requests_per_s"] = float(m.group(1))
    for pct in ("50", "90", "99"):
        if m := re.search(rf"^\s+{pct}(?:\.000)?%\s+([\d.]+)(us|ms|s)\s*$", text, re.MULTILINE):
            scale = {"us": 0.001, "ms": 1.0, "s": 1000.0}[m.group(2)]
            figures[f"p{pct}_ms"] = round(float(m.group(1)) * scale, 2)
    m = re.search(r"Non-2xx or 3xx responses: (\d+)", text)
    figures["non_2xx_3xx"] = int(m.group(1)) if m else 0
    m = re.search(r"Socket errors: connect (\d+), read (\d+), write (\d+), timeout (\d+)", text)
    figures["socket_errors"] = sum(map(int, m.groups())) if m else 0
    return figures


class _Sampler(threading.Thread):
    """Samples every 2 s the RSS of each process, and Redis's memory and story count."""

    def __init__(self, procs: dict[str, psutil.Process], client: Any) -> None:
        super().__init__(daemon=True)
        self.procs, self.client = procs, client
        self.samples: list[tuple[dict[str, float], int, int]] = []
        self.done = threading.Event()

    def run(self) -> None:
        while not self.done.wait(2.0):
            try:
                rss = {role: p.memory_info().rss / 2**20 for role, p in self.procs.items()}
                used = int(self.client.info("memory")["used_memory"])
                stories = int(self.client.zcard(keys.topic_index(keys.ALL_TOPIC)))
            except (psutil.Error, OSError):
                continue
            self.samples.append((rss, used, stories))

    def report(self) -> dict[str, Any]:
        """Per process: RSS at the start and mean RSS of the middle and last thirds (MB); Redis:
        bytes used per stored story, same thirds."""
        third = len(self.samples) // 3
        middle, last = self.samples[third : 2 * third], self.samples[2 * third :]
        memory = {
            role: {
                "start_mb": round(self.samples[0][0][role], 1),
                "middle_mb": round(mean(s[0][role] for s in middle), 1),
                "end_mb": round(mean(s[0][role] for s in last), 1),
            }
            for role in self.procs
        }
        per_story = {
            "middle": round(mean(s[1] / max(s[2], 1) for s in middle)),
            "end": round(mean(s[1] / max(s[2], 1) for s in last)),
        }
        return {"memory": memory, "redis_bytes_per_story": per_story, "samples": len(self.samples)}


def _start_wrk(wrk: str, base: str, script: Path) -> subprocess.Popen[str]:
    """wrk for SECONDS on loopback: 2 threads, 16 connections, round-robin over FEEDS."""
    script.write_text(LUA % ", ".join(f'"{p}"' for p in FEEDS))
    return subprocess.Popen(
        [wrk, "-t2", "-c16", f"-d{SECONDS}s", "--timeout", "10s", "--latency", "-s", str(script), base],
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        text=True,
    )


def test_soak_feeds_under_load_while_ingesting(
    redis_server: RedisServer, stack: Stack, tmp_path: Path
) -> None:
    wrk = clients.binary("wrk")
    url = redis_server.url()
    client = redis_server.client()
    web, base = stack.web(url, workers=2, WIREFEED_INGEST_RATE="1000000")
    workers = {
        "ingest-worker": stack.worker(url, "ingest", WIREFEED_BATCH_SIZE="100"),
        "categorizer-1": stack.worker(url, "categorize"),
        "categorizer-2": stack.worker(url, "categorize"),
    }
    titles = title_stream(seed=91)  # as many as the time allows: no fixed pool to run out of
    accepted: list[str] = []

    def ingest_next() -> None:
        resp = post(base, dump([next(titles) for _ in range(DUMP_STORIES)]))
        assert resp.status_code == 202, resp.text
        accepted.append(resp.json()["ingest_id"])
        wait_for(
            "a dump is stored",
            lambda c=accepted[-1]: ingests.progress(client, c).done,
            timeout=120,
            poll=0.2,
        )

    ingest_next()  # warm-up: every feed has stories and has been served once
    for path in FEEDS:
        assert requests.get(base + path, timeout=10).status_code == 200, path

    roles = {"redis": redis_server.pid, "web": web.pid, **{k: v.pid for k, v in workers.items()}}
    sampler = _Sampler(_processes(roles), client)
    load = _start_wrk(wrk, base, tmp_path / "feeds.lua")
    sampler.start()
    started = time.monotonic()
    try:
        while load.poll() is None and time.monotonic() < started + SECONDS + WRK_GRACE:
            ingest_next()
        out = load.communicate(timeout=30)[0]
    finally:
        sampler.done.set()
        sampler.join(5)
        if load.poll() is None:
            load.kill()
    elapsed = time.monotonic() - started

    figures = _wrk_figures(out)
    stored = client.zcard(keys.topic_index(keys.ALL_TOPIC))
    report = {
        "seconds": round(elapsed, 1),
        "wrk": {k: v for k, v in figures.items() if k != "raw"},
        "dumps_ingested": len(accepted),
        "stories_stored": stored,
        "stories_per_s": round((stored - DUMP_STORIES) / elapsed, 1),
        **sampler.report(),
    }
    print(json.dumps(report, indent=2))
    if os.environ.get("WIREFEED_SOAK_REPORT"):
        Path(os.environ["WIREFEED_SOAK_REPORT"]).write_text(json.dumps({**report, "output": out}, indent=1))

    assert figures.get("requests", 0) > 0, out
    assert figures["non_2xx_3xx"] == 0, out
    assert figures["socket_errors"] == 0, out
    assert stored == len(accepted) * DUMP_STORIES
    assert all(ingests.progress(client, i).new == DUMP_STORIES for i in accepted)
    assert leftovers_settled(client) == {}
    assert report["samples"] >= 9, "too few memory samples"
    for role, m in report["memory"].items():
        if role != "redis":
            assert m["end_mb"] <= m["middle_mb"] * MAX_GROWTH, (role, report["memory"])
    assert report["redis_bytes_per_story"]["end"] <= report["redis_bytes_per_story"]["middle"] * MAX_GROWTH
