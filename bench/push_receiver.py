"""The push scenario's subscribers: one asyncio process listening on several 127.0.0.1 ports.

Every port is a callback host (``http://127.0.0.1:<port>/cb/<n>``). It answers a verification
``GET`` by echoing ``hub.challenge`` (verification of intent), and a delivery ``POST`` with 204,
or with 500 when ``n`` is one of a pseudo-random tenth (:func:`failing`) and this is its first
delivery of the round (so it is retried). It checks each delivery's ``X-Hub-Signature`` (the
secret of ``/cb/<n>`` is ``secret-<n>``) and counts, per callback: deliveries, the wall-clock
time of the first, the time of the first 2xx. ``GET /stats`` on any port returns the counts as
JSON; ``POST /reset`` starts a new round. A small HTTP/1.1 parser in an :class:`asyncio.Protocol`
(bytes in, bytes out: no stream objects, no task per connection) keeps its CPU per delivery low:
it shares the machine with the hub it measures.

    python -m bench.push_receiver PORT [PORT ...] [--fail-every 10]
"""

from __future__ import annotations

import argparse
import asyncio
import hashlib
import hmac
import json
import time
from urllib.parse import parse_qs, urlsplit


class Round:
    """What the callbacks received since the last reset."""

    def __init__(self, fail_every: int) -> None:
        self.fail_every = fail_every
        self.reset()

    def reset(self) -> None:
        self.posts = 0
        self.count: dict[int, int] = {}
        self.first: dict[int, float] = {}
        self.ok: dict[int, float] = {}
        self.bad_signatures = 0
        self.verifications = 0

    def stats(self) -> dict[str, object]:
        return {
            "posts": self.posts,
            "callbacks": len(self.count),
            "delivered": len(self.ok),
            "first_min": min(self.first.values(), default=0.0),
            "first_max": max(self.first.values(), default=0.0),
            "ok_max": max(self.ok.values(), default=0.0),
            "retried": sum(1 for c in self.count.values() if c > 1),
            "most": max(self.count.values(), default=0),
            "bad_signatures": self.bad_signatures,
            "verifications": self.verifications,
        }

    def post(self, path: str, headers: dict[bytes, bytes], body: bytes) -> int:
        now = time.time()
        self.posts += 1
        try:
            n = int(path.rsplit("/", 1)[1])
        except ValueError:
            return 404
        seen = self.count.get(n, 0)
        self.count[n] = seen + 1
        if not seen:
            self.first[n] = now
        expected = "sha256=" + hmac.new(f"secret-{n}".encode(), body, hashlib.sha256).hexdigest()
        if not hmac.compare_digest(expected.encode(), headers.get(b"x-hub-signature", b"")):
            self.bad_signatures += 1
        if not seen and failing(n, self.fail_every):
            return 500
        self.ok.setdefault(n, now)
        return 204


def failing(n: int, every: int) -> bool:
    """Whether callback ``n`` is among the one in ``every`` that fail their first delivery
    (spread pseudo-randomly over the numbers: Knuth's multiplicative hash)."""
    return every > 0 and ((n * 2654435761) % 2**32 >> 8) % every == 0


_REASONS = {200: b"OK", 204: b"No Content", 404: b"Not Found", 500: b"Internal Server Error"}


class Callback(asyncio.Protocol):
    """One connection: requests parsed from the bytes as they come (no stream objects, no task
    per connection), answered in order."""

    def __init__(self, state: Round) -> None:
        self.state = state
        self.buf = b""
        self.need = 0
        """Bytes of ``buf`` the request under way needs (its head seen, its body not all here)."""
        self.transport: asyncio.Transport | None = None

    def connection_made(self, transport: asyncio.BaseTransport) -> None:
        assert isinstance(transport, asyncio.Transport)
        self.transport = transport

    def data_received(self, data: bytes) -> None:
        self.buf = self.buf + data if self.buf else data
        if len(self.buf) < self.need:
            return
        out = []
        while (end := self.buf.find(b"\r\n\r\n")) >= 0:
            lines = self.buf[:end].split(b"\r\n")
            headers = {}
            for line in lines[1:]:
                k, _, v = line.partition(b":")
                headers[k.strip().lower()] = v.strip()
            try:
                method, target, _ = lines[0].split(b" ", 2)
                size = int(headers.get(b"content-length", b"0"))
            except ValueError:
                self.close()
                return
            if len(self.buf) < end + 4 + size:
                self.need = end + 4 + size  # the body is still coming
                break
            self.need = 0
            body = self.buf[end + 4 : end + 4 + size]
            self.buf = self.buf[end + 4 + size :]
            status, answer = self.answer(method, target.decode(), headers, body)
            out.append(
                b"HTTP/1.1 %d %s\r\nContent-Length: %d\r\n\r\n%s"
                % (status, _REASONS.get(status, b"?"), len(answer), answer)
            )
        if out and self.transport is not None:
            self.transport.write(b"".join(out))

    def answer(self, method: bytes, path: str, headers: dict[bytes, bytes], body: bytes) -> tuple[int, bytes]:
        state = self.state
        if method == b"POST" and path == "/reset":
            state.reset()
            return 204, b""
        if method == b"GET" and path == "/stats":
            return 200, json.dumps(state.stats()).encode()
        if method == b"GET":  # a verification of intent: echo the challenge
            state.verifications += 1
            query = parse_qs(urlsplit(path).query)
            return 200, query.get("hub.challenge", [""])[0].encode()
        return state.post(path, headers, body), b""

    def close(self) -> None:
        if self.transport is not None:
            self.transport.close()


async def main_async(ports: list[int], fail_every: int) -> None:
    state = Round(fail_every)
    loop = asyncio.get_running_loop()
    servers = [
        await loop.create_server(lambda: Callback(state), "127.0.0.1", port, backlog=4096) for port in ports
    ]
    print(f"listening on {ports}", flush=True)
    await asyncio.gather(*(s.serve_forever() for s in servers))


def main(argv: list[str] | None = None) -> int:
    p = argparse.ArgumentParser(prog="python -m bench.push_receiver")
    p.add_argument("ports", type=int, nargs="+")
    p.add_argument("--fail-every", type=int, default=10)
    args = p.parse_args(argv)
    asyncio.run(main_async(args.ports, args.fail_every))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
