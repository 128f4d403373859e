"""``/stories/<id>.ninjs`` (and ``/stories/<id>`` asked for ``application/ninjs+json``): one story
as an IPTC ninjs 3.1 object, with conditional GET and gzip like the feeds.

The feeds themselves (``/feeds/<topic>.ninjs``, combined and filtered variants, ``?since=``
pages) are served by :mod:`wirefeed.services.feeds_bp` like every other format. A story document
is rendered on request (one story: cheaper than a cache round trip); its ETag comes from its
bytes and its ``Last-Modified`` from the story's last change.
"""

from __future__ import annotations

from flask import Blueprint, Response, request

from wirefeed.feeds.render.formats import MEDIA_TYPES
from wirefeed.feeds.render.ninjs import NINJS_MEDIA_TYPE, render_ninjs_story
from wirefeed.feeds.render.publish import feed_info, make_doc
from wirefeed.feeds.store import keys
from wirefeed.feeds.stories.model import Story, to_micros
from wirefeed.services.conditional import not_modified
from wirefeed.services.state import state

bp = Blueprint("ninjs", __name__)


def wants_ninjs() -> bool:
    """The request's ``Accept`` prefers ninjs to HTML (a browser's ``*/*`` does not)."""
    best = request.accept_mimetypes.best_match(["text/html", NINJS_MEDIA_TYPE], default="text/html")
    return best == NINJS_MEDIA_TYPE and request.accept_mimetypes[NINJS_MEDIA_TYPE] > 0


def well_formed(story_id: str) -> bool:
    """Whether ``story_id`` could be a story id (checked before it reaches Redis)."""
    return story_id.isalnum() and len(story_id) <= 64


def find_story(story_id: str) -> Story | None:
    st = state()
    return st.store.get(story_id) if well_formed(story_id) else None


@bp.get("/stories/<story_id>.ninjs")
def story_ninjs(story_id: str) -> Response:
    """The story's current version, or ``?version=N`` (an earlier one, kept as a revision)."""
    story = find_story(story_id)
    if story is None:
        return _plain("unknown story", 404)
    unknown = set(request.args) - {"version"}
    if unknown:
        return _plain(f"unknown parameter(s): {', '.join(sorted(unknown))}", 400)
    raw = request.args.get("version")
    if raw is not None:
        if not raw.isdigit() or not 1 <= int(raw) <= story.version:
            return _plain(f"version must be a whole number from 1 to {story.version}", 400)
        found = state().store.versions([(story.id, int(raw))]).get((story.id, int(raw)))
        if found is None:
            return _plain(f"version {raw} of this story is not kept", 404)
        story = found
    return story_response(story, negotiated=False)


def _plain(message: str, status: int) -> Response:
    return Response(message + "\n", status, mimetype="text/plain")


def story_response(story: Story, *, negotiated: bool) -> Response:
    """``story`` as a ninjs response, or a 304 when the client's copy is current."""
    st = state()
    changed = to_micros(story.updated)
    info = feed_info(st.settings, st.taxonomy, keys.ALL_TOPIC, changed)
    doc = make_doc(render_ninjs_story(info, story), changed)
    gzip_ok = doc.gz is not None and "gzip" in request.headers.get("Accept-Encoding", "")
    etag = doc.etag[:-1] + '-gz"' if gzip_ok else doc.etag
    self_url = f"{st.settings.base_url}/stories/{story.id}.ninjs"
    if request.args.get("version"):
        self_url += f"?version={story.version}"
    headers = {
        "ETag": etag,
        "Last-Modified": doc.modified,
        "Cache-Control": f"public, max-age={st.settings.feed_max_age}",
        "Vary": "Accept-Encoding, Accept" if negotiated else "Accept-Encoding",
        "Link": f'<{self_url}>; rel="self", <{st.settings.base_url}/stories/{story.id}>; rel="alternate"',
    }
    if not_modified(request, (etag, doc.etag), doc.modified):
        return Response(status=304, headers=headers)
    if gzip_ok:
        headers["Content-Encoding"] = "gzip"
        return Response(doc.gz, 200, headers=headers, content_type=MEDIA_TYPES["ninjs"])
    return Response(doc.body, 200, headers=headers, content_type=MEDIA_TYPES["ninjs"])
