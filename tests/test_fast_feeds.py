"""The fast path for plain feeds (services/fast_feeds.py) against the Flask path it stands in for.

Two servers of the same app settings run side by side over HTTP: the app as shipped (fast path in
front of Flask; a recorder notes every request the fast path hands on to Flask) and the bare
Flask app. Every response the fast path gives must be the one Flask gives, byte for byte.
"""

from __future__ import annotations

import http.client
import threading
from collections.abc import Iterable, Iterator
from dataclasses import dataclass, field
from email.utils import format_datetime, parsedate_to_datetime
from pathlib import Path
from wsgiref.types import StartResponse, WSGIApplication, WSGIEnvironment

import pytest
from werkzeug.serving import make_server

from tests.conftest import SAMPLE, clean
from tests.helpers import ingest
from wirefeed.config.settings import Settings
from wirefeed.feeds.store import keys
from wirefeed.feeds.store.connection import connect
from wirefeed.redis_server import EmbeddedRedis, free_port
from wirefeed.services.app import create_app
from wirefeed.services.fast_feeds import FastFeeds

FORMATS = ("rss", "atom", "json", "ninjs")
TOPICS = ("all", "cybercrime", "sports")


class Recorder:
    """Stands between the fast path and Flask: the requests the fast path did not answer."""

    def __init__(self, app: WSGIApplication) -> None:
        self.app = app
        self.seen: list[str] = []

    def __call__(self, environ: WSGIEnvironment, start_response: StartResponse) -> Iterable[bytes]:
        query = environ.get("QUERY_STRING", "")
        self.seen.append(
            environ["REQUEST_METHOD"] + " " + environ["PATH_INFO"] + (f"?{query}" if query else "")
        )
        return self.app(environ, start_response)


@dataclass
class Served:
    """Status, reason, headers in order (without ``Date``) and the raw body bytes."""

    status: int
    reason: str
    headers: list[tuple[str, str]]
    body: bytes

    def header(self, name: str) -> str | None:
        return next((v for k, v in self.headers if k.lower() == name.lower()), None)


@dataclass
class Pair:
    fast_port: int
    flask_port: int
    fast: FastFeeds
    fell_through: Recorder
    servers: list[object] = field(default_factory=list)


def _serve(app: WSGIApplication) -> tuple[int, object]:
    port = free_port()
    server = make_server("127.0.0.1", port, app, threaded=True)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    return port, server


def _pair(settings: Settings) -> Pair:
    shipped = create_app(settings)
    fast = shipped.wsgi_app
    assert isinstance(fast, FastFeeds)
    recorder = Recorder(fast.app)
    fast.app = recorder
    fast_port, fast_server = _serve(shipped)
    flask_port, flask_server = _serve(create_app(settings).wsgi_app.app)  # Flask without the fast path
    return Pair(fast_port, flask_port, fast, recorder, [fast_server, flask_server])


def _stop(pair: Pair) -> None:
    for server in pair.servers:
        server.shutdown()  # type: ignore[attr-defined]


def fetch(port: int, path: str, method: str = "GET", **headers: str) -> Served:
    """One request on a fresh connection, read raw (no decompression)."""
    conn = http.client.HTTPConnection("127.0.0.1", port, timeout=30)
    try:
        conn.request(method, path, headers={k.replace("_", "-"): v for k, v in headers.items()})
        resp = conn.getresponse()
        body = resp.read()
        kept = [(k, v) for k, v in resp.getheaders() if k.lower() != "date"]
        return Served(resp.status, resp.reason, kept, body)
    finally:
        conn.close()


@pytest.fixture(scope="module")
def pair(settings: Settings, redis_url: str, workers: object) -> Iterator[Pair]:
    """Both servers, with the sample ingested once (by the real workers)."""
    client = connect(redis_url)
    clean(client)
    p = _pair(settings)
    ingest(f"http://127.0.0.1:{p.fast_port}", SAMPLE.read_bytes())
    # Any stored document older than its topic is rendered again by a first request.
    for slug in TOPICS:
        for fmt in FORMATS:
            fetch(p.flask_port, f"/feeds/{slug}.{fmt}")
    yield p
    _stop(p)
    client.close()


def both(pair: Pair, path: str, method: str = "GET", **headers: str) -> tuple[Served, Served]:
    return fetch(pair.fast_port, path, method, **headers), fetch(pair.flask_port, path, method, **headers)


ENCODINGS = {"identity": {}, "gzip": {"Accept_Encoding": "gzip, deflate"}}


@pytest.mark.parametrize("method", ["GET", "HEAD"])
@pytest.mark.parametrize("encoding", list(ENCODINGS))
@pytest.mark.parametrize("fmt", FORMATS)
def test_fast_path_and_flask_give_identical_status_headers_and_bytes(
    pair: Pair, fmt: str, encoding: str, method: str
) -> None:
    pair.fell_through.seen.clear()
    for slug in TOPICS:
        path = f"/feeds/{slug}.{fmt}"
        fast, flask = both(pair, path, method, **ENCODINGS[encoding])
        assert fast == flask, path
        assert fast.status == 200
        assert (fast.header("Content-Encoding") == "gzip") == (encoding == "gzip")
        assert (fast.body == b"") == (method == "HEAD")
    assert pair.fell_through.seen == []


