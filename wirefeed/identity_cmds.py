"""``wirefeed split STORY_ID`` and ``wirefeed merge OLD_ID NEW_ID``: the editors' escape hatch
for story identity (:mod:`wirefeed.feeds.identity.editing`), registered by :mod:`wirefeed.cli`."""

from __future__ import annotations

import argparse
import json
import time
from typing import TYPE_CHECKING

from wirefeed.config.settings import Settings

if TYPE_CHECKING:  # loaded when a command runs, not by every ``wirefeed`` command
    from wirefeed.feeds.identity.editing import Edit


def _edit(args: argparse.Namespace, action: str, *ids: str) -> int:
    """Apply ``editing.split`` or ``editing.merge`` to ``ids`` now, announce it, print the result."""
    from wirefeed.feeds.identity import editing
    from wirefeed.feeds.store.story_store import StoryStore
    from wirefeed.runtime import redis_client

    settings = Settings.from_env()
    client = redis_client(settings)
    store = StoryStore(client, near_window_hours=settings.near_window_hours)
    apply = {"split": editing.split, "merge": editing.merge}[action]
    edit: Edit = apply(store, *ids, time.time_ns() // 1000)
    editing.announce(client, settings, edit)
    if args.json:
        print(json.dumps(edit.to_dict(), ensure_ascii=False))
    elif edit.other is not None:
        restored = f"split {edit.story.id}: earlier text restored as version {edit.story.version}"
        print(f"{restored}; new story {edit.other_id}: {edit.other.title}")
    else:
        print(
            f"merged {edit.other_id} into {edit.story.id} as version {edit.story.version}: {edit.story.title}"
        )
    return 0


def cmd_split(args: argparse.Namespace) -> int:
    return _edit(args, "split", args.story_id)


def cmd_merge(args: argparse.Namespace) -> int:
    return _edit(args, "merge", args.old_id, args.new_id)


def register(sub: argparse._SubParsersAction) -> None:  # type: ignore[type-arg]
    """Add the ``split`` and ``merge`` commands to the ``wirefeed`` parser."""
    sp = sub.add_parser("split", help="make a story's latest merged-in version a story of its own")
    sp.add_argument("story_id", metavar="STORY_ID", help="the story merged into wrongly")
    sp.add_argument("--json", action="store_true", help="print the result as JSON")
    sp.set_defaults(func=cmd_split)
    mg = sub.add_parser("merge", help="make story NEW_ID (a missed resend) the latest version of OLD_ID")
    mg.add_argument("old_id", metavar="OLD_ID", help="the story to keep; NEW_ID becomes its latest version")
    mg.add_argument("new_id", metavar="NEW_ID", help="the missed resend; its id then redirects to OLD_ID")
    mg.add_argument("--json", action="store_true", help="print the result as JSON")
    mg.set_defaults(func=cmd_merge)
