"""What the app shares between requests: settings, Redis, the store and the taxonomy."""

from __future__ import annotations

from dataclasses import dataclass, field

import redis
from flask import current_app

from wirefeed.config import defaults
from wirefeed.config.settings import Settings
from wirefeed.feeds.categorize.taxonomy import Taxonomy
from wirefeed.feeds.store.story_store import StoryStore
from wirefeed.services.stale import StaleCache


@dataclass(frozen=True)
class AppState:
    settings: Settings
    redis: redis.Redis
    store: StoryStore
    taxonomy: Taxonomy
    stale: StaleCache = field(default_factory=lambda: StaleCache(defaults.STALE_CACHE_FEEDS))

    def is_feed(self, slug: str) -> bool:
        return slug == "all" or slug in self.taxonomy.topics


def state() -> AppState:
    return current_app.extensions["wirefeed"]
