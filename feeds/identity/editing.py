"""The editors' escape hatch: undo a wrong merge (:func:`split`) or make a missed resend a
version (:func:`merge`).

Both are one MULTI/EXEC under WATCH of the stories they change, and leave the store as the
pipeline would have: stories, revisions, aliases, near-index entries, topic indexes, change-log
entries (so ``since`` cursors and archives see the change) and topic stamps (so every feed is
rendered again on its next request). Versions only grow: a split story gets its earlier text
back as a new version, so a reader's client updates the item instead of missing the change.
Each action is noted in both stories' identity logs (``wf:idlog:<id>``), shown on their pages.
"""

from __future__ import annotations

import json
from dataclasses import dataclass, replace
from datetime import datetime

import redis

from wirefeed.config.settings import Settings
from wirefeed.errors import EditRefused, NoSuchStory, WirefeedError
from wirefeed.feeds.identity.lsh import near_keys
from wirefeed.feeds.render import cdn
from wirefeed.feeds.store import keys
from wirefeed.feeds.store.story_store import StoryChange, StoryStore
from wirefeed.feeds.stories.ids import story_id
from wirefeed.feeds.stories.model import Story, from_micros
from wirefeed.feeds.websub import hub


@dataclass(frozen=True)
class Edit:
    """What an edit did: the stories as stored now, and the topics whose feeds changed."""

    action: str
    story: Story
    """The story that keeps its id (the split one, or the one merged into)."""
    other: Story | None
    """The new story a split made (``None`` after a merge: the merged story is gone)."""
    other_id: str
    touched: list[str]

    def to_dict(self) -> dict[str, object]:
        return {
            "action": self.action,
            "story": {"id": self.story.id, "version": self.story.version, "title": self.story.title},
            "other": {"id": self.other_id, **({"title": self.other.title} if self.other else {})},
            "touched": self.touched,
        }


def split(store: StoryStore, sid: str, now_us: int, *, attempts: int = 10) -> Edit:
    """Turn the latest version of story ``sid`` back into a story of its own: a new id, the
    topics it was given, published now; ``sid`` gets its previous text back as a new version."""
    for _ in range(attempts):
        with store.r.pipeline(transaction=True) as pipe:
            try:
                pipe.watch(keys.story(sid), keys.revisions(sid))
                current = _get(store, sid)
                if current.version < 2:
                    raise EditRefused(f"story {sid} has one version: nothing was merged into it")
                older = [r for r in store.revisions(sid) if r.version < current.version]
                if not older:
                    raise EditRefused(f"story {sid} keeps no earlier version to go back to")
                stamp = from_micros(store.advance_clock(1, now_us))
                agency = current.agency or ""
                own_id = story_id(agency, current.title)  # the resent title's id: the new story's if free
                free = store.get(own_id) is None and store.resolve_aliases([own_id])[0] in (own_id, sid)
                new_id = (
                    own_id
                    if own_id != sid and free
                    else story_id(agency, f"{current.title}\x1f{sid}:{current.version}")
                )
                split_off = replace(
                    current,
                    id=new_id,
                    version=1,
                    published=stamp,
                    updated=stamp,
                    seen_hashes=(current.content_hash,),
                )
                back = replace(
                    older[-1],
                    version=current.version + 1,
                    published=current.published,
                    updated=stamp,
                    seen_hashes=tuple(h for h in current.seen_hashes if h != current.content_hash),
                )
                pipe.multi()
                touched = _write(
                    store,
                    pipe,
                    now_us,
                    [
                        StoryChange(back, current, superseded=(current,), near_keys=_near(back)),
                        StoryChange(split_off, None, near_keys=_near(split_off)),
                    ],
                )
                if new_id == own_id:
                    pipe.hdel(keys.ALIAS, own_id)  # the resent title leads to the new story again
                _note(pipe, "split", (sid, new_id), back.version, stamp)
                pipe.execute()
                return Edit("split", back, split_off, new_id, touched)
            except redis.WatchError:
                continue
    raise WirefeedError(f"story {sid} changed under the split {attempts} times in a row; try again")


