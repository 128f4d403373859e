"""The commit lock: every batch that writes ``wf:alias`` and the LSH buckets (``wf:near:*``)
checks, while it holds this lock, that the fields of those hashes it read still hold the same,
then commits (see :func:`wirefeed.workers.pipeline.run_batch`). Those hashes are written by
every batch, so WATCHing them alone would make any two concurrent batches conflict; under the
lock only a change of a field a batch read makes it read again.

The lock is a token in ``wf:commit`` with a TTL (a worker that dies holding it delays the others
by at most ``COMMIT_LOCK_MS``). The holder also WATCHes it: if its hold ran out and another
worker took the lock, its transaction fails (and is re-done) rather than commit unchecked.
"""

from __future__ import annotations

import time
import uuid
from collections.abc import Iterator
from contextlib import contextmanager

import redis

from wirefeed.config import defaults
from wirefeed.feeds.store import keys

_RELEASE = """
if redis.call('GET', KEYS[1]) == ARGV[1] then return redis.call('DEL', KEYS[1]) end
return 0
"""


@contextmanager
def commit_lock(client: redis.Redis, pipe: redis.client.Pipeline) -> Iterator[None]:
    """Hold the commit lock (waiting for it) and WATCH it on ``pipe``, the transaction to commit."""
    token = uuid.uuid4().hex
    while not client.set(keys.COMMIT_LOCK, token, nx=True, px=defaults.COMMIT_LOCK_MS):
        time.sleep(defaults.COMMIT_LOCK_POLL_SECONDS)
    try:
        pipe.watch(keys.COMMIT_LOCK)
        yield
    finally:
        client.register_script(_RELEASE)(keys=[keys.COMMIT_LOCK], args=[token])
