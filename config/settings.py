"""Settings, read once from the environment and passed down.

Nothing in wirefeed takes a setting from ``os.environ`` but :meth:`Settings.from_env` (the CLI
only hands the environment on to the processes it starts); the app, the workers and the CLI take
a :class:`Settings`. Tests build one directly.
"""

from __future__ import annotations

import os
from collections.abc import Mapping
from dataclasses import dataclass, field, replace
from pathlib import Path

from wirefeed.config import defaults
from wirefeed.errors import ConfigError

TOPICS_PATH = Path(__file__).with_name("topics.toml")
"""The default topic taxonomy shipped with wirefeed."""


@dataclass(frozen=True)
class Settings:
    """Everything wirefeed can be told; see :mod:`wirefeed.config.defaults` for each field's meaning."""

    redis_url: str | None = defaults.REDIS_URL
    redis_sentinels: tuple[str, ...] = defaults.REDIS_SENTINELS
    redis_sentinel_master: str = defaults.REDIS_SENTINEL_MASTER
    redis_sentinel_password: str | None = defaults.REDIS_SENTINEL_PASSWORD
    redis_password: str | None = defaults.REDIS_PASSWORD
    redis_db: int = defaults.REDIS_DB
    min_replicas: int = defaults.MIN_REPLICAS
    replica_wait: float = defaults.REPLICA_WAIT_SECONDS
    purge_url: str | None = defaults.PURGE_URL
    purge_header: str | None = defaults.PURGE_HEADER
    base_url: str = defaults.BASE_URL
    ingest_token: str | None = defaults.INGEST_TOKEN
    data_dir: Path = Path(defaults.DATA_DIR)
    host: str = defaults.HOST
    port: int = defaults.PORT
    max_dump_bytes: int = defaults.MAX_DUMP_BYTES
    feed_limit: int = defaults.FEED_LIMIT
    feed_max_limit: int = defaults.FEED_MAX_LIMIT
    feed_max_age: int = defaults.FEED_MAX_AGE
    batch_size: int = defaults.BATCH_SIZE
    express_max_stories: int = defaults.EXPRESS_MAX_STORIES
    archive_page_size: int = defaults.ARCHIVE_PAGE_SIZE
    variant_ttl: int = defaults.VARIANT_TTL
    job_timeout: int = defaults.JOB_TIMEOUT
    result_ttl: int = defaults.RESULT_TTL
    job_max_attempts: int = defaults.JOB_MAX_ATTEMPTS
    tag_authority: str = defaults.TAG_AUTHORITY
    default_agency: str = defaults.DEFAULT_AGENCY
    feed_title: str = defaults.FEED_TITLE
    categorizer_workers: int = defaults.CATEGORIZER_WORKERS
    web_threads: int = defaults.WEB_THREADS
    summary_chars: int = defaults.SUMMARY_CHARS
    near_window_hours: int = defaults.NEAR_WINDOW_HOURS
    categorizer: str | None = defaults.CATEGORIZER
    ingest_rate: int = defaults.INGEST_RATE
    ingest_rate_window: int = defaults.INGEST_RATE_WINDOW
    auth_fail_rate: int = defaults.AUTH_FAIL_RATE
    auth_fail_window: int = defaults.AUTH_FAIL_WINDOW
    proxy_hops: int = defaults.PROXY_HOPS
    topics_path: Path = field(default=TOPICS_PATH)
    websub_lease_seconds: int = defaults.WEBSUB_LEASE_SECONDS
    websub_lease_min: int = defaults.WEBSUB_LEASE_MIN
    websub_lease_max: int = defaults.WEBSUB_LEASE_MAX
    websub_timeout: float = defaults.WEBSUB_TIMEOUT
    websub_retry_intervals: tuple[int, ...] = defaults.WEBSUB_RETRY_INTERVALS
    websub_allow_private: bool = defaults.WEBSUB_ALLOW_PRIVATE
    websub_allow: tuple[str, ...] = defaults.WEBSUB_ALLOW
    websub_sweep_seconds: int = defaults.WEBSUB_SWEEP_SECONDS
    websub_rate: int = defaults.WEBSUB_RATE
    websub_global_rate: int = defaults.WEBSUB_GLOBAL_RATE
    websub_rate_window: int = defaults.WEBSUB_RATE_WINDOW
    websub_max_per_host: int = defaults.WEBSUB_MAX_PER_HOST
    websub_max_subscriptions: int = defaults.WEBSUB_MAX_SUBSCRIPTIONS
    websub_batch_size: int = defaults.WEBSUB_BATCH_SIZE
    websub_concurrency: int = defaults.WEBSUB_CONCURRENCY
    websub_host_connections: int = defaults.WEBSUB_HOST_CONNECTIONS
    log_format: str = defaults.LOG_FORMAT
    metrics_dir: Path | None = None
    redis_server: str | None = defaults.REDIS_SERVER
    archive_max_age: int = defaults.ARCHIVE_MAX_AGE
    retention_days: float = defaults.RETENTION_DAYS
    tombstone_days: float = defaults.TOMBSTONE_DAYS
    retention_interval: int = defaults.RETENTION_INTERVAL

    def __post_init__(self) -> None:
        object.__setattr__(self, "base_url", self.base_url.rstrip("/"))
        if not self.base_url.startswith(("http://", "https://")):
            raise ConfigError(f"WIREFEED_BASE_URL must be an http(s) URL, got {self.base_url!r}")
        if not 1 <= self.feed_limit <= self.feed_max_limit:
            raise ConfigError("feed_limit must be between 1 and feed_max_limit")
        if self.batch_size < 1 or self.max_dump_bytes < 1:
            raise ConfigError("batch_size and max_dump_bytes must be positive")
        if self.near_window_hours < 0:
            raise ConfigError("WIREFEED_NEAR_WINDOW_HOURS must not be negative")
        if self.job_max_attempts < 1:
            raise ConfigError("job_max_attempts must be at least 1")
        if self.express_max_stories < 0:
            raise ConfigError("express_max_stories must not be negative")
        if not 1 <= self.websub_lease_min <= self.websub_lease_seconds <= self.websub_lease_max:
            raise ConfigError("WebSub leases must satisfy 1 <= lease_min <= lease_seconds <= lease_max")
        if self.proxy_hops < 0:
            raise ConfigError("WIREFEED_PROXY_HOPS must not be negative")
        if self.websub_timeout <= 0 or any(i < 0 for i in self.websub_retry_intervals):
            raise ConfigError("websub_timeout must be positive and retry intervals not negative")
        if min(self.websub_batch_size, self.websub_concurrency, self.websub_host_connections) < 1:
            raise ConfigError("WebSub batch size, concurrency and host connections must be at least 1")
        if self.retention_days < 0 or self.tombstone_days < 0 or self.archive_max_age < 0:
            raise ConfigError("retention_days, tombstone_days and archive_max_age must not be negative")
        object.__setattr__(self, "websub_retry_intervals", tuple(self.websub_retry_intervals))
        object.__setattr__(self, "redis_sentinels", tuple(self.redis_sentinels))
        object.__setattr__(self, "websub_allow", tuple(self.websub_allow))
        self._check_redis_and_outputs()

    def _check_redis_and_outputs(self) -> None:
        """The Sentinel, replica, purge and log settings (a :class:`ConfigError` for a bad one)."""
        for addr in self.redis_sentinels:
            host, _, port = addr.rpartition(":")
            if not host or not port.isdigit():
                raise ConfigError(f"REDIS_SENTINELS holds host:port pairs, got {addr!r}")
        if self.min_replicas < 0 or self.replica_wait <= 0:
            raise ConfigError("WIREFEED_MIN_REPLICAS must not be negative and WIREFEED_REPLICA_WAIT positive")
        if self.purge_url and not self.purge_url.startswith(("http://", "https://")):
            raise ConfigError(f"WIREFEED_PURGE_URL must be an http(s) URL, got {self.purge_url!r}")
        if self.purge_header and not self.purge_header.partition(":")[2].strip():
            raise ConfigError("WIREFEED_PURGE_HEADER must look like 'Name: value'")
        if self.log_format not in ("text", "json"):
            raise ConfigError(f"WIREFEED_LOG_FORMAT must be text or json, got {self.log_format!r}")

    @classmethod
    def from_env(cls, env: Mapping[str, str] | None = None) -> Settings:
        """Build settings from ``env`` (default: ``os.environ``), read once."""
        env = os.environ if env is None else env

        def num(name: str, default: int) -> int:
            raw = env.get(name)
            if raw in (None, ""):
                return default
            try:
                return int(raw)
            except ValueError:
                raise ConfigError(f"{name} must be a whole number, got {raw!r}") from None

        return cls(
            redis_url=env.get("REDIS_URL") or defaults.REDIS_URL,
            redis_sentinels=tuple(_items(env, "REDIS_SENTINELS", defaults.REDIS_SENTINELS)),
            redis_sentinel_master=env.get("REDIS_SENTINEL_MASTER") or defaults.REDIS_SENTINEL_MASTER,
            redis_sentinel_password=env.get("REDIS_SENTINEL_PASSWORD") or defaults.REDIS_SENTINEL_PASSWORD,
            redis_password=env.get("REDIS_PASSWORD") or defaults.REDIS_PASSWORD,
            redis_db=num("REDIS_DB", defaults.REDIS_DB),
            min_replicas=num("WIREFEED_MIN_REPLICAS", defaults.MIN_REPLICAS),
            replica_wait=_number(env, "WIREFEED_REPLICA_WAIT", defaults.REPLICA_WAIT_SECONDS, "seconds"),
            purge_url=env.get("WIREFEED_PURGE_URL") or defaults.PURGE_URL,
            purge_header=env.get("WIREFEED_PURGE_HEADER") or defaults.PURGE_HEADER,
            base_url=env.get("WIREFEED_BASE_URL") or defaults.BASE_URL,
            ingest_token=env.get("WIREFEED_INGEST_TOKEN") or defaults.INGEST_TOKEN,
            data_dir=Path(env.get("WIREFEED_DATA_DIR") or defaults.DATA_DIR),
            host=env.get("WIREFEED_HOST") or defaults.HOST,
            port=num("WIREFEED_PORT", defaults.PORT),
            max_dump_bytes=num("WIREFEED_MAX_DUMP_BYTES", defaults.MAX_DUMP_BYTES),
            feed_max_age=num("WIREFEED_FEED_MAX_AGE", defaults.FEED_MAX_AGE),
            batch_size=num("WIREFEED_BATCH_SIZE", defaults.BATCH_SIZE),
            express_max_stories=num("WIREFEED_EXPRESS_MAX_STORIES", defaults.EXPRESS_MAX_STORIES),
            job_max_attempts=num("WIREFEED_JOB_MAX_ATTEMPTS", defaults.JOB_MAX_ATTEMPTS),
            tag_authority=env.get("WIREFEED_TAG_AUTHORITY") or defaults.TAG_AUTHORITY,
            default_agency=env.get("WIREFEED_DEFAULT_AGENCY") or defaults.DEFAULT_AGENCY,
            feed_title=env.get("WIREFEED_TITLE") or defaults.FEED_TITLE,
            categorizer_workers=num("WIREFEED_CATEGORIZER_WORKERS", defaults.CATEGORIZER_WORKERS),
            web_threads=num("WIREFEED_WEB_THREADS", defaults.WEB_THREADS),
            topics_path=Path(env.get("WIREFEED_TOPICS") or defaults.TOPICS or TOPICS_PATH),
            categorizer=env.get("WIREFEED_CATEGORIZER") or defaults.CATEGORIZER,
            ingest_rate=num("WIREFEED_INGEST_RATE", defaults.INGEST_RATE),
            auth_fail_rate=num("WIREFEED_AUTH_FAIL_RATE", defaults.AUTH_FAIL_RATE),
            proxy_hops=num("WIREFEED_PROXY_HOPS", defaults.PROXY_HOPS),
            near_window_hours=num("WIREFEED_NEAR_WINDOW_HOURS", defaults.NEAR_WINDOW_HOURS),
            archive_page_size=num("WIREFEED_ARCHIVE_PAGE_SIZE", defaults.ARCHIVE_PAGE_SIZE),
            websub_lease_seconds=num("WIREFEED_WEBSUB_LEASE_SECONDS", defaults.WEBSUB_LEASE_SECONDS),
            websub_lease_min=num("WIREFEED_WEBSUB_LEASE_MIN", defaults.WEBSUB_LEASE_MIN),
            websub_lease_max=num("WIREFEED_WEBSUB_LEASE_MAX", defaults.WEBSUB_LEASE_MAX),
            websub_timeout=_number(env, "WIREFEED_WEBSUB_TIMEOUT", defaults.WEBSUB_TIMEOUT, "seconds"),
            websub_retry_intervals=tuple(
                _whole(name="WIREFEED_WEBSUB_RETRY", raw=x)
                for x in _items(env, "WIREFEED_WEBSUB_RETRY", defaults.WEBSUB_RETRY_INTERVALS)
            ),
            websub_allow_private=_flag(env, "WIREFEED_WEBSUB_ALLOW_PRIVATE", defaults.WEBSUB_ALLOW_PRIVATE),
            websub_allow=tuple(_items(env, "WIREFEED_WEBSUB_ALLOW", defaults.WEBSUB_ALLOW)),
            websub_rate=num("WIREFEED_WEBSUB_RATE", defaults.WEBSUB_RATE),
            websub_global_rate=num("WIREFEED_WEBSUB_GLOBAL_RATE", defaults.WEBSUB_GLOBAL_RATE),
            websub_max_per_host=num("WIREFEED_WEBSUB_MAX_PER_HOST", defaults.WEBSUB_MAX_PER_HOST),
            websub_max_subscriptions=num(
                "WIREFEED_WEBSUB_MAX_SUBSCRIPTIONS", defaults.WEBSUB_MAX_SUBSCRIPTIONS
            ),
            websub_batch_size=num("WIREFEED_WEBSUB_BATCH_SIZE", defaults.WEBSUB_BATCH_SIZE),
            websub_concurrency=num("WIREFEED_WEBSUB_CONCURRENCY", defaults.WEBSUB_CONCURRENCY),
            websub_host_connections=num("WIREFEED_WEBSUB_HOST_CONNECTIONS", defaults.WEBSUB_HOST_CONNECTIONS),
            log_format=(env.get("WIREFEED_LOG_FORMAT") or defaults.LOG_FORMAT).strip().lower(),
            metrics_dir=_path(env.get("WIREFEED_METRICS_DIR") or defaults.METRICS_DIR),
            redis_server=env.get("WIREFEED_REDIS_SERVER") or defaults.REDIS_SERVER,
            archive_max_age=num("WIREFEED_ARCHIVE_MAX_AGE", defaults.ARCHIVE_MAX_AGE),
            retention_days=_number(env, "WIREFEED_RETENTION_DAYS", defaults.RETENTION_DAYS, "days"),
            tombstone_days=_number(env, "WIREFEED_TOMBSTONE_DAYS", defaults.TOMBSTONE_DAYS, "days"),
        )

    def web_metrics_dir(self) -> Path:
        """Where the web processes keep their metric files (see ``METRICS_DIR``)."""
        return self.metrics_dir or self.data_dir / "metrics" / f"web-{self.port}"

    def on_port(self, port: int) -> Settings:
        """A copy listening on ``port``; a base URL that was the default follows the port."""
        default_base = f"http://{defaults.HOST}:{self.port}"
        if self.base_url in (default_base, defaults.BASE_URL):
            return self.with_(port=port, base_url=f"http://{self.host}:{port}")
        return self.with_(port=port)

    def sentinel_addresses(self) -> list[tuple[str, int]]:
        """``REDIS_SENTINELS`` as (host, port) pairs; empty when Sentinel is not used."""
        out = []
        for addr in self.redis_sentinels:
            host, _, port = addr.rpartition(":")
            out.append((host.strip("[]"), int(port)))
        return out

    def with_(self, **changes: object) -> Settings:
        """A copy with some fields changed (used by the CLI and tests)."""
        return replace(self, **changes)  # type: ignore[arg-type]


