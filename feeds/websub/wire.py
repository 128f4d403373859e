"""The HTTP/1.1 exchange of a delivery over a kept-alive connection: one write, answers parsed
by llhttp.

A delivery is one ``POST`` whose answer the hub reads for its status and little else, thousands
of times a second: :mod:`http.client` builds the request header by header and parses every
answer's header through :mod:`email.parser`, which was about half of a delivery's CPU
(docs/websub.md, "HTTP client"). Here a request is one buffer written at once
(:func:`request_bytes`), and :func:`exchange` feeds the answer to ``httptools`` (MagicStack's
bindings of llhttp, the parser of Node.js, as uvicorn uses it): framing by length, chunked or to
the connection's end, 1xx interim answers, and malformed answers are the parser's business; this
module keeps the status and at most ``WEBSUB_MAX_ANSWER_BYTES`` of the body. Deliveries
(:mod:`.pool`, kept-alive) and verifications (:func:`.net.send`, one request) both use it. The
guarantees: the answer within the timeout (checked before each read; one read waits at most the
timeout), a header of at most ``WEBSUB_MAX_ANSWER_BYTES``, no redirect followed (a 3xx is an
answer like any other), and a connection is reusable only if its answer was read exactly to its
end and the parser says it stays open (HTTP/1.1 without ``Connection: close``).
"""

from __future__ import annotations

import functools
import re
import socket
import ssl
import struct
import time
from collections.abc import Mapping

import httptools

from wirefeed.config import defaults
from wirefeed.errors import AnswerInvalid, DeliveryFailed

_PATH_OK = re.compile(rb"[\x21-\x7e]+")
"""What a request target may hold (as http.client: no control character, no space)."""


class Connection:
    """A socket to one checked address (plain, or TLS verified for the host name)."""

    __slots__ = ("host", "sock", "timeout")

    def __init__(self, sock: socket.socket, host: bytes, timeout: float) -> None:
        self.sock = sock
        self.host = host
        """The ``Host`` field of its requests."""
        self.timeout = 0.0
        self.set_timeout(timeout)

    def set_timeout(self, timeout: float) -> None:
        """Each send and each read gives up after ``timeout`` seconds. The socket blocks and
        the kernel keeps the time (``SO_SNDTIMEO``, ``SO_RCVTIMEO``): a Python timeout would
        cost a ``poll`` (and a turn of the GIL) before every send and read."""
        if timeout != self.timeout:
            self.sock.settimeout(None)
            wait = max(timeout, 0.001)  # 0 would mean: wait for ever
            value = struct.pack("ll", int(wait), int(wait % 1 * 1e6))
            self.sock.setsockopt(socket.SOL_SOCKET, socket.SO_SNDTIMEO, value)
            self.sock.setsockopt(socket.SOL_SOCKET, socket.SO_RCVTIMEO, value)
            self.timeout = timeout

    def close(self) -> None:
        self.sock.close()


def host_field(host: str, port: int, scheme: str) -> bytes:
    """``Host`` as http.client writes it: the port only when it is not the scheme's own, an
    IPv6 address in brackets."""
    name = f"[{host}]" if ":" in host else host
    default = 443 if scheme == "https" else 80
    return (name if port == default else f"{name}:{port}").encode("ascii")


def request_bytes(method: str, path: str, host: bytes, headers: Mapping[str, str], body: bytes) -> bytes:
    """The whole request (head and body), with the fields http.client would send, in its order:
    ``Host``, ``Accept-Encoding: identity``, ``Content-Length``, then ``headers``."""
    target = path.encode("ascii", "replace")
    if not _PATH_OK.fullmatch(target):
        raise DeliveryFailed(f"callback path {path!r} cannot go on a request line")
    if any("\r" in v or "\n" in v for v in headers.values()):
        raise DeliveryFailed("a request header value holds a line break")
    fields = "".join(f"{k}: {v}\r\n" for k, v in headers.items()).encode("latin-1", "replace")
    return b"%s %s HTTP/1.1\r\nHost: %s\r\nAccept-Encoding: identity\r\nContent-Length: %d\r\n%s\r\n%s" % (
        method.encode("ascii"), target, host, len(body), fields, body,
    )  # fmt: skip


