"""The ingest API: ``POST /api/ingest`` (a dump as the body) and ``GET /api/ingest/<id>``.

Off unless ``WIREFEED_INGEST_TOKEN`` is set; the bearer token is compared in constant time, and
a client with ``auth_fail_rate`` failed authentications in a window gets 429 for every request
until the window ends (token guessing stays slow). Ingests are rate-limited per client
(:mod:`wirefeed.services.limits`).
The body is capped at ``max_dump_bytes`` before it is read (413); a form upload or other
non-text body gets 415 (the dump goes as the raw body). A dump that cannot be parsed at all, or
that looks like Markdown, HTML or code (unless ``?force=1``), gets 400 with the reason;
otherwise 202 with the ingest id, and items rejected one by one are listed while the rest is
queued. The API never takes a server file path.
"""

from __future__ import annotations

import hmac
import logging
from collections.abc import Callable
from functools import wraps
from typing import Any

from flask import Blueprint, Response, jsonify, request, url_for
from werkzeug.exceptions import RequestEntityTooLarge

from wirefeed.errors import InputRejected, NoSuchIngest
from wirefeed.feeds.queue import ingests
from wirefeed.services.limits import Limit, client_address, hit, spent
from wirefeed.services.state import state

bp = Blueprint("api", __name__, url_prefix="/api")
log = logging.getLogger(__name__)


def _error(status: int, reason: str, message: str, **extra: Any) -> Response:
    resp = jsonify({"error": reason, "message": message, **extra})
    resp.status_code = status
    return resp


def require_token(view: Callable[..., Response]) -> Callable[..., Response]:
    @wraps(view)
    def wrapped(*args: Any, **kwargs: Any) -> Response:
        st = state()
        token = st.settings.ingest_token
        if not token:
            return _error(403, "disabled", "the ingest API is off: set WIREFEED_INGEST_TOKEN to turn it on")
        fails = Limit("auth-fail", st.settings.auth_fail_rate, st.settings.auth_fail_window)
        who = client_address()
        locked = spent(st.redis, fails, who)
        if locked is not None:
            return _too_many(f"over {fails.rate} failed authentications in {fails.window} s", locked)
        given = request.headers.get("Authorization", "")
        scheme, _, value = given.partition(" ")
        if scheme.lower() != "bearer" or not hmac.compare_digest(value.strip().encode(), token.encode()):
            hit(st.redis, fails, who)
            resp = _error(401, "unauthorized", "a valid bearer token is required")
            resp.headers["WWW-Authenticate"] = 'Bearer realm="wirefeed"'
            return resp
        return view(*args, **kwargs)

    return wrapped


def _too_many(what: str, retry_after: int) -> Response:
    resp = _error(429, "rate-limited", f"{what}; retry later")
    resp.headers["Retry-After"] = str(retry_after)
    return resp


def rate_limited() -> Response | None:
    """A 429 once a client has made ``ingest_rate`` requests in the current window."""
    st = state()
    limit = Limit("ingest", st.settings.ingest_rate, st.settings.ingest_rate_window)
    retry_after = hit(st.redis, limit, client_address())
    if retry_after is None:
        return None
    return _too_many(f"over {limit.rate} ingests in {limit.window} s", retry_after)


TEXT_TYPES = frozenset({"", "application/octet-stream", "application/x-www-form-urlencoded"})
"""Content types besides ``text/*`` taken as a raw dump: none given, a raw file, and what
``curl --data-binary`` sends by default (its body is sent as is)."""

RAW_BODY_HINT = (
    "send the dump file itself as the request body, e.g. "
    "curl --data-binary @dump.txt -H 'Content-Type: text/plain' -H 'Authorization: Bearer TOKEN' "
    "http://HOST/api/ingest"
)


def unsupported_type(mimetype: str) -> Response | None:
    """A 415 for a body that is not a raw text dump (a form upload, JSON, an image, ...)."""
    if mimetype.startswith("text/") or mimetype in TEXT_TYPES:
        return None
    what = "a multipart form upload" if mimetype.startswith("multipart/") else f"{mimetype!r}"
    return _error(415, "unsupported-media-type", f"{what} is not a wire dump: {RAW_BODY_HINT}")


@bp.post("/ingest")
@require_token
def ingest() -> Response:
    st = state()
    limited = rate_limited()
    if limited is not None:
        return limited
    unsupported = unsupported_type(request.mimetype)
    if unsupported is not None:
        return unsupported
    length = request.content_length
    if length is not None and length > st.settings.max_dump_bytes:
        return _error(413, "too-large", f"the dump is over the limit of {st.settings.max_dump_bytes} bytes")
    try:
        data = request.get_data(cache=False)
        # A streamed (chunked) body is read up to the limit and silently stops there: refuse
        # it if there is more, rather than accept a cut dump.
        cut = length is None and len(data) >= st.settings.max_dump_bytes
        if cut and request.environ["wsgi.input"].read(1):
            raise RequestEntityTooLarge()
    except RequestEntityTooLarge:
        return _error(413, "too-large", f"the dump is over the limit of {st.settings.max_dump_bytes} bytes")
    try:
        force = request.args.get("force", "") in ("1", "true", "yes")
        sub = ingests.submit(st.redis, st.settings, data, source="api", force=force)
    except InputRejected as exc:
        return _error(400, exc.reason, str(exc), line=exc.line)
    log.info(
        "ingest accepted",
        extra={
            "event": "ingest_accepted",
            "ingest_id": sub.ingest_id,
            "items": sub.stories,
            "rejected": len(sub.errors),
            "request_id": request.headers.get("X-Request-Id", ""),
        },
    )
    status_url = url_for("api.ingest_status", ingest_id=sub.ingest_id)
    resp = jsonify({**sub.to_dict(), "status_url": status_url})
    resp.status_code = 202
    resp.headers["Location"] = status_url
    return resp


@bp.get("/ingest/<ingest_id>")
@require_token
def ingest_status(ingest_id: str) -> Response:
    try:
        prog = ingests.progress(state().redis, ingest_id)
    except NoSuchIngest as exc:
        return _error(404, "unknown-ingest", str(exc))
    return jsonify({"ingest_id": ingest_id, **prog.to_dict()})


@bp.errorhandler(RequestEntityTooLarge)
def _too_large(exc: RequestEntityTooLarge) -> Response:
    return _error(413, "too-large", "the dump is over the size limit")
