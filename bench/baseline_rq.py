"""Baseline of scenarios 1 and 3: the obvious design, one rq job per story on rq's forking ``Worker``.

The obvious design's processes are wirefeed's own workers with two differences:

- rq's default ``Worker``, which forks a work horse for every job, instead of wirefeed's
  non-forking ``SimpleWorker``;
- ``WIREFEED_BATCH_SIZE=1``: the ingest job (which parses the dump once) queues one categorize
  job per story, and each job categorizes its one story, stores it and re-renders that story's
  topic feeds, with the project's own code (``workers.jobs.categorize_batch``).

So the two designs differ only in batching and forking, and must leave the same stories, topics
and feeds (checked by :mod:`bench.correctness`). The taxonomy, categorizer and Redis connection
are loaded once in the parent before ``work()`` and inherited by every fork: the most charitable
version of the obvious design.

    WIREFEED_BATCH_SIZE=1 REDIS_URL=... python -m bench.baseline_rq ingest|categorize
"""

from __future__ import annotations

import sys

from rq import Queue, Worker

from wirefeed.config.settings import Settings
from wirefeed.feeds.store import keys
from wirefeed.workers import context

QUEUES = {"ingest": keys.INGEST_QUEUE, "categorize": keys.CATEGORIZE_QUEUE}
ENV = {"WIREFEED_BATCH_SIZE": "1", "WIREFEED_EXPRESS_MAX_STORIES": "0"}
"""Environment of the obvious design's workers and web server (on top of the stack's): one story
per categorizer job, and no express path."""


def main(argv: list[str] | None = None) -> int:
    names = (argv if argv is not None else sys.argv[1:]) or ["ingest", "categorize"]
    ctx = context.build(Settings.from_env())
    context.install(ctx)  # loaded once here; every forked work horse inherits it
    worker = Worker([Queue(QUEUES[n], connection=ctx.redis) for n in names], connection=ctx.redis)
    worker.work(with_scheduler=False, logging_level="WARNING")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