class _Answer:
    """What :func:`exchange` keeps of an answer, from the parser's callbacks: the status, the
    body up to ``cap``, whether the final answer (not a 1xx) was read to its end and may leave
    its connection open, and whether anything came after it."""

    __slots__ = ("body", "cap", "final", "headers_done", "keep", "over", "parser", "size", "status")

    def __init__(self, cap: int) -> None:
        self.cap = cap
        self.parser = httptools.HttpResponseParser(self)
        self.status = 0
        self.body: list[bytes] = []
        self.size = 0
        self.headers_done = False
        self.over = False
        """More body than ``cap``: the rest is not read."""
        self.final = False
        """The final answer was read to its end."""
        self.keep = False

    def on_message_begin(self) -> None:
        if self.final:  # bytes after the answer: the connection is not in a known state
            raise AnswerInvalid("bytes after the answer")
        self.body, self.size, self.headers_done = [], 0, False

    def on_headers_complete(self) -> None:
        self.status = self.parser.get_status_code()
        self.headers_done = True

    def on_body(self, data: bytes) -> None:
        room = self.cap - self.size
        if len(data) > room:
            data, self.over = data[:room], True
        self.body.append(data)
        self.size += len(data)

    def on_message_complete(self) -> None:
        if not 100 <= self.status < 200:  # 1xx: an interim answer, the final one follows
            self.final, self.keep = True, self.parser.should_keep_alive()


def exchange(conn: Connection, request: bytes, timeout: float) -> tuple[int, bytes, bool]:
    """Send ``request`` and read its answer: ``(status, body, reusable)``, the body cut at
    ``WEBSUB_MAX_ANSWER_BYTES``. Raises ``OSError`` (``ConnectionResetError`` when the peer
    closed the connection before answering: a kept one it had dropped) or :class:`AnswerInvalid`."""
    conn.set_timeout(timeout)
    try:
        conn.sock.sendall(request)
    except (BlockingIOError, ssl.SSLWantWriteError):  # SO_SNDTIMEO ran out
        raise TimeoutError("the callback did not take the request within the timeout") from None
    deadline = time.monotonic() + timeout
    cap = defaults.WEBSUB_MAX_ANSWER_BYTES
    answer = _Answer(cap)
    received = 0
    while not answer.final and not answer.over:
        if not answer.headers_done and received > cap:
            raise AnswerInvalid("answer header too long")
        chunk = _recv(conn.sock, deadline)
        if not chunk:
            if not received:
                raise ConnectionResetError("the callback closed the connection without answering")
            if not answer.headers_done:
                raise AnswerInvalid("answer cut off in its header")
            return answer.status, b"".join(answer.body), False  # its end was the connection's end
        received += len(chunk)
        try:
            answer.parser.feed_data(chunk)
        except httptools.HttpParserUpgrade:  # 101: whatever follows is not HTTP
            return answer.status, b"", False
        except httptools.HttpParserError as e:  # (a callback's error is one too)
            if answer.final:  # bytes after the final answer
                return answer.status, b"".join(answer.body), False
            if isinstance(e, httptools.HttpParserCallbackError):
                raise AnswerInvalid(str(e.__context__ or e)) from None
            raise AnswerInvalid(f"not a valid HTTP answer: {e}") from None
    return answer.status, b"".join(answer.body), answer.keep and not answer.over


def _recv(sock: socket.socket, deadline: float) -> bytes:
    """What the peer sent next (``b""`` at the connection's end), within the deadline."""
    if time.monotonic() > deadline:
        raise TimeoutError("the answer took longer than the timeout")
    try:
        return sock.recv(65536)
    except (BlockingIOError, ssl.SSLWantReadError):  # SO_RCVTIMEO ran out
        raise TimeoutError("no answer within the timeout") from None


@functools.cache
def tls() -> ssl.SSLContext:
    """The TLS context of every callback connection (made once: it loads the CA store)."""
    return ssl.create_default_context()


def connect(scheme: str, host: str, port: int, address: str, timeout: float) -> Connection:
    """A connection to exactly ``address`` (TLS: the certificate verified for ``host``)."""
    sock = socket.create_connection((address, port), timeout)
    try:
        sock.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
        if scheme == "https":
            sock = tls().wrap_socket(sock, server_hostname=host)
    except BaseException:
        sock.close()
        raise
    return Connection(sock, host_field(host, port, scheme), timeout)
