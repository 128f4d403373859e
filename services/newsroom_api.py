"""The newsroom API: ``POST /api/stories/<id>/withdraw`` and ``POST /api/stories/<id>/correct``.

Same bearer token as the ingest API (``WIREFEED_INGEST_TOKEN``). Bodies are JSON:

- withdraw: ``{"reason": "..."}`` (optional); 200 with the story's new state, 404 unknown id,
  409 already withdrawn;
- correct: ``{"title": "...", "text": "...", "note": "..."}`` (title and/or text required; text
  paragraphs separated by blank lines); 200 with the new state, 404, 409 for a withdrawn story
  or an unchanged text, 400 for a bad body.

The work is in :mod:`wirefeed.feeds.newsroom` (store, publish, WebSub push).
"""

from __future__ import annotations

from typing import Any

from flask import Blueprint, Response, jsonify, request

from wirefeed.config import defaults
from wirefeed.errors import NoSuchStory, StoryConflict
from wirefeed.feeds import newsroom
from wirefeed.services.api import _error, require_token
from wirefeed.services.state import state

bp = Blueprint("newsroom_api", __name__, url_prefix="/api/stories")


def _body() -> dict[str, Any] | Response:
    if not request.content_length:
        return {}
    data = request.get_json(silent=True)
    if not isinstance(data, dict):
        return _error(400, "bad-body", "the body must be a JSON object (Content-Type: application/json)")
    for name in ("reason", "title", "text", "note"):
        if data.get(name) is not None and not isinstance(data[name], str):
            return _error(400, "bad-body", f"{name!r} must be a string")
    size = sum(len(data.get(n) or "") for n in ("reason", "title", "text", "note"))
    if size > defaults.MAX_CORRECTION_CHARS:
        return _error(413, "too-large", f"over {defaults.MAX_CORRECTION_CHARS} characters")
    return data


@bp.post("/<story_id>/withdraw")
@require_token
def withdraw(story_id: str) -> Response:
    st = state()
    data = _body()
    if isinstance(data, Response):
        return data
    reason = " ".join((data.get("reason") or "").split())
    try:
        story = newsroom.withdraw(st.store, st.taxonomy, st.settings, story_id, reason)
    except NoSuchStory as exc:
        return _error(404, "unknown-story", str(exc))
    except StoryConflict as exc:
        return _error(409, "conflict", str(exc))
    return jsonify(newsroom.state(st.settings, story))


@bp.post("/<story_id>/correct")
@require_token
def correct(story_id: str) -> Response:
    st = state()
    data = _body()
    if isinstance(data, Response):
        return data
    title, text = data.get("title"), data.get("text")
    if title is not None and not title.strip():
        return _error(400, "bad-body", "'title' must not be blank")
    if title is None and text is None:
        return _error(400, "bad-body", "give a new 'title' and/or 'text'")
    note = " ".join((data.get("note") or "").split())
    try:
        story = newsroom.correct(
            st.store, st.taxonomy, st.settings, story_id, title=title, text=text, note=note
        )
    except NoSuchStory as exc:
        return _error(404, "unknown-story", str(exc))
    except StoryConflict as exc:
        return _error(409, "conflict", str(exc))
    return jsonify(newsroom.state(st.settings, story))
