"""Finding the Redis to talk to, and the sample dump shipped with wirefeed."""

from __future__ import annotations

from pathlib import Path

import redis

import wirefeed.sample
from wirefeed.config.settings import Settings
from wirefeed.errors import StoreUnavailable

SAMPLE_DUMP = Path(wirefeed.sample.__file__).with_name("wire-sample.txt")
"""The sample wire dump shipped with the project."""


def url_file(settings: Settings) -> Path:
    """Where ``wirefeed up`` writes the URL of its embedded Redis for other commands to find."""
    return settings.data_dir / "redis.url"


def resolve_redis_url(settings: Settings) -> str:
    """``REDIS_URL`` if set, else the embedded Redis of a running ``wirefeed up`` in the same data dir."""
    if settings.redis_url:
        return settings.redis_url
    path = url_file(settings)
    if path.exists():
        url = path.read_text().strip()
        try:
            redis.Redis.from_url(url, socket_connect_timeout=0.5).ping()
            return url
        except redis.RedisError:
            pass
    raise StoreUnavailable(
        f"no Redis: set REDIS_URL, or start `wirefeed up` (its embedded Redis is found via {path})"
    )
