"""Guarantee 1: a categorizer worker SIGKILLed at random points loses nothing and stores nothing
twice; the job it held is found and re-queued by the other workers' reaper (workers.liveness),
not left started or failed.

The same 5,000-story dump is first ingested cleanly (in this process, into database 1 of the
test's Redis), then by real worker processes (database 0) while categorizer workers are killed
with SIGKILL mid-batch at least :data:`KILLS` times and restarted each time. The two runs must
then hold the same stories, once each, in the same topics, with the same feeds.
"""

from __future__ import annotations

import random
import re
import time

from rq import Queue
from rq.executions import Execution
from rq.job import Job

from tests.reliability.conftest import (
    RedisServer,
    Stack,
    job_of_worker,
    settings_for,
    wait_for,
    worker_name,
)
from tests.reliability.dumps import dump, unique_titles
from tests.reliability.observe import compare, leftovers_settled, rq_leftovers, snapshot, stored_once
from wirefeed.feeds.queue import ingests
from wirefeed.feeds.store import keys
from wirefeed.workers import context, pipeline

STORIES = 5000
BATCH = 100
"""Stories per categorizer job here: 50 jobs, each paced to take 1.5 s more than its work
(``categorizers.paced``: a batch itself takes ~0.1 s), so the run is long enough for every kill
to land mid-batch."""
KILLS = 12
PACED = {
    "WIREFEED_CATEGORIZER": "tests.reliability.categorizers:paced",
    # random kills may hit one batch several times: that is the workers' bad luck, not the
    # batch's fault (tests/reliability/test_poison.py tests the cap on a batch that kills)
    "WIREFEED_JOB_MAX_ATTEMPTS": str(KILLS + 1),
}
DONE_TIMEOUT = 150.0
"""Generous: the run takes ~60 s on two cores; each kill costs a restart and a re-queue after
the dead worker's heartbeat expires (5 s)."""


def clean_run(server: RedisServer, body: bytes, db: int) -> None:
    """The reference: the same dump through the same pipeline functions, in this process."""
    client = server.client(db)
    settings = settings_for(server.url(db), batch_size=1000)
    ctx = context.build(settings, client)
    sub = ingests.submit(client, settings, body, source="clean")
    pipeline.run_ingest(ctx, sub.ingest_id)
    for n in range(ingests.progress(client, sub.ingest_id).batches):
        pipeline.run_batch(ctx, sub.ingest_id, n)
    assert ingests.progress(client, sub.ingest_id).new == STORIES


