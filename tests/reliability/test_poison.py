"""Guarantee 4: poison input. A story that makes the categorizer raise is set aside with its
error (``wirefeed failed``), the rest of its batch and dump goes through, and ``wirefeed retry``
puts it back once the categorizer is fixed. The same dump posted twice at once by two clients
yields each story once.
"""

from __future__ import annotations

import json
import signal
import threading

import requests
from rq import Queue
from rq.registry import FailedJobRegistry

from tests.reliability.categorizers import KILLME, POISON
from tests.reliability.conftest import (
    RedisServer,
    Stack,
    cli,
    post,
    settings_for,
    wait_for,
    wait_ingest,
)
from tests.reliability.dumps import dump, unique_titles
from tests.reliability.observe import leftovers_settled, rq_leftovers, snapshot, stored_once
from wirefeed.feeds.queue import ingests
from wirefeed.feeds.store import keys
from wirefeed.workers import context, pipeline

POISON_AT = (10, 75, 160)
"""Positions of the poisoned stories in a 200-story dump: batches 0, 1 and 3 of 50."""


def _all_titles(base: str) -> set[str]:
    feed = requests.get(f"{base}/feeds/all.json?limit=200", timeout=10).json()
    return {item["title"] for item in feed["items"]}


def test_a_poison_story_is_set_aside_listed_and_retried_while_the_rest_goes_through(
    redis_server: RedisServer, stack: Stack
) -> None:
    url = redis_server.url()
    titles = list(unique_titles(200, seed=41))
    for n in POISON_AT:
        titles[n] = f"{titles[n]} {POISON}"
    poisoned = {titles[n] for n in POISON_AT}
    _, base = stack.web(url)
    stack.worker(url, "ingest")
    bad_worker = stack.worker(url, "categorize", WIREFEED_CATEGORIZER="tests.reliability.categorizers:poison")

    status = wait_ingest(base, post(base, dump(titles)))
    assert (status["new"], status["failed"], status["updated"]) == (197, 3, 0)
    assert _all_titles(base) == set(titles) - poisoned

    listed = cli(url, "failed", "--json")
    assert listed.returncode == 0, listed.stderr
    items = [json.loads(line) for line in listed.stdout.splitlines()]
    assert {i["kind"] for i in items} == {"story"}
    assert {i["title"] for i in items} == poisoned
    assert all("PoisonPill" in i["error"] and "poison pill" in i["error"] for i in items)
    assert rq_leftovers(redis_server.client()).keys() == {"poisoned stories"}  # no failed job

    # The categorizer is fixed (a worker without the bug replaces the bad one); retry.
    bad_worker.signal(signal.SIGTERM)
    assert bad_worker.wait(30) == 0
    stack.worker(url, "categorize")
    retried = cli(url, "retry")
    assert retried.returncode == 0, retried.stderr
    assert "re-queued 3 stories and 0 jobs" in retried.stdout
    wait_for("the retried stories are in the feed", lambda: _all_titles(base) == set(titles), timeout=60)
    assert cli(url, "failed", "--json").stdout.strip() == ""
    client = redis_server.client()
    assert leftovers_settled(client) == {}
    snap = snapshot(client, settings_for(url))
    assert stored_once(snap) == []
    for sid, title in snap.titles.items():
        if title in poisoned:
            assert snap.topics_of[sid], f"retried story {title!r} got no topic"


def test_the_same_dump_posted_twice_at_once_yields_each_story_once(
    redis_server: RedisServer, stack: Stack
) -> None:
    """Two clients post one dump at the same moment; two ingest workers split both at once
    and two categorizer workers store the same stories at the same time (each dump is one
    batch here, so the two batches surely overlap): run_batch's WATCH/MULTI makes the one that
    commits second find the stories stored, and count them unchanged."""
    url = redis_server.url()
    titles = unique_titles(400, seed=43)
    body = dump(titles)
    _, base = stack.web(url, workers=2)
    for _ in range(2):
        stack.worker(url, "ingest", WIREFEED_BATCH_SIZE=str(len(titles)))
        stack.worker(url, "categorize")

    gate = threading.Barrier(2)
    responses: list[requests.Response] = []

    def client_posts() -> None:
        gate.wait()
        responses.append(post(base, body))

    threads = [threading.Thread(target=client_posts) for _ in range(2)]
    for t in threads:
        t.start()
    for t in threads:
        t.join(60)
    statuses = [wait_ingest(base, r) for r in responses]
    assert len(statuses) == 2
    assert sum(s["new"] for s in statuses) == len(titles)
    assert sum(s["unchanged"] for s in statuses) == len(titles)
    assert sum(s["updated"] for s in statuses) == 0

    client = redis_server.client()
    snap = snapshot(client, settings_for(url))
    assert len(snap.index[keys.ALL_TOPIC]) == len(titles)
    assert sorted(snap.titles.values()) == sorted(titles)
    assert stored_once(snap) == []
    log_all = [e.decode() for e in client.lrange(keys.topic_log(keys.ALL_TOPIC), 0, -1)]
    assert len(log_all) == len(set(log_all)) == len(titles)
    assert leftovers_settled(client) == {}


