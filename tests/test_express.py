"""Small dumps take the express queue; an ingest's change-log entries land when it completes,
in dump order, whatever the batching and whichever worker finishes first."""

from __future__ import annotations

import json
import time

import pytest
import redis
import requests

from tests.conftest import TOKEN
from tests.reliability.dumps import dump, unique_titles
from tests.test_batch_equivalence import no_queues
from wirefeed.config.settings import Settings
from wirefeed.feeds.queue import ingests
from wirefeed.feeds.store import keys
from wirefeed.feeds.stories.ids import story_id
from wirefeed.workers import context, pipeline

AUTH = {"Authorization": f"Bearer {TOKEN}"}


def _post_and_wait(base: str, body: bytes, timeout: float = 60) -> str:
    resp = requests.post(f"{base}/api/ingest", data=body, headers=AUTH, timeout=10)
    assert resp.status_code == 202, resp.text
    ingest_id = resp.json()["ingest_id"]
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        state = requests.get(f"{base}/api/ingest/{ingest_id}", headers=AUTH, timeout=10).json()["state"]
        if state == "done":
            return str(ingest_id)
        time.sleep(0.02)
    raise AssertionError(f"ingest {ingest_id} not done after {timeout} s")


def _origin(client: redis.Redis, job_id: str) -> str | None:
    raw = client.hget(f"rq:job:{job_id}", "origin")
    return raw.decode() if raw else None


@pytest.mark.usefixtures("workers")
def test_a_small_dump_is_ingested_whole_in_one_express_job_and_rendered_on_request(
    client: redis.Redis, live_server: str, settings: Settings
) -> None:
    titles = unique_titles(3, seed=101)
    ingest_id = _post_and_wait(live_server, dump(titles))
    assert _origin(client, f"ingest-{ingest_id}") == keys.EXPRESS_QUEUE
    assert not client.exists(f"rq:job:batch-{ingest_id}-0")  # no categorize job
    first = story_id(settings.default_agency, titles[0])
    stored = client.hget(keys.feed_doc(keys.ALL_TOPIC, "atom"), "body") or b""
    assert f":story:{first}<".encode() not in stored  # not rendered by the job: by the first GET
    atom = requests.get(f"{live_server}/feeds/all.atom", timeout=10).text
    assert all(f":story:{story_id(settings.default_agency, t)}<" in atom for t in titles)


@pytest.mark.usefixtures("workers")
def test_a_dump_over_the_express_limit_goes_through_the_ingest_and_categorize_queues(
    client: redis.Redis, live_server: str, settings: Settings
) -> None:
    titles = unique_titles(settings.express_max_stories + 1, seed=102)
    ingest_id = _post_and_wait(live_server, dump(titles))
    assert _origin(client, f"ingest-{ingest_id}") == keys.INGEST_QUEUE
    assert _origin(client, f"batch-{ingest_id}-0") == keys.CATEGORIZE_QUEUE
    assert client.zcard(keys.topic_index(keys.ALL_TOPIC)) == len(titles)


@pytest.mark.usefixtures("workers")
def test_change_log_holds_an_ingest_in_dump_order_although_two_workers_share_its_batches(
    client: redis.Redis, live_server: str, settings: Settings
) -> None:
    titles = unique_titles(240, seed=103)  # 12 batches of 20 for two categorizer workers
    ingest_id = _post_and_wait(live_server, dump(titles))
    assert int(client.hget(keys.ingest(ingest_id), "batches") or 0) == 240 // settings.batch_size
    log = [e.decode() for e in client.lrange(keys.topic_log(keys.ALL_TOPIC), 0, -1)]
    assert log == [f"{story_id(settings.default_agency, t)}:1" for t in titles]
    assert not client.exists(keys.pending_log(ingest_id))


