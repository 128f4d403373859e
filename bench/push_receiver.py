"""The push scenario's subscribers: one asyncio process listening on several 127.0.0.1 ports.

Every port is a callback host (``http://127.0.0.1:<port>/cb/<n>``). It answers a verification
``GET`` by echoing ``hub.challenge`` (verification of intent), and a delivery ``POST`` with 204,
or with 500 when ``n`` is one of a pseudo-random tenth (:func:`failing`) and this is its first
delivery of the round (so it is retried). It checks each delivery's ``X-Hub-Signature`` (the
secret of ``/cb/<n>`` is ``secret-<n>``) and counts, per callback: deliveries, the wall-clock
time of the first, the time of the first 2xx. ``GET /stats`` on any port returns the counts as
JSON; ``POST /reset`` starts a new round. A small HTTP/1.1 parser over asyncio streams keeps
its CPU per delivery low (it shares the machine with the hub it measures).

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


async def serve(reader: asyncio.StreamReader, writer: asyncio.StreamWriter, state: Round) -> None:
    try:
        while True:
            head = await reader.readuntil(b"\r\n\r\n")
            lines = head[:-4].split(b"\r\n")
            method, target, _ = lines[0].split(b" ", 2)
            headers = {}
            for line in lines[1:]:
                k, _, v = line.partition(b":")
                headers[k.strip().lower()] = v.strip()
            body = await reader.readexactly(int(headers.get(b"content-length", b"0")))
            path = target.decode()
            answer = b""
            if method == b"POST" and path == "/reset":
                state.reset()
                status = 204
            elif method == b"GET" and path == "/stats":
                status, answer = 200, json.dumps(state.stats()).encode()
            elif method == b"GET":  # a verification of intent: echo the challenge
                state.verifications += 1
                query = parse_qs(urlsplit(path).query)
                status, answer = 200, query.get("hub.challenge", [""])[0].encode()
            else:
                status = state.post(path, headers, body)
            writer.write(
                b"HTTP/1.1 %d %s\r\nContent-Length: %d\r\n\r\n%s"
                % (status, _REASONS.get(status, b"?"), len(answer), answer)
            )
    except (asyncio.IncompleteReadError, ConnectionError, ValueError):
        pass
    finally:
        writer.close()


async def main_async(ports: list[int], fail_every: int) -> None:
    state = Round(fail_every)
    servers = [
        await asyncio.start_server(
            lambda r, w: serve(r, w, state), "127.0.0.1", port, backlog=4096, limit=1 << 20
        )
        for port in ports
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
