"""Keep-alive connections to callback hosts for deliveries, each pinned to a checked address.

A :class:`Pool` lives as long as its websub worker process and is shared by its delivery
threads. It keeps idle HTTP/1.1 connections per (scheme, host, port, *address*): a connection
is only ever opened to an address that :func:`~wirefeed.feeds.websub.net.check_callback` allowed,
and reused only for a request whose own check returned that same address, so keep-alive never
skips the SSRF check and DNS rebinding cannot redirect a reused connection. (How many
requests go to one host at once is the caller's bound: :mod:`wirefeed.workers.delivery`.) An
idle connection is dropped after ``WEBSUB_IDLE_SECONDS`` or when the peer closed it, and a
connection whose answer was not read to its end (more than ``WEBSUB_MAX_ANSWER_BYTES``, or
``Connection: close``) is closed. Redirects are never followed (an answer is an answer).

The exchange itself is :mod:`wirefeed.feeds.websub.wire` (one write per request, the answer
parsed by llhttp): CPU per delivery is what bounds deliveries per second on this
project's 2 cores, and it costs a fraction of ``http.client``'s (docs/websub.md, "HTTP client").
"""

from __future__ import annotations

import select
import threading
import time
from collections.abc import Mapping

from wirefeed.config import defaults
from wirefeed.feeds.websub.net import USER_AGENT, Answer, Target
from wirefeed.feeds.websub.wire import Connection, connect, exchange, request_bytes

Key = tuple[str, str, int, str]
"""(scheme, host, port, address) of idle connections."""

_STALE = (ConnectionResetError, BrokenPipeError, ConnectionAbortedError)
"""What a kept connection the peer closed meanwhile raises on reuse: tried again once, fresh."""


class Pool:
    """Pinned keep-alive connections, at most ``per_host`` kept idle per address (thread-safe)."""

    def __init__(self, per_host: int, idle_seconds: float = defaults.WEBSUB_IDLE_SECONDS) -> None:
        self.per_host = max(1, per_host)
        self.idle_seconds = idle_seconds
        self._idle: dict[Key, list[tuple[Connection, float]]] = {}
        self._lock = threading.Lock()
        self._pruned = time.monotonic()

    def send(
        self,
        target: Target,
        method: str,
        *,
        timeout: float,
        headers: Mapping[str, str],
        body: bytes,
    ) -> Answer:
        """One request to a checked target over a kept connection to one of its addresses (in
        order, until one accepts). Raises ``OSError`` or :class:`~wirefeed.errors.AnswerInvalid`."""
        last: OSError | None = None
        for address in target.addresses:
            key = (target.scheme, target.host, target.port, address)
            conn = self._take(key)
            if conn is not None:
                try:
                    return self._exchange(key, conn, method, target.path, headers, body, timeout)
                except _STALE:
                    pass  # the peer closed it while it was idle: once more, on a new one
            try:
                conn = self._connect(target, address, timeout)
            except OSError as exc:
                last = exc
                continue
            return self._exchange(key, conn, method, target.path, headers, body, timeout)
        raise last or OSError(f"could not connect to {target.host}")

    def close(self) -> None:
        """Close every idle connection."""
        with self._lock:
            idle, self._idle = self._idle, {}
        for conns in idle.values():
            for conn, _ in conns:
                conn.close()

    def idle_count(self) -> int:
        with self._lock:
            return sum(len(v) for v in self._idle.values())

    # -- internals ---------------------------------------------------------------------------
    def _connect(self, target: Target, address: str, timeout: float) -> Connection:
        return connect(target.scheme, target.host, target.port, address, timeout)

    def _exchange(  # noqa: PLR0917
        self,
        key: Key,
        conn: Connection,
        method: str,
        path: str,
        headers: Mapping[str, str],
        body: bytes,
        timeout: float,
    ) -> Answer:
        keep = False
        try:
            request = request_bytes(method, path, conn.host, {"User-Agent": USER_AGENT, **headers}, body)
            status, answer, keep = exchange(conn, request, timeout)
            return Answer(status, answer)
        finally:
            if keep:
                self._put(key, conn)
            else:
                conn.close()

    def _take(self, key: Key) -> Connection | None:
        now = time.monotonic()
        while True:
            with self._lock:
                conns = self._idle.get(key)
                if not conns:
                    return None
                conn, since = conns.pop()
                if not conns:
                    del self._idle[key]
            if now - since < self.idle_seconds and not _dropped(conn):
                return conn
            conn.close()

    def _put(self, key: Key, conn: Connection) -> None:
        now = time.monotonic()
        closing: list[Connection] = []
        with self._lock:
            conns = self._idle.setdefault(key, [])
            conns.append((conn, now))
            if len(conns) > self.per_host:
                closing.append(conns.pop(0)[0])
            if now - self._pruned > self.idle_seconds:  # forget hosts not used for a while
                self._pruned = now
                for k in list(self._idle):
                    fresh = [(c, t) for c, t in self._idle[k] if now - t < self.idle_seconds]
                    closing += [c for c, t in self._idle[k] if now - t >= self.idle_seconds]
                    if fresh:
                        self._idle[k] = fresh
                    else:
                        del self._idle[k]
        for c in closing:
            c.close()


def _dropped(conn: Connection) -> bool:
    """Whether an idle connection became readable (the peer closed it, or sent something it
    should not have): either way it must not carry a request."""
    poller = select.poll()
    poller.register(conn.sock, select.POLLIN)
    return bool(poller.poll(0))
