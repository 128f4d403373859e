"""The WebSub hub's work (W3C WebSub): verifying intents, distributing content, ending leases.

In pseudocode (each step names the function that runs it)::

    request(mode, topic, callback, lease, secret)       # web service, POST /websub (websub_bp)
        topic is <base>/feeds/<slug>.<fmt> of a known feed; callback passes check_callback
        HSET wf:websub:intent:<sub> req=<random> ...    #   the latest request for (topic, callback)
        enqueue verify_job(sub, req)                    #   -> websub queue; the hub answers 202

    run_verify(sub, req)                                # websub worker
        check_callback again                            #   DNS may have changed since
        GET callback?hub.mode&hub.topic&hub.challenge&hub.lease_seconds
        2xx and the body is the challenge?              #   else: not (un)subscribed, state=failed
            subscribe:   HSET wf:websub:sub:<sub>, ZADD wf:websub:subs:<slug> <sub> expires,
                         SADD wf:websub:topics <slug>
            unsubscribe: remove them (Lua: the slug leaves the set with its last subscriber)

    notify(slugs)                                       # categorizer, after publish(touched)
        SMEMBERS wf:websub:topics                       #   nobody subscribed: done, one round trip
        live subscriptions of the touched slugs; ended leases removed on the way
        SET wf:websub:queued:<sub> NX                   #   a queued delivery already covers it
        enqueue deliver_job(sub) ...                    #   -> websub queue, rq Retry with backoff

    run_deliver(sub)                                    # websub worker
        DEL wf:websub:queued:<sub>                      #   later changes queue a new delivery
        lease ended -> remove; no subscription -> done
        body = the current stored feed document (rendered if missing)
        check_callback again, POST body with Content-Type, Link rel=hub/self, X-Hub-Signature
        2xx -> done; 410 -> unsubscribe; else raise      #   rq retries after the next interval

    run_sweep()                                         # websub worker, at most once per
        remove every ended lease                        #   websub_sweep_seconds (maybe_sweep)

Retries with intervals are rq scheduled jobs: the worker serving the websub queue must run
rq's scheduler (``Worker.work(with_scheduler=True)``), or failed deliveries are never retried.
"""

from __future__ import annotations

import logging
import secrets
import time
import uuid
from collections.abc import Iterable
from functools import lru_cache
from typing import Any
from urllib.parse import urlencode

import redis
from rq import Queue, Retry

from config.settings import Settings
from feeds import keys
from feeds.errors import WirefeedError
from feeds.publish import publish
from feeds.render import MEDIA_TYPES
from feeds.websub import Intent, Subscription, WebSubStore, hub_url, signature, subscription_id
from feeds.websub_net import (
    CallbackRefused,
    CallbackUnresolvable,
    Policy,
    Target,
    check_callback,
    send,
)
from workers.context import WorkerContext, current

log = logging.getLogger(__name__)

JOB_TIMEOUT = 120
"""Seconds an rq WebSub job may run (each request has its own, shorter, timeout)."""

FAILURE_TTL = 7 * 86400
"""Seconds a delivery that failed every retry stays in rq's failed registry."""


class DeliveryFailed(WirefeedError):
    """A callback did not take a delivery (rq retries the job)."""


@lru_cache(maxsize=8)
def _policy(allow_private: bool, allow: tuple[str, ...]) -> Policy:
    return Policy.from_settings(allow_private, allow)


def policy(settings: Settings) -> Policy:
    """The callback allow-list of these settings."""
    return _policy(settings.websub_allow_private, tuple(settings.websub_allow))


def callback_target(settings: Settings, callback: str) -> Target:
    """Check a callback against the allow-list (resolving its host now)."""
    return check_callback(callback, policy(settings))


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

    The caller has checked the topic and the callback (:func:`callback_target`).
    """
    sub_id = subscription_id(topic, callback)
    req = uuid.uuid4().hex
    WebSubStore(client).put_intent(
        Intent(sub_id, req, mode, topic, slug, fmt, callback, lease, secret if mode == "subscribe" else None)
    )
    _queue(client).enqueue_call(
        "workers.websub.verify_job",
        args=(sub_id, req),
        job_id=f"websub-verify-{req}",
        timeout=JOB_TIMEOUT,
        result_ttl=settings.result_ttl,
        failure_ttl=FAILURE_TTL,
    )
    maybe_sweep(client, settings)
    return sub_id


def maybe_sweep(client: redis.Redis, settings: Settings) -> None:
    """Queue a sweep of ended leases, at most once per ``websub_sweep_seconds``."""
    if client.set(keys.WEBSUB_SWEEP, 1, nx=True, ex=max(1, settings.websub_sweep_seconds)):
        _queue(client).enqueue_call(
            "workers.websub.sweep_job", timeout=JOB_TIMEOUT, result_ttl=settings.result_ttl
        )


# -- categorizer hook ------------------------------------------------------------------------


def notify(client: redis.Redis, settings: Settings, slugs: Iterable[str]) -> None:
    """Queue a delivery to every live subscriber of the topics ``slugs`` (feeds just published).

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
        store = WebSubStore(client)
        live = store.live(hits, time.time())
        fresh = store.mark_queued([sub for slug in hits for sub in live[slug]])
        if fresh:
            try:
                _enqueue_deliveries(client, settings, fresh)
            except BaseException:
                store.unmark_queued(fresh)
                raise
    maybe_sweep(client, settings)


