"""Rate limits of the web service: fixed windows counted in Redis, so every web process shares them.

A limit is a bucket name, a number of requests and a window in seconds; the count of one client
(or of everyone, ``ALL``) in the current window is a Redis string that expires after two windows
(``wf:rate:<bucket>:<client>:<slot>``). The client is ``request.remote_addr``, which is the
proxy's address unless ``WIREFEED_PROXY_HOPS`` says how many proxies' ``X-Forwarded-For`` to trust
(``services.app`` wraps the app in werkzeug's ``ProxyFix``).

Used by the ingest API (requests, and failed authentications: a client that failed too often
gets 429 whatever token it sends next, so guessing stays slow) and the WebSub hub (per client and
for all clients together).
"""

from __future__ import annotations

import time
from dataclasses import dataclass

import redis
from flask import request

from wirefeed.feeds.store import keys

ALL = "*"
"""The client name of a limit shared by every client."""


@dataclass(frozen=True, slots=True)
class Limit:
    bucket: str
    rate: int
    """Requests allowed per window."""
    window: int
    """Seconds."""

    def key(self, who: str) -> tuple[str, int]:
        """The counter of ``who`` in the current window, and the seconds until the window ends."""
        now = time.time()
        slot = int(now // self.window)
        return keys.rate(self.bucket, who, slot), max(1, int((slot + 1) * self.window - now))


def client_address() -> str:
    """The client of this request, as far as the trusted proxies tell (``ProxyFix``)."""
    return request.remote_addr or "unknown"


def hit(client: redis.Redis, limit: Limit, who: str) -> int | None:
    """Count one request of ``who``; ``None`` if within the limit, else the seconds until the
    window ends (for ``Retry-After``)."""
    key, retry_after = limit.key(who)
    pipe = client.pipeline(transaction=False)
    pipe.incr(key)
    pipe.expire(key, limit.window * 2)
    count, _ = pipe.execute()
    return None if count <= limit.rate else retry_after


def spent(client: redis.Redis, limit: Limit, who: str) -> int | None:
    """Like :func:`hit` without counting: ``None`` while ``who`` has requests left."""
    key, retry_after = limit.key(who)
    count = int(client.get(key) or 0)
    return None if count < limit.rate else retry_after