def test_gzip_and_plain_bodies_are_the_same_document(pair: Pair) -> None:
    import gzip

    plain = fetch(pair.fast_port, "/feeds/all.atom")
    packed = fetch(pair.fast_port, "/feeds/all.atom", Accept_Encoding="gzip")
    assert gzip.decompress(packed.body) == plain.body
    assert packed.header("ETag") == plain.header("ETag")[:-1] + '-gz"'  # type: ignore[index]


@pytest.mark.parametrize(
    "tag",
    [
        "{plain}",
        "{gz}",
        "W/{plain}",
        '"nope", {gz}',
        "*",
    ],
)
@pytest.mark.parametrize("encoding", list(ENCODINGS))
def test_304_by_etag_matches_flask_including_weak_tags_and_lists(pair: Pair, tag: str, encoding: str) -> None:
    plain = fetch(pair.flask_port, "/feeds/cybercrime.rss").header("ETag")
    assert plain is not None
    inm = tag.format(plain=plain, gz=plain[:-1] + '-gz"')
    pair.fell_through.seen.clear()
    fast, flask = both(pair, "/feeds/cybercrime.rss", If_None_Match=inm, **ENCODINGS[encoding])
    assert fast == flask
    # The gzip tag names the gzip representation: a client that takes no gzip gets the feed.
    assert fast.status == (200 if encoding == "identity" and "{gz}" in tag else 304)
    assert pair.fell_through.seen == []


def test_an_unknown_etag_gets_the_whole_feed(pair: Pair) -> None:
    fast, flask = both(pair, "/feeds/cybercrime.json", If_None_Match='"0000"')
    assert fast == flask and fast.status == 200


def test_304_by_date_and_200_for_an_earlier_date(pair: Pair) -> None:
    modified = fetch(pair.flask_port, "/feeds/sports.atom").header("Last-Modified")
    assert modified is not None
    earlier = format_datetime(parsedate_to_datetime(modified).replace(year=2000), usegmt=True)
    pair.fell_through.seen.clear()
    for since, status in ((modified, 304), (earlier, 200), ("not a date", 200)):
        fast, flask = both(pair, "/feeds/sports.atom", If_Modified_Since=since)
        assert fast == flask and fast.status == status, since
    # If-None-Match wins over If-Modified-Since.
    fast, flask = both(pair, "/feeds/sports.atom", If_None_Match='"other"', If_Modified_Since=modified)
    assert fast == flask and fast.status == 200
    assert pair.fell_through.seen == []


def test_a_304_reads_no_body_from_redis(settings: Settings, pair: Pair) -> None:
    fresh = _pair(settings)  # an empty per-process cache
    try:
        etag = fetch(pair.flask_port, "/feeds/all.json").header("ETag")
        assert fetch(fresh.fast_port, "/feeds/all.json", If_None_Match=etag or "").status == 304
        doc = fresh.fast.docs[("all", "json")]
        assert doc.body is None and doc.gz is None
        # A 200 with gzip then reads only the gzip copy (the plain bytes are derived from it).
        assert fetch(fresh.fast_port, "/feeds/all.json", Accept_Encoding="gzip").status == 200
        doc = fresh.fast.docs[("all", "json")]
        assert doc.gz is not None and doc.body is not None
        assert fresh.fell_through.seen == []
    finally:
        _stop(fresh)


@pytest.mark.parametrize(
    "path",
    [
        "/feeds/all.atom?limit=5",
        "/feeds/sports.rss?q=final",
        "/feeds/all.json?since=3",
        "/feeds/all.atom?bogus=1",
        "/feeds/sports+cybercrime.atom",
        "/feeds/all",
        "/feeds/all/archive/1.atom",
        "/feeds/nosuchtopic.atom",
        "/feeds/all.xml",
        "/topics",
    ],
)
def test_anything_but_a_plain_feed_goes_to_flask(pair: Pair, path: str) -> None:
    pair.fell_through.seen.clear()
    fast, flask = both(pair, path)
    assert fast.status == flask.status and fast.headers == flask.headers
    assert pair.fell_through.seen == ["GET " + path.rstrip("?")]


def test_an_empty_query_string_is_a_plain_feed(pair: Pair) -> None:
    pair.fell_through.seen.clear()
    fast, flask = both(pair, "/feeds/all.atom?")
    assert fast == flask == fetch(pair.fast_port, "/feeds/all.atom")
    assert pair.fell_through.seen == []


def test_other_methods_go_to_flask(pair: Pair) -> None:
    pair.fell_through.seen.clear()
    fast, flask = both(pair, "/feeds/all.atom", "POST")
    assert fast == flask and fast.status == 405
    assert pair.fell_through.seen == ["POST /feeds/all.atom"]