# -- environment parsing helpers (WebSub settings) -------------------------------------------


def _path(raw: str | None) -> Path | None:
    return Path(raw) if raw else None


def _flag(env: Mapping[str, str], name: str, default: bool) -> bool:
    raw = (env.get(name) or "").strip().lower()
    if raw == "":
        return default
    if raw in ("1", "true", "yes", "on"):
        return True
    if raw in ("0", "false", "no", "off"):
        return False
    raise ConfigError(f"{name} must be true or false (1/0, yes/no), got {raw!r}")


def _items(env: Mapping[str, str], name: str, default: tuple[object, ...]) -> list[str]:
    """A comma-separated list; unset means the default, set but empty means none."""
    raw = env.get(name)
    if raw is None:
        return [str(x) for x in default]
    return [x.strip() for x in raw.split(",") if x.strip()]


def _whole(*, name: str, raw: str) -> int:
    try:
        return int(raw)
    except ValueError:
        raise ConfigError(f"{name} must hold whole numbers, got {raw!r}") from None


def _number(env: Mapping[str, str], name: str, default: float, unit: str) -> float:
    """A decimal number of ``unit`` from ``env[name]``, or ``default`` if unset or empty."""
    raw = env.get(name)
    if raw in (None, ""):
        return default
    try:
        return float(raw)
    except ValueError:
        raise ConfigError(f"{name} must be a number of {unit}, got {raw!r}") from None
