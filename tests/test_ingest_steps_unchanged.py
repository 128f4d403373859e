"""The ingest's pure steps give what their straightforward versions give: grouping a dump,
story ids, title keys, stored story records and parsed stories."""

from __future__ import annotations

import dataclasses
import random
import unicodedata
from datetime import UTC, datetime, timedelta

import pytest

from bench.gen import generate
from wirefeed.feeds.identity import near
from wirefeed.feeds.identity.versions import Incoming, group_dump
from wirefeed.feeds.stories import text
from wirefeed.feeds.stories.ids import story_id
from wirefeed.feeds.stories.model import Block, ParsedStory, Story, TopicTag, positional_builder
from wirefeed.feeds.stories.parse import parse_dump

T0 = datetime(2026, 11, 1, tzinfo=UTC)


def _reference_group_dump(items: list[Incoming]) -> list[list[Incoming]]:
    """Grouping as first written: every comparison from the titles, nothing kept between items."""
    groups: list[list[Incoming]] = []
    seen: set[str] = set()
    index: dict[tuple[int, str], int] = {}
    for item in items:
        exact = story_id(item.agency, item.parsed.title)
        if exact in seen:
            continue
        seen.add(exact)
        keys = [(band, f"{item.agency}:{b}") for band, b in enumerate(near.buckets(item.parsed.title))]
        candidates = sorted({index[k] for k in keys if k in index})
        match = near.best_match(item.parsed.title, [(g, groups[g][0].parsed.title) for g in candidates])
        if match is not None:
            groups[match].append(item)
            continue
        for k in keys:
            index.setdefault(k, len(groups))
        groups.append([item])
    return groups


def _incoming(stories: list[ParsedStory]) -> list[Incoming]:
    return [Incoming(p, p.agency or "WIRE", T0 - timedelta(microseconds=i)) for i, p in enumerate(stories)]


DUMPS = [(3000, 1, {}), (1500, 7, {"repeat": 0.2, "versions": 0.2})]


@pytest.mark.parametrize(("n", "seed", "kwargs"), DUMPS)
def test_group_dump_equals_the_straightforward_grouping(n: int, seed: int, kwargs: dict[str, float]) -> None:
    items = _incoming(parse_dump(generate(n, seed, **kwargs)).stories)
    groups = group_dump(items)
    assert groups == _reference_group_dump(_incoming([i.parsed for i in items]))
    assert sum(len(g) > 1 for g in groups) > 10  # the dump does hold versions


def test_buckets_of_grouped_items_are_the_buckets_of_their_titles() -> None:
    items = _incoming(parse_dump(generate(400, 5)).stories)
    fresh = _incoming([i.parsed for i in items])
    group_dump(items)
    assert [i.buckets for i in items] == [near.buckets(i.parsed.title) for i in items]
    assert [i.buckets for i in fresh] == [near.buckets(i.parsed.title) for i in items]  # not grouped
    assert items == fresh and "hashes" not in repr(items[0])


def test_exact_id_is_the_story_id_and_no_part_of_equality() -> None:
    parsed = parse_dump(b"Drone strikes kill 23 in northern border town\n").stories[0]
    a, b = Incoming(parsed, "AFP", T0), Incoming(parsed, "AFP", T0)
    assert a.exact_id == a.exact_id == story_id("AFP", parsed.title)
    assert a == b and hash(a) == hash(b) and "exact_id" not in repr(a)
    assert dataclasses.replace(a, agency="BTB").exact_id == story_id("BTB", parsed.title)


def _reference_normalise_title(s: str) -> str:
    s = unicodedata.normalize("NFKC", text.clean_text(s)).casefold().translate(text._FOLD)
    return text._strip_punctuation(" ".join(s.split()))


def test_normalise_title_of_ascii_and_other_titles_equals_the_general_rule() -> None:
    rng = random.Random(11)
    pieces = ["Iran", "US", "`quoted`", "'a'", '"b"', "--", "-", "!", "?", ".", "...", "(1)", "#2"]
    pieces += ["$5", "+", "|"]
    pieces += ["\u2013", "\u201cq\u201d", "\u00e9", "\t", " ", "\x1c", "\x0b", "_", "{x}", "<", "@", "^"]
    for _ in range(3000):
        title = "".join(rng.choice(pieces) for _ in range(rng.randint(0, 12)))
        assert text.normalise_title(title) == _reference_normalise_title(title), repr(title)


def test_story_records_round_trip_and_equal_ones_built_field_by_field() -> None:
    story = Story(
        id="abc",
        title="Drone strikes kill 23",
        kind="article",
        blocks=(Block("p", "One."), Block("h", "Sub")),
        summary="One.",
        author="B.Shevchenko",
        agency="BTB",
        published=T0,
        updated=T0 + timedelta(microseconds=7),
        source="api",
        topics=(TopicTag("world", 0.91234567, "classifier: world 0.91"),),
        content_hash="h1",
        version=2,
        seen_hashes=("h0", "h1"),
    )
    again = Story.from_dict(story.to_dict())
    assert again == dataclasses.replace(story, topics=(TopicTag("world", 0.9123, "classifier: world 0.91"),))
    assert again.to_dict() == story.to_dict()
    old = {k: v for k, v in story.to_dict().items() if k not in ("hash", "v", "seen")}
    assert Story.from_dict(old) == dataclasses.replace(again, content_hash="", version=1, seen_hashes=())


def test_parsed_stories_equal_ones_built_by_their_constructor() -> None:
    for p in parse_dump(generate(300, 2)).stories:
        assert p == ParsedStory(p.title, p.kind, p.blocks, p.author, p.agency, p.line)
        assert hash(p) == hash(ParsedStory(p.title, p.kind, p.blocks, p.author, p.agency, p.line))


def test_positional_builder_needs_every_field_and_refuses_classes_with_hooks() -> None:
    build = positional_builder(Block)
    assert build("p", "x") == Block("p", "x")
    with pytest.raises(ValueError):
        build("p")
    with pytest.raises(TypeError):
        positional_builder(Incoming)  # a field outside __init__
