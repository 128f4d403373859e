"""The delivery's HTTP/1.1 exchange (feeds/websub/wire.py) against scripted answers on a real
socket: the request is byte for byte what http.client sent, and answers are framed (length,
chunked, to the end), capped, timed, and reusable only when read exactly to their end."""

from __future__ import annotations

import http.client
import socket
import threading
import time
from collections.abc import Iterator

import pytest

from wirefeed.config import defaults
from wirefeed.errors import AnswerInvalid, DeliveryFailed
from wirefeed.feeds.websub.wire import Connection, connect, exchange, request_bytes


class Scripted:
    """A server on 127.0.0.1 answering each request on one connection with the next script."""

    def __init__(self, answers: list[bytes], delay: float = 0.0, linger: float = 0.5) -> None:
        self.answers = answers
        self.delay = delay
        self.linger = linger
        """Seconds the connection stays open after the last answer."""
        self.requests: list[bytes] = []
        self.server = socket.create_server(("127.0.0.1", 0))
        self.port = self.server.getsockname()[1]
        threading.Thread(target=self._serve, daemon=True).start()

    def _serve(self) -> None:
        conn, _ = self.server.accept()
        with conn:
            buf = b""
            for answer in self.answers:
                while b"\r\n\r\n" not in buf:
                    buf += conn.recv(65536)
                head, _, buf = buf.partition(b"\r\n\r\n")
                length = int(head.lower().split(b"content-length: ")[1].split(b"\r\n")[0])
                while len(buf) < length:
                    buf += conn.recv(65536)
                self.requests.append(head + b"\r\n\r\n" + buf[:length])
                buf = buf[length:]
                time.sleep(self.delay)
                conn.sendall(answer)
            time.sleep(self.linger)


@pytest.fixture()
def scripted() -> Iterator[type[Scripted]]:
    yield Scripted


def _conn(server: Scripted) -> Connection:
    return connect("http", "127.0.0.1", server.port, "127.0.0.1", 5)


def _post(conn: Connection, timeout: float = 5) -> tuple[int, bytes, bool]:
    return exchange(conn, request_bytes("POST", "/cb/1", conn.host, {}, b"x"), timeout)


def test_the_request_is_what_http_client_sent(scripted: type[Scripted]) -> None:
    headers = {"User-Agent": "ua", "Content-Type": "application/atom+xml", "X-Hub-Signature": "sha256=ab"}
    old = scripted([b"HTTP/1.1 204 No Content\r\n\r\n"])
    client = http.client.HTTPConnection("127.0.0.1", old.port)
    client.request("POST", "/cb/1?a=b", body=b"<feed/>", headers=headers)
    assert client.getresponse().status == 204
    client.close()
    new = scripted([b"HTTP/1.1 204 No Content\r\n\r\n"])
    conn = _conn(new)
    assert exchange(conn, request_bytes("POST", "/cb/1?a=b", conn.host, headers, b"<feed/>"), 5) == (
        204, b"", True,
    )  # fmt: skip
    assert [r.replace(b":%d" % new.port, b":%d" % old.port) for r in new.requests] == old.requests


@pytest.mark.parametrize(
    ("answer", "expected"),
    [
        (b"HTTP/1.1 200 OK\r\nContent-Length: 2\r\n\r\nok", (200, b"ok", True)),
        (b"HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n4;x=y\r\nwiki\r\n2\r\n!!\r\n0\r\nT: 1"
         b"\r\n\r\n",
         (200, b"wiki!!", True)),
        (b"HTTP/1.1 100 Continue\r\n\r\nHTTP/1.1 204 No Content\r\n\r\n", (204, b"", True)),
        (b"HTTP/1.1 302 Found\r\nLocation: /elsewhere\r\nContent-Length: 0\r\n\r\n", (302, b"", True)),
        (b"HTTP/1.1 200 OK\r\nConnection: close\r\nContent-Length: 2\r\n\r\nok", (200, b"ok", False)),
        (b"HTTP/1.0 200 OK\r\nContent-Length: 2\r\n\r\nok", (200, b"ok", False)),
        (b"HTTP/1.1 200 OK\r\nContent-Length: 2\r\n\r\nokEXTRA", (200, b"ok", False)),
    ],
)  # fmt: skip
def test_answers_are_framed_and_reusable_only_when_read_to_their_end(
    scripted: type[Scripted], answer: bytes, expected: tuple[int, bytes, bool]
) -> None:
    assert _post(_conn(scripted([answer]))) == expected


def test_an_answer_without_length_ends_with_the_connection(scripted: type[Scripted]) -> None:
    server = scripted([b"HTTP/1.1 500 Oops\r\n\r\nsorry"], linger=0)
    assert _post(_conn(server)) == (500, b"sorry", False)


@pytest.mark.parametrize("chunked", [False, True])
def test_answers_are_capped(scripted: type[Scripted], chunked: bool) -> None:
    big = b"y" * (defaults.WEBSUB_MAX_ANSWER_BYTES + 10)
    if chunked:
        answer = b"HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n%x\r\n%s\r\n0\r\n\r\n" % (
            len(big),
            big,
        )
    else:
        answer = b"HTTP/1.1 200 OK\r\nContent-Length: %d\r\n\r\n%s" % (len(big), big)
    status, body, reusable = _post(_conn(scripted([answer])))
    assert (status, len(body), reusable) == (200, defaults.WEBSUB_MAX_ANSWER_BYTES, False)


def test_bad_answers_closed_connections_and_slow_answers_fail(scripted: type[Scripted]) -> None:
    with pytest.raises(AnswerInvalid):
        _post(_conn(scripted([b"SPAM 200\r\n\r\n"])))
    with pytest.raises(AnswerInvalid):
        _post(_conn(scripted([b"HTTP/1.1 200 OK\r\nContent-Length: 1\r\nContent-Length: 2\r\n\r\nok"])))
    endless = b"HTTP/1.1 200 OK\r\nX-Long: " + b"a" * (defaults.WEBSUB_MAX_ANSWER_BYTES + 70_000)
    with pytest.raises(AnswerInvalid, match="header too long"):
        _post(_conn(scripted([endless])))
    with pytest.raises(ConnectionResetError):  # a kept connection the peer dropped: sent again
        _post(_conn(scripted([b""], linger=0)))
    with pytest.raises(TimeoutError):
        _post(_conn(scripted([b"HTTP/1.1 204 No Content\r\n\r\n"], delay=0.6)), timeout=0.2)


def test_requests_that_http_could_not_carry_are_refused() -> None:
    with pytest.raises(DeliveryFailed):
        request_bytes("POST", "/cb/a b", b"h", {}, b"")
    with pytest.raises(DeliveryFailed):
        request_bytes("POST", "/cb/1", b"h", {"Link": "x\r\nX-Evil: 1"}, b"")
