"""The rq options every wirefeed job is queued with, in one place for all who enqueue."""

from __future__ import annotations

from wirefeed.config import defaults
from wirefeed.config.settings import Settings


def job_options(settings: Settings, timeout: int | None = None) -> dict[str, int]:
    """``timeout`` (the settings' ``job_timeout`` unless given), ``result_ttl`` and
    ``failure_ttl`` for ``enqueue_call`` / ``Queue.prepare_data``."""
    return {
        "timeout": settings.job_timeout if timeout is None else timeout,
        "result_ttl": settings.result_ttl,
        "failure_ttl": defaults.FAILED_JOB_TTL,
    }
