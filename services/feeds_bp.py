"""``/feeds/...``: serve feed documents, with conditional GET, gzip and WebSub links.

- ``/feeds/<topic>.<rss|atom|json|ninjs>``: a topic's current feed, rendered by the workers whenever
  the topic changes; a request reads the document and the topic's change stamp in one round
  trip. A document older than its topic (a worker died between storing and rendering) is
  rendered once and stored again.
- ``/feeds/<a>+<b>.<fmt>``, ``?limit=``, ``?q=``, ``?exclude=``, ``?kind=``, ``?since=``: a variant,
  rendered on a cache miss and kept (``wf:feedvar:<digest>``) until one of its topics changes.
- ``/feeds/<topic>`` (no extension): the format from ``?format=`` or ``Accept``.
- ``/feeds/<topic>/archive/<n>.<fmt>``: RFC 5005 archive pages of the change log; a full page
  changes only when one of its stories is withdrawn (it then shows the tombstone), so it is
  cached for ``archive_max_age`` and revalidated (ETag); pages past the retention horizon, and
  ``since`` cursors before it, answer 410 with a link to the current feed.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import replace

import redis
from flask import Blueprint, Response, request

from wirefeed.errors import BadFeedRequest, LogExpired, UnknownFeed
from wirefeed.feeds.render import cdn
from wirefeed.feeds.render.formats import FORMATS, MEDIA_TYPES, FeedInfo, feed_url, render
from wirefeed.feeds.render.publish import (
    archive_url,
    current_stories,
    feed_info,
    hub_url,
    json_cursor,
    make_doc,
    render_current,
    variant_digest,
)
from wirefeed.feeds.store import keys
from wirefeed.feeds.store.select import log_page, select
from wirefeed.feeds.store.story_store import FeedDoc
from wirefeed.services.conditional import not_modified
from wirefeed.services.encoding import accepts_gzip
from wirefeed.services.feed_request import FeedRequest, parse
from wirefeed.services.stale import stale_key
from wirefeed.services.state import AppState, state

bp = Blueprint("feeds", __name__)

FINAL = 2**62
"""``changed`` stamp of a cached variant that never goes stale (a full ``since`` page)."""


def plain(message: str, status: int) -> Response:
    return Response(message + "\n", status, mimetype="text/plain")


@bp.get("/feeds/<spec>.<fmt>")
def feed(spec: str, fmt: str) -> Response:
    return _serve(spec, fmt)


@bp.get("/feeds/<spec>")
def negotiated_feed(spec: str) -> Response:
    return _serve(spec, None)


def _serve(spec: str, fmt: str | None) -> Response:
    st = state()
    try:
        req = parse(
            st.settings, spec, fmt, args=request.args, accept=request.accept_mimetypes, is_feed=st.is_feed
        )
    except UnknownFeed as exc:
        return plain(str(exc), 404)
    except BadFeedRequest as exc:
        return plain(str(exc), 400)
    key = stale_key(req.fmt, request.full_path)
    try:
        if req.is_plain(st.settings):
            doc = _current_doc(st, req.slugs[0], req.fmt)
            cache = f"public, max-age={st.settings.feed_max_age}"
        else:
            answer = _variant_doc(st, req)
            if isinstance(answer, Response):
                return answer
            doc, cache = answer
    except redis.RedisError:
        doc = st.stale.get(key)
        if doc is None:
            raise  # -> 503 with Retry-After (services.app)
        resp = _respond(
            st, doc, req.fmt, "public, max-age=5", _public_url(), slugs=req.slugs, vary_accept=req.negotiated
        )
        resp.headers["Warning"] = '110 - "Response is Stale"'
        return resp
    st.stale.put(key, doc)
    self_url = (
        _public_url() if not req.is_plain(st.settings) else feed_url(st.settings.base_url, req.spec, req.fmt)
    )
    return _respond(st, doc, req.fmt, cache, self_url, slugs=req.slugs, vary_accept=req.negotiated)


@bp.get("/feeds/<slug>/archive/<int:page>.<fmt>")
def archive(slug: str, page: int, fmt: str) -> Response:
    st = state()
    if fmt not in FORMATS or not st.is_feed(slug):
        return plain("unknown feed", 404)
    if request.args:
        return plain("archive pages take no parameters", 400)
    size = st.settings.archive_page_size
    base, withdrawn = _log_meta(st, slug)
    full_pages = st.store.log_length(slug) // size
    if not 1 <= page <= full_pages:
        return plain(f"no archive page {page} of {slug!r} (it has {full_pages})", 404)
    if (page - 1) * size < base:
        return gone(slug, fmt, f"archive page {page} of {slug!r} is past the retention horizon")
    # A withdrawal renders the pages that held the story again (with its tombstone instead).
    digest = variant_digest({"archive": slug, "page": page, "fmt": fmt, "size": size, "gen": withdrawn})
    raw = st.redis.hgetall(keys.feed_variant(digest))
    if raw:
        doc = FeedDoc.from_fields(raw)
    else:
        try:
            lp = log_page(st.store, slug, (page - 1) * size, size)
        except LogExpired:
            return gone(slug, fmt, f"archive page {page} of {slug!r} is past the retention horizon")
        links = [("current", feed_url(st.settings.base_url, slug, fmt))]
        if page > 1:
            links.append(("prev-archive", archive_url(st.settings, slug, page - 1, fmt)))
        if page < full_pages:
            links.append(("next-archive", archive_url(st.settings, slug, page + 1, fmt)))
        newest = max((s.updated for s in lp.stories), default=None)
        changed = int(newest.timestamp() * 1_000_000) if newest else 0
        info = feed_info(
            st.settings,
            st.taxonomy,
            slug,
            changed,
            self_url=archive_url(st.settings, slug, page, fmt),
            links=tuple(links),
            archive=True,
        )
        doc = make_doc(render(fmt, info, list(reversed(lp.stories))), changed)
        # Only the "next-archive" link appears once the next page fills, and a withdrawal
        # changes the digest: keep the cached copy only as long as the variant TTL.
        st.store.put_variant(digest, doc, st.settings.variant_ttl)
    max_age = st.settings.archive_max_age if page < full_pages else st.settings.feed_max_age
    url = archive_url(st.settings, slug, page, fmt)
    return _respond(st, doc, fmt, f"public, max-age={max_age}", url, slugs=[slug])


def _log_meta(st: AppState, slug: str) -> tuple[int, int]:
    """A topic's ``log_base`` (changes removed by retention) and last withdrawal stamp."""
    base, withdrawn = st.redis.hmget(keys.topic_meta(slug), ["log_base", "withdrawn"])
    return int(base or 0), int(withdrawn or 0)


