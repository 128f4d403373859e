"""Does the client take gzip? ``Accept-Encoding`` read with its q-values (RFC 9110 §12.5.3).

``gzip;q=0`` refuses gzip, ``*`` takes it unless gzip is listed on its own, ``identity`` alone
refuses it. The header is parsed by werkzeug; both feed paths (``services.fast_feeds`` and
``services.feeds_bp``) ask here, so they answer alike. The fast path sees a few distinct header
values over and over, so decisions are cached per value (bounded, ``ACCEPT_ENCODING_CACHE``).
"""

from __future__ import annotations

from functools import lru_cache

from werkzeug.http import parse_accept_header

from wirefeed.config import defaults

_GZIP = ("gzip", "x-gzip")


def _decide(header: str) -> bool:
    wildcard = 0.0
    named: float | None = None
    for value, quality in parse_accept_header(header):
        coding = value.lower()
        if coding in _GZIP:
            named = quality if named is None else max(named, quality)
        elif coding == "*":
            wildcard = quality
    return (wildcard if named is None else named) > 0


_cached = lru_cache(maxsize=defaults.ACCEPT_ENCODING_CACHE)(_decide)


def accepts_gzip(header: str | None) -> bool:
    """True when an ``Accept-Encoding`` value (``None``: absent) takes gzip."""
    if not header:
        return False
    if len(header) > defaults.MAX_ACCEPT_ENCODING_CACHED:
        return _decide(header)  # odd, long values are not worth a cache slot
    return _cached(header)