def merge(store: StoryStore, old_id: str, new_id: str, now_us: int, *, attempts: int = 10) -> Edit:
    """Make story ``new_id`` (a missed resend) the latest version of ``old_id``: its text and
    topics become ``old_id``'s new version, and ``new_id`` leaves the feeds (its id, and the
    ids of its titles, now lead to ``old_id``)."""
    if old_id == new_id:
        raise EditRefused(f"cannot merge story {old_id} into itself")
    for _ in range(attempts):
        with store.r.pipeline(transaction=True) as pipe:
            try:
                pipe.watch(keys.story(old_id), keys.story(new_id))
                old, new = _get(store, old_id), _get(store, new_id)
                stamp = from_micros(store.advance_clock(1, now_us))
                seen = tuple(
                    dict.fromkeys([*old.seen_hashes, old.content_hash, *new.seen_hashes, new.content_hash])
                )
                merged = replace(
                    new,
                    id=old.id,
                    version=old.version + 1,
                    published=old.published,
                    updated=stamp,
                    source=old.source,
                    agency=old.agency,
                    seen_hashes=seen,
                )
                titles = [new.title, *(r.title for r in store.revisions(new_id))]
                agency = new.agency or ""
                ids = dict.fromkeys([new_id, *(story_id(agency, t) for t in titles)])
                aliases = tuple(i for i in ids if i != old_id)
                pipe.multi()
                change = StoryChange(
                    merged, old, superseded=(old,), aliases=aliases, near_keys=near_keys(agency, titles)
                )
                touched = _write(store, pipe, now_us, [change], gone=new)
                _note(pipe, "merge", (old_id, new_id), merged.version, stamp)
                pipe.execute()
                return Edit("merge", merged, None, new_id, touched)
            except redis.WatchError:
                continue
    raise WirefeedError(
        f"stories {old_id}/{new_id} changed under the merge {attempts} times in a row; try again"
    )


def history(client: redis.Redis, sid: str) -> list[dict[str, object]]:
    """The identity log of a story, oldest first."""
    return [json.loads(x) for x in client.lrange(keys.identity_log(sid), 0, -1)]


def _get(store: StoryStore, sid: str) -> Story:
    story = store.get(sid) if sid.isalnum() and len(sid) <= 64 else None
    if story is None:
        raise NoSuchStory(f"no story {sid!r}")
    return story


def _near(story: Story) -> tuple[tuple[int, str], ...]:
    return near_keys(story.agency or "", [story.title])


def _write(
    store: StoryStore,
    pipe: redis.client.Pipeline,
    now_us: int,
    changes: list[StoryChange],
    gone: Story | None = None,
) -> list[str]:
    """Queue the changes as a batch save would, append their change-log entries now, and take
    ``gone`` out of every topic index; return the touched topics."""
    if gone is not None:
        pipe.delete(keys.story(gone.id))
        for slug in [keys.ALL_TOPIC, *gone.topic_slugs]:
            pipe.zrem(keys.topic_index(slug), gone.id)
    saved = store.queue_save(pipe, changes, now_us)
    for slug, entries in saved.log.items():
        pipe.rpush(keys.topic_log(slug), *entries)
    touched = set(saved.touched)
    if gone is not None:
        touched.update([keys.ALL_TOPIC, *gone.topic_slugs])
        extra = sorted(touched - saved.touched)
        if extra:
            store.touch(pipe, extra, now_us)
    return sorted(touched)


def _note(
    pipe: redis.client.Pipeline, action: str, pair: tuple[str, str], version: int, at: datetime
) -> None:
    """Note the action in both stories' identity logs (``pair``: the story keeping its id, the other)."""
    sid, other = pair
    entry = json.dumps(
        {
            "at": at.isoformat().replace("+00:00", "Z"),
            "action": action,
            "story": sid,
            "other": other,
            "version": version,
        }
    )
    for story in (sid, other):
        pipe.rpush(keys.identity_log(story), entry)


def announce(client: redis.Redis, settings: Settings, edit: Edit) -> None:
    """Tell the world about an edit: WebSub subscribers of the touched topics get their feeds
    pushed, a CDN in front purges both stories' pages and those topics."""
    hub.notify(client, settings, edit.touched)
    cdn.purge_change(client, settings, [edit.story.id, edit.other_id], edit.touched)
