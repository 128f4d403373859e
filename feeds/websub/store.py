"""WebSub hub state in Redis: subscriptions, pending intents, and the small pure helpers.

A subscription is identified by its (topic, callback) pair (W3C WebSub §5.1: subscribing again
renews it); its id is a hash of the pair. Keys are spelled in :mod:`wirefeed.feeds.store.keys`:

- ``wf:websub:topics``: the slugs that have subscriptions, so a publish with no subscriber
  costs one ``SMEMBERS``;
- ``wf:websub:subs:<slug>``: the subscription ids of a topic, scored by lease expiry;
- ``wf:websub:sub:<id>``: the subscription itself (it also expires by itself shortly after its
  lease, so nothing is kept forever even if no sweep runs);
- ``wf:websub:intent:<id>``: the latest (un)subscribe request and how its verification went;
- ``wf:websub:all`` and ``wf:websub:host:<host>``: every subscription id and those of one
  callback host, scored by lease expiry, for the caps (``websub_max_subscriptions``,
  ``websub_max_per_host``); ended leases leave them lazily (a count prunes them first).

Storing and removal are Lua scripts, so the topic set never loses a slug that still has
subscribers and two verifications cannot both take the last place under a cap.
"""

from __future__ import annotations

import hashlib
import hmac
import time
from collections.abc import Iterable, Sequence
from dataclasses import dataclass

import redis

from wirefeed.config import defaults
from wirefeed.feeds.store import keys
from wirefeed.feeds.websub.net import callback_host


def hub_url(base_url: str) -> str:
    """The hub's URL, as feeds advertise it (``Link: <...>; rel="hub"``)."""
    return f"{base_url}/websub"


def subscription_id(topic: str, callback: str) -> str:
    return hashlib.sha256(f"{topic}\n{callback}".encode()).hexdigest()[:32]


def parse_topic(base_url: str, topic: str) -> tuple[str, str] | None:
    """``(slug, fmt)`` of a topic URL ``<base_url>/feeds/<slug>.<fmt>``, else ``None``.

    The caller checks that the slug is a feed and the format one served.
    """
    prefix = f"{base_url}/feeds/"
    if not topic.startswith(prefix):
        return None
    slug, dot, fmt = topic[len(prefix) :].rpartition(".")
    if not dot or not slug or "/" in slug or "?" in topic or "#" in topic:
        return None
    return slug, fmt


def signature(secret: str, body: bytes) -> str:
    """``X-Hub-Signature`` value: ``sha256=`` and the hex HMAC-SHA256 of the body."""
    return "sha256=" + hmac.new(secret.encode("utf-8"), body, hashlib.sha256).hexdigest()


@dataclass(frozen=True, slots=True)
class Subscription:
    id: str
    topic: str
    slug: str
    fmt: str
    callback: str
    secret: str | None
    lease: int
    """Seconds granted."""
    expires: int
    """Seconds since the epoch when the lease ends."""
    created: int
    last_status: str = ""
    """Outcome of the last delivery attempt: an HTTP status or a short error."""

    def expired(self, now: float) -> bool:
        return self.expires <= now


@dataclass(frozen=True, slots=True)
class Intent:
    """An (un)subscribe request waiting for (or done with) verification of intent."""

    sub_id: str
    req: str
    """Random id of this request: a verification job acts only on the request it was made for."""
    mode: str
    topic: str
    slug: str
    fmt: str
    callback: str
    lease: int
    secret: str | None
    state: str = "pending"
    """``pending``, ``verified`` or ``failed``."""
    reason: str = ""


# Remove a subscription; with ARGV[3] set, only if its lease (score) ended by then.
# KEYS: the topic's subscriptions, the topic set, the subscription, every subscription[, its host's].
_REMOVE = """
if ARGV[3] ~= '' then
  local score = redis.call('ZSCORE', KEYS[1], ARGV[1])
  if score and tonumber(score) > tonumber(ARGV[3]) then return 0 end
end
local n = redis.call('ZREM', KEYS[1], ARGV[1])
redis.call('DEL', KEYS[3])
redis.call('ZREM', KEYS[4], ARGV[1])
if KEYS[5] then redis.call('ZREM', KEYS[5], ARGV[1]) end
if redis.call('ZCARD', KEYS[1]) == 0 then redis.call('SREM', KEYS[2], ARGV[2]) end
return n
"""

