"""Workers: the rq jobs (ingest, categorize, WebSub) and the worker process that runs them; the
pipeline's pseudocode is in :mod:`wirefeed.workers.pipeline`, the hub's in :mod:`wirefeed.workers.websub`."""
