"""What the app shares between requests: settings, Redis, the store and the taxonomy."""

from __future__ import annotations

from dataclasses import dataclass

import redis
from flask import current_app

from config.settings import Settings
from feeds.store import StoryStore
from feeds.taxonomy import Taxonomy


@dataclass(frozen=True)
class AppState:
    settings: Settings
    redis: redis.Redis
    store: StoryStore
    taxonomy: Taxonomy

    def is_feed(self, slug: str) -> bool:
        return slug == "all" or slug in self.taxonomy.topics


def state() -> AppState:
    return current_app.extensions["wirefeed"]
