"""The WebSub hub's web side: taking (un)subscribe requests and queueing deliveries.

:func:`request` records a checked request and queues its verification; :func:`notify` (called
by the categorizer after it published) queues a delivery to each live subscriber of the touched
topics; :func:`status` says where a subscription stands. The jobs they queue, and the requests
to subscribers, run in the websub worker (:mod:`wirefeed.workers.websub`, with the pseudocode of it all).
"""

from __future__ import annotations

import time
import uuid
from collections.abc import Iterable
from datetime import UTC, datetime, timedelta
from functools import lru_cache
from typing import Any

import redis
from rq import Queue

from wirefeed.config import defaults
from wirefeed.config.settings import Settings
from wirefeed.errors import CallbackRefused
from wirefeed.feeds.queue.jobs import job_options
from wirefeed.feeds.store import keys
from wirefeed.feeds.websub.batches import Batches
from wirefeed.feeds.websub.net import Policy, Target, check_callback, precheck_callback
from wirefeed.feeds.websub.store import Intent, WebSubStore, subscription_id


@lru_cache(maxsize=8)
def _policy(allow_private: bool, allow: tuple[str, ...]) -> Policy:
    return Policy.from_settings(allow_private, allow)


def policy(settings: Settings) -> Policy:
    """The callback allow-list of these settings."""
    return _policy(settings.websub_allow_private, tuple(settings.websub_allow))


def callback_target(settings: Settings, callback: str) -> Target:
    """Check a callback against the allow-list, resolving its host now (the websub worker)."""
    return check_callback(callback, policy(settings))


def precheck(settings: Settings, callback: str) -> None:
    """What the web request checks of a callback: its form, and its address when written as one;
    no DNS lookup (raise :class:`CallbackRefused`)."""
    precheck_callback(callback, policy(settings))


def grant_lease(settings: Settings, requested: int | None) -> int:
    if requested is None:
        return settings.websub_lease_seconds
    return max(settings.websub_lease_min, min(settings.websub_lease_max, requested))


def _queue(client: redis.Redis) -> Queue:
    return Queue(keys.WEBSUB_QUEUE, connection=client)


# -- web service ---------------------------------------------------------------------------


def request(
    client: redis.Redis,
    settings: Settings,
    *,
    mode: str,
    topic: str,
    slug: str,
    fmt: str,
    callback: str,
    lease: int,
    secret: str | None,
) -> str:
    """Record an (un)subscribe request and queue its verification; return the subscription id.

    The caller has checked the topic and the callback (:func:`precheck`). A subscribe request
    for a new subscription that would not fit under the caps raises :class:`CallbackRefused`
    (the worker checks the caps again when it stores the subscription).
    """
    sub_id = subscription_id(topic, callback)
    if mode == "subscribe":
        full = WebSubStore(client).room(
            sub_id, callback, settings.websub_max_per_host, settings.websub_max_subscriptions
        )
        if full is not None:
            raise CallbackRefused(full)
    req = uuid.uuid4().hex
    WebSubStore(client).put_intent(
        Intent(sub_id, req, mode, topic, slug, fmt, callback, lease, secret if mode == "subscribe" else None)
    )
    _queue(client).enqueue_call(
        keys.WEBSUB_VERIFY_JOB,
        args=(sub_id, req),
        job_id=f"websub-verify-{req}",
        **job_options(settings, defaults.WEBSUB_JOB_TIMEOUT),
    )
    maybe_sweep(client, settings)
    return sub_id


def maybe_sweep(client: redis.Redis, settings: Settings) -> None:
    """Queue a sweep of ended leases, at most once per ``websub_sweep_seconds``."""
    if client.set(keys.WEBSUB_SWEEP, 1, nx=True, ex=max(1, settings.websub_sweep_seconds)):
        _queue(client).enqueue_call(
            keys.WEBSUB_SWEEP_JOB, timeout=defaults.WEBSUB_JOB_TIMEOUT, result_ttl=settings.result_ttl
        )


def status(client: redis.Redis, topic: str, callback: str) -> dict[str, Any]:
    """Where a (topic, callback) pair stands: its latest request and its subscription, if any."""
    store = WebSubStore(client)
    sub_id = subscription_id(topic, callback)
    intent = store.intent(sub_id)
    sub = store.get(sub_id)
    return {
        "id": sub_id,
        "intent": None
        if intent is None
        else {"mode": intent.mode, "state": intent.state, "reason": intent.reason},
        "subscription": None
        if sub is None
        else {"expires": sub.expires, "lease": sub.lease, "last_status": sub.last_status},
    }


# -- categorizer hook ------------------------------------------------------------------------


def notify(client: redis.Redis, settings: Settings, slugs: Iterable[str]) -> None:
    """Queue deliveries to every live subscriber of the topics ``slugs`` (feeds just published):
    one delivery job per batch of at most ``websub_batch_size`` subscribers.

    Costs one ``SMEMBERS`` when nobody subscribed to any feed. Deliveries are coalesced: a
    subscriber whose delivery is queued and not started yet gets no second one (the queued one
    sends the document current when it runs).
    """
    wanted = set(slugs)
    if not wanted:
        return
    subscribed = client.smembers(keys.WEBSUB_TOPICS)
    if not subscribed:
        return
    hits = sorted(wanted.intersection(s.decode() for s in subscribed))
    if hits:
        live = WebSubStore(client).live(hits, time.time())
        ids = [sub for slug in hits for sub in live[slug]]
        batches = Batches(client)
        size = settings.websub_batch_size
        for start in range(0, len(ids), size):  # the first batch's job is queued before the rest
            batch_ids = batches.queue(ids[start : start + size], size)
            try:
                _queue(client).enqueue_many([_batch_job(settings, b, 1) for b in batch_ids])
            except BaseException:
                batches.drop(batch_ids)
                raise
    maybe_sweep(client, settings)


def _batch_job(settings: Settings, batch_id: str, attempt: int, job_id: str | None = None) -> Any:
    return Queue.prepare_data(
        keys.WEBSUB_BATCH_JOB,
        args=(batch_id, attempt),
        job_id=job_id or f"websub-batch-{batch_id}-{attempt}",
        **job_options(settings, defaults.WEBSUB_JOB_TIMEOUT),
    )


def queue_batch(
    client: redis.Redis,
    settings: Settings,
    batch_id: str,
    attempt: int,
    *,
    delay: float = 0,
    rest: bool = False,
) -> None:
    """Queue the delivery job of a batch's ``attempt``: in ``delay`` seconds (rq's scheduler), or
    now. Its job id is the batch's and attempt's, so queueing it twice queues it once; ``rest``:
    the rest of a batch whose job ran out of time (a new id)."""
    job_id = f"websub-batch-{batch_id}-{attempt}-{uuid.uuid4().hex[:8]}" if rest else None
    data = _batch_job(settings, batch_id, attempt, job_id)
    queue = _queue(client)
    if delay <= 0:
        queue.enqueue_many([data])
        return
    job = queue.create_job(
        data.func, args=data.args, job_id=data.job_id, timeout=data.timeout,
        result_ttl=data.result_ttl, failure_ttl=data.failure_ttl,
    )  # fmt: skip
    queue.schedule_job(job, datetime.now(UTC) + timedelta(seconds=delay))
