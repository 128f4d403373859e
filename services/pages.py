"""HTML pages people look at, plus the topic list (JSON) and OPML.

``/`` shows the newest stories, a subscribe box for the feed of every story and the topics with
counts and feed links; ``/topics/<slug>`` the newest stories of a topic and its subscribe box;
``/stories/<id>`` one story in full (410 Gone once withdrawn). Every page advertises its feeds
for autodiscovery (``<link rel="alternate">`` for Atom, RSS and JSON Feed).

All text is escaped by Jinja; no page needs JavaScript. The one script,
``static/copy.js`` (loaded from the same origin, as the CSP ``script-src 'self'`` demands; no
inline script or style anywhere), only adds the "Copy" buttons of the subscribe boxes, which
are hidden until it runs: without it the feed address is still there to select and copy.
"""

from __future__ import annotations

from typing import Any

from flask import Blueprint, Response, abort, g, jsonify, make_response, redirect, render_template, url_for

from wirefeed.config import defaults
from wirefeed.feeds.identity import editing
from wirefeed.feeds.render import cdn
from wirefeed.feeds.render.formats import FORMATS, OPML_MEDIA_TYPE, body_html, feed_url, render_opml
from wirefeed.feeds.render.publish import topic_title
from wirefeed.feeds.store import keys
from wirefeed.feeds.stories.model import from_micros
from wirefeed.feeds.websub.store import hub_url
from wirefeed.services.ninjs_bp import find_story, story_response, wants_ninjs, well_formed
from wirefeed.services.state import AppState, state

bp = Blueprint("pages", __name__)


def _tag(*surrogate_keys: str) -> None:
    """Name what this page shows for a CDN (``Surrogate-Key``/``Cache-Tag``, added by the app)."""
    g.surrogate_keys = [cdn.PAGES, *surrogate_keys]


def _topic_rows(st: AppState) -> list[dict[str, Any]]:
    slugs = [keys.ALL_TOPIC, *st.taxonomy.topics]
    counts = st.store.counts(slugs)
    rows = []
    for slug in slugs:
        title, description = topic_title(st.taxonomy, slug)
        parent = None if slug == keys.ALL_TOPIC else st.taxonomy.topics[slug].parent
        rows.append(
            {
                "slug": slug,
                "title": title,
                "description": description,
                "parent": parent,
                "count": counts[slug],
                "html_url": f"{st.settings.base_url}/topics/{slug}",
                "feeds": {fmt: feed_url(st.settings.base_url, slug, fmt) for fmt in FORMATS},
                "mediatopic": _mediatopic(st, slug),
            }
        )
    return rows


@bp.get("/")
def index() -> str:
    st = state()
    topics = _topic_rows(st)
    _tag(cdn.topic_key(keys.ALL_TOPIC))
    return render_template(
        "index.html",
        title=st.settings.feed_title,
        topics=topics,
        all_topic=topics[0],
        hub=hub_url(st.settings.base_url),
        recent=st.store.page(keys.ALL_TOPIC, defaults.HOME_PAGE_STORIES),
        topic_titles=_titles(st),
    )


@bp.get("/topics/<slug>")
def topic_page(slug: str) -> str:
    st = state()
    if not st.is_feed(slug):
        abort(404)
    rows = _topic_rows(st)
    by_slug = {r["slug"]: r for r in rows}
    row = by_slug[slug]
    _tag(cdn.topic_key(slug), *(cdn.topic_key(r["slug"]) for r in rows if r["parent"] == slug))
    return render_template(
        "topic.html",
        title=st.settings.feed_title,
        topic=row,
        parent=by_slug.get(row["parent"]) if row["parent"] else None,
        children=[r for r in rows if r["parent"] == slug],
        hub=hub_url(st.settings.base_url),
        stories=st.store.page(slug, st.settings.feed_limit),
        topic_titles=_titles(st),
    )


@bp.get("/stories/<story_id>")
def story_page(story_id: str) -> Response | tuple[str, int]:
    st = state()
    story = find_story(story_id)
    if story is None:
        merged_into = st.store.resolve_aliases([story_id])[0] if well_formed(story_id) else story_id
        if merged_into != story_id and st.store.get(merged_into) is not None:  # merged by an editor
            return redirect(url_for("pages.story_page", story_id=merged_into), 301)
        abort(404)
    _tag(cdn.story_key(story.id))
    if wants_ninjs():  # a withdrawn story too: ``pubStatus: canceled`` tells a CMS to recall it
        return story_response(story, negotiated=True)
    if story.withdrawn:  # 410 Gone: a short page saying so, and when; nothing of the story
        when = from_micros(story.status_at)
        return render_template("gone.html", title=st.settings.feed_title, story=story, when=when), 410
    page = make_response(
        render_template(
            "story.html",
            title=st.settings.feed_title,
            story=story,
            body=body_html(story),
            revisions=st.store.revisions(story.id) if story.version > 1 else [],
            edits=editing.history(st.redis, story.id),
            corrected_at=from_micros(story.status_at),
            topic_titles=_titles(st),
        )
    )
    page.headers["Vary"] = "Accept"  # the same URL answers ninjs to Accept: application/ninjs+json
    return page


@bp.get("/topics")
def topics_json() -> Response:
    _tag(cdn.topic_key(keys.ALL_TOPIC))
    return jsonify({"topics": _topic_rows(state())})


@bp.get("/opml")
def opml() -> Response:
    st = state()
    _tag()
    topics = [(t.slug, t.title, t.description) for t in st.taxonomy.topics.values()]
    body = render_opml(st.settings.base_url, st.settings.feed_title, topics)
    return Response(body, 200, content_type=OPML_MEDIA_TYPE)


def _mediatopic(st: AppState, slug: str) -> dict[str, str] | None:
    """A topic's IPTC Media Topic for ``/topics`` (``None`` for ``all`` or a topic without one)."""
    mt = st.taxonomy.topics[slug].mediatopic if slug in st.taxonomy.topics else None
    return {"code": mt.code, "uri": mt.uri, "name": mt.name} if mt else None


def _titles(st: AppState) -> dict[str, str]:
    return {slug: t.title for slug, t in st.taxonomy.topics.items()}
