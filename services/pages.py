"""HTML pages people look at, plus the topic list (JSON) and OPML.

``/`` lists topics with counts and feed links; ``/topics/<slug>`` the newest stories of a topic;
``/stories/<id>`` one story in full. All text is escaped by Jinja; no page needs JavaScript.
"""

from __future__ import annotations

from typing import Any

from flask import Blueprint, Response, abort, jsonify, render_template

from feeds import keys
from feeds.render import FORMATS, body_html, feed_url, render_opml
from services.state import AppState, state

bp = Blueprint("pages", __name__)


def _topic_rows(st: AppState) -> list[dict[str, Any]]:
    slugs = [keys.ALL_TOPIC, *st.taxonomy.topics]
    counts = st.store.counts(slugs)
    rows = []
    for slug in slugs:
        if slug == keys.ALL_TOPIC:
            title, description, parent = "All stories", "Every story, newest first.", None
        else:
            t = st.taxonomy.topics[slug]
            title, description, parent = t.title, t.description, t.parent
        rows.append(
            {
                "slug": slug,
                "title": title,
                "description": description,
                "parent": parent,
                "count": counts[slug],
                "html_url": f"{st.settings.base_url}/topics/{slug}",
                "feeds": {fmt: feed_url(st.settings.base_url, slug, fmt) for fmt in FORMATS},
            }
        )
    return rows


@bp.get("/")
def index() -> str:
    st = state()
    return render_template(
        "index.html",
        title=st.settings.feed_title,
        topics=_topic_rows(st),
        all_feeds={fmt: feed_url(st.settings.base_url, "all", fmt) for fmt in FORMATS},
        recent=st.store.page(keys.ALL_TOPIC, 20),
        topic_titles=_titles(st),
    )


@bp.get("/topics/<slug>")
def topic_page(slug: str) -> str:
    st = state()
    if not st.is_feed(slug):
        abort(404)
    row = next(r for r in _topic_rows(st) if r["slug"] == slug)
    return render_template(
        "topic.html",
        title=st.settings.feed_title,
        topic=row,
        stories=st.store.page(slug, st.settings.feed_limit),
        topic_titles=_titles(st),
    )


@bp.get("/stories/<story_id>")
def story_page(story_id: str) -> str:
    st = state()
    story = st.store.get(story_id) if story_id.isalnum() and len(story_id) <= 64 else None
    if story is None:
        abort(404)
    return render_template(
        "story.html",
        title=st.settings.feed_title,
        story=story,
        body=body_html(story),
        topic_titles=_titles(st),
    )


@bp.get("/topics")
def topics_json() -> Response:
    return jsonify({"topics": _topic_rows(state())})


@bp.get("/opml")
def opml() -> Response:
    st = state()
    topics = [(t.slug, t.title, t.description) for t in st.taxonomy.topics.values()]
    body = render_opml(st.settings.base_url, st.settings.feed_title, topics)
    return Response(body, 200, content_type="text/x-opml; charset=utf-8")


def _titles(st: AppState) -> dict[str, str]:
    return {slug: t.title for slug, t in st.taxonomy.topics.items()}
