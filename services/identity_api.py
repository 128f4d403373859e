"""The editors' identity API: ``POST /api/stories/<id>/split`` and ``POST /api/stories/<id>/merge``
(``{"into": OLD_ID}``), with the ingest API's bearer token (:func:`.api.require_token`).

Split turns the story's latest merged-in version back into a story of its own; merge makes the
story (a missed resend) the latest version of ``into``. Both answer 200 with what changed
(:meth:`~wirefeed.feeds.identity.editing.Edit.to_dict`), 404 for an unknown story, 409 for an edit
that cannot be done (nothing to split, a story merged into itself), 400 for a bad body.
"""

from __future__ import annotations

import time

from flask import Blueprint, Response, jsonify, request

from wirefeed.errors import EditRefused, NoSuchStory
from wirefeed.feeds.identity import editing
from wirefeed.services.api import _error, require_token
from wirefeed.services.state import state

bp = Blueprint("identity_api", __name__, url_prefix="/api/stories")


def _answer(edit: editing.Edit) -> Response:
    st = state()
    editing.announce(st.redis, st.settings, edit)
    return jsonify(edit.to_dict())


@bp.post("/<story_id>/split")
@require_token
def split(story_id: str) -> Response:
    try:
        return _answer(editing.split(state().store, story_id, time.time_ns() // 1000))
    except NoSuchStory as exc:
        return _error(404, "unknown-story", str(exc))
    except EditRefused as exc:
        return _error(409, "refused", str(exc))


@bp.post("/<story_id>/merge")
@require_token
def merge(story_id: str) -> Response:
    body = request.get_json(silent=True)
    into = body.get("into") if isinstance(body, dict) else None
    if not isinstance(into, str) or not into:
        return _error(
            400, "bad-request", 'the body must be JSON: {"into": "<id of the story to merge into>"}'
        )
    try:
        return _answer(editing.merge(state().store, into, story_id, time.time_ns() // 1000))
    except NoSuchStory as exc:
        return _error(404, "unknown-story", str(exc))
    except EditRefused as exc:
        return _error(409, "refused", str(exc))
