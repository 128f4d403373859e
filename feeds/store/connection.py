"""Redis connections: one way to open them, with timeouts and reconnects on restart."""

from __future__ import annotations

import redis
from redis.backoff import ExponentialBackoff
from redis.retry import Retry


def connect(url: str) -> redis.Redis:
    """A client for ``url`` that retries briefly across a Redis restart and never hangs forever."""
    return redis.Redis.from_url(
        url,
        socket_timeout=10,
        socket_connect_timeout=2,
        health_check_interval=30,
        retry=Retry(ExponentialBackoff(cap=0.5, base=0.02), retries=3),
        retry_on_error=[redis.ConnectionError, redis.TimeoutError],
    )
