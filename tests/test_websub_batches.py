"""Batched WebSub delivery, run in this process against real Redis and a real keep-alive
subscriber server on 127.0.0.1: one job per batch, each subscriber signed with its own secret,
failures retried in the batch's next attempt with the newest document, 410, the last attempt
failing the job, the per-host bound, and the pinned keep-alive pool (no reuse for an address
that was not checked, capped answers, no redirects)."""

from __future__ import annotations

import http.server
import threading
import time
from collections import Counter
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import pytest
import redis
from rq import Queue
from rq.registry import ScheduledJobRegistry

from tests.test_websub import signed_by
from wirefeed.config.settings import Settings
from wirefeed.errors import DeliveryFailed
from wirefeed.feeds.queue import ingests
from wirefeed.feeds.store import keys
from wirefeed.feeds.websub import hub
from wirefeed.feeds.websub.batches import Batches
from wirefeed.feeds.websub.net import Target
from wirefeed.feeds.websub.pool import Pool
from wirefeed.feeds.websub.store import Subscription, WebSubStore, subscription_id
from wirefeed.workers import context, delivery, pipeline

SAMPLE = Path(__file__).resolve().parents[1] / "sample" / "wire-sample.txt"


@dataclass
class Receiver:
    """A keep-alive HTTP/1.1 subscriber: ``/ok/*`` 204, ``/fail/*`` 500 (until ``healed``),
    ``/gone/*`` 410, ``/big`` 100 KB, ``/redirect`` 302; ``/slow/*`` 204 after 50 ms."""

    port: int = 0
    posts: list[tuple[str, dict[str, str], bytes, int]] = field(default_factory=list)
    """(path, headers, body, client port) of every POST."""
    healed: bool = False
    busy: int = 0
    most_busy: int = 0
    lock: threading.Lock = field(default_factory=threading.Lock)

    def paths(self) -> list[str]:
        return sorted(p for p, *_ in self.posts)


def _handler(rec: Receiver) -> type[http.server.BaseHTTPRequestHandler]:
    class Handler(http.server.BaseHTTPRequestHandler):
        protocol_version = "HTTP/1.1"

        def log_message(self, format: str, *args: Any) -> None:
            pass

        def do_POST(self) -> None:
            with rec.lock:
                rec.busy += 1
                rec.most_busy = max(rec.most_busy, rec.busy)
            body = self.rfile.read(int(self.headers.get("Content-Length", "0")))
            if self.path.startswith("/slow/"):
                time.sleep(0.05)
            with rec.lock:
                rec.posts.append((self.path, dict(self.headers.items()), body, self.client_address[1]))
                rec.busy -= 1
            status, answer, extra = 204, b"", {}
            if self.path.startswith("/fail/") and not rec.healed:
                status = 500
            elif self.path.startswith("/gone/"):
                status = 410
            elif self.path == "/big":
                status, answer = 200, b"x" * 100_000
            elif self.path == "/redirect":
                status, extra = 302, {"Location": "/ok/elsewhere"}
            self.send_response(status)
            for k, v in extra.items():
                self.send_header(k, v)
            self.send_header("Content-Length", str(len(answer)))
            self.end_headers()
            self.wfile.write(answer)

    return Handler


@pytest.fixture()
def receiver() -> Iterator[Receiver]:
    rec = Receiver()
    server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), _handler(rec))
    server.daemon_threads = True
    rec.port = server.server_address[1]
    thread = threading.Thread(target=server.serve_forever, kwargs={"poll_interval": 0.05}, daemon=True)
    thread.start()
    yield rec
    server.shutdown()
    server.server_close()


def add_subscribers(client: redis.Redis, settings: Settings, port: int, paths: list[str]) -> list[str]:
    """Store verified subscriptions of ``all.atom`` directly (as the verification would), each
    with a secret of its own; their ids."""
    store = WebSubStore(client)
    topic = f"{settings.base_url}/feeds/all.atom"
    now = int(time.time())
    ids = []
    for path in paths:
        cb = f"http://127.0.0.1:{port}{path}"
        sub_id = subscription_id(topic, cb)
        store.subscribe(Subscription(sub_id, topic, "all", "atom", cb, f"secret{path}", 600, now + 600, now))
        ids.append(sub_id)
    return ids


