"""Conditional GET: does the client's cached copy still match (RFC 9110 §13)?"""

from __future__ import annotations

from email.utils import parsedate_to_datetime

from flask import Request


def _etag_matches(header: str, etags: tuple[str, ...]) -> bool:
    """Weak comparison, as If-None-Match requires: ``W/"x"`` matches ``"x"``."""
    if header.strip() == "*":
        return True
    bare = {e.removeprefix("W/") for e in etags}
    return any(tag.strip().removeprefix("W/") in bare for tag in header.split(","))


def not_modified(request: Request, etags: tuple[str, ...], last_modified: str) -> bool:
    """True when the request's validators say the client already has this version.

    ``etags`` are the tags of the same content (plain and gzipped representations).
    ``If-None-Match`` wins over ``If-Modified-Since`` when both are sent.
    """
    inm = request.headers.get("If-None-Match")
    if inm is not None:
        return _etag_matches(inm, etags)
    ims = request.headers.get("If-Modified-Since")
    if ims:
        try:
            return parsedate_to_datetime(last_modified) <= parsedate_to_datetime(ims)
        except (TypeError, ValueError, IndexError):
            return False
    return False
