"""The HTTP/1.1 exchange of a delivery over a kept-alive connection, with bytes operations only.

A delivery is one ``POST`` whose answer the hub reads for its status and little else, thousands
of times a second: :mod:`http.client` builds the request header by header and parses every
answer's header through :mod:`email.parser`, which was about half of a delivery's CPU
(docs/websub.md, "HTTP client"). Here a request is one buffer written at once
(:func:`request_bytes`), and :func:`exchange` reads the answer's status line and the three
header fields that frame it (``Content-Length``, ``Transfer-Encoding``, ``Connection``), then
its body: by length, chunked, or to the connection's end; 1xx interim answers are skipped.
The guarantees are those of :func:`wirefeed.feeds.websub.net.read_answer`: the answer within
the timeout (checked before each read; one read waits at most the timeout), at most
``WEBSUB_MAX_ANSWER_BYTES`` of its body read, no redirect followed (a 3xx is an answer like any
other), and a connection is reusable only if its answer was read exactly to its end on HTTP/1.1
without ``Connection: close``.
"""

from __future__ import annotations

import re
import socket
import ssl
import struct
import time
from collections.abc import Mapping

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


class _Reader:
    """Bytes of an answer as they come, within a deadline."""

    __slots__ = ("buf", "deadline", "eof", "pos", "sock")

    def __init__(self, sock: socket.socket, timeout: float) -> None:
        self.sock = sock
        self.deadline = time.monotonic() + timeout
        self.buf = b""
        self.pos = 0
        self.eof = False

    def more(self) -> bool:
        """Read what the peer sent next; False at the connection's end."""
        if time.monotonic() > self.deadline:
            raise TimeoutError("the answer took longer than the timeout")
        try:
            chunk = self.sock.recv(65536)
        except (BlockingIOError, ssl.SSLWantReadError):  # SO_RCVTIMEO ran out
            raise TimeoutError("no answer within the timeout") from None
        if not chunk:
            self.eof = True
            return False
        self.buf = self.buf[self.pos :] + chunk if self.pos else self.buf + chunk
        self.pos = 0
        return True

    def line(self, limit: int) -> bytes:
        while (end := self.buf.find(b"\n", self.pos)) < 0:
            if len(self.buf) - self.pos > limit or not self.more():
                raise AnswerInvalid("answer line too long, or cut off")
        out = self.buf[self.pos : end]
        self.pos = end + 1
        return out.rstrip(b"\r")

    def take(self, n: int) -> bytes:
        """Up to ``n`` bytes (fewer only at the connection's end)."""
        while len(self.buf) - self.pos < n and self.more():
            pass
        out = self.buf[self.pos : self.pos + n]
        self.pos += len(out)
        return out


def exchange(conn: Connection, request: bytes, timeout: float) -> tuple[int, bytes, bool]:
    """Send ``request`` and read its answer: ``(status, body, reusable)``, the body cut at
    ``WEBSUB_MAX_ANSWER_BYTES``. Raises ``OSError`` (``ConnectionResetError`` when the peer
    closed the connection before answering: a kept one it had dropped) or :class:`AnswerInvalid`."""
    conn.set_timeout(timeout)
    try:
        conn.sock.sendall(request)
    except (BlockingIOError, ssl.SSLWantWriteError):  # SO_SNDTIMEO ran out
        raise TimeoutError("the callback did not take the request within the timeout") from None
    rd = _Reader(conn.sock, timeout)
    if not rd.more():
        raise ConnectionResetError("the callback closed the connection without answering")
    while True:
        status, version, fields = _head(rd)
        if not 100 <= status < 200 or status == 101:
            break
    cap = defaults.WEBSUB_MAX_ANSWER_BYTES
    keep = version == b"HTTP/1.1" and b"close" not in fields.get(b"connection", b"").lower()
    if status in (204, 304):  # no body, whatever the fields say
        body, complete = b"", True
    elif b"chunked" in fields.get(b"transfer-encoding", b"").lower():
        body, complete = _chunked(rd, cap)
    elif b"content-length" in fields:
        try:
            length = int(fields[b"content-length"])
        except ValueError:
            raise AnswerInvalid("answer with an invalid Content-Length") from None
        if length < 0:
            raise AnswerInvalid("answer with a negative Content-Length")
        body = rd.take(min(length, cap))
        complete = length <= cap and len(body) == length
    else:  # its end is the connection's end
        body, complete = rd.take(cap), False
    return status, body, keep and complete and rd.pos == len(rd.buf) and not rd.eof


def _head(rd: _Reader) -> tuple[int, bytes, dict[bytes, bytes]]:
    limit = defaults.WEBSUB_MAX_ANSWER_BYTES
    parts = rd.line(limit).split(None, 2)
    if len(parts) < 2 or not parts[0].startswith(b"HTTP/") or len(parts[1]) != 3 or not parts[1].isdigit():
        raise AnswerInvalid(f"not an HTTP status line: {b' '.join(parts)[:80]!r}")
    fields: dict[bytes, bytes] = {}
    size = 0
    while line := rd.line(limit):
        size += len(line)
        if size > limit:
            raise AnswerInvalid("answer header too long")
        name, colon, value = line.partition(b":")
        if colon and name[:1] not in (b" ", b"\t"):
            key = name.strip().lower()
            value = value.strip()
            if key == b"content-length" and fields.get(key, value) != value:
                raise AnswerInvalid("answer with two different Content-Lengths")
            fields[key] = value
    return int(parts[1]), parts[0], fields


def _chunked(rd: _Reader, cap: int) -> tuple[bytes, bool]:
    """A chunked body, up to ``cap`` bytes; and whether it was read to its end (trailer included)."""
    got: list[bytes] = []
    size = 0
    while True:
        try:
            n = int(rd.line(1024).split(b";", 1)[0].strip(), 16)
        except ValueError:
            raise AnswerInvalid("invalid chunk size in the answer") from None
        if n == 0:
            while rd.line(defaults.WEBSUB_MAX_ANSWER_BYTES):  # trailer fields
                pass
            return b"".join(got), True
        if size + n > cap:
            got.append(rd.take(cap - size))
            return b"".join(got), False
        chunk = rd.take(n)
        if len(chunk) < n or rd.take(2) != b"\r\n":
            raise AnswerInvalid("answer cut off in a chunk")
        got.append(chunk)
        size += n


def connect(
    scheme: str, host: str, port: int, address: str, timeout: float, *, tls: ssl.SSLContext | None = None
) -> Connection:
    """A connection to exactly ``address`` (TLS: the certificate verified for ``host``)."""
    sock = socket.create_connection((address, port), timeout)
    try:
        sock.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
        if scheme == "https":
            assert tls is not None
            sock = tls.wrap_socket(sock, server_hostname=host)
    except BaseException:
        sock.close()
        raise
    return Connection(sock, host_field(host, port, scheme), timeout)
