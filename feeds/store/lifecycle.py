"""The newsroom's changes to a stored story: withdraw it, or correct it with an editor's version.

Each is one MULTI/EXEC under WATCH of the story (a categorizer storing a resend of the same story
at that moment makes one of the two try again, so neither is lost). Rendering and WebSub pushes
come after, from the caller (:mod:`wirefeed.feeds.newsroom`), through the usual publish path.

A withdrawal keeps a stripped record under the story's key (id, title, hashes, topics, status):
enough for the pipeline to recognise the story when a wire sends it again (it is counted as
``withdrawn`` and never comes back), nothing a feed or page shows. It leaves every topic index,
its revisions are deleted, each of its topics' change logs gets an entry (so ``since`` pollers
and archive readers learn of it) and its topics' ``gone`` sets list it for the tombstones.
"""

from __future__ import annotations

import json
from collections.abc import Callable
from dataclasses import replace

import redis

from wirefeed.config import defaults
from wirefeed.errors import NoSuchStory, StoryConflict, WirefeedError
from wirefeed.feeds.store import keys
from wirefeed.feeds.store.story_store import StoryChange, StoryStore
from wirefeed.feeds.stories.build import build_story
from wirefeed.feeds.stories.ids import content_hash, story_id
from wirefeed.feeds.stories.model import CORRECTED, WITHDRAWN, Block, ParsedStory, Story, from_micros


def _valid_id(sid: str) -> bool:
    return sid.isalnum() and len(sid) <= 64


def _load(store: StoryStore, pipe: redis.client.Pipeline, sid: str) -> Story:
    if not _valid_id(sid):
        raise NoSuchStory(f"no story {sid!r}")
    pipe.watch(keys.story(sid))
    story = store.get(sid)
    if story is None:
        raise NoSuchStory(f"no story {sid!r}")
    if story.withdrawn:
        raise StoryConflict(f"story {sid} was withdrawn already")
    return story


_Edit = Callable[[redis.client.Pipeline], tuple[Story, list[str]]]


def _retry(store: StoryStore, body: _Edit) -> tuple[Story, list[str]]:
    for _ in range(defaults.BATCH_MAX_ATTEMPTS):
        with store.r.pipeline(transaction=True) as pipe:
            try:
                return body(pipe)
            except redis.WatchError:
                continue
    raise WirefeedError("the story kept changing under the edit; try again")


def withdraw(store: StoryStore, sid: str, reason: str, now_us: int) -> tuple[Story, list[str]]:
    """Withdraw story ``sid``; return its withdrawn record and the topics whose feeds changed.
    Raises :class:`NoSuchStory` or :class:`StoryConflict` (withdrawn already)."""

    def body(pipe: redis.client.Pipeline) -> tuple[Story, list[str]]:
        story = _load(store, pipe, sid)
        when = store.advance_clock(1, now_us)
        gone = replace(
            story,
            blocks=(),
            summary="",
            author=None,
            version=story.version + 1,
            updated=from_micros(when),
            status=WITHDRAWN,
            status_at=when,
            status_note=reason,
        )
        slugs = [keys.ALL_TOPIC, *story.topic_slugs]
        pipe.multi()
        pipe.set(keys.story(sid), _dumps(gone))
        pipe.delete(keys.revisions(sid))
        for slug in slugs:
            pipe.zrem(keys.topic_index(slug), sid)
            pipe.zadd(keys.topic_gone(slug), {sid: when})
            pipe.rpush(keys.topic_log(slug), f"{sid}:{gone.version}")
            pipe.hset(keys.topic_meta(slug), "withdrawn", when)
        store.touch(pipe, slugs, when)
        pipe.execute()
        return gone, slugs

    return _retry(store, body)


def text_blocks(text: str) -> tuple[Block, ...]:
    """An editor's text as body blocks: paragraphs split on blank lines, ``- Subhead -`` lines
    as subheads (as in a wire dump)."""
    blocks = []
    for para in text.replace("\r\n", "\n").split("\n\n"):
        line = " ".join(para.split())
        if not line:
            continue
        if len(line) > 2 and line.startswith("- ") and line.endswith(" -"):
            blocks.append(Block("h", line[2:-2].strip()))
        else:
            blocks.append(Block("p", line))
    return tuple(blocks)


def correct(
    store: StoryStore,
    sid: str,
    *,
    title: str | None,
    text: str | None,
    note: str,
    now_us: int,
    summary_chars: int,
    default_agency: str,
) -> tuple[Story, list[str]]:
    """Store an editor's new version of story ``sid`` (same id, next version, ``updated``
    bumped, the old text kept as a revision, status ``corrected``; its topics stay); return it
    and the topics whose feeds changed. Raises :class:`NoSuchStory`, or :class:`StoryConflict`
    for a withdrawn story or a version identical to the current one."""

    def body(pipe: redis.client.Pipeline) -> tuple[Story, list[str]]:
        story = _load(store, pipe, sid)
        blocks = text_blocks(text) if text is not None else story.blocks
        parsed = ParsedStory(
            title=" ".join((title if title is not None else story.title).split()),
            kind="article" if blocks else "headline",
            blocks=blocks,
            author=story.author,
            agency=story.agency,
        )
        digest = content_hash(parsed)
        if digest == story.content_hash:
            raise StoryConflict(f"story {sid} already has this title and text")
        when = store.advance_clock(1, now_us)
        new = build_story(
            parsed,
            story_id=sid,
            agency=story.agency or default_agency,
            published=story.published,
            updated=from_micros(when),
            source=story.source,
            summary_chars=summary_chars,
            version=story.version + 1,
            seen=(*story.seen_hashes, digest),
            topics=story.topics,
        )
        new = replace(new, status=CORRECTED, status_at=when, status_note=note)
        agency = new.agency or default_agency
        change = StoryChange(
            story=new,
            previous=story,
            superseded=(story,),
            aliases=tuple({story_id(agency, new.title)} - {sid}),
        )  # no new LSH entries: the web never loads numpy; the first title's entries still lead here
        pipe.multi()
        saved = store.queue_save(pipe, [change], when)
        for slug, entries in saved.log.items():
            pipe.rpush(keys.topic_log(slug), *entries)
        pipe.execute()
        return new, sorted(saved.touched)

    return _retry(store, body)


def _dumps(story: Story) -> str:
    return json.dumps(story.to_dict(), ensure_ascii=False, separators=(",", ":"))
