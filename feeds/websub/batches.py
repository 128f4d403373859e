"""Delivery batches in Redis: which subscribers a delivery job has still to try.

:meth:`Batches.queue` (called by ``hub.notify``) marks each subscriber's delivery queued
(``wf:websub:queued:<sub>``, so later changes ride along) and splits those not queued yet into
sets of at most ``websub_batch_size`` ids, ``wf:websub:batch:<batch>:1``; the rq job of a batch
carries only ``(batch, attempt)``. A delivery job records each outcome in the same ``MULTI`` that
takes the subscriber out of the set (:meth:`Batches.settle`): delivered, gone (410, the
subscription is removed), refused, or lease ended leave it; a failure moves it (``SMOVE``) to
the set of the batch's next attempt, retried after the next ``websub_retry_intervals`` step; a
failure of the last attempt stays, and the job ends failed in rq's registry (``wirefeed retry``
runs it again). So whatever kills a worker mid-batch, the batch's job (re-queued by the
reapers, :mod:`wirefeed.workers.liveness`) finds exactly the subscribers still to try.
"""

from __future__ import annotations

import time
import uuid
from collections import Counter
from collections.abc import Sequence
from dataclasses import dataclass

import redis

from wirefeed.config import defaults
from wirefeed.feeds.store import keys
from wirefeed.feeds.websub.store import Subscription, WebSubStore

FINAL = ("delivered", "gone", "refused", "expired", "missing")

FIELDS = ("topic", "slug", "fmt", "callback", "lease", "expires", "created", "secret")
"""What a delivery needs of a subscription, in the order :data:`_LOAD` returns them (the secret,
the one that may hold a newline, last)."""

# Each subscription (KEYS) as one string: its fields ARGV (FIELDS) joined by newlines ('' if it
# has none): one reply element per subscriber instead of a map (the parsing is the cost in Python).
_LOAD = """
local out = {}
for i, key in ipairs(KEYS) do
  local v = redis.call('HMGET', key, unpack(ARGV))
  if v[1] then
    for j = 1, #v do if not v[j] then v[j] = '' end end
    out[i] = table.concat(v, '\\n')
  else
    out[i] = ''
  end
end
return out
"""

# Record delivery attempts of the subscriptions that still exist: KEYS the subscriptions,
# ARGV[1] the time, ARGV[1 + i] the status of KEYS[i].
_RECORD = """
for i, key in ipairs(KEYS) do
  if redis.call('EXISTS', key) == 1 then
    redis.call('HSET', key, 'last_status', ARGV[i + 1], 'last_attempt', ARGV[1])
  end
end
return #KEYS
"""
"""Outcomes that end a subscriber's place in a batch (``failed`` moves it, or keeps it)."""


@dataclass(frozen=True, slots=True)
class Outcome:
    """How one delivery of a batch went."""

    sub_id: str
    result: str
    """``delivered``, ``gone``, ``refused``, ``expired``, ``missing`` (no subscription) or ``failed``."""
    status: str = ""
    """What to record as the subscription's ``last_status`` (an HTTP status or a short error)."""
    slug: str = ""
    callback: str = ""


