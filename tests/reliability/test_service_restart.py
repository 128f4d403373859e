"""Guarantee 3: restarts of the whole service, and of a worker.

- ``wirefeed up``, ingest, Ctrl-C, ``wirefeed up`` again: the stories and feeds are still there
  (the embedded Redis keeps its AOF in the data folder), and no process is left behind after
  either Ctrl-C;
- SIGTERM to a categorizer worker in the middle of a batch: it finishes that batch (stored and
  counted, the job "finished", not re-queued) before it exits, and takes no new one.
"""

from __future__ import annotations

import os
import signal
import sys
import time
from pathlib import Path

import psutil
import requests
from rq import Queue
from rq.job import Job

from tests.reliability.conftest import (
    TOKEN,
    Proc,
    RedisServer,
    Stack,
    job_of_worker,
    post,
    settings_for,
    wait_for,
    wait_ingest,
    worker_name,
)
from tests.reliability.dumps import dump, unique_titles
from tests.reliability.observe import leftovers_settled, rq_leftovers
from wirefeed.feeds.queue import ingests
from wirefeed.feeds.store import keys
from wirefeed.redis_server import free_port
from wirefeed.workers import context, pipeline

SAMPLE_STORIES = 48


def _start_up(stack: Stack, data_dir: Path, port: int, *extra: str) -> Proc:
    env = stack.env("", WIREFEED_DATA_DIR=str(data_dir), WIREFEED_INGEST_TOKEN=TOKEN)
    del env["REDIS_URL"]  # no REDIS_URL: `up` runs its own Redis, with its data in data_dir
    up = stack.spawn("up", [sys.executable, "-m", "wirefeed", "up", "--port", str(port), *extra], env)
    wait_for("wirefeed up says it is up", lambda: "wirefeed is up" in up.output() or not up.alive(), 90)
    assert up.alive(), up.output()
    return up


def _tree(up: Proc) -> list[psutil.Process]:
    """Every process `up` started (Redis, workers, gunicorn and its workers)."""
    return psutil.Process(up.pid).children(recursive=True)


def _ctrl_c(up: Proc) -> None:
    """What a terminal does on Ctrl-C: SIGINT to the foreground process group (`up` alone: it
    starts its children in sessions of their own)."""
    os.killpg(up.pid, signal.SIGINT)
    assert up.wait(60) == 0, up.output()[-2000:]


def _leftovers(tree: list[psutil.Process], data_dir: Path, port: int) -> list[str]:
    alive = []
    for p in tree:
        try:
            if p.is_running() and p.status() != psutil.STATUS_ZOMBIE:
                alive.append(f"{p.pid} {' '.join(p.cmdline())}")
        except psutil.NoSuchProcess:
            pass
    for p in psutil.process_iter(["pid", "cmdline"]):
        cmd = " ".join(p.info["cmdline"] or [])
        if (str(data_dir) in cmd or f"127.0.0.1:{port}" in cmd) and p.pid != os.getpid():
            alive.append(f"{p.pid} {cmd}")
    return alive


def _feeds(base: str) -> dict[str, object]:
    out: dict[str, object] = {}
    for path in ("/feeds/all.json?limit=200", "/feeds/politics.json", "/topics"):
        resp = requests.get(base + path, timeout=10)
        assert resp.status_code == 200, (path, resp.status_code)
        body = resp.json()
        out[path] = [i["id"] for i in body["items"]] if "items" in body else body
    atom = requests.get(f"{base}/feeds/all.atom", timeout=10)
    out["all.atom etag"] = atom.headers["ETag"]
    return out


def test_wirefeed_up_keeps_everything_across_a_ctrl_c_and_leaves_no_process(
    stack: Stack, tmp_path: Path
) -> None:
    data_dir, port = tmp_path / "data", free_port()
    base = f"http://127.0.0.1:{port}"
    titles = unique_titles(150, seed=61)

    up = _start_up(stack, data_dir, port)
    wait_ingest(base, post(base, dump(titles)))
    before = _feeds(base)
    assert len(before["/feeds/all.json?limit=200"]) == SAMPLE_STORIES + len(titles)  # type: ignore[arg-type]
    tree = _tree(up)
    assert len(tree) >= 4, [p.cmdline() for p in tree]
    _ctrl_c(up)
    assert _leftovers(tree, data_dir, port) == []
    assert "wirefeed stopped" in up.output()

    again = _start_up(stack, data_dir, port, "--no-sample")
    assert _feeds(base) == before
    tree = _tree(again)
    _ctrl_c(again)
    assert _leftovers(tree, data_dir, port) == []


def test_sigterm_lets_a_worker_finish_its_batch_first(redis_server: RedisServer, stack: Stack) -> None:
    url = redis_server.url()
    client = redis_server.client()
    settings = settings_for(url)
    sub = ingests.submit(client, settings, dump(unique_titles(150, seed=62)), source="sigterm")
    pipeline.run_ingest(context.build(settings, client), sub.ingest_id)  # 3 batch jobs queued
    Queue(keys.INGEST_QUEUE, connection=client).empty()  # the ingest job just run here
    slow = stack.worker(url, "categorize", WIREFEED_CATEGORIZER="tests.reliability.categorizers:slow")
    name = worker_name(client, slow.pid)
    job_id = wait_for("the worker starts a batch", lambda: job_of_worker(client, name), timeout=60)
    time.sleep(0.5)  # well inside the batch: the slow categorizer takes 4 s

    slow.signal(signal.SIGTERM)
    assert slow.wait(60) == 0, slow.output()[-2000:]
    assert Job.fetch(job_id, connection=client).get_status() == "finished"
    prog = ingests.progress(client, sub.ingest_id)
    assert (prog.batches_done, prog.new) == (1, 50)
    queued = [f"batch-{sub.ingest_id}-{n}" for n in (1, 2)]
    assert rq_leftovers(client) == {"wirefeed-categorize queued": queued}  # it took no new batch
    assert "re-queuing" not in slow.output()

    stack.worker(url, "categorize")
    done = wait_for(
        "the rest is done by another worker",
        lambda: (p := ingests.progress(client, sub.ingest_id)).done and p,
        timeout=60,
    )
    assert (done.new, done.batches_done) == (150, 3)
    assert leftovers_settled(client) == {}
