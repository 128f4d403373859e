"""CPU per WebSub delivery of this checkout, by process: websub workers, receiver, Redis.

Scenario 6 times the whole stack; this measures only the push path, the same way on any
checkout, so that two versions can be compared in alternated runs on a busy machine (CPU time,
not wall-clock time, is the figure). It starts its own Redis (AOF on, as the bench's), the
receiver of scenario 6 (:mod:`bench.push_receiver`, on 10 ports) and 2 websub workers; ingests
the sample dump in this process (full feed documents, ~45 KB in Atom); stores N subscriptions of
``all.atom`` directly; then, for each round: ``notify``, wait until every callback got a 2xx (a
tenth answer 500 the first time and are retried after 2 s) and the queue is idle, and divide the
CPU (user + system, ``/proc/<pid>/stat``) each process used by the POSTs made.

    python -m bench.push_cpu [--subscribers 10000] [--rounds 3]
"""

from __future__ import annotations

import argparse
import json
import os
import statistics
import subprocess
import sys
import tempfile
import time
import urllib.request
from pathlib import Path

import redis
from rq import Queue
from rq.registry import ScheduledJobRegistry, StartedJobRegistry

from bench.push import ENV, HOSTS, _ticks
from bench.stack import ROOT, descendants
from wirefeed.config.settings import Settings
from wirefeed.feeds.queue import ingests
from wirefeed.feeds.store import keys
from wirefeed.feeds.websub import hub
from wirefeed.feeds.websub.store import Subscription, WebSubStore, subscription_id
from wirefeed.redis_server import EmbeddedRedis, free_port
from wirefeed.workers import context, pipeline

HZ = os.sysconf("SC_CLK_TCK")


def _get(port: int, path: str, method: str = "GET") -> bytes:
    req = urllib.request.Request(f"http://127.0.0.1:{port}{path}", method=method)
    with urllib.request.urlopen(req, timeout=30) as resp:
        return bytes(resp.read())


def _cpu(pids: list[int]) -> float:
    return sum(_ticks(p) for p in pids) / HZ


def measure(subscribers: int, rounds: int, work: Path) -> list[tuple[float, float, float]]:
    """Microseconds of CPU per POST of (websub workers, receiver, Redis), one triple per round."""
    server = EmbeddedRedis(work / "redis", persist=True).start()
    procs: list[subprocess.Popen[bytes]] = []
    try:
        assert server.proc is not None
        ports = [free_port() for _ in range(HOSTS)]
        env = {
            **os.environ,
            **ENV,
            "REDIS_URL": server.url,
            "WIREFEED_BASE_URL": "http://127.0.0.1:9",
            "WIREFEED_DATA_DIR": str(work / "var"),
            "PYTHONDONTWRITEBYTECODE": "1",
        }
        with (work / "processes.log").open("ab") as log:
            receiver = subprocess.Popen(
                [sys.executable, "-m", "bench.push_receiver", *map(str, ports)],
                cwd=ROOT,
                env=env,
                stdout=log,
                stderr=log,
            )
            procs.append(receiver)
            for _ in range(2):
                procs.append(
                    subprocess.Popen(
                        [sys.executable, "-m", "wirefeed", "worker", "--queues", "websub"],
                        cwd=ROOT,
                        env=env,
                        stdout=log,
                        stderr=log,
                    )
                )
        r = redis.Redis.from_url(server.url)
        settings = Settings.from_env(env)
        ctx = context.build(settings, r)
        sub = ingests.submit(r, settings, (ROOT / "sample" / "wire-sample.txt").read_bytes(), source="cpu")
        pipeline.run_ingest(ctx, sub.ingest_id)
        for n in range(ingests.progress(r, sub.ingest_id).batches):
            pipeline.run_batch(ctx, sub.ingest_id, n)
        topic, store, now = f"{settings.base_url}/feeds/all.atom", WebSubStore(r), int(time.time())
        for i in range(subscribers):
            cb = f"http://127.0.0.1:{ports[i % HOSTS]}/cb/{i}"
            store.subscribe(
                Subscription(
                    subscription_id(topic, cb),
                    topic,
                    "all",
                    "atom",
                    cb,
                    f"secret-{i}",
                    86400,
                    now + 86400,
                    now,
                )
            )
        queue = Queue(keys.WEBSUB_QUEUE, connection=r)
        time.sleep(2)  # the workers are up
        out = []
        for n in range(rounds):
            _get(ports[0], "/reset", "POST")
            workers = [p for w in procs[1:] for p in (w.pid, *descendants(w.pid))]
            others = [receiver.pid, server.proc.pid]
            before = (_cpu(workers), *(_cpu([p]) for p in others))
            started = time.time()
            hub.notify(r, settings, [keys.ALL_TOPIC])
            deadline = time.monotonic() + 120 + subscribers / 100
            while json.loads(_get(ports[0], "/stats"))["delivered"] < subscribers or (
                queue.count
                or ScheduledJobRegistry(queue=queue).count
                or StartedJobRegistry(queue=queue).count
            ):
                if time.monotonic() > deadline:
                    raise RuntimeError(f"round {n}: not delivered in time")
                time.sleep(0.1)
            time.sleep(0.3)
            stats = json.loads(_get(ports[0], "/stats"))
            after = (_cpu(workers), *(_cpu([p]) for p in others))
            if stats["bad_signatures"]:
                raise RuntimeError(f"round {n}: {stats['bad_signatures']} wrong signatures")
            per = tuple((b - a) / stats["posts"] * 1e6 for a, b in zip(before, after, strict=True))
            out.append((per[0], per[1], per[2]))
            print(
                f"round {n}: {stats['posts']:,} POSTs ({stats['retried']:,} retried), last first delivery "
                f"{stats['first_max'] - started:.2f} s after notify; CPU per POST: websub workers "
                f"{per[0]:.0f} µs, receiver {per[1]:.0f} µs, Redis {per[2]:.0f} µs, total {sum(per):.0f} µs",
                flush=True,
            )
        return out
    finally:
        for p in procs:
            p.terminate()
        for p in procs:
            try:
                p.wait(15)
            except subprocess.TimeoutExpired:
                p.kill()
        server.stop()


def main(argv: list[str] | None = None) -> int:
    p = argparse.ArgumentParser(prog="python -m bench.push_cpu", description=__doc__.split("\n")[0])
    p.add_argument("--subscribers", type=int, default=10_000)
    p.add_argument("--rounds", type=int, default=3)
    args = p.parse_args(argv)
    with tempfile.TemporaryDirectory(prefix="wirefeed-push-cpu-") as work:
        got = measure(args.subscribers, args.rounds, Path(work))
    med = [statistics.median(x[i] for x in got) for i in range(3)]
    print(
        f"median of {len(got)} rounds, CPU per POST: websub workers {med[0]:.0f} µs, receiver "
        f"{med[1]:.0f} µs, Redis {med[2]:.0f} µs, total {sum(med):.0f} µs"
    )
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
