"""Reading a feed request: which topics, format, limit, filters, cursor. Anything unknown or
malformed is a :class:`BadFeedRequest` (a 400 with a short message), never silently ignored."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field

from werkzeug.datastructures import MIMEAccept, MultiDict

from wirefeed.config import defaults
from wirefeed.config.settings import Settings
from wirefeed.errors import BadFeedRequest, UnknownFeed
from wirefeed.feeds.render.formats import FORMATS
from wirefeed.feeds.render.publish import CURSOR_FORMATS
from wirefeed.feeds.store.select import Filters

ALLOWED_PARAMS = frozenset({"limit", "q", "exclude", "kind", "format", "since"})
KINDS = ("article", "headline")

MEDIA_TO_FORMAT = {
    "application/atom+xml": "atom",
    "application/rss+xml": "rss",
    "application/feed+json": "json",
    "application/ninjs+json": "ninjs",
    "application/json": "json",
    "application/xml": "atom",
    "text/xml": "atom",
}
"""Media types a client may ask for with ``Accept`` on ``/feeds/<topic>`` (no extension)."""


@dataclass(frozen=True)
class FeedRequest:
    slugs: tuple[str, ...]
    fmt: str
    limit: int
    filters: Filters = field(default_factory=Filters)
    since: int | None = None
    negotiated: bool = False

    @property
    def spec(self) -> str:
        return "+".join(self.slugs)

    def is_plain(self, settings: Settings) -> bool:
        """The topic's current feed as the workers render it (served from stored bytes)."""
        return (
            len(self.slugs) == 1
            and not self.filters.active
            and self.since is None
            and self.limit == settings.feed_limit
        )

    def cache_parts(self) -> dict[str, object]:
        f = self.filters
        return {
            "spec": self.spec,
            "fmt": self.fmt,
            "limit": self.limit,
            "q": " ".join(f.words),
            "exclude": ",".join(f.exclude),
            "kind": f.kind or "",
            "since": self.since,
        }


def whole_number(raw: str) -> int | None:
    """``raw`` as a whole number if it is one in ASCII digits of bounded length (no ``²``, no
    ``١``, no 10,000 digits), else ``None``."""
    if raw.isascii() and raw.isdigit() and len(raw) <= defaults.MAX_NUMBER_DIGITS:
        return int(raw)
    return None


def negotiate(accept: MIMEAccept, explicit: str | None) -> str:
    """Format for a request without an extension: ``?format=``, else ``Accept``, else Atom."""
    if explicit:
        return explicit
    best = accept.best_match(list(MEDIA_TO_FORMAT), default=None)
    return MEDIA_TO_FORMAT[best] if best else "atom"


def parse(
    settings: Settings,
    spec: str,
    fmt: str | None,
    *,
    args: MultiDict[str, str],
    accept: MIMEAccept,
    is_feed: Callable[[str], bool],
) -> FeedRequest:
    """The normalised request for ``/feeds/<spec>[.<fmt>]?<args>``."""
    unknown = set(args) - ALLOWED_PARAMS
    if unknown:
        raise BadFeedRequest(f"unknown parameter(s): {', '.join(repr(p) for p in sorted(unknown))}")
    chosen = _format(fmt, args.get("format"), accept)
    slugs = tuple(sorted(set(spec.split("+", defaults.FEED_MAX_TOPICS))))
    if len(slugs) > defaults.FEED_MAX_TOPICS:
        raise BadFeedRequest(f"a combined feed names at most {defaults.FEED_MAX_TOPICS} topics")
    for slug in slugs:
        if not is_feed(slug):
            raise UnknownFeed(f"unknown topic {slug!r}: see /topics")
    filters = _filters(args, is_feed)
    return FeedRequest(
        slugs=slugs,
        fmt=chosen,
        limit=_limit(settings, args),
        filters=filters,
        since=_since(args, chosen, slugs, filters),
        negotiated=fmt is None,
    )


def _format(fmt: str | None, explicit: str | None, accept: MIMEAccept) -> str:
    if explicit is not None and explicit not in FORMATS:
        raise BadFeedRequest("format must be one of: " + ", ".join(FORMATS))
    if fmt is not None and fmt not in FORMATS:
        raise UnknownFeed(f"unknown feed format {fmt!r}: use {', '.join(FORMATS)}")
    if fmt is not None and explicit is not None and explicit != fmt:
        raise BadFeedRequest(f"format={explicit} contradicts the .{fmt} extension")
    return fmt or negotiate(accept, explicit)


def _limit(settings: Settings, args: MultiDict[str, str]) -> int:
    if "limit" not in args:
        return settings.feed_limit
    limit = whole_number(args["limit"])
    if limit is None or not 1 <= limit <= settings.feed_max_limit:
        raise BadFeedRequest(f"limit must be a whole number from 1 to {settings.feed_max_limit}")
    return limit


def _filters(args: MultiDict[str, str], is_feed: Callable[[str], bool]) -> Filters:
    query = args.get("q", "")
    if len(query) > defaults.FEED_MAX_QUERY_CHARS:
        raise BadFeedRequest(f"q takes at most {defaults.FEED_MAX_QUERY_CHARS} characters")
    words = tuple(sorted(set(query.casefold().split())))
    if len(words) > defaults.FEED_MAX_QUERY_WORDS:
        raise BadFeedRequest(f"q takes at most {defaults.FEED_MAX_QUERY_WORDS} words")
    exclude = tuple(sorted({s for v in args.getlist("exclude") for s in v.split(",") if s}))
    for slug in exclude:
        if not is_feed(slug):
            raise BadFeedRequest(f"exclude names an unknown topic {slug!r}")
    kind = args.get("kind") or None
    if kind is not None and kind not in KINDS:
        raise BadFeedRequest("kind must be article or headline")
    return Filters(words, exclude, kind)


def _since(args: MultiDict[str, str], fmt: str, slugs: tuple[str, ...], filters: Filters) -> int | None:
    if "since" not in args:
        return None
    since = whole_number(args["since"])
    if fmt not in CURSOR_FORMATS or len(slugs) != 1:
        raise BadFeedRequest("since works on one topic's JSON or ninjs feed: /feeds/<topic>.json?since=N")
    if since is None:
        raise BadFeedRequest("since must be a cursor: a whole number from a previous response")
    if filters.active:
        raise BadFeedRequest("since cannot be combined with filters")
    return since