# Store (or renew) a subscription unless its request was superseded ('superseded') or it is
# new and a cap is full ('host' or 'all'); with a request id, mark that intent verified.
# KEYS: the subscription, the topic's subscriptions, the topic set, its host's, every one, the
# intent. ARGV: now, host cap, total cap (-1: none), id, expires, slug, hash expiry, request id
# ('': none), field, value, ...
_SUBSCRIBE = """
if ARGV[8] ~= '' and redis.call('HGET', KEYS[6], 'req') ~= ARGV[8] then return 'superseded' end
redis.call('ZREMRANGEBYSCORE', KEYS[4], '-inf', ARGV[1])
redis.call('ZREMRANGEBYSCORE', KEYS[5], '-inf', ARGV[1])
if not redis.call('ZSCORE', KEYS[5], ARGV[4]) then
  local host_cap, all_cap = tonumber(ARGV[2]), tonumber(ARGV[3])
  if host_cap >= 0 and redis.call('ZCARD', KEYS[4]) >= host_cap then return 'host' end
  if all_cap >= 0 and redis.call('ZCARD', KEYS[5]) >= all_cap then return 'all' end
end
redis.call('DEL', KEYS[1])
redis.call('HSET', KEYS[1], unpack(ARGV, 9))
redis.call('EXPIREAT', KEYS[1], ARGV[7])
redis.call('ZADD', KEYS[2], ARGV[5], ARGV[4])
redis.call('SADD', KEYS[3], ARGV[6])
redis.call('ZADD', KEYS[4], ARGV[5], ARGV[4])
redis.call('ZADD', KEYS[5], ARGV[5], ARGV[4])
if ARGV[8] ~= '' then
  redis.call('HSET', KEYS[6], 'state', 'verified', 'reason', '')
  redis.call('HDEL', KEYS[6], 'secret')
end
return 'ok'
"""

SUPERSEDED = "superseded: a newer request for this subscription came"
"""What :meth:`WebSubStore.subscribe` says when the request it was to store is not the latest."""

# Take a slug out of the topic set if it has no subscription left.
_DROP_EMPTY = """
if redis.call('ZCARD', KEYS[1]) == 0 then return redis.call('SREM', KEYS[2], ARGV[1]) end
return 0
"""

# HSET on a hash only if it still exists (a removed subscription is not brought back).
_UPDATE_IF_EXISTS = """
if redis.call('EXISTS', KEYS[1]) == 0 then return 0 end
redis.call('HSET', KEYS[1], unpack(ARGV))
return 1
"""

# Record a verification outcome only if the intent is still the request verified (ARGV[1]).
_FINISH_INTENT = """
if redis.call('HGET', KEYS[1], 'req') ~= ARGV[1] then return 0 end
redis.call('HSET', KEYS[1], 'state', ARGV[2], 'reason', ARGV[3])
redis.call('HDEL', KEYS[1], 'secret')
return 1
"""


def _full(host_full: bool, all_full: bool, host: str, per_host: int | None, total: int | None) -> str | None:
    if host_full:
        return f"callback host {host!r} holds {per_host} subscriptions, the most one host may"
    if all_full:
        return f"the hub holds {total} subscriptions, the most it takes"
    return None


