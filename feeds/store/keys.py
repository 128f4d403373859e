"""The Redis key schema: every key, queue name and job name wirefeed uses is spelled here and
nowhere else. Each key says its Redis type and what it holds; wirefeed's keys start with
``wf:``, rq keeps its own under ``rq:``.
"""

from __future__ import annotations

PREFIX = "wf:"

ALL_TOPIC = "all"
"""The reserved slug of the feed that holds every story."""


# -- rq queues and job functions -----------------------------------------------------------
# Jobs are enqueued by the import path of their function (by feeds/queue, feeds/websub/hub.py
# and workers/), so the web side never imports the code that runs them;
# tests/test_job_names.py checks that each path names a function.

INGEST_QUEUE = "wirefeed-ingest"
"""rq queue of ingest jobs (one per dump)."""

CATEGORIZE_QUEUE = "wirefeed-categorize"
"""rq queue of categorizer jobs (one per batch of stories)."""

EXPRESS_QUEUE = "wirefeed-express"
"""rq queue of small ingests (a few stories, e.g. breaking news posted to the API), each run
whole in one job by a worker of its own, so they never wait behind a big dump's batches."""

WEBSUB_QUEUE = "wirefeed-websub"
"""rq queue of WebSub jobs: intent verification, content distribution, lease sweeps."""

INGEST_JOB = "wirefeed.workers.jobs.ingest_dump"
"""Ingest queue: split a dump into batches and queue them."""

EXPRESS_JOB = "wirefeed.workers.jobs.express_ingest"
"""Express queue: a small dump, whole, in one job."""

CATEGORIZE_JOB = "wirefeed.workers.jobs.categorize_batch"
"""Categorize queue: tag, store and (at the last batch) publish one batch."""

WEBSUB_VERIFY_JOB = "wirefeed.workers.websub.verify_job"
"""WebSub queue: verify the intent of an (un)subscribe request."""

WEBSUB_DELIVER_JOB = "wirefeed.workers.websub.deliver_job"
"""WebSub queue: one subscriber's delivery as queued before batches (such a job still in a queue
after an upgrade puts its subscriber into a batch)."""

WEBSUB_BATCH_JOB = "wirefeed.workers.websub.deliver_batch_job"
"""WebSub queue: one attempt at delivering to a batch of subscribers (``websub_batch``)."""

WEBSUB_SWEEP_JOB = "wirefeed.workers.websub.sweep_job"
"""WebSub queue: remove every subscription whose lease ended."""

PURGE_JOB = "wirefeed.workers.purge.purge_job"
"""WebSub queue (the worker of outgoing requests): POST surrogate keys to ``WIREFEED_PURGE_URL``."""


# -- stories, topics and feeds -------------------------------------------------------------


def story(story_id: str) -> str:
    """String: the story as compact JSON (``Story.to_dict``)."""
    return f"{PREFIX}story:{story_id}"


def revisions(story_id: str) -> str:
    """Hash: the story's superseded versions, version -> JSON."""
    return f"{PREFIX}revs:{story_id}"


def identity_log(story_id: str) -> str:
    """List: the editors' splits and merges of the story, oldest first, JSON (``at``, ``action``,
    ``story``, ``other``, ``version``)."""
    return f"{PREFIX}idlog:{story_id}"


ALIAS = f"{PREFIX}alias"
"""Hash: id of a reworded title -> id of the story it is a version of."""


def near_band(band: int, slot: str) -> str:
    """Hash: ``<agency>:<bucket>`` -> ``"<story id> <s of its last version>"``, the MinHash LSH
    buckets of titles in one band, for stories whose last version falls in one time slot
    (:mod:`wirefeed.feeds.store.near_index`)."""
    return f"{PREFIX}near:{band}:{slot}"


NEAR_SLOTS = f"{PREFIX}nearslots"
"""Sorted set: the near index's time slots, scored by the µs after which nothing can match them."""


NEAR_RECENT = f"{PREFIX}nearrecent"
"""Stream: one entry per saved batch, the stories it gave LSH entries (id, agency, last version,
title, the entries), capped at ``NEAR_RECENT_BATCHES``: what a worker re-checks its lookup against."""


NEAR_RECENT_COUNT = f"{PREFIX}nearrecent:n"
"""String: entries ever added to ``wf:nearrecent`` (a re-check tells a trimmed log by it)."""


