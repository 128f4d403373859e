"""Feeds served while Redis is down: each web process remembers the documents it served last.

When Redis cannot be reached, a feed that was served recently is served again from memory,
stale but whole and with its own ETag (so a client's conditional GET still works), with
``Warning: 110`` and a short max-age, instead of a 5xx.
"""

from __future__ import annotations

import threading
from collections import OrderedDict

from wirefeed.feeds.store.story_store import FeedDoc


def stale_key(fmt: str, full_path: str) -> str:
    """The cache key of a feed response: its format and ``request.full_path`` (path, ``?``, query)."""
    return f"{fmt}:{full_path}"


class StaleCache:
    """A small thread-safe LRU of feed documents by request key."""

    def __init__(self, size: int) -> None:
        self.size = size
        self._docs: OrderedDict[str, FeedDoc] = OrderedDict()
        self._lock = threading.Lock()

    def put(self, key: str, doc: FeedDoc) -> None:
        with self._lock:
            if self._docs.get(key) is doc:
                self._docs.move_to_end(key)
                return
            self._docs[key] = doc
            self._docs.move_to_end(key)
            while len(self._docs) > self.size:
                self._docs.popitem(last=False)

    def get(self, key: str) -> FeedDoc | None:
        with self._lock:
            return self._docs.get(key)
