"""What goes on the rq queues: submitting an ingest and following it (:mod:`.ingests`, the web
side, without numpy or the categorizer) and the batch payload the categorizers read
(:mod:`.payload`), and the rq options every job is queued with (:mod:`.jobs`). Queue and job
names are in :mod:`wirefeed.feeds.store.keys`."""