def old_near_band(band: int) -> str:
    """Hash of an earlier release's near index (one per band, no slots); unlinked on sight."""
    return f"{PREFIX}near:{band}"


OLD_NEAR_AGE = f"{PREFIX}nearage"
"""Sorted set of an earlier release's near index; unlinked on sight."""


COMMIT_LOCK = f"{PREFIX}commit"
"""String: the token of the worker between the re-check of a batch's lookup and its commit
(:mod:`wirefeed.workers.commit_lock`); expires on its own."""


CLOCK = f"{PREFIX}clock"
"""String: the last publication stamp handed out, in µs since the epoch."""


def topic_index(slug: str) -> str:
    """Sorted set: story ids scored by published time (ms); ``all`` indexes every story."""
    return f"{PREFIX}topic:{slug}"


def topic_meta(slug: str) -> str:
    """Hash: ``changed``, the µs stamp of the topic's last change; ``log_base``, the number of
    change-log entries retention removed from the head of the log; ``withdrawn``, the µs stamp
    of the last withdrawal of one of its stories (cached archive and ``since`` pages older than
    it are rendered again)."""
    return f"{PREFIX}topicmeta:{slug}"


def topic_log(slug: str) -> str:
    """List: the topic's change log, ``<id>:<version>`` per story added, updated, corrected or
    withdrawn; position + 1 + ``log_base`` is the change's sequence number (the ``since``
    cursor)."""
    return f"{PREFIX}log:{slug}"


def topic_gone(slug: str) -> str:
    """Sorted set: ids of the topic's withdrawn stories, scored by withdrawal time (µs); the
    current feeds carry their tombstones for ``tombstone_days``."""
    return f"{PREFIX}gone:{slug}"


RETENTION_QUEUED = f"{PREFIX}retention:queued"
"""String with a TTL: a retention run was queued recently (at most one per ``retention_interval``)."""

RETENTION_JOB = "wirefeed.workers.retention.retention_job"
"""Ingest queue: expire stories older than the retention horizon, in small steps."""


def feed_doc(slug: str, fmt: str) -> str:
    """Hash: the rendered default feed, ``body``, ``gz`` (gzipped body), ``etag``, ``modified``
    (HTTP date), ``changed``."""
    return f"{PREFIX}feed:{slug}:{fmt}"


def feed_variant(digest: str) -> str:
    """Hash with a TTL: the same for any other variant (``?limit``, filters, combined topics,
    archive pages)."""
    return f"{PREFIX}feedvar:{digest}"


# -- ingests -------------------------------------------------------------------------------


def dump(ingest_id: str) -> str:
    """String: a posted dump waiting for the ingest worker."""
    return f"{PREFIX}dump:{ingest_id}"


UNQUEUED = f"{PREFIX}unqueued"
"""Sorted set: ingest ids whose dump is stored but whose job is not queued yet, scored by the
time they were stored (only with ``WIREFEED_MIN_REPLICAS``: the dump is replicated first; an
entry older than ``STRANDED_INGEST_SECONDS`` lost its primary in between and is queued by the
ingest workers)."""


def ingest(ingest_id: str) -> str:
    """Hash: an ingest's progress, ``state`` (queued, categorizing, publishing, done), ``source``,
    ``stories``, ``batches``, ``batches_done``, ``new``, ``updated``, ``unchanged``, ``failed``,
    ``errors`` (JSON), ``accepted`` (s since the epoch), ``observed`` (its served time was counted)
    and, while publishing, ``touched`` (JSON)."""
    return f"{PREFIX}ingest:{ingest_id}"


def batch(batch_id: str) -> str:
    """String: a batch of parsed stories waiting for a categorizer (JSON, ``feeds.queue.payload``)."""
    return f"{PREFIX}batch:{batch_id}"


def recorded(ingest_id: str) -> str:
    """Hash: batch number -> counts (JSON) of a batch whose stories are stored, not yet counted."""
    return f"{PREFIX}recorded:{ingest_id}"


def pending_log(ingest_id: str) -> str:
    """Hash: batch number -> a stored batch's change-log entries and touched topics (JSON),
    appended to the logs in batch order when the ingest completes."""
    return f"{PREFIX}pendlog:{ingest_id}"


