"""What a transaction read and depends on (:meth:`wirefeed.feeds.store.story_store.StoryStore.watching`):
hash fields that other transactions write all the time (``wf:alias``, ``wf:near:*``), checked
field by field rather than WATCHed whole."""

from __future__ import annotations

from dataclasses import dataclass, field

import redis


@dataclass
class WatchedReads:
    """A transaction's pipeline, and the hash fields read for it: ``(key, fields, values)``."""

    pipe: redis.client.Pipeline
    hashes: list[tuple[str, list[str], list[bytes | None]]] = field(default_factory=list)

    def changed(self, client: redis.Redis, *, watch: bool = True) -> set[tuple[str, str]]:
        """Read the fields again (after a WATCH of their hashes on :attr:`pipe`, unless ``watch``
        is false): those (``(key, field)``) that changed since; what they hold now is what the
        next call compares with. Two round trips, whatever their number."""
        if not self.hashes:
            return set()
        if watch:
            self.pipe.watch(*{key for key, _, _ in self.hashes})
        again = client.pipeline(transaction=False)
        for key, fields, _ in self.hashes:
            again.hmget(key, fields)
        now = again.execute()
        changed = {
            (key, name)
            for (key, fields, before), values in zip(self.hashes, now, strict=True)
            for name, old, new in zip(fields, before, values, strict=True)
            if old != new
        }
        self.hashes = [
            (key, fields, values) for (key, fields, _), values in zip(self.hashes, now, strict=True)
        ]
        return changed
