"""``wirefeed withdraw`` and ``wirefeed expire``: the newsroom lifecycle from the command line
(registered by :mod:`wirefeed.cli`)."""

from __future__ import annotations

import argparse
import json
import sys
from datetime import datetime
from typing import TYPE_CHECKING

from wirefeed.config.settings import Settings
from wirefeed.errors import NoSuchStory, StoryConflict
from wirefeed.feeds.categorize.taxonomy import Taxonomy

if TYPE_CHECKING:  # the store (and redis) load only when a command needs them
    from wirefeed.feeds.store.story_store import StoryStore


def _store_and_taxonomy(settings: Settings) -> tuple[StoryStore, Taxonomy]:
    from wirefeed.feeds.store.story_store import StoryStore
    from wirefeed.runtime import redis_client

    store = StoryStore(redis_client(settings), near_window_hours=settings.near_window_hours)
    return store, Taxonomy.load(settings.topics_path)


def cmd_withdraw(args: argparse.Namespace) -> int:
    """Withdraw a story: it leaves every feed and page, tombstones take its place."""
    from wirefeed.feeds import newsroom

    settings = Settings.from_env()
    store, taxonomy = _store_and_taxonomy(settings)
    reason = " ".join((args.reason or "").split())
    try:
        story = newsroom.withdraw(store, taxonomy, settings, args.story_id, reason)
    except NoSuchStory as exc:
        print(f"wirefeed: {exc}", file=sys.stderr)
        return 2
    except StoryConflict as exc:
        print(f"wirefeed: {exc}", file=sys.stderr)
        return 1
    state = newsroom.state(settings, story)
    print(json.dumps(state) if args.json else f"{story.id}: withdrawn at {state['status_at']}")
    return 0


def cmd_expire(args: argparse.Namespace) -> int:
    """One retention run now (the workers queue one about hourly)."""
    from wirefeed.workers.retention import run_retention

    settings = Settings.from_env()
    if args.days is not None:
        settings = settings.with_(retention_days=args.days)
    store, taxonomy = _store_and_taxonomy(settings)
    now = args.as_of or datetime.now().astimezone()
    report = run_retention(store, taxonomy, settings, int(now.timestamp() * 1_000_000), max_steps=10**9)
    print(
        f"expired {report.stories} stories, {report.tombstones} tombstones, "
        f"{report.log_entries} change-log entries in {report.steps} steps"
    )
    return 0


def register(sub: argparse._SubParsersAction) -> None:  # type: ignore[type-arg]
    wd = sub.add_parser("withdraw", help="withdraw a story from every feed and page (tombstones)")
    wd.add_argument("story_id", metavar="STORY_ID", help="the story to withdraw (its id never comes back)")
    wd.add_argument("--reason", help="why (shown in the tombstones and on the story's 410 page)")
    wd.add_argument("--json", action="store_true", help="print the story's new state as JSON")
    wd.set_defaults(func=cmd_withdraw)

    ex = sub.add_parser("expire", help="remove stories older than WIREFEED_RETENTION_DAYS now")
    ex.add_argument("--days", type=float, help="retention in days (default WIREFEED_RETENTION_DAYS)")
    ex.add_argument(
        "--as-of",
        type=datetime.fromisoformat,
        help="run as if it were this time (ISO 8601 with offset; simulations and tests)",
    )
    ex.set_defaults(func=cmd_expire)
