"""Redis connections: one way to open them, with timeouts and reconnects on restart or failover.

:func:`client_for` is what the web service, every worker and the CLI call: with
``REDIS_SENTINELS`` set it returns a client of redis-py's Sentinel support, which asks the
Sentinels for the current primary whenever it opens a connection and drops its connections when
the primary moved (a ``READONLY`` answer from a demoted primary counts as a lost connection), so
a failover needs no restart; else a plain client of ``REDIS_URL`` (:func:`connect`).
"""

from __future__ import annotations

from typing import Any

import redis
from redis.backoff import ExponentialBackoff
from redis.retry import Retry
from redis.sentinel import Sentinel

from wirefeed.config.settings import Settings
from wirefeed.errors import ConfigError

CONNECTION_ERRORS: tuple[type[redis.RedisError], ...] = (
    redis.ConnectionError,
    redis.TimeoutError,
    redis.exceptions.ReadOnlyError,
)
"""What a lost, restarting or switching Redis raises (Sentinel's "no primary found" is a
``ConnectionError``; a primary demoted under a plain client answers ``READONLY``)."""


def _options() -> dict[str, Any]:
    """Timeouts and retries shared by plain and Sentinel clients."""
    return {
        "socket_timeout": 10,
        "socket_connect_timeout": 2,
        "health_check_interval": 30,
        "retry": Retry(ExponentialBackoff(cap=0.5, base=0.02), retries=3),
        "retry_on_error": [redis.ConnectionError, redis.TimeoutError],
    }


def connect(url: str) -> redis.Redis:
    """A client for ``url`` that retries briefly across a Redis restart and never hangs forever."""
    return redis.Redis.from_url(url, **_options())


def client_for(settings: Settings) -> redis.Redis:
    """The client every wirefeed process uses: the Sentinels' current primary if
    ``REDIS_SENTINELS`` is set, else ``REDIS_URL``."""
    if settings.redis_sentinels:
        sentinel = Sentinel(
            settings.sentinel_addresses(),
            sentinel_kwargs={
                "socket_timeout": 2,
                "socket_connect_timeout": 1,
                "password": settings.redis_sentinel_password,
            },
        )
        return sentinel.master_for(
            settings.redis_sentinel_master,
            redis_class=redis.Redis,
            db=settings.redis_db,
            password=settings.redis_password,
            **_options(),
        )
    if not settings.redis_url:
        raise ConfigError("no Redis: set REDIS_URL, or REDIS_SENTINELS and REDIS_SENTINEL_MASTER")
    return connect(settings.redis_url)
