"""The reliability tests' titles: as many as a test needs, none a version of another.

The soak used to slice its dumps from a fixed pool of 60,000 titles; on a fast machine it ran
out and posted an empty dump (400). Its titles now come from :func:`title_stream`.
"""

from __future__ import annotations

import itertools

from tests.reliability.dumps import title_stream, unique_titles
from wirefeed.feeds.identity import near

OLD_SOAK_POOL = 60_000


def test_titles_go_on_past_the_soaks_old_pool_and_stay_distinct() -> None:
    titles = list(itertools.islice(title_stream(seed=91), OLD_SOAK_POOL + 1000))
    assert len(titles) == OLD_SOAK_POOL + 1000
    assert len({frozenset(t.split()[:5]) for t in titles}) == len(titles)  # no two share their 5 words
    assert titles[:300] == list(unique_titles(300, seed=91))


def test_neighbouring_titles_are_not_versions_of_each_other() -> None:
    titles = list(itertools.islice(title_stream(seed=91), 400))
    options = list(enumerate(titles))
    assert [n for n, t in options if near.best_match(t, options[:n] + options[n + 1 :]) is not None] == []
