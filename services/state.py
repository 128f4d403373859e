"""What the app shares between requests: settings, Redis, the store and the taxonomy."""

from __future__ import annotations

from dataclasses import dataclass, field

import redis
from flask import current_app

from config import defaults
from config.settings import Settings
from feeds.store import StoryStore
from feeds.taxonomy import Taxonomy
from services.stale import StaleCache


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
