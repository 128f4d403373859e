"""The rq job functions of the ingest pipeline. Tiny on purpose: they carry ids, not objects, and
hand over to :mod:`wirefeed.workers.pipeline`. They are queued by name (``keys.INGEST_JOB`` and the
others in :mod:`wirefeed.feeds.store.keys`); the WebSub jobs are in :mod:`wirefeed.workers.websub`."""

from __future__ import annotations

from wirefeed.workers import pipeline
from wirefeed.workers.context import current


def ingest_dump(ingest_id: str) -> dict[str, int]:
    """Ingest queue: parse the dump stored for ``ingest_id`` and queue its batches."""
    return pipeline.run_ingest(current(), ingest_id)


def express_ingest(ingest_id: str) -> dict[str, int]:
    """Express queue: a small dump, parsed, tagged, stored and published in this one job."""
    return pipeline.run_express(current(), ingest_id)


def categorize_batch(ingest_id: str, batch_no: int) -> dict[str, int]:
    """Categorize queue: tag, store and publish one batch of an ingest."""
    return pipeline.run_batch(current(), ingest_id, batch_no)
