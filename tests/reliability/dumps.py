"""Wire dumps for the reliability tests: many stories, all distinct, spread over many topics.

Titles come from :func:`tests.helpers.distinct_headlines` (five words of a vocabulary that holds
sports, business, politics, science... words, so stories land in several topics, plus a
number). Two titles with the same five words would be near-duplicates (word-set Jaccard 0.75,
over ``NEAR_THRESHOLD``) and be stored as versions of one story, so such repeats are
dropped: any two titles here share at most four words and "report" (Jaccard <= 5/9 < 0.6).
"""

from __future__ import annotations

import itertools
from collections.abc import Iterator
from functools import cache

from tests.helpers import headline_stream


@cache
def unique_titles(n: int, seed: int = 7) -> tuple[str, ...]:
    """``n`` titles, no two of them versions of one story (the first ``n`` of :func:`title_stream`)."""
    return tuple(itertools.islice(title_stream(seed), n))


def title_stream(seed: int = 7) -> Iterator[str]:
    """Titles without end, no two of them versions of one story: a test that runs for a time
    (the soak) takes as many as it needs."""
    seen: set[frozenset[str]] = set()
    for title in headline_stream(seed):
        words = frozenset(title.split()[:5])
        if words not in seen:
            seen.add(words)
            yield title


def dump(titles: list[str] | tuple[str, ...]) -> bytes:
    """A dump of headline-only items, one per title."""
    return "\n-\n".join(titles).encode() + b"\n"
