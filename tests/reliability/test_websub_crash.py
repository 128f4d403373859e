"""A websub worker SIGKILLed in the middle of delivery batches loses no delivery.

Real processes and a real Redis (AOF, the test's own): 600 subscribers of one topic, stored as
the verification stores them, on a real keep-alive HTTP subscriber in this process that takes
20 ms per delivery and answers 500 to one subscriber in ten the first time. One publish queues
6 batch jobs of 100; the websub worker (``wirefeed worker --queues websub``, with rq's scheduler
for the retries) is SIGKILLed :data:`KILLS` times while it holds a batch it has partly delivered,
and started again each time. In the end every subscriber has had a 2xx delivery recorded, no
batch is left in Redis and no job is queued, started or failed.
"""

from __future__ import annotations

import http.server
import random
import threading
import time
from collections import Counter
from collections.abc import Iterator
from typing import Any

import pytest
import redis
from rq import Queue
from rq.registry import FailedJobRegistry, ScheduledJobRegistry, StartedJobRegistry

from tests.reliability.conftest import RedisServer, Stack, job_of_worker, settings_for, wait_for, worker_name
from wirefeed.feeds.store import keys
from wirefeed.feeds.websub import hub
from wirefeed.feeds.websub.store import Subscription, WebSubStore, subscription_id

SUBSCRIBERS = 600
BATCH = 100
KILLS = 3
FAILING = 10
"""One subscriber in this many answers 500 to its first delivery (retried 1 s later)."""
DONE_TIMEOUT = 120.0
"""Generous: each kill costs a restart and a re-queue once the dead worker's heartbeat expired."""


class Subscribers:
    """Every POST counted per path; 500 to the first of each failing path; 20 ms each."""

    def __init__(self) -> None:
        self.lock = threading.Lock()
        self.posts: Counter[str] = Counter()
        self.total = 0

    def handler(self) -> type[http.server.BaseHTTPRequestHandler]:
        subs = self

        class Handler(http.server.BaseHTTPRequestHandler):
            protocol_version = "HTTP/1.1"

            def log_message(self, format: str, *args: Any) -> None:
                pass

            def do_POST(self) -> None:
                self.rfile.read(int(self.headers.get("Content-Length", "0")))
                time.sleep(0.02)
                with subs.lock:
                    subs.posts[self.path] += 1
                    subs.total += 1
                    first = subs.posts[self.path] == 1
                fail = first and int(self.path.rsplit("/", 1)[1]) % FAILING == 0
                self.send_response(500 if fail else 204)
                self.send_header("Content-Length", "0")
                self.end_headers()

        return Handler


@pytest.fixture()
def subscribers() -> Iterator[tuple[Subscribers, int]]:
    subs = Subscribers()
    server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), subs.handler())
    server.daemon_threads = True
    thread = threading.Thread(target=server.serve_forever, kwargs={"poll_interval": 0.05}, daemon=True)
    thread.start()
    yield subs, server.server_address[1]
    server.shutdown()
    server.server_close()


def leftovers(client: redis.Redis) -> dict[str, list[str]]:
    q = Queue(keys.WEBSUB_QUEUE, connection=client)
    out = {
        "queued": q.get_job_ids(),
        "started": StartedJobRegistry(queue=q).get_job_ids(cleanup=False),
        "scheduled": ScheduledJobRegistry(queue=q).get_job_ids(cleanup=False),
        "failed": FailedJobRegistry(queue=q).get_job_ids(cleanup=False),
        "batches": [k.decode() for k in client.scan_iter(match=keys.websub_batch("*", 0)[:-1] + "*")],
    }
    return {k: v for k, v in out.items() if v}


def test_sigkilled_websub_worker_loses_no_delivery(
    redis_server: RedisServer, stack: Stack, subscribers: tuple[Subscribers, int]
) -> None:
    subs, port = subscribers
    url = redis_server.url(0)
    client = redis_server.client(0)
    base = "http://127.0.0.1:8080"
    settings = settings_for(url, base_url=base, websub_allow=("127.0.0.1/32",), websub_batch_size=BATCH)
    env = {
        "WIREFEED_BASE_URL": base,
        "WIREFEED_WEBSUB_ALLOW": "127.0.0.1/32",
        "WIREFEED_WEBSUB_BATCH_SIZE": str(BATCH),
        "WIREFEED_WEBSUB_CONCURRENCY": "4",
        "WIREFEED_WEBSUB_HOST_CONNECTIONS": "4",
        "WIREFEED_WEBSUB_RETRY": "1",
    }
    store = WebSubStore(client)
    topic = f"{base}/feeds/all.atom"
    now = int(time.time())
    ids = {}
    for n in range(SUBSCRIBERS):
        cb = f"http://127.0.0.1:{port}/hook/{n}"
        sub_id = subscription_id(topic, cb)
        store.subscribe(Subscription(sub_id, topic, "all", "atom", cb, None, 3600, now + 3600, now))
        ids[sub_id] = f"/hook/{n}"

    worker = stack.worker(url, "websub", **env)
    name = worker_name(client, worker.pid)
    hub.notify(client, settings, [keys.ALL_TOPIC])
    assert len(Queue(keys.WEBSUB_QUEUE, connection=client).get_job_ids()) >= SUBSCRIBERS // BATCH - 1

    rng = random.Random(18)
    mid_batch = 0
    for _ in range(KILLS):
        held = wait_for(
            f"worker {name} runs a batch",
            lambda n=name: job_of_worker(client, n, keys.WEBSUB_QUEUE),
            timeout=60,
        )
        target = subs.total + rng.randrange(5, 40)
        wait_for("some deliveries of it made", lambda t=target: subs.total >= t, timeout=30)
        worker.kill()
        batch_id, attempt = held.split("-")[2], int(held.split("-")[3])
        if client.scard(keys.websub_batch(batch_id, attempt)):
            mid_batch += 1  # killed with part of its batch still to try
        worker = stack.worker(url, "websub", **env)
        name = worker_name(client, worker.pid)
    assert mid_batch >= 1, "no kill landed in the middle of a batch"

    def delivered() -> bool:
        statuses = [s.last_status if s else "gone" for s in store.get_many(list(ids))]
        return all(st == "204" for st in statuses)

    wait_for(
        "every subscriber delivered after the kills",
        lambda: delivered() and not leftovers(client),
        timeout=DONE_TIMEOUT,
        poll=0.5,
        explain=lambda: f"{Counter(s and s.last_status for s in store.get_many(list(ids)))}; "
        f"{leftovers(client)}",
    )
    assert set(subs.posts) == set(ids.values())  # every subscriber, and only them
    failing = [p for p in ids.values() if int(p.rsplit("/", 1)[1]) % FAILING == 0]
    assert all(subs.posts[p] >= 2 for p in failing)  # answered 500, retried
    print(
        f"\n{subs.total} POSTs for {SUBSCRIBERS} subscribers ({len(failing)} retried) across {KILLS} "
        f"SIGKILLs ({mid_batch} mid-batch); most to one subscriber: {max(subs.posts.values())}"
    )
