"""A bounded memo for pure functions whose results may also be computed in bulk.

:func:`functools.lru_cache` cannot be filled from outside; :class:`Memo` can, so a function
that computes many results at once (all titles of a batch) leaves them for later single
look-ups (:mod:`wirefeed.feeds.identity.near`).
"""

from __future__ import annotations

from collections import OrderedDict
from contextlib import suppress
from typing import Generic, TypeVar

K = TypeVar("K")
V = TypeVar("V")


class Memo(Generic[K, V]):
    """A dict of at most ``maxsize`` entries; when full, the oldest entry makes room.

    Safe to share between threads: a race can only drop or recompute an entry, never give a
    wrong value (values must be pure functions of their keys).
    """

    def __init__(self, maxsize: int) -> None:
        self.maxsize = maxsize
        self._data: OrderedDict[K, V] = OrderedDict()  # (dropping a plain dict's first key is slow)

    def __len__(self) -> int:
        return len(self._data)

    def get(self, key: K) -> V | None:
        """The value stored for ``key``, else ``None``."""
        return self._data.get(key)

    def put(self, key: K, value: V) -> None:
        """Store ``value`` for ``key``, dropping the oldest entry if the memo is full."""
        data = self._data
        if self.maxsize <= 0:
            return
        if len(data) >= self.maxsize and key not in data:
            with suppress(KeyError):  # another thread emptied it first
                data.popitem(last=False)
        data[key] = value

    def clear(self) -> None:
        self._data.clear()
