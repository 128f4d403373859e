"""Near-duplicate detection and version folding, on the sample's true pairs and near misses."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from functools import partial
from pathlib import Path

import pytest

from wirefeed.feeds.identity import near
from wirefeed.feeds.identity.versions import Incoming, fold, group_dump
from wirefeed.feeds.stories.build import build_story
from wirefeed.feeds.stories.parse import parse_dump

SAMPLE = Path(__file__).resolve().parents[1] / "sample" / "wire-sample.txt"
TITLES = {n: s.title for n, s in enumerate(parse_dump(SAMPLE.read_bytes()).stories, start=1)}
T0 = datetime(2026, 11, 1, tzinfo=UTC)


def versions_of_one_story(a: str, b: str) -> bool:
    """What the categorizer asks of a stored title: is it the best (and a close enough) match?"""
    return near.best_match(a, [("stored", b)]) == "stored"


@pytest.mark.parametrize(("a", "b"), [(2, 40), (22, 37), (26, 35)])
def test_resent_titles_are_versions_of_one_story(a: int, b: int) -> None:
    assert versions_of_one_story(TITLES[a], TITLES[b])
    assert set(near.buckets(TITLES[a])) & set(near.buckets(TITLES[b]))  # LSH finds them


@pytest.mark.parametrize(("a", "b"), [(11, 26), (25, 42)])
def test_distinct_stories_about_one_event_are_not_versions(a: int, b: int) -> None:
    assert not versions_of_one_story(TITLES[a], TITLES[b])


def test_no_other_pair_of_sample_titles_is_taken_for_versions() -> None:
    pairs = {(i, j) for i in TITLES for j in TITLES if i < j and versions_of_one_story(TITLES[i], TITLES[j])}
    assert pairs == {(2, 40), (22, 37), (26, 35)}


def test_short_titles_only_match_exactly() -> None:
    assert near.buckets("Stocks fall") == []
    assert not versions_of_one_story("Stocks fall", "Stocks rise")


def _incoming(title: str, minutes: int, agency: str = "BTB") -> Incoming:
    parsed = parse_dump(title + "\n").stories[0]
    return Incoming(parsed, agency, T0 + timedelta(minutes=minutes))


def test_grouping_a_dump_keeps_the_newest_first_and_drops_exact_repeats() -> None:
    newest = _incoming(TITLES[2], 10)
    repeat = _incoming(TITLES[2], 9)
    older = _incoming(TITLES[40], 5)
    other = _incoming(TITLES[11], 4)
    groups = group_dump([newest, repeat, older, other])
    assert [[i.parsed.title for i in g] for g in groups] == [[TITLES[2], TITLES[40]], [TITLES[11]]]


def test_versions_of_other_agencies_are_other_stories() -> None:
    groups = group_dump([_incoming(TITLES[2], 10, "AAA"), _incoming(TITLES[40], 5, "BBB")])
    assert len(groups) == 2


new_story = partial(build_story, summary_chars=280)


def test_folding_a_new_group_stores_the_newest_text_as_version_2_under_the_oldest_id() -> None:
    group = [_incoming(TITLES[2], 10), _incoming(TITLES[40], 5)]
    result = fold(group, None, canonical_id="abc", source="s", new_story=new_story)
    assert result.outcome == "new"
    assert result.story is not None
    assert result.story.id == "abc"
    assert result.story.title == TITLES[2]
    assert result.story.version == 2
    assert result.story.published == T0 + timedelta(minutes=5)
    assert result.story.updated == T0 + timedelta(minutes=10)
    assert [s.title for s in result.superseded] == [TITLES[40]]


def test_folding_a_seen_text_or_a_late_old_version_changes_nothing() -> None:
    stored = fold(
        [_incoming(TITLES[2], 10), _incoming(TITLES[40], 5)],
        None,
        canonical_id="abc",
        source="s",
        new_story=new_story,
    ).story
    again = fold([_incoming(TITLES[40], 20)], stored, canonical_id="abc", source="s", new_story=new_story)
    assert again.outcome == "unchanged" and again.story is None
    same = fold([_incoming(TITLES[2], 30)], stored, canonical_id="abc", source="s", new_story=new_story)
    assert same.outcome == "unchanged"


def test_folding_a_newer_text_bumps_version_and_updated_and_keeps_the_id() -> None:
    stored = fold([_incoming(TITLES[40], 5)], None, canonical_id="abc", source="s", new_story=new_story).story
    assert stored is not None
    result = fold([_incoming(TITLES[2], 10)], stored, canonical_id="abc", source="s", new_story=new_story)
    assert result.outcome == "updated"
    assert result.story is not None
    assert (result.story.id, result.story.version, result.story.title) == ("abc", 2, TITLES[2])
    assert result.story.published == stored.published
    assert result.story.updated > stored.updated
