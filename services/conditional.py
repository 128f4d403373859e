"""Conditional GET: does the client's cached copy still match (RFC 9110 §13)?"""

from __future__ import annotations

from email.utils import parsedate_to_datetime

from flask import Request

from wirefeed.config import defaults


def _etag_matches(header: str, etags: tuple[str, ...]) -> bool:
    """Weak comparison, as If-None-Match requires: ``W/"x"`` matches ``"x"``.

    Only the first ``MAX_ETAGS`` tags of the list are compared (a client holds one or two
    versions; a list of thousands is work for nothing): a match further on gets the full answer.
    """
    if header.strip() == "*":
        return True
    bare = {e.removeprefix("W/") for e in etags}
    tags = header.split(",", defaults.MAX_ETAGS)[: defaults.MAX_ETAGS]
    return any(tag.strip().removeprefix("W/") in bare for tag in tags)


def validators_match(
    if_none_match: str | None, if_modified_since: str | None, etags: tuple[str, ...], last_modified: str
) -> bool:
    """True when the request's ``If-None-Match`` / ``If-Modified-Since`` values (``None`` when
    absent) say the client already has this version.

    ``etags`` are the tags of the same content (plain and gzipped representations).
    ``If-None-Match`` wins over ``If-Modified-Since`` when both are sent.
    """
    if if_none_match is not None:
        return _etag_matches(if_none_match, etags)
    if if_modified_since:
        try:
            return parsedate_to_datetime(last_modified) <= parsedate_to_datetime(if_modified_since)
        except (TypeError, ValueError, IndexError):
            return False
    return False


def not_modified(request: Request, etags: tuple[str, ...], last_modified: str) -> bool:
    """:func:`validators_match` for a Flask request."""
    return validators_match(
        request.headers.get("If-None-Match"), request.headers.get("If-Modified-Since"), etags, last_modified
    )
