"""The MinHash LSH spelling of titles, without numpy: comparison words, seeds, bucket format, and
the straightforward bucket computation for the odd title (an editor's split or merge, in the web
process). :mod:`.near` computes the same buckets for whole dumps with numpy;
``tests/test_near_buckets.py`` checks that both agree.
"""

from __future__ import annotations

import re
import zlib
from collections.abc import Sequence
from functools import lru_cache

from wirefeed.config import defaults
from wirefeed.config.defaults import NEAR_BANDS, NEAR_MIN_WORDS, NEAR_ROWS

_WORD = re.compile(r"[^\W_]+", re.UNICODE)
_ASCII_WORD = re.compile(r"[a-z0-9]+")
"""What :data:`_WORD` finds in case-folded ASCII text (where ``\\w`` is ``[a-z0-9_]``), faster."""
_STOP = frozenset(
    [
        "a",
        "an",
        "the",
        "of",
        "in",
        "on",
        "at",
        "to",
        "for",
        "by",
        "with",
        "and",
        "or",
        "as",
        "is",
        "are",
        "was",
        "be",
        "from",
        "after",
        "over",
        "into",
        "its",
        "it",
        "s",
        "says",
        "say",
        "said",
    ]
)
_SEEDS = [zlib.crc32(f"wirefeed-minhash-{i}".encode()) for i in range(NEAR_BANDS * NEAR_ROWS)]
"""Start values of CRC-32: each seed gives one hash function of the MinHash family."""

_BAND_FORMAT = ("[" + ", ".join(["%d"] * NEAR_ROWS) + "]").encode()
"""How a band's MinHash values are spelled before hashing into a bucket: ``repr`` of the list."""


@lru_cache(maxsize=defaults.NEAR_TITLE_CACHE)
def words(title: str) -> frozenset[str]:
    """The comparison words of a title (memoised: see :data:`~wirefeed.config.defaults.NEAR_TITLE_CACHE`)."""
    folded = title.casefold()
    found = _ASCII_WORD.findall(folded) if folded.isascii() else _WORD.findall(folded)
    return frozenset(found).difference(_STOP)


def title_buckets(title: str) -> list[str]:
    """:func:`wirefeed.feeds.identity.near.buckets` of one title, one CRC-32 per word and seed."""
    ws = words(title)
    if len(ws) < NEAR_MIN_WORDS:
        return []
    encoded = [w.encode() for w in ws]
    mins = [min(zlib.crc32(e, seed) for e in encoded) for seed in _SEEDS]
    bands = [tuple(mins[b * NEAR_ROWS : (b + 1) * NEAR_ROWS]) for b in range(NEAR_BANDS)]
    return [f"{zlib.crc32(_BAND_FORMAT % band):08x}" for band in bands]


def near_keys(agency: str, titles: Sequence[str]) -> tuple[tuple[int, str], ...]:
    """:func:`wirefeed.feeds.identity.versions.near_keys`, without numpy."""
    found = ((band, f"{agency}:{b}") for title in titles for band, b in enumerate(title_buckets(title)))
    return tuple(dict.fromkeys(found))