def test_change_logs_grow_and_feeds_are_published_when_the_ingest_completes(
    client: redis.Redis, settings: Settings, monkeypatch: pytest.MonkeyPatch
) -> None:
    no_queues(monkeypatch)  # this test runs the jobs itself
    settings = settings.with_(batch_size=2, express_max_stories=0)
    ctx = context.build(settings, client)
    titles = unique_titles(3, seed=104)
    ids = [story_id(settings.default_agency, t) for t in titles]
    sub = ingests.submit(client, settings, dump(titles), source="test")
    assert pipeline.run_ingest(ctx, sub.ingest_id) == {"stories": 3, "batches": 2}

    pipeline.run_batch(ctx, sub.ingest_id, 1)  # the second batch first: the last title
    indexed = [i.decode() for i in client.zrange(keys.topic_index(keys.ALL_TOPIC), 0, -1)]
    assert indexed == [ids[2]]  # stored and indexed at once ...
    assert client.llen(keys.topic_log(keys.ALL_TOPIC)) == 0  # ... logged when the ingest completes
    pending = json.loads(client.hget(keys.pending_log(sub.ingest_id), "1"))
    assert [keys.ALL_TOPIC, [f"{ids[2]}:1"]] in pending["log"]
    early = client.hget(keys.feed_doc(keys.ALL_TOPIC, "atom"), "body") or b""
    assert f":story:{ids[2]}<".encode() not in early  # nothing published yet
    stamp_before = int(client.hget(keys.topic_meta(keys.ALL_TOPIC), "changed"))

    pipeline.run_batch(ctx, sub.ingest_id, 0)
    log = [e.decode() for e in client.lrange(keys.topic_log(keys.ALL_TOPIC), 0, -1)]
    assert log == [f"{i}:1" for i in ids]  # batch order, not the order the batches ran in
    assert not client.exists(keys.pending_log(sub.ingest_id))
    assert ingests.progress(client, sub.ingest_id).state == "done"
    assert int(client.hget(keys.topic_meta(keys.ALL_TOPIC), "changed")) > stamp_before
    doc = client.hgetall(keys.feed_doc(keys.ALL_TOPIC, "atom"))
    assert all(f":story:{i}<".encode() in doc[b"body"] for i in ids)

    # Running a batch again (a re-delivered job) changes nothing.
    pipeline.run_batch(ctx, sub.ingest_id, 0)
    assert client.llen(keys.topic_log(keys.ALL_TOPIC)) == 3


def test_a_rerun_express_job_finishes_an_ingest_its_crashed_first_run_split(
    client: redis.Redis, settings: Settings, monkeypatch: pytest.MonkeyPatch
) -> None:
    no_queues(monkeypatch)
    settings = settings.with_(batch_size=2)
    ctx = context.build(settings, client)
    titles = unique_titles(5, seed=105)
    sub = ingests.submit(client, settings, dump(titles), source="test")
    # The first run split the dump into 3 batches, stored one, then died.
    assert pipeline.run_ingest(ctx, sub.ingest_id) == {"stories": 5, "batches": 3}
    pipeline.run_batch(ctx, sub.ingest_id, 1)
    assert not client.exists(keys.dump(sub.ingest_id))

    counts = pipeline.run_express(ctx, sub.ingest_id)
    assert counts["new"] == 3  # batches 0 and 2; batch 1 was stored by the first run
    assert ingests.progress(client, sub.ingest_id).state == "done"
    assert client.llen(keys.topic_log(keys.ALL_TOPIC)) == 5


def test_an_ingest_whose_worker_died_while_publishing_is_finished_by_the_rerun(
    client: redis.Redis, settings: Settings, monkeypatch: pytest.MonkeyPatch
) -> None:
    no_queues(monkeypatch)
    ctx = context.build(settings.with_(express_max_stories=0), client)
    titles = unique_titles(2, seed=106)
    sub = ingests.submit(client, ctx.settings, dump(titles), source="test")
    pipeline.run_ingest(ctx, sub.ingest_id)

    def die(*args: object) -> None:
        raise SystemExit("killed while publishing")

    monkeypatch.setattr(pipeline, "publish", die)
    with pytest.raises(SystemExit):
        pipeline.run_batch(ctx, sub.ingest_id, 0)
    assert ingests.progress(client, sub.ingest_id).state == "publishing"  # stored and logged
    assert client.llen(keys.topic_log(keys.ALL_TOPIC)) == 2

    monkeypatch.undo()
    no_queues(monkeypatch)
    pipeline.run_batch(ctx, sub.ingest_id, 0)  # the reaper re-queued the job
    assert ingests.progress(client, sub.ingest_id).state == "done"
    body = client.hget(keys.feed_doc(keys.ALL_TOPIC, "rss"), "body") or b""
    assert all(t.encode() in body for t in titles)
    assert client.llen(keys.topic_log(keys.ALL_TOPIC)) == 2
