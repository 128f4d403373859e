"""A fast path for plain feed requests, in front of Flask.

``GET``/``HEAD /feeds/<topic>.<rss|atom|json|ninjs>`` without a query string is most of the traffic
(every feed reader polls it), and the answer is a stored document: Flask routing, request parsing
and an ``HGETALL`` that moves the body and its gzip copy cost more than the answer itself.
:class:`FastFeeds` is a WSGI middleware that answers those requests before Flask:

- the path is looked up in a table of the known topics x formats built at start (a combined
  feed, an archive page, an unknown topic or format is not in it); any other method, or any
  query string, goes to Flask;
- one Redis round trip (a Lua script) reads only the validators: the stored document's ``etag``,
  ``modified``, ``changed``, whether it has a ``gz`` copy, and the topic's ``changed`` stamp.
  The command is packed once per route and sent on connections the fast path keeps for itself
  (:class:`_Validators`): redis-py's generic path (pool checkout with a readiness poll, retry
  wrapper, packing, metrics hooks) costs several times the round trip's own CPU;
- a 304 (``If-None-Match``, ``If-Modified-Since``; :mod:`wirefeed.services.conditional`) moves no body;
- bodies are kept per process, per (topic, format), with the stored version (``etag``,
  ``modified``, ``changed``) they belong to; when it moved on, one ``HMGET`` fetches the body the
  client takes (plain or gzip), never both (the plain bytes are derived from gzip, once);
- the response (status, headers in order, body) is the one the Flask path gives: the tests
  compare them byte for byte; it is counted for ``/metrics`` (``count``: an in-memory counter,
  :class:`wirefeed.services.metrics.WebMetrics`), as the app counts the responses Flask gives;
- no document, a document older than its topic (Flask re-renders and stores it), a Redis error
  (Flask, whose client retries, serves the stale copy or a 503), or a document that changed
  between the two reads: the request goes to Flask unchanged.

Every document it serves also goes into the app's stale cache (:mod:`wirefeed.services.stale`) under the
key the Flask path uses, so feeds stay servable while Redis is down. Unlike the Flask path it
remembers only bodies it read: a process that answered only 304s for a version has none to
remember (the previous version stays), and one whose clients never took gzip keeps no gzip copy.
"""

from __future__ import annotations

import gzip
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass
from wsgiref.types import StartResponse, WSGIApplication, WSGIEnvironment

import redis

from wirefeed.feeds.render import cdn
from wirefeed.feeds.render.formats import FORMATS, MEDIA_TYPES, feed_url
from wirefeed.feeds.render.publish import hub_url
from wirefeed.feeds.store import keys
from wirefeed.feeds.store.story_store import FeedDoc
from wirefeed.services.conditional import validators_match
from wirefeed.services.encoding import accepts_gzip
from wirefeed.services.security import HTML_SECURITY_HEADERS, SECURITY_HEADERS
from wirefeed.services.stale import stale_key
from wirefeed.services.state import AppState

_VALIDATORS = """
local v = redis.call('HMGET', KEYS[1], 'etag', 'modified', 'changed')
v[4] = redis.call('HEXISTS', KEYS[1], 'gz')
v[5] = redis.call('HGET', KEYS[2], 'changed')
return v
"""
"""KEYS: the feed document, the topic's meta hash. Returns etag, modified, changed, has gz,
topic changed (missing values as nil)."""

_Answer = tuple[str, list[tuple[str, str]], bytes]
"""Status line, headers, body."""

OK = "200 OK"
NOT_MODIFIED = "304 NOT MODIFIED"  # as werkzeug spells it
_304_EXTRA = SECURITY_HEADERS + HTML_SECURITY_HEADERS
"""Flask builds a 304 as a bare ``Response`` (mimetype ``text/html``), so the app adds the HTML
security headers too; werkzeug drops its entity headers (``Last-Modified``, ``Content-Type``)."""


@dataclass(frozen=True, slots=True)
class _Route:
    slug: str
    fmt: str
    doc_key: str
    content_type: str
    link: str
    cdn: list[tuple[str, str]]
    """``Surrogate-Key`` and ``Cache-Tag`` (:mod:`wirefeed.feeds.render.cdn`)."""
    stale_key: str
    validators: Sequence[bytes]
    """The packed ``EVALSHA`` of the validators script for this document and topic."""