class Batches:
    """Creates, reads and settles delivery batches."""

    def __init__(self, client: redis.Redis) -> None:
        self.r = client
        self.store = WebSubStore(client)
        self._load = client.register_script(_LOAD)

    def subscriptions(self, sub_ids: Sequence[str]) -> list[Subscription | None]:
        """The subscriptions ``sub_ids`` (``None`` where there is none; ``last_status`` not
        read), in one round trip and one reply element each."""
        if not sub_ids:
            return []
        out: list[Subscription | None] = []
        for sub_id, raw in zip(
            sub_ids, self._load(keys=[keys.websub_sub(s) for s in sub_ids], args=FIELDS), strict=True
        ):
            if not raw:
                out.append(None)
                continue
            topic, slug, fmt, callback, lease, expires, created, secret = raw.decode().split("\n", 7)
            sub = Subscription(
                sub_id, topic, slug, fmt, callback, secret or None, int(lease), int(expires), int(created)
            )
            out.append(sub)
        return out

    def queue(self, sub_ids: Sequence[str], size: int) -> list[str]:
        """Mark deliveries queued and put those not queued already into new batches of at most
        ``size``; return the batch ids (their first attempt's set holds them)."""
        pipe = self.r.pipeline(transaction=False)
        for sub_id in sub_ids:
            pipe.set(keys.websub_queued(sub_id), 1, nx=True, ex=defaults.WEBSUB_QUEUED_TTL)
        fresh = [s for s, ok in zip(sub_ids, pipe.execute(), strict=True) if ok]
        batch_ids = []
        pipe = self.r.pipeline(transaction=False)
        for start in range(0, len(fresh), max(1, size)):
            batch_id = uuid.uuid4().hex
            batch_ids.append(batch_id)
            pipe.sadd(keys.websub_batch(batch_id, 1), *fresh[start : start + size])
            pipe.expire(keys.websub_batch(batch_id, 1), defaults.WEBSUB_BATCH_TTL)
        pipe.execute()
        return batch_ids

    def drop(self, batch_ids: Sequence[str]) -> None:
        """Undo :meth:`queue` for batches whose jobs could not be queued."""
        for batch_id in batch_ids:
            members = self.pending(batch_id, 1)
            self.unmark_queued(members)
            self.r.delete(keys.websub_batch(batch_id, 1))

    def pending(self, batch_id: str, attempt: int) -> list[str]:
        """The subscription ids the batch's ``attempt`` has still to try."""
        return sorted(m.decode() for m in self.r.smembers(keys.websub_batch(batch_id, attempt)))

    def unmark_queued(self, sub_ids: Sequence[str]) -> None:
        """From now on a change of their topic queues another delivery."""
        if sub_ids:
            self.r.delete(*[keys.websub_queued(s) for s in sub_ids])

    def settle(
        self, batch_id: str, attempt: int, outcomes: Sequence[Outcome], retry_in: float | None
    ) -> None:
        """Record ``outcomes`` and take them out of the batch, in one ``MULTI``: a failure goes
        to the next attempt's set when there is one (``retry_in``: seconds until it starts),
        else stays."""
        if not outcomes:
            return
        now = time.time()
        here = keys.websub_batch(batch_id, attempt)
        after = keys.websub_batch(batch_id, attempt + 1)
        done = [o.sub_id for o in outcomes if o.result in FINAL]
        failed = [o.sub_id for o in outcomes if o.result not in FINAL]
        recorded = [o for o in outcomes if o.status]
        pipe = self.r.pipeline(transaction=True)
        if done:
            pipe.srem(here, *done)
        if failed and retry_in is not None:
            for sub_id in failed:
                pipe.smove(here, after, sub_id)
            pipe.expire(after, int(retry_in) + defaults.WEBSUB_BATCH_TTL)
        if recorded:
            # EVAL, not the registered script: in a pipeline redis-py would first ask SCRIPT
            # EXISTS, a round trip per settle; Redis keeps the compiled script by its hash.
            pipe.eval(
                _RECORD,
                len(recorded),
                *[keys.websub_sub(o.sub_id) for o in recorded],
                int(now),
                *[o.status for o in recorded],
            )
        for o in outcomes:
            if o.result == "gone":
                self.store.unsubscribe(o.sub_id, o.slug, callback=o.callback, client=pipe)
            elif o.result == "expired":
                self.store.unsubscribe(o.sub_id, o.slug, callback=o.callback, if_expired_by=now, client=pipe)
        for result, n in Counter(o.result for o in outcomes if o.result != "missing").items():
            pipe.hincrby(keys.METRIC_WEBSUB, result, n)
        pipe.execute()

    def waiting(self, batch_id: str, attempt: int) -> int:
        """How many subscribers the batch's ``attempt`` holds."""
        return int(self.r.scard(keys.websub_batch(batch_id, attempt)))

    def keep_failed(self, batch_id: str, attempt: int) -> None:
        """The batch's last attempt failed for some: keep them as long as rq keeps its job."""
        self.r.expire(keys.websub_batch(batch_id, attempt), defaults.FAILED_JOB_TTL)