def gone(slug: str, fmt: str, message: str) -> Response:
    """410 for changes past the retention horizon, with a link to the topic's current feed."""
    current = feed_url(state().settings.base_url, slug, fmt)
    resp = plain(f"{message}; the current feed is {current}", 410)
    resp.headers["Link"] = f'<{current}>; rel="current"'
    return resp


def _respond(
    st: AppState,
    doc: FeedDoc,
    fmt: str,
    cache: str,
    self_url: str,
    *,
    slugs: Sequence[str],
    vary_accept: bool = False,
) -> Response:
    gzip_ok = doc.gz is not None and accepts_gzip(request.headers.get("Accept-Encoding"))
    etag = doc.etag[:-1] + '-gz"' if gzip_ok else doc.etag
    headers = {
        "ETag": etag,
        "Last-Modified": doc.modified,
        "Cache-Control": cache,
        "Vary": "Accept-Encoding, Accept" if vary_accept else "Accept-Encoding",
        "Link": f'<{hub_url(st.settings)}>; rel="hub", <{self_url}>; rel="self"',
        **dict(cdn.headers([cdn.FEEDS, *(cdn.topic_key(s) for s in slugs)])),
    }
    if not_modified(request, (etag, doc.etag), doc.modified):
        return Response(status=304, headers=headers)
    if gzip_ok:
        headers["Content-Encoding"] = "gzip"
        return Response(doc.gz, 200, headers=headers, content_type=MEDIA_TYPES[fmt])
    return Response(doc.body, 200, headers=headers, content_type=MEDIA_TYPES[fmt])