class _Validators:
    """Runs the validators script on connections of its own.

    Connections are made like the client's own, so under Sentinel they connect to the current
    primary; an idle one to a server that is no longer the primary the client's pool knows of is
    dropped before use (``owns_connection``), so the fast path follows a failover as the client
    does (reading a just-demoted primary, now a replica of the new one, is harmless: at worst
    a 304 or a body a moment stale, as with any replica).

    Idle connections wait in a list (``pop``/``append`` are atomic, so threads need no lock);
    there are at most as many as requests ran at once. A connection goes back only after a
    whole reply was read; on any error it is closed and dropped (the request then goes to Flask,
    whose client retries), so a connection taken from the list never holds unread data.
    """

    def __init__(self, client: redis.Redis) -> None:
        self.client = client
        self.pool = client.connection_pool
        self.script = client.register_script(_VALIDATORS)
        self._idle: list[redis.connection.AbstractConnection] = []
        self._packer = self._new()  # never connected: it only packs commands

    def _new(self) -> redis.connection.AbstractConnection:
        """A connection like the client's own (same server, database, timeouts, credentials)."""
        pool = self.client.connection_pool
        return pool.connection_class(**pool.connection_kwargs)

    def pack(self, doc_key: str, meta_key: str) -> Sequence[bytes]:
        return self._packer.pack_command("EVALSHA", self.script.sha, 2, doc_key, meta_key)

    def read(self, packed: Sequence[bytes]) -> list[bytes | int | None]:
        try:
            conn = self._idle.pop()
            if not self.pool.owns_connection(conn):  # the primary moved (Sentinel), or a fork
                conn.disconnect()
                conn = self._new()
        except IndexError:
            conn = self._new()
        try:
            try:
                conn.send_packed_command(packed)
                reply = conn.read_response()
            except redis.exceptions.NoScriptError:  # Redis restarted or flushed its scripts
                self.client.script_load(_VALIDATORS)
                conn.send_packed_command(packed)
                reply = conn.read_response()
        except BaseException:
            conn.disconnect()
            raise
        self._idle.append(conn)
        return reply


@dataclass(frozen=True, slots=True)
class _Doc:
    """What this process holds of one stored document version."""

    version: tuple[bytes, bytes, int]
    """``etag``, ``modified`` and ``changed`` as stored: the same ETag (same bytes) may come
    back with a later ``changed`` stamp."""
    etag: str
    modified: str
    changed: int
    body: bytes | None = None
    gz: bytes | None = None
    stale: FeedDoc | None = None
    """The whole document for the stale cache, once a body is known."""


def _with_body(doc: _Doc, field: str, data: bytes) -> _Doc:
    """``doc`` with its plain or gzip body filled in (and the plain one derived from gzip)."""
    body, gz = (data, doc.gz) if field == "body" else (doc.body, data)
    if body is None and gz is not None:
        body = gzip.decompress(gz)  # once per version: the stale cache needs the plain bytes
    stale = FeedDoc(body, doc.etag, doc.modified, doc.changed, gz) if body is not None else None
    return _Doc(doc.version, doc.etag, doc.modified, doc.changed, body, gz, stale)


