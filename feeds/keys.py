"""The Redis key schema: every key wirefeed uses is spelled here and nowhere else.

========================================  ======  ==============================================
key                                        type    holds
========================================  ======  ==============================================
``wf:story:<id>``                          string  the story as compact JSON (:meth:`Story.to_dict`)
``wf:topic:<slug>``                        zset    story ids scored by published time (ms); slug
                                                   ``all`` indexes every story
``wf:topicmeta:<slug>``                    hash    ``changed`` (ms of the last change), ``count``
``wf:feed:<slug>:<fmt>``                   hash    rendered default feed: ``body``, ``etag``,
                                                   ``modified`` (HTTP date)
``wf:feedlimit:<slug>:<fmt>:<limit>``      hash    the same for a non-default ``?limit``, with
                                                   ``changed`` to know when it went stale
``wf:batch:<batch-id>``                    string  parsed stories waiting for a categorizer (JSON)
``wf:dump:<ingest-id>``                    string  a posted dump waiting for the ingest worker
``wf:ingest:<ingest-id>``                  hash    progress of one ingest: ``state``, ``stories``,
                                                   ``batches``, ``batches_done``, ``new``,
                                                   ``updated``, ``unchanged``, ``errors`` (JSON)
========================================  ======  ==============================================

rq keeps its own keys under ``rq:``; queue names are below.
"""

from __future__ import annotations

PREFIX = "wf:"

INGEST_QUEUE = "wirefeed-ingest"
"""rq queue of ingest jobs (one per dump)."""

CATEGORIZE_QUEUE = "wirefeed-categorize"
"""rq queue of categorizer jobs (one per batch of stories)."""

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


def feed_doc_limit(slug: str, fmt: str, limit: int) -> str:
    return f"{PREFIX}feedlimit:{slug}:{fmt}:{limit}"


def batch(batch_id: str) -> str:
    return f"{PREFIX}batch:{batch_id}"


def dump(ingest_id: str) -> str:
    return f"{PREFIX}dump:{ingest_id}"


def ingest(ingest_id: str) -> str:
    return f"{PREFIX}ingest:{ingest_id}"
