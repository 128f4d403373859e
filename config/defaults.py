"""Every tunable of wirefeed with its default, each with a one-line docstring.

Nothing here reads the environment: :meth:`config.settings.Settings.from_env` does that once
and passes a :class:`~config.settings.Settings` down.
"""

from __future__ import annotations

BASE_URL = "http://127.0.0.1:8080"
"""Public base URL that feed links and ids of pages are built on (``WIREFEED_BASE_URL``)."""

PORT = 8080
"""Port ``wirefeed up`` and ``wirefeed serve`` listen on (``WIREFEED_PORT``)."""

HOST = "127.0.0.1"
"""Address the web service binds to (``WIREFEED_HOST``)."""

DATA_DIR = "var"
"""Folder for the embedded Redis server's data and the inbox (``WIREFEED_DATA_DIR``)."""

MAX_DUMP_BYTES = 10 * 1024 * 1024
"""Largest wire dump accepted, in bytes, by file or by API (``WIREFEED_MAX_DUMP_BYTES``)."""

FEED_LIMIT = 50
"""Items in a feed when the request names no ``limit``."""

FEED_MAX_LIMIT = 200
"""Largest ``limit`` a feed request may ask for."""

FEED_MAX_AGE = 60
"""Seconds a client or proxy may cache a feed, as ``Cache-Control: max-age`` (``WIREFEED_FEED_MAX_AGE``)."""

ARCHIVE_PAGE_SIZE = 50
"""Changes per RFC 5005 archive page (and per ``?since=`` page by default)."""

VARIANT_TTL = 3600
"""Seconds a rendered feed variant (filters, ``?limit``, archives, ``since`` pages) stays cached."""

GZIP_LEVEL = 1
"""zlib level of the gzipped feed bodies stored beside the plain ones."""

BATCH_SIZE = 500
"""Stories per categorizer job: one job, one pipelined write, one render a batch (``WIREFEED_BATCH_SIZE``)."""

EXPRESS_MAX_STORIES = 50
"""Dumps with at most this many stories go whole to the express queue and its own worker, so
breaking news never waits behind a big dump; 0 sends every dump through the ingest queue
(``WIREFEED_EXPRESS_MAX_STORIES``)."""

JOB_TIMEOUT = 600
"""Seconds an rq job may run before rq stops it."""

RESULT_TTL = 3600
"""Seconds an ingest's progress record and rq results are kept after it finished."""

TAG_AUTHORITY = "wirefeed.example.org,2026"
"""Authority and date of the ``tag:`` URIs used as feed item ids; never change it once
readers subscribed (``WIREFEED_TAG_AUTHORITY``)."""

DEFAULT_AGENCY = "WIRE"
"""Agency of stories that carry no byline (headline-only items) (``WIREFEED_DEFAULT_AGENCY``)."""

FEED_TITLE = "wirefeed"
"""Title prefix of every feed and page (``WIREFEED_TITLE``)."""

CATEGORIZER_WORKERS = 1
"""Categorizer worker processes that ``wirefeed up`` starts (``WIREFEED_CATEGORIZER_WORKERS``)."""

WEB_THREADS = 8
"""Threads of the web server (gunicorn ``gthread``) (``WIREFEED_WEB_THREADS``)."""

SUMMARY_CHARS = 280
"""Longest summary made from an article's first paragraph, in characters."""

INBOX_POLL_SECONDS = 1.0
"""How often ``wirefeed up`` looks into the inbox folder for dropped dumps."""


# -- WebSub hub ----------------------------------------------------------------------------

WEBSUB_LEASE_SECONDS = 10 * 86400
"""Lease of a WebSub subscription that asks for none (``WIREFEED_WEBSUB_LEASE_SECONDS``)."""

WEBSUB_LEASE_MIN = 300
"""Shortest lease granted; shorter requests get this (``WIREFEED_WEBSUB_LEASE_MIN``)."""

WEBSUB_LEASE_MAX = 30 * 86400
"""Longest lease granted; longer requests get this (``WIREFEED_WEBSUB_LEASE_MAX``)."""

WEBSUB_TIMEOUT = 5.0
"""Seconds each outgoing hub request (verification, delivery) may take to connect and to answer
(``WIREFEED_WEBSUB_TIMEOUT``)."""

WEBSUB_RETRY_INTERVALS = (10, 60, 300, 1800, 7200)
"""Seconds between the retries of a failed delivery; their number is the number of retries
(``WIREFEED_WEBSUB_RETRY``, comma-separated). Needs the rq scheduler in the websub worker."""

WEBSUB_ALLOW_PRIVATE = False
"""Allow callbacks on private, loopback and link-local addresses (``WIREFEED_WEBSUB_ALLOW_PRIVATE``);
off, the hub cannot be used to reach internal hosts."""

WEBSUB_ALLOW: tuple[str, ...] = ()
"""Callback hosts (exact names) and addresses/CIDRs allowed even if private
(``WIREFEED_WEBSUB_ALLOW``, comma-separated, e.g. ``127.0.0.1/32,hooks.internal``)."""

WEBSUB_SWEEP_SECONDS = 3600
"""At most one sweep of expired WebSub leases is queued per this many seconds."""

INGEST_RATE = 60
"""Ingest requests one client may make per window before getting 429 (``WIREFEED_INGEST_RATE``)."""

INGEST_RATE_WINDOW = 60
"""Seconds of the ingest rate-limit window."""

HEARTBEAT_SECONDS = 1.0
"""How often a worker refreshes its liveness key and looks for abandoned jobs."""

HEARTBEAT_TTL = 5
"""Seconds after its last heartbeat that a worker counts as dead and its job is re-queued."""

STALE_CACHE_FEEDS = 256
"""Feed documents each web process keeps in memory to serve (stale) while Redis is down."""

NEAR_TITLE_CACHE = 4096
"""Titles whose words, LSH buckets and keys a worker keeps (3 KB each; should exceed a batch's titles)."""

RULE_MATCH_MEMO = 100_000
"""Distinct matched texts whose topic rule (or veto) each categorizer remembers; cleared when full."""