class FastFeeds:
    """WSGI middleware answering plain feed requests from validators and an in-process body
    cache; everything else goes to ``app`` (the Flask WSGI app)."""

    def __init__(
        self, app: WSGIApplication, st: AppState, count: Callable[[int, str], None] | None = None
    ) -> None:
        self.app = app
        self.st = st
        self.count = count or (lambda status, fmt: None)
        """Counts a response this middleware gave (status, format) for ``/metrics``."""
        self.cache_control = f"public, max-age={st.settings.feed_max_age}"
        base = st.settings.base_url
        link_hub = f'<{hub_url(st.settings)}>; rel="hub", '
        slugs = [keys.ALL_TOPIC, *st.taxonomy.topics]
        self.validators = _Validators(st.redis)
        self.routes: dict[str, _Route] = {}
        for slug in slugs:
            if not st.is_feed(slug):
                continue
            for fmt in FORMATS:
                path = f"/feeds/{slug}.{fmt}"
                self.routes[path] = _Route(
                    slug,
                    fmt,
                    keys.feed_doc(slug, fmt),
                    MEDIA_TYPES[fmt],
                    f'{link_hub}<{feed_url(base, slug, fmt)}>; rel="self"',
                    cdn.headers((cdn.FEEDS, cdn.topic_key(slug))),
                    stale_key(fmt, path + "?"),  # request.full_path of a request without a query
                    self.validators.pack(keys.feed_doc(slug, fmt), keys.topic_meta(slug)),
                )
        self.docs: dict[tuple[str, str], _Doc] = {}

    def __call__(self, environ: WSGIEnvironment, start_response: StartResponse) -> Iterable[bytes]:
        route = self.routes.get(environ.get("PATH_INFO", ""))
        if (
            route is None
            or environ.get("QUERY_STRING")
            or environ.get("REQUEST_METHOD") not in ("GET", "HEAD")
        ):
            return self.app(environ, start_response)
        try:
            answer = self._answer(route, environ)
        except redis.RedisError:
            answer = None  # Flask serves the stale copy, or a 503
        if answer is None:
            return self.app(environ, start_response)
        status, headers, body = answer
        self.count(304 if status is NOT_MODIFIED else 200, route.fmt)
        start_response(status, headers)
        return [] if environ["REQUEST_METHOD"] == "HEAD" or not body else [body]

    def _answer(self, route: _Route, environ: WSGIEnvironment) -> _Answer | None:
        etag_b, modified_b, changed_b, has_gz, topic_changed = self.validators.read(route.validators)
        if not etag_b or not modified_b:
            return None  # nothing stored (or half a hash): Flask renders it
        changed = int(changed_b or 0)
        if changed < int(topic_changed or 0):
            return None  # older than its topic: Flask renders it again and stores it
        cache_key = (route.slug, route.fmt)
        version = (etag_b, modified_b, changed)
        doc = self.docs.get(cache_key)
        if doc is None or doc.version != version:
            doc = _Doc(version, etag_b.decode(), modified_b.decode(), changed)
            self.docs[cache_key] = doc
        etag = doc.etag
        gzip_ok = bool(has_gz) and accepts_gzip(environ.get("HTTP_ACCEPT_ENCODING"))
        sent_etag = etag[:-1] + '-gz"' if gzip_ok else etag
        headers = [
            ("ETag", sent_etag),
            ("Last-Modified", doc.modified),
            ("Cache-Control", self.cache_control),
            ("Vary", "Accept-Encoding"),
            ("Link", route.link),
            *route.cdn,
        ]
        if validators_match(
            environ.get("HTTP_IF_NONE_MATCH"),
            environ.get("HTTP_IF_MODIFIED_SINCE"),
            (sent_etag, etag),
            doc.modified,
        ):
            self._remember(route, doc)
            del headers[1]  # werkzeug drops Last-Modified from a 304
            headers.extend(_304_EXTRA)
            return NOT_MODIFIED, headers, b""
        field = "gz" if gzip_ok else "body"
        body = doc.gz if gzip_ok else doc.body
        if body is None:
            fetched = self._fetch(route, doc, field)
            if fetched is None:
                return None
            doc, body = fetched
        self._remember(route, doc)
        if gzip_ok:
            headers.append(("Content-Encoding", "gzip"))
        headers.append(("Content-Type", route.content_type))
        headers.append(("Content-Length", str(len(body))))
        headers.extend(SECURITY_HEADERS)
        return OK, headers, body

    def _fetch(self, route: _Route, doc: _Doc, field: str) -> tuple[_Doc, bytes] | None:
        """Read one body of ``doc``'s version; ``None`` if the stored document moved on meanwhile."""
        etag_b, modified_b, changed_b, data = self.st.redis.hmget(
            route.doc_key, ["etag", "modified", "changed", field]
        )
        if data is None or (etag_b, modified_b, int(changed_b or 0)) != doc.version:
            return None
        current = self.docs.get((route.slug, route.fmt))
        if current is not None and current.version == doc.version:
            doc = current  # keep a body another thread fetched meanwhile
        doc = _with_body(doc, field, data)
        self.docs[(route.slug, route.fmt)] = doc
        return doc, data

    def _remember(self, route: _Route, doc: _Doc) -> None:
        if doc.stale is not None:
            self.st.stale.put(route.stale_key, doc.stale)
