"""The story store: stories, per-topic time indexes and rendered feed documents in Redis.

Reads are O(page): a topic page is one ``ZREVRANGE`` plus one ``MGET``, whatever the size of the
store. Writes are idempotent and pipelined: saving a batch is one round trip.
"""

from __future__ import annotations

import json
from collections.abc import Iterable, Sequence
from dataclasses import dataclass

import redis

from feeds import keys
from feeds.errors import StoreUnavailable
from feeds.model import Story, to_millis


@dataclass(frozen=True, slots=True)
class FeedDoc:
    """A rendered feed document as served: body bytes, strong ETag, Last-Modified."""

    body: bytes
    etag: str
    modified: str
    changed: int = 0
    """Milliseconds of the topic change this document reflects."""


class StoryStore:
    """Reads and writes stories, topic indexes and feed documents."""

    def __init__(self, client: redis.Redis) -> None:
        self.r = client

    # -- stories -----------------------------------------------------------------
    def get_many(self, ids: Sequence[str]) -> list[Story | None]:
        """The stories with these ids, ``None`` for ids not stored, in the same order."""
        if not ids:
            return []
        raw = self.r.mget([keys.story(i) for i in ids])
        return [Story.from_dict(json.loads(x)) if x is not None else None for x in raw]

    def get(self, story_id: str) -> Story | None:
        return self.get_many([story_id])[0]

    def save(self, stories: Sequence[Story], previous: Sequence[Story | None], now_ms: int) -> set[str]:
        """Store new and changed stories in one pipeline; return the topic slugs whose feeds changed.

        ``previous[i]`` is the stored version of ``stories[i]`` (or ``None``): a story that left a
        topic is removed from that topic's index.
        """
        touched: set[str] = set()
        if not stories:
            return touched
        pipe = self.r.pipeline(transaction=False)
        for story, old in zip(stories, previous, strict=True):
            score = to_millis(story.published)
            pipe.set(
                keys.story(story.id), json.dumps(story.to_dict(), ensure_ascii=False, separators=(",", ":"))
            )
            slugs = [keys.ALL_TOPIC, *story.topic_slugs]
            for slug in slugs:
                pipe.zadd(keys.topic_index(slug), {story.id: score})
            touched.update(slugs)
            if old is not None:
                for gone in set(old.topic_slugs) - set(story.topic_slugs):
                    pipe.zrem(keys.topic_index(gone), story.id)
                    touched.add(gone)
        for slug in touched:
            pipe.hset(keys.topic_meta(slug), "changed", now_ms)
        pipe.execute()
        return touched

    # -- topics ------------------------------------------------------------------
    def page(self, slug: str, limit: int) -> list[Story]:
        """The newest ``limit`` stories of a topic, newest first."""
        return self.pages([slug], limit)[slug]

    def pages(self, slugs: Iterable[str], limit: int) -> dict[str, list[Story]]:
        """Newest-first pages of several topics, in two round trips whatever their number."""
        slugs = list(slugs)
        pipe = self.r.pipeline(transaction=False)
        for slug in slugs:
            pipe.zrevrange(keys.topic_index(slug), 0, limit - 1)
        id_lists = [[i.decode() for i in ids] for ids in pipe.execute()]
        unique = list(dict.fromkeys(i for ids in id_lists for i in ids))
        by_id = {s.id: s for s in self.get_many(unique) if s is not None}
        return {
            slug: [by_id[i] for i in ids if i in by_id] for slug, ids in zip(slugs, id_lists, strict=True)
        }

    def counts(self, slugs: Sequence[str]) -> dict[str, int]:
        pipe = self.r.pipeline(transaction=False)
        for slug in slugs:
            pipe.zcard(keys.topic_index(slug))
        return dict(zip(slugs, pipe.execute(), strict=True))

    def changed(self, slug: str) -> int:
        """Milliseconds of the topic's last change (0 if it never changed)."""
        raw = self.r.hget(keys.topic_meta(slug), "changed")
        return int(raw) if raw else 0

    def changed_many(self, slugs: Sequence[str]) -> dict[str, int]:
        pipe = self.r.pipeline(transaction=False)
        for slug in slugs:
            pipe.hget(keys.topic_meta(slug), "changed")
        return {s: int(v) if v else 0 for s, v in zip(slugs, pipe.execute(), strict=True)}

    # -- rendered feeds ------------------------------------------------------------
    def put_feed_docs(self, docs: dict[tuple[str, str], FeedDoc]) -> None:
        """Store rendered default feeds, keyed by (slug, format), in one round trip."""
        pipe = self.r.pipeline(transaction=False)
        for (slug, fmt), doc in docs.items():
            pipe.hset(keys.feed_doc(slug, fmt), mapping=_doc_fields(doc))
        pipe.execute()

    def get_feed_doc(self, slug: str, fmt: str, limit: int | None = None) -> FeedDoc | None:
        key = keys.feed_doc(slug, fmt) if limit is None else keys.feed_doc_limit(slug, fmt, limit)
        raw = self.r.hgetall(key)
        if not raw:
            return None
        return FeedDoc(
            body=raw[b"body"],
            etag=raw[b"etag"].decode(),
            modified=raw[b"modified"].decode(),
            changed=int(raw.get(b"changed", b"0")),
        )

    def put_feed_doc_limit(self, slug: str, fmt: str, limit: int, doc: FeedDoc, ttl: int) -> None:
        self.r.hset(keys.feed_doc_limit(slug, fmt, limit), mapping=_doc_fields(doc))
        self.r.expire(keys.feed_doc_limit(slug, fmt, limit), ttl)


def _doc_fields(doc: FeedDoc) -> dict[str, bytes | str | int]:
    return {"body": doc.body, "etag": doc.etag, "modified": doc.modified, "changed": doc.changed}


def ping(client: redis.Redis) -> None:
    """Raise :class:`StoreUnavailable` if Redis does not answer."""
    try:
        client.ping()
    except redis.RedisError as exc:
        raise StoreUnavailable(f"Redis does not answer: {exc}") from exc