def batch_jobs(client: redis.Redis) -> set[str]:
    """Ids of every batch delivery job rq holds (queued, or taken by a running websub worker)."""
    return {k.decode()[len("rq:job:") :] for k in client.scan_iter(match="rq:job:websub-batch-*")}


def queue_batch(client: redis.Redis, settings: Settings, sub_ids: list[str]) -> str:
    """What ``hub.notify`` does for one batch, without its rq job (this process runs it, not the
    session's websub worker)."""
    [batch_id] = Batches(client).queue(sub_ids, settings.websub_batch_size)
    return batch_id


def ingest_sample(ctx: context.WorkerContext) -> None:
    """New stories in every topic, with no delivery queued for them (the topics leave the set
    ``notify`` reads meanwhile: the session's websub worker must not deliver to this test)."""
    subscribed = ctx.redis.smembers(keys.WEBSUB_TOPICS)
    ctx.redis.delete(keys.WEBSUB_TOPICS)
    try:
        _ingest(ctx)
    finally:
        if subscribed:
            ctx.redis.sadd(keys.WEBSUB_TOPICS, *subscribed)


def _ingest(ctx: context.WorkerContext) -> None:
    sub = ingests.submit(ctx.redis, ctx.settings, SAMPLE.read_bytes(), source="test")
    pipeline.run_ingest(ctx, sub.ingest_id)
    for n in range(ingests.progress(ctx.redis, sub.ingest_id).batches):
        pipeline.run_batch(ctx, sub.ingest_id, n)


def test_one_job_per_batch_each_subscriber_signed_with_its_own_secret_over_kept_connections(
    client: redis.Redis, settings: Settings, receiver: Receiver
) -> None:
    s = settings.with_(websub_batch_size=3, websub_concurrency=4, websub_host_connections=2)
    paths = [f"/ok/{n}" for n in range(7)]
    ids = add_subscribers(client, s, receiver.port, paths)
    batches = Batches(client).queue(ids, s.websub_batch_size)
    assert len(batches) == 3
    assert Batches(client).queue(ids, s.websub_batch_size) == []  # queued already: rides along

    ctx = context.build(s, client)
    got: Counter[str] = Counter()
    for batch_id in batches:
        got.update(delivery.run_batch(ctx, batch_id, 1))
    assert got == {"delivered": 7}
    assert receiver.paths() == sorted(paths)
    served = ctx.store.get_feed_doc(keys.ALL_TOPIC, "atom")
    assert served is not None
    assert ctx.store.get_feed_doc(keys.ALL_TOPIC, "rss") is None  # only the subscribers' format
    for path, headers, body, _ in receiver.posts:
        assert body == served.body  # rendered once, the same bytes for all
        assert signed_by(f"secret{path}", body, headers.get("X-Hub-Signature"))
        assert headers["Content-Type"] == "application/atom+xml; charset=utf-8"
    assert len({port for *_, port in receiver.posts}) <= 2  # kept alive, at most 2 per host
    assert all(not client.exists(keys.websub_batch(b, 1)) for b in batches)
    assert client.hget(keys.METRIC_WEBSUB, "delivered") == b"7"


def test_a_publish_queues_one_job_per_batch(client: redis.Redis, settings: Settings) -> None:
    s = settings.with_(websub_batch_size=3)
    add_subscribers(client, s, 1, [f"/nobody/{n}" for n in range(7)])  # port 1: nothing listens
    before = batch_jobs(client)
    hub.notify(client, s, [keys.ALL_TOPIC])
    first = {j for j in batch_jobs(client) - before if j.endswith("-1")}  # (retries may follow)
    assert len(first) == 3


