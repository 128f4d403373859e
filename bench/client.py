"""Small HTTP and Redis helpers the scenarios share: keep-alive requests, ingest, "feeds current"."""

from __future__ import annotations

import http.client
import json
import re
import time
from dataclasses import dataclass

import redis

from bench.stack import TOKEN
from wirefeed.feeds.store import keys

_ATOM_ID = re.compile(rb"<id>tag:[^<]*:story:([0-9a-f]+)</id>")


@dataclass
class Response:
    status: int
    headers: dict[str, str]
    body: bytes


class Http:
    """One keep-alive HTTP/1.1 connection to 127.0.0.1:port (reconnects if the server closed it)."""

    def __init__(self, port: int, timeout: float = 30.0) -> None:
        self.port = port
        self.timeout = timeout
        self.conn: http.client.HTTPConnection | None = None

    def request(
        self, method: str, path: str, body: bytes | None = None, headers: dict[str, str] | None = None
    ) -> Response:
        for attempt in range(2):
            if self.conn is None:
                self.conn = http.client.HTTPConnection("127.0.0.1", self.port, timeout=self.timeout)
            try:
                self.conn.request(method, path, body=body, headers=headers or {})
                resp = self.conn.getresponse()
                data = resp.read()
                return Response(resp.status, {k.lower(): v for k, v in resp.getheaders()}, data)
            except (http.client.HTTPException, ConnectionError):
                self.close()
                if attempt:
                    raise
        raise AssertionError("unreachable")

    def get(self, path: str, headers: dict[str, str] | None = None) -> Response:
        return self.request("GET", path, headers=headers)

    def close(self) -> None:
        if self.conn is not None:
            self.conn.close()
            self.conn = None


def post_dump(web: Http, data: bytes) -> str:
    """``POST /api/ingest``; the ingest id."""
    resp = web.request("POST", "/api/ingest", body=data, headers={"Authorization": f"Bearer {TOKEN}"})
    if resp.status != 202:
        raise RuntimeError(f"POST /api/ingest: {resp.status} {resp.body[:300]!r}")
    return str(json.loads(resp.body)["ingest_id"])


def atom_ids(body: bytes) -> list[str]:
    """Story ids of an Atom feed's entries, in order."""
    return [m.decode() for m in _ATOM_ID.findall(body)]


def wait_ingest(r: redis.Redis, ingest_id: str, timeout: float, poll: float = 0.01) -> dict[str, str]:
    """Until the ingest's progress record says ``done``; its fields."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        raw = {k.decode(): v.decode() for k, v in r.hgetall(keys.ingest(ingest_id)).items()}
        if raw.get("state") == "done":
            return raw
        if raw.get("state") == "failed":
            raise RuntimeError(f"ingest {ingest_id} failed: {raw}")
        time.sleep(poll)
    raise TimeoutError(f"ingest {ingest_id} not done after {timeout} s")


def feeds_current(web: Http, r: redis.Redis, slugs: list[str], limit: int = 50) -> list[str]:
    """Slugs whose Atom feed, as served over HTTP, does not start with the newest stories of its index.

    (The feed may list more stories after those, e.g. recent changes not archived yet.)
    """
    pipe = r.pipeline(transaction=False)
    for slug in slugs:
        pipe.zrevrange(keys.topic_index(slug), 0, limit - 1)
    expected = [[i.decode() for i in ids] for ids in pipe.execute()]
    stale = []
    for slug, ids in zip(slugs, expected, strict=True):
        resp = web.get(f"/feeds/{slug}.atom")
        if resp.status != 200 or atom_ids(resp.body)[: len(ids)] != ids:
            stale.append(slug)
    return stale


def wait_feeds_current(web: Http, r: redis.Redis, slugs: list[str], timeout: float) -> None:
    deadline = time.monotonic() + timeout
    while True:
        stale = feeds_current(web, r, slugs)
        if not stale:
            return
        if time.monotonic() > deadline:
            raise TimeoutError(f"feeds not current after {timeout} s: {stale}")
        time.sleep(0.01)