class WebSubStore:
    """Reads and writes the hub's subscriptions and intents."""

    def __init__(self, client: redis.Redis) -> None:
        self.r = client
        self._remove = client.register_script(_REMOVE)
        self._drop_empty = client.register_script(_DROP_EMPTY)
        self._update = client.register_script(_UPDATE_IF_EXISTS)
        self._finish = client.register_script(_FINISH_INTENT)
        self._subscribe = client.register_script(_SUBSCRIBE)

    # -- intents -----------------------------------------------------------------
    def put_intent(self, intent: Intent) -> None:
        key = keys.websub_intent(intent.sub_id)
        fields = {
            "req": intent.req,
            "mode": intent.mode,
            "topic": intent.topic,
            "slug": intent.slug,
            "fmt": intent.fmt,
            "callback": intent.callback,
            "lease": intent.lease,
            "state": intent.state,
            "reason": intent.reason,
            "requested": int(time.time()),
        }
        if intent.secret is not None:
            fields["secret"] = intent.secret
        pipe = self.r.pipeline(transaction=True)
        pipe.delete(key)
        pipe.hset(key, mapping=fields)
        pipe.expire(key, defaults.WEBSUB_INTENT_TTL)
        pipe.execute()

    def intent(self, sub_id: str) -> Intent | None:
        raw = {k.decode(): v.decode() for k, v in self.r.hgetall(keys.websub_intent(sub_id)).items()}
        if not raw:
            return None
        return Intent(
            sub_id=sub_id,
            req=raw["req"],
            mode=raw["mode"],
            topic=raw["topic"],
            slug=raw["slug"],
            fmt=raw["fmt"],
            callback=raw["callback"],
            lease=int(raw["lease"]),
            secret=raw.get("secret"),
            state=raw.get("state", "pending"),
            reason=raw.get("reason", ""),
        )

    def current_request(self, sub_id: str) -> str | None:
        """The id of the latest (un)subscribe request for ``sub_id``."""
        req = self.r.hget(keys.websub_intent(sub_id), "req")
        return None if req is None else req.decode()

    def finish_intent(self, sub_id: str, req: str, state: str, reason: str = "") -> bool:
        """Record how verification went (and forget the secret), unless a newer request came."""
        return bool(self._finish(keys=[keys.websub_intent(sub_id)], args=[req, state, reason]))

    # -- subscriptions -------------------------------------------------------------
    def subscribe(
        self,
        sub: Subscription,
        *,
        req: str | None = None,
        max_per_host: int | None = None,
        max_total: int | None = None,
    ) -> str | None:
        """Store (or renew) a verified subscription; a new one only while its callback host holds
        fewer than ``max_per_host`` and the hub fewer than ``max_total`` (``None``: no cap). With
        ``req``, only if that is still the latest request, whose intent is then marked verified
        in the same step. Return ``None`` when stored, else why not (:data:`SUPERSEDED`, a cap)."""
        fields: dict[str, str | int] = {
            "topic": sub.topic,
            "slug": sub.slug,
            "fmt": sub.fmt,
            "callback": sub.callback,
            "lease": sub.lease,
            "expires": sub.expires,
            "created": sub.created,
        }
        if sub.secret is not None:
            fields["secret"] = sub.secret
        host = callback_host(sub.callback)
        args: list[str | int] = [
            int(time.time()),
            -1 if max_per_host is None else max_per_host,
            -1 if max_total is None else max_total,
            sub.id,
            sub.expires,
            sub.slug,
            sub.expires + defaults.WEBSUB_EXPIRY_GRACE,
            req or "",
        ]
        for name, value in fields.items():
            args += [name, value]
        full = self._subscribe(
            keys=[
                keys.websub_sub(sub.id),
                keys.websub_subs(sub.slug),
                keys.WEBSUB_TOPICS,
                keys.websub_host(host),
                keys.WEBSUB_ALL,
                keys.websub_intent(sub.id),
            ],
            args=args,
        )
        if full == b"superseded":
            return SUPERSEDED
        return _full(full == b"host", full == b"all", host, max_per_host, max_total)

    def room(self, sub_id: str, callback: str, max_per_host: int, max_total: int) -> str | None:
        """Why a new subscription of ``callback`` would not fit under the caps now (``None``: it
        fits, or ``sub_id`` is a live subscription being renewed)."""
        host = callback_host(callback)
        now = int(time.time())
        pipe = self.r.pipeline(transaction=False)
        pipe.zscore(keys.WEBSUB_ALL, sub_id)
        pipe.zcount(keys.websub_host(host), f"({now}", "+inf")
        pipe.zcount(keys.WEBSUB_ALL, f"({now}", "+inf")
        expires, per_host, total = pipe.execute()
        if expires is not None and expires > now:
            return None
        return _full(per_host >= max_per_host, total >= max_total, host, max_per_host, max_total)

    def unsubscribe(
        self, sub_id: str, slug: str, *, callback: str | None = None, if_expired_by: float | None = None,
        client: redis.client.Pipeline | None = None,
    ) -> bool:  # fmt: skip
        """Remove a subscription; with ``if_expired_by``, only if its lease ended by then. With
        its ``callback``, it also leaves its host's count at once (else when its lease ends).
        With a pipeline as ``client``, queued there (the answer is the pipeline's)."""
        cond = "" if if_expired_by is None else str(int(if_expired_by))
        keys_ = self._remove_keys(sub_id, slug, callback)
        return bool(self._remove(keys=keys_, args=[sub_id, slug, cond], client=client))

    @staticmethod
    def _remove_keys(sub_id: str, slug: str, callback: str | None) -> list[str]:
        out = [keys.websub_subs(slug), keys.WEBSUB_TOPICS, keys.websub_sub(sub_id), keys.WEBSUB_ALL]
        return out if callback is None else [*out, keys.websub_host(callback_host(callback))]

    def get(self, sub_id: str) -> Subscription | None:
        return _subscription(sub_id, self.r.hgetall(keys.websub_sub(sub_id)))

    def get_many(self, sub_ids: Sequence[str]) -> list[Subscription | None]:
        """The subscriptions ``sub_ids`` (``None`` where there is none), in one round trip."""
        pipe = self.r.pipeline(transaction=False)
        for sub_id in sub_ids:
            pipe.hgetall(keys.websub_sub(sub_id))
        return [_subscription(s, raw) for s, raw in zip(sub_ids, pipe.execute(), strict=True)]

    def record_attempt(self, sub_id: str, status: str, client: redis.client.Pipeline | None = None) -> None:
        self._update(
            keys=[keys.websub_sub(sub_id)],
            args=["last_status", status, "last_attempt", int(time.time())],
            client=client,
        )

    def subscribed_slugs(self) -> set[str]:
        return {s.decode() for s in self.r.smembers(keys.WEBSUB_TOPICS)}

    def live(self, slugs: Sequence[str], now: float) -> dict[str, list[str]]:
        """Subscription ids with a running lease, per slug; ended leases are removed on the way."""
        pipe = self.r.pipeline(transaction=False)
        for slug in slugs:
            pipe.zrangebyscore(keys.websub_subs(slug), f"({int(now)}", "+inf")
            pipe.zrangebyscore(keys.websub_subs(slug), "-inf", int(now))
        raw = pipe.execute()
        live: dict[str, list[str]] = {}
        ended: list[tuple[str, str]] = []
        for i, slug in enumerate(slugs):
            live[slug] = [x.decode() for x in raw[2 * i]]
            ended += [(x.decode(), slug) for x in raw[2 * i + 1]]
        self._remove_ended(ended, now)
        return live

    def sweep(self, now: float) -> int:
        """Remove every subscription whose lease ended; return how many."""
        slugs = sorted(self.subscribed_slugs())
        pipe = self.r.pipeline(transaction=False)
        for slug in slugs:
            pipe.zrangebyscore(keys.websub_subs(slug), "-inf", int(now))
        ended = [(x.decode(), slug) for slug, ids in zip(slugs, pipe.execute(), strict=True) for x in ids]
        removed = self._remove_ended(ended, now)
        pipe = self.r.pipeline(transaction=False)
        for slug in slugs:  # a slug left with no subscription leaves the set
            self._drop_empty(keys=[keys.websub_subs(slug), keys.WEBSUB_TOPICS], args=[slug], client=pipe)
        pipe.execute()
        return removed

    def _remove_ended(self, ended: Iterable[tuple[str, str]], now: float) -> int:
        pipe = self.r.pipeline(transaction=False)
        n = 0
        for sub_id, slug in ended:
            self._remove(
                keys=self._remove_keys(sub_id, slug, None),
                args=[sub_id, slug, str(int(now))],
                client=pipe,
            )
            n += 1
        return sum(int(x) for x in pipe.execute()) if n else 0


def _subscription(sub_id: str, hash_: dict[bytes, bytes]) -> Subscription | None:
    raw = {k.decode(): v.decode() for k, v in hash_.items()}
    if "topic" not in raw:
        return None
    return Subscription(
        id=sub_id, topic=raw["topic"], slug=raw["slug"], fmt=raw["fmt"], callback=raw["callback"],
        secret=raw.get("secret"), lease=int(raw["lease"]), expires=int(raw["expires"]),
        created=int(raw["created"]), last_status=raw.get("last_status", ""),
    )  # fmt: skip
