"""The rq job functions are queued by name (``feeds.store.keys``) and run by the workers: each
name must import as the function it says, or every job of its kind fails in the worker."""

from __future__ import annotations

import pytest
from rq.utils import import_attribute

from wirefeed.feeds.store import keys
from wirefeed.workers import jobs, retention, websub

JOBS = {
    keys.INGEST_JOB: jobs.ingest_dump,
    keys.EXPRESS_JOB: jobs.express_ingest,
    keys.CATEGORIZE_JOB: jobs.categorize_batch,
    keys.WEBSUB_VERIFY_JOB: websub.verify_job,
    keys.WEBSUB_DELIVER_JOB: websub.deliver_job,
    keys.WEBSUB_BATCH_JOB: websub.deliver_batch_job,
    keys.WEBSUB_SWEEP_JOB: websub.sweep_job,
    keys.RETENTION_JOB: retention.retention_job,
}


@pytest.mark.parametrize("name", sorted(JOBS))
def test_each_job_name_imports_as_its_function(name: str) -> None:
    assert import_attribute(name) is JOBS[name]