def test_sigkilled_categorizers_lose_nothing_and_store_each_story_once(
    redis_server: RedisServer, stack: Stack
) -> None:
    body = dump(unique_titles(STORIES))
    clean_run(redis_server, body, db=1)
    reference = snapshot(redis_server.client(1), settings_for(redis_server.url(1)))
    assert len(reference.index[keys.ALL_TOPIC]) == STORIES
    assert sum(1 for slug, ids in reference.index.items() if ids and slug != keys.ALL_TOPIC) >= 8

    url = redis_server.url(0)
    client = redis_server.client(0)
    settings = settings_for(url)
    stack.worker(url, "ingest", WIREFEED_BATCH_SIZE=str(BATCH))
    cats = [stack.worker(url, "categorize", **PACED) for _ in range(2)]
    for w in cats:
        worker_name(client, w.pid)

    sub = ingests.submit(client, settings, body, source="crash")
    rng = random.Random(20260)
    abandoned: list[str] = []
    for _ in range(KILLS):
        i = rng.randrange(len(cats))
        victim = cats[i]
        name = worker_name(client, victim.pid)
        wait_for(f"worker {name} starts a batch", lambda n=name: job_of_worker(client, n), timeout=60)
        time.sleep(rng.uniform(0.0, 1.0))  # somewhere inside the batch
        held = job_of_worker(client, name)
        victim.kill()
        if held:
            abandoned.append(held)
        assert not ingests.progress(client, sub.ingest_id).done, "the dump finished before the kills did"
        cats[i] = stack.worker(url, "categorize", **PACED)

    final = wait_for(
        "the ingest is done after the kills",
        lambda: (p := ingests.progress(client, sub.ingest_id)).done and p,
        timeout=DONE_TIMEOUT,
        poll=0.5,
        explain=lambda: f"{ingests.progress(client, sub.ingest_id)}; rq: {rq_leftovers(client)}",
    )
    assert final.state == "done"
    assert (final.new, final.updated, final.unchanged, final.failed) == (STORIES, 0, 0, 0)
    assert final.batches_done == final.batches

    # The kills really landed mid-batch, and each abandoned job was re-queued by the reaper.
    assert len(abandoned) >= KILLS // 2, f"only {len(abandoned)} of {KILLS} kills hit a running batch"
    logs = "".join(p.output() for p in stack.procs)
    requeued = set(re.findall(r"re-queuing job (\S+) abandoned by dead worker", logs))
    assert set(abandoned) <= requeued, f"never re-queued: {sorted(set(abandoned) - requeued)}"
    assert leftovers_settled(client) == {}

    got = snapshot(client, settings)
    assert len(got.index[keys.ALL_TOPIC]) == STORIES
    assert stored_once(got) == []
    assert compare(got, reference) == []
    log_all = [e.decode() for e in client.lrange(keys.topic_log(keys.ALL_TOPIC), 0, -1)]
    assert len(log_all) == STORIES and all(e.endswith(":1") for e in log_all)


def test_jobs_of_workers_killed_between_taking_and_starting_them_are_requeued(
    redis_server: RedisServer, stack: Stack
) -> None:
    """The two moments of a SIGKILL that the random kills above hit only now and then, made
    exact: rq moves a job from the queue to its "intermediate" list (BLMOVE), then registers an
    execution in the started registry, and only then writes the job's ``worker_name``. A worker
    that dies after the first step, or after the second, must not strand its job."""
    url = redis_server.url(0)
    client = redis_server.client(0)
    settings = settings_for(url)
    sub = ingests.submit(client, settings, dump(unique_titles(150)), source="windows")
    pipeline.run_ingest(context.build(settings, client), sub.ingest_id)  # queues 3 batch jobs
    Queue(keys.INGEST_QUEUE, connection=client).empty()  # the ingest job just run here
    queue = Queue(keys.CATEGORIZE_QUEUE, connection=client)
    intermediate = queue.intermediate_queue_key
    assert len(queue.get_job_ids()) == 3

    # Worker 1 dies right after BLMOVE: the job is in no queue and no registry.
    taken = client.lmove(queue.key, intermediate, "LEFT", "RIGHT").decode()
    # Worker 2 dies after rq registered its execution, before it wrote the job's worker_name.
    half_started = client.lmove(queue.key, intermediate, "LEFT", "RIGHT").decode()
    with client.pipeline() as pipe:
        Execution.create(Job.fetch(half_started, connection=client), 600, pipe, worker_name="dead-0badc0de")
        pipe.execute()
    assert Job.fetch(half_started, connection=client).worker_name in (None, "")

    stack.worker(url, "categorize")
    final = wait_for(
        "both stranded batches are re-queued and done",
        lambda: (p := ingests.progress(client, sub.ingest_id)).done and p,
        timeout=60,
        poll=0.2,
        explain=lambda: f"{ingests.progress(client, sub.ingest_id)}; rq: {rq_leftovers(client)}",
    )
    assert (final.new, final.batches_done) == (150, 3)
    assert Job.fetch(taken, connection=client).get_status() == "finished"
    assert Job.fetch(half_started, connection=client).get_status() == "finished"
    assert leftovers_settled(client) == {}
    assert client.zcard(keys.topic_index(keys.ALL_TOPIC)) == 150
