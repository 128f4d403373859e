"""Baseline of the push scenario: WebSub delivery as it was before batching (issue #18).

One rq job per subscriber (``deliver_job(sub_id)``, with rq's ``Retry`` for the backoff), each
opening its own connection (``Connection: close``, :func:`wirefeed.feeds.websub.net.send`), run
by the shipped websub worker (rq ``SimpleWorker``, no fork). This module keeps that code for the
bench only: :func:`notify` is the old categorizer hook, and ``python -m bench.baseline_websub``
runs an express worker whose publishes call it instead of ``hub.notify``. Both designs use the
same subscriptions, the same coalescing marker and the same stored documents.

    REDIS_URL=... python -m bench.baseline_websub          # the express worker of the old design
"""

from __future__ import annotations

import time
from collections.abc import Iterable

import redis
from rq import Queue, Retry

from wirefeed.config import defaults
from wirefeed.config.settings import Settings
from wirefeed.errors import CallbackRefused, DeliveryFailed
from wirefeed.feeds.queue.jobs import job_options
from wirefeed.feeds.render.formats import MEDIA_TYPES
from wirefeed.feeds.store import keys, metrics
from wirefeed.feeds.websub import hub
from wirefeed.feeds.websub.batches import Batches
from wirefeed.feeds.websub.net import send
from wirefeed.feeds.websub.store import WebSubStore, hub_url, signature
from wirefeed.workers.context import current
from wirefeed.workers.delivery import _current_body
from wirefeed.workers.runner import run_worker

DELIVER_JOB = "bench.baseline_websub.deliver_job"


def notify(client: redis.Redis, settings: Settings, slugs: Iterable[str]) -> None:
    """The old hook: one delivery job per live subscriber of the touched topics."""
    wanted = set(slugs)
    subscribed = client.smembers(keys.WEBSUB_TOPICS) if wanted else set()
    hits = sorted(wanted.intersection(s.decode() for s in subscribed))
    if not hits:
        return
    live = WebSubStore(client).live(hits, time.time())
    batches = Batches(client)
    pipe = client.pipeline(transaction=False)
    ids = [sub for slug in hits for sub in live[slug]]
    for sub_id in ids:
        pipe.set(keys.websub_queued(sub_id), 1, nx=True, ex=defaults.WEBSUB_QUEUED_TTL)
    fresh = [s for s, ok in zip(ids, pipe.execute(), strict=True) if ok]
    intervals = list(settings.websub_retry_intervals)
    retry = Retry(max=len(intervals), interval=intervals) if intervals else None
    try:
        Queue(keys.WEBSUB_QUEUE, connection=client).enqueue_many(
            [
                Queue.prepare_data(
                    DELIVER_JOB,
                    args=(sub_id,),
                    **job_options(settings, defaults.WEBSUB_JOB_TIMEOUT),
                    retry=retry,
                )
                for sub_id in fresh
            ]
        )
    except BaseException:
        batches.unmark_queued(fresh)
        raise


def deliver_job(sub_id: str) -> dict[str, str]:
    """The old delivery job: one subscriber, one connection."""
    ctx = current()
    settings = ctx.settings
    store = WebSubStore(ctx.redis)
    Batches(ctx.redis).unmark_queued([sub_id])
    sub = store.get(sub_id)
    if sub is None:
        return {"status": "no subscription"}
    body = _current_body(ctx, sub.slug, sub.fmt) or b""
    headers = {
        "Content-Type": MEDIA_TYPES[sub.fmt],
        "Link": f'<{hub_url(settings.base_url)}>; rel="hub", <{sub.topic}>; rel="self"',
    }
    if sub.secret:
        headers["X-Hub-Signature"] = signature(sub.secret, body)
    try:
        target = hub.callback_target(settings, sub.callback)
    except CallbackRefused:
        metrics.count_websub(ctx.redis, "refused")
        return {"status": "refused"}
    try:
        answer = send(target, "POST", timeout=settings.websub_timeout, headers=headers, body=body)
    except Exception as exc:
        store.record_attempt(sub.id, f"{type(exc).__name__}: {exc}")
        metrics.count_websub(ctx.redis, "failed")
        raise DeliveryFailed(f"delivery to {sub.callback} failed: {exc}") from exc
    store.record_attempt(sub.id, str(answer.status))
    if 200 <= answer.status < 300:
        metrics.count_websub(ctx.redis, "delivered")
        return {"status": str(answer.status)}
    metrics.count_websub(ctx.redis, "failed")
    raise DeliveryFailed(f"delivery to {sub.callback} answered {answer.status}")


def main() -> int:
    """An express worker whose publishes queue the old per-subscriber jobs."""
    hub.notify = notify  # type: ignore[assignment]  # the categorizer calls hub.notify(...)
    run_worker(Settings.from_env(), ["express"])
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
