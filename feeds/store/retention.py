"""Retention: stories older than the horizon leave the store, in small steps.

A run (:func:`run`) repeats bounded steps until nothing is left to do (or ``max_steps`` is
reached, and the caller queues the rest); no step reads or writes more than ``batch`` stories or
one archive page of change-log entries, so every Redis call is short whatever the size of the
store (``python -m bench`` scenario 5 checks the slow log). The steps:

1. **stories**: the oldest ``batch`` ids of the ``all`` index published before the horizon
   (``ZRANGEBYSCORE ... LIMIT``) are removed, under WATCH (a categorizer storing a new version
   of one of them meanwhile makes the step start again): the story, its revisions, its entries
   in every topic index, its aliases and its near-duplicate (LSH) entries that still point at
   it (:func:`forget_near`), so a story removed by retention can no longer be matched;
2. **tombstones**: withdrawn stories leave their topics' ``gone`` sets ``tombstone_days`` after
   their withdrawal (the stripped record of a withdrawn story stays, so the wire can never bring
   it back);
3. **change logs**: whole archive pages at the head of a topic's log whose stories are all gone
   (or withdrawn before the horizon) are dropped and counted in ``log_base``; their archive pages
   and ``since`` cursors then answer 410. The newest full page always stays.

Topics whose indexes or tombstones changed get their change stamp moved on; the caller
re-publishes them (:mod:`wirefeed.workers.retention`).
"""

from __future__ import annotations

import json
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field

import redis

from wirefeed.feeds.identity.versions import near_keys
from wirefeed.feeds.store import keys, near_index
from wirefeed.feeds.store.story_store import StoryStore
from wirefeed.feeds.stories.ids import story_id
from wirefeed.feeds.stories.model import Story, to_micros

_HDEL_IF = """
local n = 0
for i = 1, #ARGV, 2 do
  if redis.call('HGET', KEYS[1], ARGV[i]) == ARGV[i + 1] then
    n = n + redis.call('HDEL', KEYS[1], ARGV[i])
  end
end
return n
"""
"""KEYS: a hash; ARGV: field, value pairs. Deletes each field that still holds its value."""

_HDEL_IF_STORY = """
local n = 0
for i = 1, #ARGV, 2 do
  local v = redis.call('HGET', KEYS[1], ARGV[i])
  if v and (v == ARGV[i + 1] or string.sub(v, 1, #ARGV[i + 1] + 1) == ARGV[i + 1] .. ' ') then
    n = n + redis.call('HDEL', KEYS[1], ARGV[i])
  end
end
return n
"""
"""KEYS: a near-index band; ARGV: field, story id pairs. Deletes each field that still points at
its story (``"<id> <stamp>"``, or a bare id of an older release)."""


@dataclass
class Report:
    """What a retention run removed, and whether it finished."""

    stories: int = 0
    tombstones: int = 0
    log_entries: int = 0
    steps: int = 0
    done: bool = False
    touched: set[str] = field(default_factory=set)

    def to_dict(self) -> dict[str, object]:
        return {
            "stories": self.stories,
            "tombstones": self.tombstones,
            "log_entries": self.log_entries,
            "steps": self.steps,
            "done": self.done,
        }


def forget_near(
    store: StoryStore,
    pipe: redis.client.Pipeline,
    stories: Sequence[tuple[Story, list[str]]],
    default_agency: str,
) -> None:
    """Queue on ``pipe`` removing the aliases and LSH entries that point at these stories
    (each with every title it had), leaving entries a newer story took over."""
    script = store.r.register_script(_HDEL_IF)
    band_script = store.r.register_script(_HDEL_IF_STORY)
    bands: dict[str, list[str]] = {}
    aliases: list[str] = []
    for story, titles in stories:
        agency = story.agency or default_agency
        slot = near_index.slot(to_micros(story.updated), store.window_us)
        for band, fld in near_keys(agency, titles):
            bands.setdefault(keys.near_band(band, slot), []).extend((fld, story.id))
        for title in titles:
            alias = story_id(agency, title)
            if alias != story.id:
                aliases.extend((alias, story.id))
    for key in sorted(bands):
        band_script(keys=[key], args=bands[key], client=pipe)
    if aliases:
        script(keys=[keys.ALIAS], args=aliases, client=pipe)