POISON = f"{PREFIX}poison"
"""Hash: ``<ingest>:<batch>:<n>`` -> a story the categorizer raised on, with the error (JSON)."""


def rate(bucket: str, client: str, window: int) -> str:
    """String with a TTL: a client's requests counted by one rate limit (``bucket``: ``ingest``,
    ``auth-fail``, ``websub``, ``websub-all``) in one fixed window (``services/limits.py``)."""
    return f"{PREFIX}rate:{bucket}:{client}:{window}"


# -- workers -------------------------------------------------------------------------------


def alive(worker_name: str) -> str:
    """String with a short TTL: a live worker's heartbeat."""
    return f"{PREFIX}alive:{worker_name}"


def reap_lock(job_id: str) -> str:
    """String with a TTL: held while one reaper re-queues an abandoned job."""
    return f"{PREFIX}reap:{job_id}"


WORKERS = f"{PREFIX}workers"
"""Hash: worker name -> what its heartbeat reports (JSON: ``queues``, ``host``, ``model``); the
worker is live while its ``wf:alive:<name>`` exists (readers drop entries of dead workers)."""


# -- metrics (written by whoever counts, read by the web's /metrics at scrape time) ----------

METRIC_STORIES = f"{PREFIX}metrics:stories"
"""Hash: outcome (new, updated, unchanged, failed, rejected, withdrawn) -> stories, all time."""

METRIC_SERVED = f"{PREFIX}metrics:served"
"""Hash: a histogram of seconds from an ingest accepted to its stories served; bucket upper
bound (``le``, non-cumulative) -> count, ``sum``, ``count``."""

METRIC_CATEGORIZE = f"{PREFIX}metrics:categorize"
"""Hash: a histogram (as ``METRIC_SERVED``) of seconds a categorizer took per batch."""

METRIC_WEBSUB = f"{PREFIX}metrics:websub"
"""Hash: WebSub delivery result (delivered, gone, failed, refused, expired) -> deliveries."""


def job_attempts(job_id: str) -> str:
    """String (counter) with a TTL: times a worker died running the job; at ``JOB_MAX_ATTEMPTS``
    the reaper fails it instead of re-queuing it (``wirefeed retry`` resets it)."""
    return f"{PREFIX}attempts:{job_id}"


# -- WebSub hub ----------------------------------------------------------------------------

WEBSUB_TOPICS = f"{PREFIX}websub:topics"
"""Set: slugs with at least one subscription (notify reads only this when nobody subscribed)."""

WEBSUB_SWEEP = f"{PREFIX}websub:sweep"
"""String with a TTL: a lease sweep was queued recently."""


def websub_subs(slug: str) -> str:
    """Sorted set: a topic's subscription ids (any format), scored by lease expiry (s)."""
    return f"{PREFIX}websub:subs:{slug}"


def websub_sub(sub_id: str) -> str:
    """Hash: one subscription, ``topic``, ``slug``, ``fmt``, ``callback``, ``secret``, ``lease``,
    ``expires``, ``created``, ``last_status``, ``last_attempt``; id = hash(topic, callback)."""
    return f"{PREFIX}websub:sub:{sub_id}"


WEBSUB_ALL = f"{PREFIX}websub:all"
"""Sorted set: every subscription id, scored by lease expiry (s): the hub's total cap."""


def websub_host(host: str) -> str:
    """Sorted set: the subscription ids of one callback host, scored by lease expiry (s): the
    per-host cap."""
    return f"{PREFIX}websub:host:{host.lower()}"


def websub_intent(sub_id: str) -> str:
    """Hash with a TTL: the latest (un)subscribe request for a subscription id (``req``, ``mode``,
    ``topic``, ``callback``, ``lease``, ...) and its verification ``state`` (pending, verified,
    failed) and ``reason``."""
    return f"{PREFIX}websub:intent:{sub_id}"


def websub_queued(sub_id: str) -> str:
    """String: a delivery job is queued for the subscription (later changes ride along)."""
    return f"{PREFIX}websub:queued:{sub_id}"


def websub_batch(batch_id: str, attempt: int) -> str:
    """Set with a TTL: the subscription ids a delivery batch has still to try in its
    ``attempt``-th attempt (1 is the first; each outcome leaves it as it is recorded, a failure
    for the batch's next attempt's set; an empty set is gone)."""
    return f"{PREFIX}websub:batch:{batch_id}:{attempt}"
