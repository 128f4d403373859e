"""Categorizers the reliability tests plug into real workers with
``WIREFEED_CATEGORIZER=tests.reliability.categorizers:<name>`` (workers run from the repository
root, so this module imports).

- :func:`poison`: the built-in categorizer, except that it raises on any story whose title holds
  ``POISON`` (a story that makes the categorizer crash);
- :func:`slow`: the built-in categorizer, taking :data:`SLOW_SECONDS` per batch (so a signal
  surely lands while a batch is being worked on);
- :func:`paced`: the built-in categorizer, taking :data:`PACED_SECONDS` per batch (a dump of many
  batches lasts long enough for a series of kills to land mid-batch);
- :func:`killer`: the built-in categorizer, except that it SIGKILLs its own process on any story
  whose title holds ``KILLME`` (a batch that kills its worker: out of memory, a segfault).
"""

from __future__ import annotations

import os
import signal
import time
from collections.abc import Sequence

from wirefeed.feeds.categorize import Categorizer, TaggingInput, build_categorizer
from wirefeed.feeds.categorize.taxonomy import Taxonomy
from wirefeed.feeds.stories.model import TopicTag

POISON = "POISON"
KILLME = "KILLME"
SLOW_SECONDS = 4.0
PACED_SECONDS = 1.5


class PoisonPill(ValueError):
    """What the poison categorizer raises."""


class _Wrapped:
    def __init__(self, inner: Categorizer) -> None:
        self.inner = inner

    def categorize(self, item: TaggingInput) -> list[TopicTag]:
        return self.categorize_many([item])[0]

    def categorize_many(self, items: Sequence[TaggingInput]) -> list[list[TopicTag]]:
        return self.inner.categorize_many(items)


class _Poisoned(_Wrapped):
    def categorize_many(self, items: Sequence[TaggingInput]) -> list[list[TopicTag]]:
        for item in items:
            if POISON in item.title:
                raise PoisonPill(f"poison pill in {item.title!r}")
        return self.inner.categorize_many(items)


class _Slow(_Wrapped):
    def categorize_many(self, items: Sequence[TaggingInput]) -> list[list[TopicTag]]:
        time.sleep(SLOW_SECONDS)
        return self.inner.categorize_many(items)


class _Paced(_Wrapped):
    def categorize_many(self, items: Sequence[TaggingInput]) -> list[list[TopicTag]]:
        time.sleep(PACED_SECONDS)
        return self.inner.categorize_many(items)


class _Killer(_Wrapped):
    def categorize_many(self, items: Sequence[TaggingInput]) -> list[list[TopicTag]]:
        if any(KILLME in item.title for item in items):
            os.kill(os.getpid(), signal.SIGKILL)
        return self.inner.categorize_many(items)


def poison(taxonomy: Taxonomy) -> Categorizer:
    return _Poisoned(build_categorizer(taxonomy))


def slow(taxonomy: Taxonomy) -> Categorizer:
    return _Slow(build_categorizer(taxonomy))


def paced(taxonomy: Taxonomy) -> Categorizer:
    return _Paced(build_categorizer(taxonomy))


def killer(taxonomy: Taxonomy) -> Categorizer:
    return _Killer(build_categorizer(taxonomy))
