"""Finding the Redis to talk to, and the sample dump shipped with wirefeed."""

from __future__ import annotations

import errno
import socket
from pathlib import Path

import redis

import wirefeed.sample
from wirefeed.config.settings import Settings
from wirefeed.errors import StoreUnavailable, WirefeedError

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


def check_port(host: str, port: int) -> None:
    """Raise a one-line :class:`WirefeedError` at once if ``host:port`` is taken (rather than let
    gunicorn retry and give up seconds later)."""
    with socket.socket() as s:
        s.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)  # as gunicorn binds: TIME_WAIT is fine
        try:
            s.bind((host, port))
        except OSError as exc:
            if exc.errno != errno.EADDRINUSE:
                raise WirefeedError(f"cannot listen on {host}:{port}: {exc.strerror}") from None
            with socket.socket() as free:
                free.bind((host, 0))
                other = free.getsockname()[1]
            raise WirefeedError(f"port {port} is in use; try --port {other}") from None