def test_failures_are_retried_in_the_next_attempt_with_the_newest_document_and_410_ends(
    client: redis.Redis, settings: Settings, receiver: Receiver
) -> None:
    s = settings.with_(websub_retry_intervals=(7,))
    ok, fail, gone = add_subscribers(client, s, receiver.port, ["/ok/1", "/fail/1", "/gone/1"])
    batch_id = queue_batch(client, s, [ok, fail, gone])
    ctx = context.build(s, client)
    assert delivery.run_batch(ctx, batch_id, 1) == {"delivered": 1, "failed": 1, "gone": 1}
    assert WebSubStore(client).get(gone) is None  # 410: unsubscribed
    assert WebSubStore(client).get(fail).last_status == "500"  # type: ignore[union-attr]
    assert Batches(client).pending(batch_id, 1) == []
    assert Batches(client).pending(batch_id, 2) == [fail]
    scheduled = ScheduledJobRegistry(queue=Queue(keys.WEBSUB_QUEUE, connection=client))
    assert f"websub-batch-{batch_id}-2" in scheduled.get_job_ids()
    planned = scheduled.get_scheduled_time(f"websub-batch-{batch_id}-2").timestamp()
    assert planned > time.time() + 4  # after the retry interval, not now

    first = receiver.posts[-1][2] if receiver.posts[-1][0] == "/fail/1" else None
    ingest_sample(ctx)  # the topic changes before the retry
    receiver.healed = True
    receiver.posts.clear()
    assert delivery.run_batch(ctx, batch_id, 2) == {"delivered": 1}
    [(_, _, body, _)] = [p for p in receiver.posts if p[0] == "/fail/1"]
    newest = ctx.store.get_feed_doc(keys.ALL_TOPIC, "atom")
    assert newest is not None and body == newest.body and body != first
    assert WebSubStore(client).get(ok) is not None


def test_the_last_attempt_failing_fails_the_job_and_keeps_who_failed(
    client: redis.Redis, settings: Settings, receiver: Receiver
) -> None:
    s = settings.with_(websub_retry_intervals=())
    fail, redirect, big = add_subscribers(client, s, receiver.port, ["/fail/2", "/redirect", "/big"])
    batch_id = queue_batch(client, s, [fail, redirect, big])
    with pytest.raises(DeliveryFailed, match="2 deliveries failed their last attempt"):
        delivery.run_batch(context.build(s, client), batch_id, 1)
    # A redirect is an answer, not followed: failed too (a long answer is read in part: 200).
    assert Batches(client).pending(batch_id, 1) == sorted([fail, redirect])
    assert sorted(p for p, *_ in receiver.posts) == ["/big", "/fail/2", "/redirect"]
    store = WebSubStore(client)
    assert [store.get(i).last_status for i in (fail, redirect)] == ["500", "302"]  # type: ignore[union-attr]
    assert client.ttl(keys.websub_batch(batch_id, 1)) > 86400  # kept as long as rq keeps the job


def test_at_most_host_connections_deliveries_to_one_host_at_once(
    client: redis.Redis, settings: Settings, receiver: Receiver
) -> None:
    s = settings.with_(websub_concurrency=8, websub_host_connections=2)
    batch_id = queue_batch(
        client, s, add_subscribers(client, s, receiver.port, [f"/slow/{n}" for n in range(12)])
    )
    assert delivery.run_batch(context.build(s, client), batch_id, 1) == {"delivered": 12}
    assert receiver.most_busy <= 2


def test_the_pool_reuses_a_connection_only_for_the_address_checked_and_caps_answers(
    receiver: Receiver,
) -> None:
    pool = Pool(4)
    checked = Target("", "http", "127.0.0.1", receiver.port, "/ok/a", ("127.0.0.1",))
    assert pool.send(checked, "POST", timeout=5, headers={}, body=b"1").status == 204
    assert pool.send(checked, "POST", timeout=5, headers={}, body=b"2").status == 204
    assert len({port for *_, port in receiver.posts}) == 1  # the same connection, kept alive
    assert pool.idle_count() == 1
    # Same host name and port, but this time it resolved (and was checked) to another address:
    # the kept connection to 127.0.0.1 must not carry it (nothing listens on 127.0.0.2).
    elsewhere = Target("", "http", "127.0.0.1", receiver.port, "/ok/b", ("127.0.0.2",))
    with pytest.raises(OSError):
        pool.send(elsewhere, "POST", timeout=5, headers={}, body=b"3")
    assert len(receiver.posts) == 2
    big = Target("", "http", "127.0.0.1", receiver.port, "/big", ("127.0.0.1",))
    answer = pool.send(big, "POST", timeout=5, headers={}, body=b"4")
    assert (answer.status, len(answer.body)) == (200, 64 * 1024)
    assert pool.idle_count() == 0  # not read to its end: closed, not kept
    pool.close()