def test_a_batch_that_kills_its_worker_is_failed_after_max_attempts_listed_and_retried(
    redis_server: RedisServer, stack: Stack
) -> None:
    """A batch whose categorizing SIGKILLs the worker process (out of memory, a segfault) is
    re-queued by the reaper only until its worker died ``JOB_MAX_ATTEMPTS`` (default 3) times;
    then it is in rq's failed registry with the reason (``wirefeed failed``), the dump's other
    batch is stored, and ``wirefeed retry`` runs it again once the workers are fixed."""
    url = redis_server.url()
    client = redis_server.client()
    settings = settings_for(url)
    titles = list(unique_titles(100, seed=47))
    titles[10] = f"{titles[10]} {KILLME}"  # batch 0 of 2
    sub = ingests.submit(client, settings, dump(titles), source="killer")
    pipeline.run_ingest(context.build(settings, client), sub.ingest_id)  # queues the 2 batch jobs
    Queue(keys.INGEST_QUEUE, connection=client).empty()  # the ingest job just run here
    deadly = f"batch-{sub.ingest_id}-0"
    failed = FailedJobRegistry(queue=Queue(keys.CATEGORIZE_QUEUE, connection=client))

    killer_env = {"WIREFEED_CATEGORIZER": "tests.reliability.categorizers:killer"}
    workers = [stack.worker(url, "categorize", **killer_env)]

    def deadly_job_failed() -> bool:
        if not workers[-1].alive():  # the batch killed it: another takes its place
            workers.append(stack.worker(url, "categorize", **killer_env))
        return deadly in failed.get_job_ids(cleanup=False)

    wait_for(
        "the deadly batch is in the failed registry",
        deadly_job_failed,
        timeout=150,
        poll=0.2,
        explain=lambda: f"{len(workers)} workers started; rq: {rq_leftovers(client)}",
    )
    logs = "".join(p.output() for p in stack.procs)
    assert logs.count(f"re-queuing job {deadly} abandoned by dead worker") == 2, logs
    assert sum(not w.alive() for w in workers) == 3  # started 3 times, its worker died each time
    progress = ingests.progress(client, sub.ingest_id)
    assert (progress.batches_done, progress.new, progress.done) == (1, 50, False)

    listed = cli(url, "failed", "--json")
    assert listed.returncode == 0, listed.stderr
    items = [json.loads(line) for line in listed.stdout.splitlines()]
    assert [(i["kind"], i["key"]) for i in items] == [("job", deadly)]
    assert "died 3 times" in items[0]["error"], items[0]

    for w in workers:
        w.signal(signal.SIGTERM)
    stack.worker(url, "categorize")  # the fixed categorizer
    retried = cli(url, "retry")
    assert retried.returncode == 0, retried.stderr
    assert "re-queued 0 stories and 1 jobs" in retried.stdout
    # The batch is stored as it was (with its marker, which the fixed categorizer ignores).
    final = wait_for(
        "the retried batch completes the ingest",
        lambda: (p := ingests.progress(client, sub.ingest_id)).done and p,
        timeout=60,
        poll=0.2,
        explain=lambda: f"{ingests.progress(client, sub.ingest_id)}; rq: {rq_leftovers(client)}",
    )
    assert (final.new, final.batches_done, final.failed) == (100, 2, 0)
    assert leftovers_settled(client) == {}
    assert client.zcard(keys.topic_index(keys.ALL_TOPIC)) == 100
