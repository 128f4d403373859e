"""The WebSub hub's rq jobs (W3C WebSub): verifying intents, distributing content, ending leases.

In pseudocode (each step names the function, and the module, that runs it)::

    request(mode, topic, callback, lease, secret)       # feeds.websub.hub, in the web service
        rate limits: per client, then all clients        # POST /websub (services.websub_bp)
        topic is <base>/feeds/<slug>.<fmt> of a known feed
        callback passes precheck_callback (feeds.websub.net): its form, an address written
            in it; no DNS lookup in the web request
        subscribe: a new subscription fits under the caps (per callback host, in total)
        HSET wf:websub:intent:<sub> req=<random> ...    #   the latest request for (topic, callback)
        enqueue verify_job(sub, req)                    #   -> websub queue; the hub answers 202

    run_verify(sub, req)                                # websub worker
        check_callback                                  #   resolve the host, every address allowed
        GET callback?hub.mode&hub.topic&hub.challenge&hub.lease_seconds
        2xx and the body is the challenge?              #   else: not (un)subscribed, state=failed
            subscribe:   (one Lua step) unless a newer request came, or it is new and a cap
                         is full (then state=failed): HSET wf:websub:sub:<sub>,
                         ZADD wf:websub:subs:<slug> <sub> expires, SADD wf:websub:topics <slug>,
                         ZADD wf:websub:host:<host> and wf:websub:all, intent state=verified
            unsubscribe: remove them (Lua: the slug leaves the set with its last subscriber)

    notify(slugs)                                       # feeds.websub.hub, in the categorizer,
        SMEMBERS wf:websub:topics                       #   after publish(touched); nobody
                                                        #   subscribed: done, one round trip
        live subscriptions of the touched slugs; ended leases removed on the way
        SET wf:websub:queued:<sub> NX                   #   a queued delivery already covers it
        SADD wf:websub:batch:<batch>:1 <sub> ...        #   batches of websub_batch_size
        enqueue deliver_batch_job(batch, 1) ...         #   -> websub queue, one job per batch

    run_batch(batch, attempt)                           # websub worker (workers.delivery, with
        the subscribers left in the batch               #   its own pseudocode): concurrent,
        each: the current document of its topic,        #   kept-alive, pinned connections
        check_callback, POST body with Content-Type, Link rel=hub/self, X-Hub-Signature
        2xx -> done; 410 -> unsubscribe; refused -> done; else -> the batch's next attempt,
        queued after the next retry interval; the last attempt's failures fail the job

    sweep_job()                                         # websub worker, queued at most once per
        remove every ended lease                        #   websub_sweep_seconds (hub.maybe_sweep)

Retries with intervals are rq scheduled jobs: the worker serving the websub queue must run
rq's scheduler (``Worker.work(with_scheduler=True)``), or failed deliveries are never retried.
Subscriptions and intents in Redis are :mod:`wirefeed.feeds.websub.store`.
"""

from __future__ import annotations

import logging
import secrets
import time
from urllib.parse import urlencode

from wirefeed.config.settings import Settings
from wirefeed.errors import CallbackRefused, CallbackUnresolvable
from wirefeed.feeds.websub.batches import Batches
from wirefeed.feeds.websub.hub import callback_target
from wirefeed.feeds.websub.net import send
from wirefeed.feeds.websub.store import SUPERSEDED, Intent, Subscription, WebSubStore
from wirefeed.workers.context import WorkerContext, current
from wirefeed.workers.delivery import run_batch

log = logging.getLogger(__name__)


def verify_job(sub_id: str, req: str) -> dict[str, str]:
    """Verify the intent of an (un)subscribe request, then (un)subscribe."""
    return run_verify(current(), sub_id, req)


def deliver_batch_job(batch_id: str, attempt: int) -> dict[str, int]:
    """Send the subscribers left in a batch the current documents of their topics."""
    return run_batch(current(), batch_id, attempt)


def deliver_job(sub_id: str) -> dict[str, int]:
    """A delivery to one subscriber queued before batches: made as a batch of one."""
    return run_deliver(current(), sub_id)


def sweep_job() -> dict[str, int]:
    """Remove every subscription whose lease ended."""
    return {"removed": WebSubStore(current().redis).sweep(time.time())}


def run_deliver(ctx: WorkerContext, sub_id: str) -> dict[str, int]:
    """Deliver to one subscriber now, as a batch of one (its retries are the batch's)."""
    batches = Batches(ctx.redis)
    batches.unmark_queued([sub_id])
    counts: dict[str, int] = {}
    for batch_id in batches.queue([sub_id], 1):
        counts = run_batch(ctx, batch_id, 1)
    return counts


def run_verify(ctx: WorkerContext, sub_id: str, req: str) -> dict[str, str]:
    store = WebSubStore(ctx.redis)
    intent = store.intent(sub_id)
    if intent is None or intent.req != req:
        return {"state": "superseded"}
    state, reason = _verify(ctx.settings, intent)
    if state == "verified" and intent.mode == "subscribe":
        now = int(time.time())
        # Stored, and the intent marked verified, at once (Lua): a status read never sees a
        # verified intent without its subscription. Nothing happens if a newer request came.
        refused = store.subscribe(
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
            ),
            req=req,
            max_per_host=ctx.settings.websub_max_per_host,
            max_total=ctx.settings.websub_max_subscriptions,
        )
        if refused is not None and refused != SUPERSEDED:  # a cap is full
            state, reason = "failed", refused
            store.finish_intent(sub_id, req, state, reason)
    elif state == "verified":
        if store.current_request(sub_id) == req:  # removed first: verified means gone
            store.unsubscribe(sub_id, intent.slug, callback=intent.callback)
            store.finish_intent(sub_id, req, state, reason)
    else:
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
