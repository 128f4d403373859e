"""The story store: stories, per-topic indexes and change logs, rendered feed documents.

Reads are O(page): a topic page is one ``ZREVRANGE`` plus one ``MGET``, a change-log page one
``LRANGE`` plus one ``MGET``, whatever the size of the store. Writes are idempotent and
pipelined: saving a batch is one round trip. Key names live in :mod:`wirefeed.feeds.store.keys`.
"""

from __future__ import annotations

import json
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from dataclasses import field as dc_field
from datetime import timedelta

import redis

from wirefeed.config import defaults
from wirefeed.errors import LogExpired, StoreUnavailable
from wirefeed.feeds.store import keys, near_index, scripts
from wirefeed.feeds.store.feed_doc import FeedDoc
from wirefeed.feeds.stories.model import Story, to_micros


@dataclass(frozen=True, slots=True)
class StoryChange:
    """A story to write: its new state, what was stored before, and how to find it again."""

    story: Story
    previous: Story | None
    superseded: tuple[Story, ...] = ()
    """Versions this change replaces, kept as revisions."""
    aliases: tuple[str, ...] = ()
    """Ids of reworded titles of this story (they resolve to ``story.id``)."""
    near_keys: tuple[tuple[int, str], ...] = ()
    """``(band, "<agency>:<bucket>")`` LSH entries of the story's titles."""
    log: bool = True
    """The text is new: append to the change logs and re-render the story's feeds. ``False``
    only records bookkeeping (e.g. the hash of an old version that arrived late)."""


@dataclass(frozen=True, slots=True)
class Saved:
    """What queueing a save changed: topics whose feeds changed, and the change-log entries
    (``<id>:<version>`` per topic, in order) still to append."""

    touched: set[str]
    log: dict[str, list[str]]


@dataclass
class _Writes:
    """A batch's writes merged per key, in the order the changes came."""

    stories: dict[str, str] = dc_field(default_factory=dict)
    revisions: dict[str, dict[str, str]] = dc_field(default_factory=dict)
    aliases: dict[str, str] = dc_field(default_factory=dict)
    window_us: int = 0
    """The near window: LSH entries go to the time slot of their story's last version."""
    near: dict[tuple[int, str], dict[str, str]] = dc_field(default_factory=dict)
    """LSH entries per band and time slot."""
    slots: set[str] = dc_field(default_factory=set)
    recent: list[list[object]] = dc_field(default_factory=list)
    """``[id, agency, µs of the last version, version, title, ["<agency>:<bucket>", ...]]`` of each
    story given LSH entries."""
    index: dict[str, dict[str, int]] = dc_field(default_factory=dict)
    removed: dict[str, list[str]] = dc_field(default_factory=dict)
    log: dict[str, list[str]] = dc_field(default_factory=dict)
    touched: set[str] = dc_field(default_factory=set)

    def add(self, ch: StoryChange) -> None:
        story, old = ch.story, ch.previous
        self.stories[keys.story(story.id)] = _dumps(story)
        for rev in ch.superseded:
            self.revisions.setdefault(story.id, {})[str(rev.version)] = _dumps(rev)
        self.aliases.update(dict.fromkeys(ch.aliases, story.id))
        if ch.near_keys:
            updated = to_micros(story.updated)
            value = near_index.entry(story.id, updated)
            slot = near_index.slot(updated, self.window_us)
            self.slots.add(slot)
            for band, field in ch.near_keys:
                self.near.setdefault((band, slot), {})[field] = value
            fields = [field for _, field in ch.near_keys]
            self.recent.append([story.id, story.agency, updated, story.version, story.title, fields])
        if not ch.log:
            return
        score = to_micros(story.published)
        slugs = [keys.ALL_TOPIC, *story.topic_slugs]
        entry = f"{story.id}:{story.version}"
        for slug in slugs:
            self.index.setdefault(slug, {})[story.id] = score
            self.log.setdefault(slug, []).append(entry)
        self.touched.update(slugs)
        if old is not None:
            for gone in set(old.topic_slugs) - set(story.topic_slugs):
                self.removed.setdefault(gone, []).append(story.id)
                self.touched.add(gone)


@dataclass(frozen=True, slots=True)
class PreparedSave:
    """:meth:`StoryStore.prepare_save`'s result: what :meth:`StoryStore.queue_save` queues."""

    writes: _Writes
    recent: str | None
    """The ``wf:nearrecent`` entry (JSON), if any story got LSH entries."""
    stale: near_index.Stale
    """Near-index slots to unlink (and whether an earlier release's index is still there)."""