def _current_doc(st: AppState, slug: str, fmt: str) -> FeedDoc:
    pipe = st.redis.pipeline(transaction=False)
    pipe.hgetall(keys.feed_doc(slug, fmt))
    pipe.hget(keys.topic_meta(slug), "changed")
    raw, changed_raw = pipe.execute()
    changed = int(changed_raw) if changed_raw else 0
    if raw and int(raw.get(b"changed", b"0")) >= changed:
        return FeedDoc.from_fields(raw)
    stories, lengths = current_stories(st.store, st.settings, [slug])
    doc = render_current(
        st.settings,
        st.taxonomy,
        slug,
        fmt,
        stories=stories[slug],
        changed_us=changed,
        log_length=lengths[slug],
    )
    st.store.put_feed_docs({(slug, fmt): doc})
    return doc


def _variant_doc(st: AppState, req: FeedRequest) -> tuple[FeedDoc, str] | Response:
    parts = req.cache_parts()
    if req.since is not None:
        base, parts["gen"] = _log_meta(st, req.slugs[0])
        if req.since < base:
            return gone(req.slugs[0], "json", f"changes up to {base} are past the retention horizon")
    digest = variant_digest(parts)
    pipe = st.redis.pipeline(transaction=False)
    pipe.hgetall(keys.feed_variant(digest))
    for slug in req.slugs:
        pipe.hget(keys.topic_meta(slug), "changed")
    raw, *stamps = pipe.execute()
    changed = max((int(s) for s in stamps if s), default=0)
    max_age = f"public, max-age={st.settings.feed_max_age}"
    if raw and int(raw.get(b"changed", b"0")) >= changed:
        doc = FeedDoc.from_fields(raw)
        return doc, _since_cache(req, doc, max_age, st.settings.archive_max_age)
    slug = req.slugs[0]
    if req.since is not None:
        try:
            lp = log_page(st.store, slug, req.since, req.limit)
        except LogExpired:
            return gone(slug, req.fmt, f"changes after {req.since} are past the retention horizon")
        base = feed_url(st.settings.base_url, slug, req.fmt)
        extra = json_cursor(st.settings, slug, lp.last, req.fmt)
        extra["_wirefeed"]["full_page"] = lp.full
        if lp.full:
            extra["next_url"] = f"{base}?since={lp.last}&limit={req.limit}"
        info = feed_info(st.settings, st.taxonomy, slug, changed, self_url=_public_url(), json_extra=extra)
        doc = make_doc(render(req.fmt, info, lp.stories), changed)
        # A full page is final: cache it whatever the topic does next.
        cached = FeedDoc(doc.body, doc.etag, doc.modified, FINAL if lp.full else changed, doc.gz)
        st.store.put_variant(digest, cached, st.settings.variant_ttl)
        return doc, _since_cache(req, cached, max_age, st.settings.archive_max_age)
    stories = select(st.store, req.slugs, req.filters, req.limit)
    title_slug = slug if len(req.slugs) == 1 else keys.ALL_TOPIC
    info = feed_info(st.settings, st.taxonomy, title_slug, changed, self_url=_public_url())
    if len(req.slugs) > 1:
        titles = " + ".join(st.taxonomy.get(s).title if s != keys.ALL_TOPIC else "All" for s in req.slugs)
        info = _retitle(info, f"{st.settings.feed_title}: {titles}")
    doc = make_doc(render(req.fmt, info, stories), changed)
    st.store.put_variant(digest, doc, st.settings.variant_ttl)
    return doc, max_age


def _since_cache(req: FeedRequest, doc: FeedDoc, default: str, final_age: int) -> str:
    """A full ``since`` page changes only if one of its stories is withdrawn: cached for
    ``archive_max_age``, then revalidated."""
    final = req.since is not None and doc.changed == FINAL
    return f"public, max-age={final_age}" if final else default


def _retitle(info: FeedInfo, title: str) -> FeedInfo:
    return replace(info, title=title, description=f"Stories in any of: {title}")


def _public_url() -> str:
    """This request's URL on the public base URL (behind a proxy, ``request.url`` is internal)."""
    return state().settings.base_url + request.full_path.rstrip("?")
