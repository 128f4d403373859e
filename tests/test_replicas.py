"""``WIREFEED_MIN_REPLICAS``: the ingest API answers 202 only once that many replicas hold the
dump (``WAIT``); otherwise 503 with ``Retry-After`` and nothing of the dump kept or queued. A
dump replicated whose job never reached the queue (its primary died in between) is queued by
the ingest workers' :func:`~wirefeed.feeds.queue.ingests.enqueue_stranded`, once.

The test Redis has no replica, so every ``WAIT 1`` here times out; the failover test
(``tests/reliability/test_failover.py``) runs the same code against a real replica."""

from __future__ import annotations

import time

import redis
from rq import Queue
from rq.job import Job

from tests.conftest import TOKEN
from wirefeed.config.settings import Settings
from wirefeed.feeds.queue import ingests
from wirefeed.feeds.store import keys
from wirefeed.services.app import create_app

DUMP = b"Parliament passes the budget after a long night of votes\n"


def queued_jobs(client: redis.Redis) -> list[str]:
    return [j for q in (keys.INGEST_QUEUE, keys.EXPRESS_QUEUE) for j in Queue(q, connection=client).job_ids]


def test_without_the_replicas_the_api_answers_503_and_keeps_nothing(
    client: redis.Redis, settings: Settings
) -> None:
    app = create_app(settings.with_(min_replicas=1, replica_wait=0.2), client)
    with app.test_client() as http:
        resp = http.post("/api/ingest", data=DUMP, headers={"Authorization": f"Bearer {TOKEN}"})
    assert resp.status_code == 503
    assert int(resp.headers["Retry-After"]) > 0
    assert list(client.scan_iter(match="wf:dump:*")) == []
    assert list(client.scan_iter(match="wf:ingest:*")) == []
    assert client.zcard(keys.UNQUEUED) == 0
    assert queued_jobs(client) == []


def test_without_replicas_to_wait_for_the_dump_and_its_job_go_in_together(
    client: redis.Redis, settings: Settings
) -> None:
    sub = ingests.submit(client, settings.with_(express_max_stories=0), DUMP, source="test")
    assert Job.exists(f"ingest-{sub.ingest_id}", connection=client)
    assert ingests.progress(client, sub.ingest_id).stories == 1
    assert client.zcard(keys.UNQUEUED) == 0


def test_a_stranded_dump_is_queued_once_after_the_grace(client: redis.Redis, settings: Settings) -> None:
    # What a web process leaves when the primary dies between WAIT and queueing the job.
    ingest_id = "stranded0001"
    client.set(keys.dump(ingest_id), DUMP)
    client.hset(keys.ingest(ingest_id), mapping={"state": "queued", "stories": 1, "batches": 0})
    client.zadd(keys.UNQUEUED, {ingest_id: time.time()})
    assert ingests.enqueue_stranded(client, settings, older_than=60) == []  # still within its grace
    assert ingests.enqueue_stranded(client, settings, older_than=0) == [ingest_id]
    assert ingests.enqueue_stranded(client, settings, older_than=0) == []
    assert Job.exists(f"ingest-{ingest_id}", connection=client)
    assert client.zcard(keys.UNQUEUED) == 0
