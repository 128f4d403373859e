"""``/websub``: the built-in WebSub hub (W3C WebSub §5), for the feeds of this service only.

``POST /websub`` with a form (``application/x-www-form-urlencoded``):

- ``hub.mode``: ``subscribe`` or ``unsubscribe``;
- ``hub.topic``: a feed of this service, ``<base>/feeds/<topic>.<rss|atom|json|ninjs>``;
- ``hub.callback``: an http(s) URL whose host resolves to public addresses only (unless allowed
  by ``WIREFEED_WEBSUB_ALLOW`` / ``WIREFEED_WEBSUB_ALLOW_PRIVATE``; checked by the worker);
- ``hub.lease_seconds`` (optional): granted within the configured bounds;
- ``hub.secret`` (optional, under 200 bytes): deliveries then carry ``X-Hub-Signature:
  sha256=<hex HMAC of the body>``.

A valid request is answered ``202 Accepted`` and verified asynchronously by the websub worker
(which resolves the callback host, checks every address and sends a GET that must echo
``hub.challenge``); the web request resolves nothing. Anything else is a ``400`` with a one-line
reason (also a new subscription over the caps per callback host or in total), and a client over
its rate limit, or every client together over the hub's, gets ``429`` with ``Retry-After``. The hub's
web side is :mod:`wirefeed.feeds.websub.hub`; its jobs run in :mod:`wirefeed.workers.websub`.
"""

from __future__ import annotations

from flask import Blueprint, Response, request
from flask.sansio.blueprints import BlueprintSetupState

from wirefeed.config import defaults
from wirefeed.errors import CallbackRefused
from wirefeed.feeds.render.formats import FORMATS
from wirefeed.feeds.websub import hub as websub_hub  # the view below is named hub
from wirefeed.feeds.websub.store import parse_topic
from wirefeed.services.feed_request import whole_number
from wirefeed.services.limits import ALL, Limit, client_address, hit
from wirefeed.services.state import state

bp = Blueprint("websub", __name__)

MODES = ("subscribe", "unsubscribe")


@bp.record_once
def _check_settings(setup: BlueprintSetupState) -> None:
    """Refuse to start with an allow-list that does not parse (ConfigError)."""
    websub_hub.policy(setup.app.extensions["wirefeed"].settings)


def _bad(message: str) -> Response:
    return Response(message + "\n", 400, mimetype="text/plain")


@bp.get("/websub")
def about() -> Response:
    base = state().settings.base_url
    return Response(
        "This is a WebSub hub (https://www.w3.org/TR/websub/) for the feeds of this service.\n"
        "POST hub.mode=subscribe|unsubscribe, hub.topic, hub.callback "
        "[, hub.lease_seconds, hub.secret] as a form.\n"
        f"Topics: {base}/feeds/<topic>.<rss|atom|json|ninjs>; topics are listed at {base}/topics\n",
        200,
        mimetype="text/plain",
    )


def _rate_limited() -> Response | None:
    """429 once this client, or every client together, made too many hub requests."""
    st = state()
    window = st.settings.websub_rate_window
    for limit, who, whose in (
        (Limit("websub", st.settings.websub_rate, window), client_address(), "from this client"),
        (Limit("websub-all", st.settings.websub_global_rate, window), ALL, "in all"),
    ):
        retry_after = hit(st.redis, limit, who)
        if retry_after is not None:
            return Response(
                f"over {limit.rate} hub requests {whose} in {window} s; retry later\n",
                429,
                {"Retry-After": str(retry_after)},
                mimetype="text/plain",
            )
    return None


@bp.post("/websub")
def hub() -> Response:
    st = state()
    settings = st.settings
    limited = _rate_limited()
    if limited is not None:
        return limited
    form = request.form
    mode = form.get("hub.mode", "")
    if mode not in MODES:
        return _bad("hub.mode must be subscribe or unsubscribe")
    topic = form.get("hub.topic", "")
    callback = form.get("hub.callback", "")
    if not topic or not callback:
        return _bad("hub.topic and hub.callback are required")
    parsed = parse_topic(settings.base_url, topic)
    if parsed is None or not st.is_feed(parsed[0]) or parsed[1] not in FORMATS:
        return _bad(
            f"hub.topic {topic!r} is not a feed of this hub: "
            f"use {settings.base_url}/feeds/<topic>.<rss|atom|json|ninjs> "
            f"(topics: {settings.base_url}/topics)"
        )
    slug, fmt = parsed

    raw_lease = form.get("hub.lease_seconds", "").strip()
    requested = whole_number(raw_lease) if raw_lease else None
    if raw_lease and requested is None:
        return _bad("hub.lease_seconds must be a whole number of seconds")
    lease = websub_hub.grant_lease(settings, requested)

    secret = form.get("hub.secret") or None
    if secret is not None and len(secret.encode("utf-8")) >= defaults.WEBSUB_MAX_SECRET_BYTES:
        return _bad(f"hub.secret must be shorter than {defaults.WEBSUB_MAX_SECRET_BYTES} bytes")

    try:
        websub_hub.precheck(settings, callback)  # no DNS here: the worker resolves and checks
        websub_hub.request(
            st.redis,
            settings,
            mode=mode,
            topic=topic,
            slug=slug,
            fmt=fmt,
            callback=callback,
            lease=lease,
            secret=secret,
        )
    except CallbackRefused as exc:
        return _bad(f"hub.callback refused: {exc}")
    return Response(
        f"{mode} request accepted: the hub will verify it with a GET to the callback\n",
        202,
        mimetype="text/plain",
    )
