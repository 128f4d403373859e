"""What a worker process loads once and every job reuses: settings, Redis, taxonomy, categorizer.

A worker started by ``wirefeed worker`` calls :func:`install` with its settings; a worker started
some other way (plain ``rq worker``) builds the context from the environment on its first job.
"""

from __future__ import annotations

import importlib
from dataclasses import dataclass

import redis

from wirefeed.config.settings import Settings
from wirefeed.errors import ConfigError
from wirefeed.feeds.categorize import Categorizer, build_categorizer
from wirefeed.feeds.categorize.taxonomy import Taxonomy
from wirefeed.feeds.store.connection import client_for
from wirefeed.feeds.store.story_store import StoryStore


@dataclass(frozen=True)
class WorkerContext:
    settings: Settings
    redis: redis.Redis
    store: StoryStore
    taxonomy: Taxonomy
    categorizer: Categorizer


_current: WorkerContext | None = None


def build(settings: Settings, client: redis.Redis | None = None) -> WorkerContext:
    if client is None:
        client = client_for(settings)
    taxonomy = Taxonomy.load(settings.topics_path)
    store = StoryStore(client, near_window_hours=settings.near_window_hours)
    return WorkerContext(settings, client, store, taxonomy, make_categorizer(settings, taxonomy))


def make_categorizer(settings: Settings, taxonomy: Taxonomy) -> Categorizer:
    """The categorizer the settings name (``module:function``), else the built-in one."""
    if not settings.categorizer:
        return build_categorizer(taxonomy)
    module, _, name = settings.categorizer.partition(":")
    try:
        factory = getattr(importlib.import_module(module), name)
    except (ImportError, AttributeError) as exc:
        raise ConfigError(f"WIREFEED_CATEGORIZER={settings.categorizer!r} cannot be loaded: {exc}") from exc
    return factory(taxonomy)


def install(ctx: WorkerContext) -> None:
    global _current
    _current = ctx


def current() -> WorkerContext:
    global _current
    if _current is None:
        _current = build(Settings.from_env())
    return _current