def expire_stories(
    store: StoryStore, horizon_us: int, batch: int, default_agency: str
) -> tuple[int, set[str]]:
    """One step of (1): remove up to ``batch`` stories published before ``horizon_us``; return
    how many and the topics they left."""
    r = store.r
    while True:
        raw_ids = r.zrangebyscore(
            keys.topic_index(keys.ALL_TOPIC), "-inf", f"({horizon_us}", start=0, num=batch
        )
        if not raw_ids:
            return 0, set()
        ids = [i.decode() for i in raw_ids]
        with r.pipeline(transaction=True) as pipe:
            try:
                pipe.watch(*(keys.story(i) for i in ids))
                stories = store.get_many(ids)
                read = r.pipeline(transaction=False)
                for sid in ids:
                    read.hvals(keys.revisions(sid))
                revs = read.execute()
                pipe.multi()
                by_slug: dict[str, list[str]] = {keys.ALL_TOPIC: ids}
                forget = []
                for sid, story, old in zip(ids, stories, revs, strict=True):
                    if story is None:
                        continue
                    for slug in story.topic_slugs:
                        by_slug.setdefault(slug, []).append(sid)
                    titles = [story.title, *(json.loads(v)["title"] for v in old)]
                    forget.append((story, list(dict.fromkeys(titles))))
                pipe.delete(*(keys.story(i) for i in ids), *(keys.revisions(i) for i in ids))
                for slug, members in by_slug.items():
                    pipe.zrem(keys.topic_index(slug), *members)
                forget_near(store, pipe, forget, default_agency)
                pipe.execute()
                return len(ids), set(by_slug)
            except redis.WatchError:
                continue


def expire_tombstones(
    store: StoryStore, slugs: Iterable[str], horizon_us: int, batch: int
) -> tuple[int, set[str]]:
    """One step of (2) for every topic: up to ``batch`` tombstones older than ``horizon_us`` each."""
    slugs = list(slugs)
    pipe = store.r.pipeline(transaction=False)
    for slug in slugs:
        pipe.zrangebyscore(keys.topic_gone(slug), "-inf", f"({horizon_us}", start=0, num=batch)
    found = {slug: ids for slug, ids in zip(slugs, pipe.execute(), strict=True) if ids}
    for slug, ids in found.items():
        pipe.zrem(keys.topic_gone(slug), *ids)
    pipe.execute()
    return sum(len(v) for v in found.values()), set(found)


def trim_log(store: StoryStore, slug: str, horizon_us: int, page_size: int) -> int:
    """One step of (3): drop the oldest archive page of a topic's log if all its stories are
    gone; return the entries dropped (0: nothing to drop)."""
    r = store.r
    log, meta = keys.topic_log(slug), keys.topic_meta(slug)
    with r.pipeline(transaction=True) as pipe:
        try:
            pipe.watch(log)
            if pipe.llen(log) < 2 * page_size:  # the newest full page (and the partial one) stay
                return 0
            entries = pipe.lrange(log, 0, page_size - 1)
            if not entries:  # the log went meanwhile (WATCH would abort the trim anyway)
                return 0
            story_keys = list(dict.fromkeys(keys.story(e.decode().rpartition(":")[0]) for e in entries))
            if r.exists(*story_keys):  # some are still stored: only withdrawn long ago may go
                ids = [k.removeprefix(keys.story("")) for k in story_keys]
                for story in store.get_many(ids):
                    if story is not None and not (story.withdrawn and story.status_at < horizon_us):
                        return 0
            pipe.multi()
            pipe.ltrim(log, page_size, -1)
            pipe.hincrby(meta, "log_base", page_size)
            pipe.execute()
            return page_size
        except redis.WatchError:
            return 0


def run(
    store: StoryStore,
    slugs: Sequence[str],
    *,
    now_us: int,
    retention_days: float,
    tombstone_days: float,
    page_size: int,
    batch: int,
    max_steps: int,
    default_agency: str,
) -> Report:
    """Retention steps until nothing is left or ``max_steps`` were taken; moves the change
    stamps of the topics that changed (the caller publishes ``report.touched``)."""
    report = Report()
    day_us = 86_400 * 1_000_000
    horizon = now_us - int(retention_days * day_us)
    tomb_horizon = now_us - int(tombstone_days * day_us)
    pending_logs = list(slugs) if retention_days > 0 else []
    tombs_left, stories_left = True, retention_days > 0
    while report.steps < max_steps:
        report.steps += 1
        if stories_left:
            n, touched = expire_stories(store, horizon, batch, default_agency)
            report.stories += n
            report.touched |= touched
            stories_left = n > 0
        elif tombs_left:
            n, touched = expire_tombstones(store, slugs, tomb_horizon, batch)
            report.tombstones += n
            report.touched |= touched
            tombs_left = n > 0
        elif pending_logs:
            n = trim_log(store, pending_logs[0], horizon, page_size)
            report.log_entries += n
            if n == 0:
                pending_logs.pop(0)
        else:
            report.done = True
            break
    if report.touched:
        pipe = store.r.pipeline(transaction=True)
        store.touch(pipe, sorted(report.touched), now_us)
        pipe.execute()
    return report