def _enqueue_deliveries(client: redis.Redis, settings: Settings, sub_ids: list[str]) -> None:
    intervals = list(settings.websub_retry_intervals)
    retry = Retry(max=len(intervals), interval=intervals) if intervals else None
    _queue(client).enqueue_many(
        [
            Queue.prepare_data(
                "workers.websub.deliver_job",
                args=(sub_id,),
                timeout=JOB_TIMEOUT,
                result_ttl=settings.result_ttl,
                failure_ttl=FAILURE_TTL,
                retry=retry,
            )
            for sub_id in sub_ids
        ]
    )


# -- rq jobs (websub queue) ------------------------------------------------------------------


def verify_job(sub_id: str, req: str) -> dict[str, str]:
    """Verify the intent of an (un)subscribe request, then (un)subscribe."""
    return run_verify(current(), sub_id, req)


def deliver_job(sub_id: str) -> dict[str, str]:
    """Send a subscriber the current document of its topic."""
    return run_deliver(current(), sub_id)


def sweep_job() -> dict[str, int]:
    """Remove every subscription whose lease ended."""
    return {"removed": WebSubStore(current().redis).sweep(time.time())}


def run_verify(ctx: WorkerContext, sub_id: str, req: str) -> dict[str, str]:
    store = WebSubStore(ctx.redis)
    intent = store.intent(sub_id)
    if intent is None or intent.req != req:
        return {"state": "superseded"}
    state, reason = _verify(ctx.settings, intent)
    if state == "verified" and store.finish_intent(sub_id, req, state, reason):
        if intent.mode == "subscribe":
            now = int(time.time())
            store.subscribe(
                Subscription(
                    id=sub_id,
                    topic=intent.topic,
                    slug=intent.slug,
                    fmt=intent.fmt,
                    callback=intent.callback,
                    secret=intent.secret,
                    lease=intent.lease,
                    expires=now + intent.lease,
                    created=now,
                )
            )
        else:
            store.unsubscribe(sub_id, intent.slug)
    elif state != "verified":
        store.finish_intent(sub_id, req, state, reason)
    log.info("websub %s %s %s: %s %s", intent.mode, intent.topic, intent.callback, state, reason)
    return {"state": state, "reason": reason}


def _verify(settings: Settings, intent: Intent) -> tuple[str, str]:
    """``("verified", "")`` if the subscriber echoed the challenge, else ``("failed", why)``."""
    challenge = secrets.token_urlsafe(24)
    params = {"hub.mode": intent.mode, "hub.topic": intent.topic, "hub.challenge": challenge}
    if intent.mode == "subscribe":
        params["hub.lease_seconds"] = str(intent.lease)
    try:
        target = callback_target(settings, intent.callback)
        path = target.path + ("&" if "?" in target.path else "?") + urlencode(params)
        answer = send(target, "GET", timeout=settings.websub_timeout, path=path)
    except (CallbackRefused, CallbackUnresolvable) as exc:
        return "failed", str(exc)
    except Exception as exc:  # any network or protocol failure: not verified
        return "failed", f"verification request failed: {type(exc).__name__}: {exc}"
    if not 200 <= answer.status < 300:
        return "failed", f"callback answered {answer.status}"
    if answer.body.strip() != challenge.encode():
        return "failed", "callback did not echo hub.challenge"
    return "verified", ""


def run_deliver(ctx: WorkerContext, sub_id: str) -> dict[str, str]:
    settings = ctx.settings
    store = WebSubStore(ctx.redis)
    store.unmark_queued([sub_id])  # from now on, a change queues another delivery
    sub = store.get(sub_id)
    if sub is None:
        return {"status": "no subscription"}
    if sub.expired(time.time()):
        store.unsubscribe(sub.id, sub.slug, if_expired_by=time.time())
        return {"status": "lease ended"}
    body = _current_body(ctx, sub.slug, sub.fmt)
    headers = {
        "Content-Type": MEDIA_TYPES[sub.fmt],
        "Link": f'<{hub_url(settings.base_url)}>; rel="hub", <{sub.topic}>; rel="self"',
    }
    if sub.secret:
        headers["X-Hub-Signature"] = signature(sub.secret, body)
    try:
        target = callback_target(settings, sub.callback)
    except CallbackRefused as exc:  # now resolves somewhere it may not go: skip, do not retry
        store.record_attempt(sub.id, f"refused: {exc}")
        log.warning("websub delivery to %s refused: %s", sub.callback, exc)
        return {"status": "refused"}
    try:
        answer = send(target, "POST", timeout=settings.websub_timeout, headers=headers, body=body)
    except Exception as exc:
        store.record_attempt(sub.id, f"{type(exc).__name__}: {exc}")
        raise DeliveryFailed(f"delivery to {sub.callback} failed: {exc}") from exc
    store.record_attempt(sub.id, str(answer.status))
    if 200 <= answer.status < 300:
        return {"status": str(answer.status)}
    if answer.status == 410:  # Gone: the subscriber does not want it any more
        store.unsubscribe(sub.id, sub.slug)
        return {"status": "410: unsubscribed"}
    raise DeliveryFailed(f"delivery to {sub.callback} answered {answer.status}")


def _current_body(ctx: WorkerContext, slug: str, fmt: str) -> bytes:
    doc = ctx.store.get_feed_doc(slug, fmt)
    if doc is None or doc.changed < ctx.store.changed(slug):
        # never rendered, or older than its topic (two publishes raced): render it now, as the
        # feed URL would
        publish(ctx.store, ctx.taxonomy, ctx.settings, [slug])
        doc = ctx.store.get_feed_doc(slug, fmt)
    if doc is None:
        raise DeliveryFailed(f"no feed document for {slug}.{fmt}")
    return doc.body


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
