"""Finding the Redis to talk to, and the sample dump shipped with wirefeed."""

from __future__ import annotations

import errno
import socket
from pathlib import Path

import redis

import wirefeed.sample
from wirefeed.config.settings import Settings
from wirefeed.errors import StoreUnavailable, WirefeedError
from wirefeed.feeds.store.connection import client_for

SAMPLE_DUMP = Path(wirefeed.sample.__file__).with_name("wire-sample.txt")
"""The sample wire dump shipped with the project."""


def url_file(settings: Settings) -> Path:
    """Where ``wirefeed up`` writes the URL of its embedded Redis for other commands to find."""
    return settings.data_dir / "redis.url"


def resolve(settings: Settings) -> Settings:
    """``settings`` if they name a Redis (``REDIS_SENTINELS`` or ``REDIS_URL``), else with the
    URL of the embedded Redis of a running ``wirefeed up`` in the same data dir (a convenience
    of one machine: nothing else reads that file)."""
    if settings.redis_sentinels or settings.redis_url:
        return settings
    path = url_file(settings)
    if path.exists():
        url = path.read_text().strip()
        try:
            redis.Redis.from_url(url, socket_connect_timeout=0.5).ping()
            return settings.with_(redis_url=url)
        except redis.RedisError:
            pass
    raise StoreUnavailable(
        "no Redis: set REDIS_URL (or REDIS_SENTINELS), or start `wirefeed up` "
        f"(its embedded Redis is found via {path})"
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


def redis_client(settings: Settings) -> redis.Redis:
    """The client of the CLI's commands: :func:`resolve`, then
    :func:`~wirefeed.feeds.store.connection.client_for`."""
    return client_for(resolve(settings))
