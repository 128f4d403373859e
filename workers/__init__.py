"""Workers: the rq jobs that ingest dumps and categorize stories (see :mod:`workers.pipeline`)."""
