"""``/feeds/<topic>.<rss|atom|json>``: serve stored feed bytes, with conditional GET.

The default feed is rendered by the workers whenever its topic changes; a request reads it in
one round trip (the document and the topic's change stamp, pipelined). A document older than
its topic (e.g. a worker died between storing and rendering) or a non-default ``?limit`` is
rendered once and stored.
"""

from __future__ import annotations

from flask import Blueprint, Response, request

from feeds import keys
from feeds.publish import render_doc
from feeds.render import FORMATS, MEDIA_TYPES
from feeds.store import FeedDoc
from services.conditional import not_modified
from services.state import AppState, state

bp = Blueprint("feeds", __name__)

ALLOWED_PARAMS = frozenset({"limit"})


def plain(message: str, status: int) -> Response:
    return Response(message + "\n", status, mimetype="text/plain")


@bp.get("/feeds/<slug>.<fmt>")
def feed(slug: str, fmt: str) -> Response:
    st = state()
    if fmt not in FORMATS:
        return plain(f"unknown feed format {fmt!r}: use rss, atom or json", 404)
    if not st.is_feed(slug):
        return plain(f"unknown topic {slug!r}: see /topics", 404)
    unknown = set(request.args) - ALLOWED_PARAMS
    if unknown:
        return plain(f"unknown parameter(s): {', '.join(sorted(unknown))}", 400)
    limit = st.settings.feed_limit
    if "limit" in request.args:
        raw = request.args["limit"]
        if not raw.isdigit() or not 1 <= int(raw) <= st.settings.feed_max_limit:
            return plain(f"limit must be a whole number from 1 to {st.settings.feed_max_limit}", 400)
        limit = int(raw)
    doc = _current_doc(st, slug, fmt, limit)
    headers = {
        "ETag": doc.etag,
        "Last-Modified": doc.modified,
        "Cache-Control": f"public, max-age={st.settings.feed_max_age}",
    }
    if not_modified(request, doc.etag, doc.modified):
        return Response(status=304, headers=headers)
    return Response(doc.body, 200, headers=headers, content_type=MEDIA_TYPES[fmt])


def _current_doc(st: AppState, slug: str, fmt: str, limit: int) -> FeedDoc:
    default = limit == st.settings.feed_limit
    pipe = st.redis.pipeline(transaction=False)
    pipe.hgetall(keys.feed_doc(slug, fmt) if default else keys.feed_doc_limit(slug, fmt, limit))
    pipe.hget(keys.topic_meta(slug), "changed")
    raw, changed_raw = pipe.execute()
    changed = int(changed_raw) if changed_raw else 0
    if raw and int(raw.get(b"changed", b"0")) >= changed:
        return FeedDoc(raw[b"body"], raw[b"etag"].decode(), raw[b"modified"].decode(), changed)
    doc = render_doc(
        st.settings, st.taxonomy, slug, fmt, stories=st.store.page(slug, limit), changed_ms=changed
    )
    if default:
        st.store.put_feed_docs({(slug, fmt): doc})
    else:
        st.store.put_feed_doc_limit(slug, fmt, limit, doc, ttl=86400)
    return doc
