"""The Redis key schema: every key wirefeed uses is spelled here and nowhere else.

========================================  ======  ==============================================
key                                        type    holds
========================================  ======  ==============================================
``wf:story:<id>``                          string  the story as compact JSON (:meth:`Story.to_dict`)
``wf:topic:<slug>``                        zset    story ids scored by published time (ms); slug
                                                   ``all`` indexes every story
``wf:topicmeta:<slug>``                    hash    ``changed`` (µs of the last change)
``wf:log:<slug>``                          list    the topic's change log: ``<id>:<version>`` per
                                                   story added or updated; position + 1 is the
                                                   sequence number (cursor) of the change
``wf:revs:<id>``                           hash    superseded versions of a story: version -> JSON
``wf:alias``                               hash    id of a reworded title -> id of its story
``wf:near:<band>``                         hash    ``<agency>:<bucket>`` -> id: MinHash LSH buckets
                                                   of titles, to find earlier versions
``wf:clock``                               string  last publication stamp handed out (µs)
``wf:recorded:<ingest-id>``                hash    batch number -> counts (JSON) of a batch whose
                                                   stories are stored but not yet counted
``wf:pendlog:<ingest-id>``                 hash    batch number -> the change-log entries and
                                                   touched topics of a stored batch (JSON), appended
                                                   to the logs in batch order when the ingest
                                                   completes
``wf:poison``                              hash    ``<ingest>:<batch>:<n>`` -> a story the
                                                   categorizer failed on, with the error (JSON)
``wf:alive:<worker-name>``                 string  a live worker's heartbeat (short TTL)
``wf:reap:<job-id>``                       string  lock while one reaper re-queues an abandoned job
``wf:rate:<client>:<window>``              string  ingest requests of a client in a time window
``wf:feed:<slug>:<fmt>``                   hash    rendered default feed: ``body``, ``gz``
                                                   (gzipped body), ``etag``, ``modified``
                                                   (HTTP date), ``changed``
``wf:feedvar:<digest>``                    hash    the same for any other variant (``?limit``,
                                                   filters, combined topics, archive pages),
                                                   with a TTL
``wf:batch:<batch-id>``                    string  parsed stories waiting for a categorizer (JSON)
``wf:dump:<ingest-id>``                    string  a posted dump waiting for the ingest worker
``wf:ingest:<ingest-id>``                  hash    progress of one ingest: ``state`` (queued,
                                                   categorizing, publishing, done), ``stories``,
                                                   ``batches``, ``batches_done``, ``new``,
                                                   ``updated``, ``unchanged``, ``errors`` (JSON),
                                                   ``touched`` (JSON, while publishing)
``wf:websub:topics``                       set     slugs with at least one WebSub subscription
                                                   (the one read a publish costs when none)
``wf:websub:subs:<slug>``                  zset    subscription ids of a topic (any format),
                                                   scored by lease expiry (s since the epoch)
``wf:websub:sub:<sub-id>``                 hash    one subscription: ``topic``, ``slug``, ``fmt``,
                                                   ``callback``, ``secret``, ``lease``,
                                                   ``expires``, ``created``, ``last_status``,
                                                   ``last_attempt``; sub-id = hash(topic, callback)
``wf:websub:intent:<sub-id>``              hash    the latest (un)subscribe request for it and its
                                                   verification: ``req``, ``mode``, ``state``
                                                   (pending/verified/failed), ``reason``; TTL
``wf:websub:queued:<sub-id>``              string  a delivery job is queued (coalesces changes)
``wf:websub:sweep``                        string  lease sweep ran recently (rate limit), TTL
========================================  ======  ==============================================

rq keeps its own keys under ``rq:``; queue names are below.
"""

from __future__ import annotations

PREFIX = "wf:"

INGEST_QUEUE = "wirefeed-ingest"
"""rq queue of ingest jobs (one per dump)."""

CATEGORIZE_QUEUE = "wirefeed-categorize"
"""rq queue of categorizer jobs (one per batch of stories)."""

EXPRESS_QUEUE = "wirefeed-express"
"""rq queue of small ingests (a few stories, e.g. breaking news posted to the API), each run
whole in one job by a worker of its own, so they never wait behind a big dump's batches."""

ALL_TOPIC = "all"
"""The reserved slug of the feed that holds every story."""


def story(story_id: str) -> str:
    return f"{PREFIX}story:{story_id}"


def topic_index(slug: str) -> str:
    return f"{PREFIX}topic:{slug}"


def topic_meta(slug: str) -> str:
    return f"{PREFIX}topicmeta:{slug}"


def feed_doc(slug: str, fmt: str) -> str:
    return f"{PREFIX}feed:{slug}:{fmt}"


def feed_variant(digest: str) -> str:
    return f"{PREFIX}feedvar:{digest}"


def topic_log(slug: str) -> str:
    return f"{PREFIX}log:{slug}"


def revisions(story_id: str) -> str:
    return f"{PREFIX}revs:{story_id}"


ALIAS = f"{PREFIX}alias"
"""Hash: id of a reworded title -> id of the story it is a version of."""

CLOCK = f"{PREFIX}clock"
"""String: the last publication stamp handed out, in µs since the epoch."""


def near_band(band: int) -> str:
    return f"{PREFIX}near:{band}"


def batch(batch_id: str) -> str:
    return f"{PREFIX}batch:{batch_id}"


def dump(ingest_id: str) -> str:
    return f"{PREFIX}dump:{ingest_id}"


def ingest(ingest_id: str) -> str:
    return f"{PREFIX}ingest:{ingest_id}"


# -- WebSub hub (services/websub_bp.py, workers/websub.py, feeds/websub.py) ---------------

WEBSUB_QUEUE = "wirefeed-websub"
"""rq queue of WebSub jobs: intent verification, content distribution, lease sweeps."""

WEBSUB_TOPICS = f"{PREFIX}websub:topics"
"""Set: slugs with at least one subscription (notify reads only this when nobody subscribed)."""

WEBSUB_SWEEP = f"{PREFIX}websub:sweep"
"""String with a TTL: a lease sweep was queued recently."""


def websub_subs(slug: str) -> str:
    return f"{PREFIX}websub:subs:{slug}"


def websub_sub(sub_id: str) -> str:
    return f"{PREFIX}websub:sub:{sub_id}"


def websub_intent(sub_id: str) -> str:
    return f"{PREFIX}websub:intent:{sub_id}"


def websub_queued(sub_id: str) -> str:
    return f"{PREFIX}websub:queued:{sub_id}"


def recorded(ingest_id: str) -> str:
    return f"{PREFIX}recorded:{ingest_id}"


def pending_log(ingest_id: str) -> str:
    return f"{PREFIX}pendlog:{ingest_id}"


POISON = f"{PREFIX}poison"
"""Hash: stories set aside because the categorizer raised on them."""


def alive(worker_name: str) -> str:
    return f"{PREFIX}alive:{worker_name}"


def reap_lock(job_id: str) -> str:
    return f"{PREFIX}reap:{job_id}"


def rate(client: str, window: int) -> str:
    return f"{PREFIX}rate:{client}:{window}"