def _dumps(story: Story) -> str:
    return json.dumps(story.to_dict(), ensure_ascii=False, separators=(",", ":"))


class StoryStore:
    """Reads and writes stories, topic indexes, change logs and feed documents."""

    def __init__(self, client: redis.Redis, *, near_window_hours: int = defaults.NEAR_WINDOW_HOURS) -> None:
        self.r = client
        self.near_window = timedelta(hours=near_window_hours)
        """How long after its last version a story can still take a near-duplicate as a version."""
        self.window_us = max(1, near_window_hours) * 3_600_000_000
        """Width of the near index's time slots: the window, at least an hour."""
        self._advance = client.register_script(scripts.ADVANCE_CLOCK)
        self._touch = client.register_script(scripts.TOUCH_TOPICS)
        self._put_if_newer = client.register_script(scripts.PUT_IF_NEWER)
        self._log_range = client.register_script(scripts.LOG_RANGE)

    # -- stamps ------------------------------------------------------------------
    def advance_clock(self, n: int, now_us: int) -> int:
        """Reserve ``n`` publication stamps; return the last. Stamps never repeat or go back,
        so stories ingested later always sort above earlier ones."""
        return int(self._advance(keys=[keys.CLOCK], args=[now_us, n]))

    # -- stories -----------------------------------------------------------------
    def get_many(self, ids: Sequence[str]) -> list[Story | None]:
        """The stories with these ids, ``None`` for ids not stored, in the same order."""
        if not ids:
            return []
        raw = self.r.mget([keys.story(i) for i in ids])
        return [Story.from_dict(json.loads(x)) if x is not None else None for x in raw]

    def get(self, story_id: str) -> Story | None:
        return self.get_many([story_id])[0]

    def get_raw(self, ids: Sequence[str]) -> list[bytes | None]:
        """The stored JSON of these stories (``None`` for ids not stored); :func:`parse` reads one."""
        if not ids:
            return []
        return self.r.mget([keys.story(i) for i in ids])

    @staticmethod
    def parse(raw: bytes) -> Story:
        return Story.from_dict(json.loads(raw))

    def resolve_aliases(self, ids: Sequence[str]) -> list[str]:
        """Each id, or the id of the story it is a reworded version of."""
        if not ids:
            return []
        found = self.r.hmget(keys.ALIAS, list(ids))
        return [f.decode() if f else i for i, f in zip(ids, found, strict=True)]

    def near_candidates(
        self, entries: Sequence[tuple[int, str]], since_us: int, until_us: int
    ) -> list[tuple[str, ...]]:
        """The stories in each ``(band, "<agency>:<bucket>")`` LSH entry whose last version is
        stamped from ``since_us`` to ``until_us`` (:mod:`.near_index`: one HMGET per band and
        live time slot, whatever the number of titles)."""
        live = near_index.live_slots(self.r)
        slots = [s for s in near_index.slots_between(since_us, until_us, self.window_us) if s in live]
        by_band: dict[int, list[str]] = {}
        for band, field in entries:
            by_band.setdefault(band, []).append(field)
        asked = [(band, slot) for band in sorted(by_band) for slot in slots]
        pipe = self.r.pipeline(transaction=False)
        for band, slot in asked:
            pipe.hmget(keys.near_band(band, slot), by_band[band])
        since_s = since_us // 1_000_000
        found: dict[tuple[int, str], list[str]] = {}
        for (band, _), values in zip(asked, pipe.execute() if asked else [], strict=True):
            for field, sid in zip(by_band[band], near_index.stories_since(values, since_s), strict=True):
                if sid is not None:
                    found.setdefault((band, field), []).append(sid)
        return [tuple(found.get(e, ())) for e in entries]

    def revisions(self, story_id: str) -> list[Story]:
        """Superseded versions of a story, oldest first."""
        raw = self.r.hgetall(keys.revisions(story_id))
        versions = sorted((int(v), Story.from_dict(json.loads(doc))) for v, doc in raw.items())
        return [s for _, s in versions]

    def revision_titles(self, ids: Iterable[str]) -> dict[str, list[str]]:
        """The titles of the superseded versions of these stories, in one round trip."""
        wanted = list(dict.fromkeys(ids))
        if not wanted:
            return {}
        pipe = self.r.pipeline(transaction=False)
        for sid in wanted:
            pipe.hvals(keys.revisions(sid))
        return {
            sid: list(dict.fromkeys(json.loads(raw)["title"] for raw in found))
            for sid, found in zip(wanted, pipe.execute(), strict=True)
        }

    def prepare_save(self, changes: Sequence[StoryChange], now_us: int) -> PreparedSave:
        """The writes of a batch of stories, merged per key and serialized, and the near-index
        slots that expire by ``now_us`` (one read): the CPU of a save, done before its commit so
        that :meth:`queue_save` only queues commands."""
        w = _Writes(window_us=self.window_us)
        for ch in changes:
            w.add(ch)
        recent = near_index.encode_recent(w.recent) if w.recent else None
        return PreparedSave(w, recent, near_index.stale_slots(self.r, now_us))

    def queue_save(
        self, pipe: redis.client.Pipeline, changes: Sequence[StoryChange] | PreparedSave, now_us: int
    ) -> Saved:
        """Queue the writes of a batch of stories on ``pipe`` (e.g. inside a MULTI), all but the
        change-log appends; return the touched topics and the log entries, which the pipeline
        appends when the ingest completes (:mod:`wirefeed.workers.record`). ``changes`` may be
        :meth:`prepare_save`'s result.

        Each story goes into its topics' indexes (scored by publication time); superseded
        versions are kept under ``wf:revs:<id>``; a story that left a topic is removed from its
        index; its LSH entries (its id and the stamp of its last version) go to the time slot
        of that stamp, and slots nothing can match any more are unlinked (:mod:`.near_index`);
        the touched topics' change stamps move forward (strictly). Writes of the same kind are
        merged into one command per key (one ``ZADD`` per topic, one ``HSET`` per LSH band and
        slot), so a batch costs a few dozen commands, not a dozen per story.
        """
        prepared = changes if isinstance(changes, PreparedSave) else self.prepare_save(changes, now_us)
        w = prepared.writes
        if w.stories:
            pipe.mset(w.stories)
        for story_id, revs in w.revisions.items():
            pipe.hset(keys.revisions(story_id), mapping=revs)
        if w.aliases:
            pipe.hset(keys.ALIAS, mapping=w.aliases)
        for band, slot in sorted(w.near):
            pipe.hset(keys.near_band(band, slot), mapping=w.near[band, slot])
        near_index.queue_slots(pipe, w.slots, self.window_us)
        if prepared.recent is not None:
            near_index.queue_recent(pipe, prepared.recent)
        near_index.queue_prune(pipe, prepared.stale)
        for slug, members in w.index.items():
            pipe.zadd(keys.topic_index(slug), members)
        for slug, ids in w.removed.items():
            pipe.zrem(keys.topic_index(slug), *ids)
        if w.touched:
            self.touch(pipe, sorted(w.touched), now_us)
        return Saved(touched=w.touched, log=w.log)

    def touch(self, pipe: redis.client.Pipeline, slugs: Sequence[str], now_us: int) -> None:
        """Queue on ``pipe`` moving the topics' change stamps on (strictly, to ``now_us`` or later)."""
        self._touch(keys=[keys.topic_meta(s) for s in sorted(set(slugs))], args=[now_us], client=pipe)


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
        by_id = self._by_id(i for ids in id_lists for i in ids)
        return {
            slug: [by_id[i] for i in ids if i in by_id] for slug, ids in zip(slugs, id_lists, strict=True)
        }

    def gone_ids(self, slugs: Sequence[str], limit: int) -> dict[str, list[str]]:
        """Each topic's withdrawn story ids still in their tombstone period, newest first."""
        pipe = self.r.pipeline(transaction=False)
        for slug in slugs:
            pipe.zrevrange(keys.topic_gone(slug), 0, limit - 1)
        return {slug: [i.decode() for i in ids] for slug, ids in zip(slugs, pipe.execute(), strict=True)}

    def index_range(self, slug: str, start: int, stop: int) -> list[tuple[str, float]]:
        """Ids and scores of a topic's index, newest first, ranks ``start``..``stop`` inclusive."""
        return [
            (i.decode(), s) for i, s in self.r.zrevrange(keys.topic_index(slug), start, stop, withscores=True)
        ]

    def _by_id(self, ids: Iterable[str]) -> dict[str, Story]:
        unique = list(dict.fromkeys(ids))
        return {s.id: s for s in self.get_many(unique) if s is not None}

    def stories_by_id(self, ids: Iterable[str]) -> dict[str, Story]:
        return self._by_id(ids)

    def counts(self, slugs: Sequence[str]) -> dict[str, int]:
        pipe = self.r.pipeline(transaction=False)
        for slug in slugs:
            pipe.zcard(keys.topic_index(slug))
        return dict(zip(slugs, pipe.execute(), strict=True))

    def changed(self, slug: str) -> int:
        """Microseconds of the topic's last change (0 if it never changed); strictly increases
        with every change, so a document that reflects an older stamp is known to be stale."""
        return self.changed_many([slug])[slug]

    def changed_many(self, slugs: Sequence[str]) -> dict[str, int]:
        pipe = self.r.pipeline(transaction=False)
        for slug in slugs:
            pipe.hget(keys.topic_meta(slug), "changed")
        return {s: int(v) if v else 0 for s, v in zip(slugs, pipe.execute(), strict=True)}

    # -- change logs ---------------------------------------------------------------
    # Sequence numbers are absolute: retention removes whole pages from the head of a log and
    # counts them in ``log_base`` (wf:topicmeta:<slug>), so a cursor keeps its meaning.
    def log_length(self, slug: str) -> int:
        """The sequence number of the topic's latest change (0: none yet)."""
        return self.log_lengths([slug])[slug]

    def log_lengths(self, slugs: Sequence[str]) -> dict[str, int]:
        pipe = self.r.pipeline(transaction=False)
        for slug in slugs:
            pipe.llen(keys.topic_log(slug))
            pipe.hget(keys.topic_meta(slug), "log_base")
        raw = pipe.execute()
        return {slug: int(raw[2 * i]) + int(raw[2 * i + 1] or 0) for i, slug in enumerate(slugs)}

    def log_base(self, slug: str) -> int:
        """Sequence number of the oldest change retention removed (0: none removed)."""
        return int(self.r.hget(keys.topic_meta(slug), "log_base") or 0)

    def log_entries(self, slug: str, after: int, count: int) -> list[tuple[int, str, int]]:
        """Up to ``count`` changes with sequence numbers above ``after``, oldest first, as
        ``(seq, story id, version)``. Raises :class:`LogExpired` if retention removed some."""
        base, raw = self._log_range(keys=[keys.topic_meta(slug), keys.topic_log(slug)], args=[after, count])
        if after < int(base):
            raise LogExpired(f"changes up to {base} of {slug!r} are past the retention horizon")
        out = []
        for n, entry in enumerate(raw, start=after + 1):
            sid, _, version = entry.decode().rpartition(":")
            out.append((n, sid, int(version)))
        return out

    def versions(self, wanted: Sequence[tuple[str, int]]) -> dict[tuple[str, int], Story]:
        """Stories as they were at given versions: the current one, or a superseded one."""
        current = self._by_id(sid for sid, _ in wanted)
        out: dict[tuple[str, int], Story] = {}
        older = []
        for sid, version in wanted:
            story = current.get(sid)
            if story is None:
                continue
            if story.version == version or story.withdrawn:  # every version of it: its tombstone
                out[(sid, version)] = story
            else:
                older.append((sid, version))
        if older:
            pipe = self.r.pipeline(transaction=False)
            for sid, version in older:
                pipe.hget(keys.revisions(sid), str(version))
            for key, raw in zip(older, pipe.execute(), strict=True):
                if raw is not None:
                    out[key] = Story.from_dict(json.loads(raw))
        return out

    # -- rendered feeds ------------------------------------------------------------
    def put_feed_docs(self, docs: dict[tuple[str, str], FeedDoc]) -> None:
        """Store rendered current feeds, keyed by (slug, format), in one round trip; a document
        never replaces one that reflects a later change (two workers may publish at once)."""
        pipe = self.r.pipeline(transaction=False)
        for (slug, fmt), doc in docs.items():
            flat = [x for kv in doc.fields().items() for x in kv]
            self._put_if_newer(keys=[keys.feed_doc(slug, fmt)], args=[doc.changed, *flat], client=pipe)
        pipe.execute()

    def get_feed_doc(self, slug: str, fmt: str) -> FeedDoc | None:
        raw = self.r.hgetall(keys.feed_doc(slug, fmt))
        return FeedDoc.from_fields(raw) if raw else None

    def put_variant(self, digest: str, doc: FeedDoc, ttl: int) -> None:
        pipe = self.r.pipeline(transaction=False)
        pipe.hset(keys.feed_variant(digest), mapping=doc.fields())
        pipe.expire(keys.feed_variant(digest), ttl)
        pipe.execute()


def ping(client: redis.Redis) -> None:
    """Raise :class:`StoreUnavailable` if Redis does not answer."""
    try:
        client.ping()
    except redis.RedisError as exc:
        raise StoreUnavailable(f"Redis does not answer: {exc}") from exc