def test_a_stored_feed_older_than_its_topic_is_rendered_again_by_flask(pair: Pair, redis_url: str) -> None:
    client = connect(redis_url)
    before = fetch(pair.fast_port, "/feeds/cybercrime.atom")
    stored = int(client.hget(keys.feed_doc("cybercrime", "atom"), "changed") or 0)
    client.hset(keys.topic_meta("cybercrime"), "changed", stored + 1_000_000)  # the topic moved on
    pair.fell_through.seen.clear()
    after = fetch(pair.fast_port, "/feeds/cybercrime.atom")
    assert pair.fell_through.seen == ["GET /feeds/cybercrime.atom"]
    assert after.status == 200 and after.header("ETag") != before.header("ETag")
    assert int(client.hget(keys.feed_doc("cybercrime", "atom"), "changed") or 0) == stored + 1_000_000
    # Stored again: the fast path serves the new version, as Flask does.
    pair.fell_through.seen.clear()
    fast, flask = both(pair, "/feeds/cybercrime.atom")
    assert fast == flask == after
    assert pair.fell_through.seen == []
    client.close()


def test_a_feed_never_stored_is_rendered_by_flask(pair: Pair, redis_url: str) -> None:
    client = connect(redis_url)
    client.delete(keys.feed_doc("sports", "json"))
    pair.fell_through.seen.clear()
    first = fetch(pair.fast_port, "/feeds/sports.json")
    assert first.status == 200 and pair.fell_through.seen == ["GET /feeds/sports.json"]
    assert client.exists(keys.feed_doc("sports", "json"))
    pair.fell_through.seen.clear()
    assert fetch(pair.fast_port, "/feeds/sports.json") == first
    assert pair.fell_through.seen == []
    client.close()


@pytest.fixture()
def own_redis(tmp_path: Path) -> Iterator[EmbeddedRedis]:
    """A Redis server of this test's own, to stop and flush."""
    with EmbeddedRedis(tmp_path / "redis", persist=False) as server:
        yield server


def test_feeds_served_by_the_fast_path_stay_servable_while_redis_is_down(
    settings: Settings, own_redis: EmbeddedRedis
) -> None:
    own = Settings(redis_url=own_redis.url, base_url=settings.base_url)
    renderer = _pair(own)  # its Flask path renders and stores the (empty) feeds
    served = _pair(own)  # a fresh process: everything it serves comes through the fast path
    try:
        for path in ("/feeds/all.atom", "/feeds/all.json"):
            fetch(renderer.flask_port, path)
        seen = {
            (path, enc): fetch(served.fast_port, path, **ENCODINGS[enc])
            for path in ("/feeds/all.atom", "/feeds/all.json")
            for enc in ENCODINGS
        }
        assert served.fell_through.seen == []
        connect(own_redis.url).script_flush()  # Redis forgets the validators script: reloaded
        assert fetch(served.fast_port, "/feeds/all.atom") == seen[("/feeds/all.atom", "identity")]
        assert served.fell_through.seen == []

        own_redis.stop()
        for (path, enc), before in seen.items():
            stale = fetch(served.fast_port, path, **ENCODINGS[enc])
            assert stale.status == 200, (path, enc)
            assert stale.body == before.body and stale.header("ETag") == before.header("ETag")
            assert "110" in (stale.header("Warning") or "")
            etag = before.header("ETag") or ""
            assert fetch(served.fast_port, path, If_None_Match=etag, **ENCODINGS[enc]).status == 304
        assert fetch(served.fast_port, "/feeds/sports.atom").status == 503  # never served
    finally:
        _stop(renderer)
        _stop(served)


@pytest.mark.parametrize(
    ("accept_encoding", "gzipped"),
    [
        ("gzip;q=0", False),
        ("deflate, gzip;q=0", False),
        ("gzip;q=0, *", False),  # gzip named on its own wins over the wildcard
        ("*;q=0", False),
        ("identity", False),
        ("gzip;q=abc", False),  # not a q-value: not an offer
        ("gzip;q=0.5, identity", True),
        ("*", True),
        ("x-gzip", True),
        ("GZip", True),
    ],
)
def test_gzip_only_when_the_q_value_allows_it(pair: Pair, accept_encoding: str, gzipped: bool) -> None:
    pair.fell_through.seen.clear()
    for path in ("/feeds/all.atom", "/feeds/all.atom?limit=7"):  # the fast path, and Flask's
        fast, flask = both(pair, path, Accept_Encoding=accept_encoding)
        assert fast == flask, path
        assert fast.status == 200
        assert (fast.header("Content-Encoding") == "gzip") == gzipped, (path, accept_encoding)
        assert fast.header("ETag").endswith('-gz"') == gzipped  # type: ignore[union-attr]
    assert pair.fell_through.seen == ["GET /feeds/all.atom?limit=7"]
