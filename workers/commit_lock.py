"""The commit lock: one batch at a time between the re-check of its lookup and its MULTI/EXEC.

Held for a few milliseconds per batch (the re-check's reads and the EXEC), never while a batch
is categorized or caught up; a worker waiting for it tries again within
``COMMIT_LOCK_POLL_SECONDS``. The lock key is WATCHed by its holder and deleted inside the
commit's MULTI, so a holder that was too slow (its lock expired and another worker took it)
fails its EXEC rather than commit beside the other.
"""

from __future__ import annotations

import time
import uuid

import redis

from wirefeed.config import defaults
from wirefeed.errors import WirefeedError
from wirefeed.feeds.store import keys

_RELEASE = """
if redis.call('GET', KEYS[1]) == ARGV[1] then return redis.call('DEL', KEYS[1]) end
return 0
"""
"""KEYS: the lock; ARGV: the holder's token. Deletes the lock if this holder still has it."""


class CommitLock:
    """``acquire()``, then WATCH :data:`KEY` and delete it in the MULTI (or ``release()``)."""

    KEY = keys.COMMIT_LOCK

    def __init__(self, r: redis.Redis) -> None:
        self.r = r
        self.token = uuid.uuid4().hex
        self._release = r.register_script(_RELEASE)

    def acquire(self) -> None:
        """Wait for the lock (``COMMIT_LOCK_WAIT_SECONDS`` at most: then the job fails and rq
        retries it) and take it for ``COMMIT_LOCK_SECONDS``."""
        deadline = time.monotonic() + defaults.COMMIT_LOCK_WAIT_SECONDS
        pause = defaults.COMMIT_LOCK_POLL_SECONDS / 4
        ttl = int(defaults.COMMIT_LOCK_SECONDS * 1000)
        while not self.r.set(self.KEY, self.token, nx=True, px=ttl):
            if time.monotonic() > deadline:
                raise WirefeedError(f"the commit lock was busy for {defaults.COMMIT_LOCK_WAIT_SECONDS} s")
            time.sleep(pause)
            pause = min(2 * pause, defaults.COMMIT_LOCK_POLL_SECONDS)

    def release(self) -> None:
        """Give the lock up if this holder still has it (not needed after a commit deleted it)."""
        self._release(keys=[self.KEY], args=[self.token])
