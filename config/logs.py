"""One log format for every process: a line per event, as text (default) or JSON
(``WIREFEED_LOG_FORMAT=json``).

A JSON line holds ``ts`` (ISO 8601, UTC), ``level``, ``role`` (web, worker:<queues>, up, cli),
``logger``, ``event`` (the record's ``event`` extra, else its message), ``message``, and any of
``ingest_id``, ``story_id``, ``request_id`` and the other extras a call passes
(``log.info("ingest done", extra={"event": "ingest_done", "ingest_id": ...})``). gunicorn's error
and access logs use the same formatters (:mod:`wirefeed.services.gunicorn_conf`).
"""

from __future__ import annotations

import json
import logging
import sys
from datetime import UTC, datetime
from typing import Any

from wirefeed.errors import ConfigError

FORMATS = ("text", "json")

_STANDARD = set(logging.LogRecord("", 0, "", 0, "", None, None).__dict__) | {"message", "asctime"}
"""Attributes every record has: anything else on a record is an extra the caller passed."""


def _extras(record: logging.LogRecord) -> dict[str, Any]:
    return {k: v for k, v in record.__dict__.items() if k not in _STANDARD and k not in ("event", "role")}


class JsonFormatter(logging.Formatter):
    """A record as one JSON object on one line."""

    def __init__(self, role: str) -> None:
        super().__init__()
        self.role = role

    def format(self, record: logging.LogRecord) -> str:
        message = record.getMessage()
        out: dict[str, Any] = {
            "ts": datetime.fromtimestamp(record.created, UTC).isoformat(timespec="milliseconds"),
            "level": record.levelname.lower(),
            "role": getattr(record, "role", self.role),
            "logger": record.name,
            "event": getattr(record, "event", None) or message,
            "message": message,
        }
        for key, value in _extras(record).items():
            out[key] = value if isinstance(value, str | int | float | bool | None) else str(value)
        if record.exc_info:
            out["exc"] = self.formatException(record.exc_info)
        return json.dumps(out, ensure_ascii=False)


class TextFormatter(logging.Formatter):
    """``<time> <level> <logger>: <message> key=value ...`` on one line (tracebacks follow)."""

    def __init__(self, role: str) -> None:
        super().__init__("%(asctime)s %(levelname)s %(name)s: %(message)s")
        self.role = role

    def format(self, record: logging.LogRecord) -> str:
        line = super().format(record)
        extras = " ".join(f"{k}={v}" for k, v in _extras(record).items())
        if not extras:
            return line
        first, nl, rest = line.partition("\n")
        return f"{first} {extras}{nl}{rest}"


def formatter(fmt: str, role: str) -> logging.Formatter:
    if fmt not in FORMATS:
        raise ConfigError(f"WIREFEED_LOG_FORMAT must be one of {', '.join(FORMATS)}, got {fmt!r}")
    return JsonFormatter(role) if fmt == "json" else TextFormatter(role)


def setup_logging(fmt: str, role: str, level: int = logging.INFO) -> None:
    """Send every logger's records (rq's too) to stderr, one line each, in ``fmt``."""
    handler = logging.StreamHandler(sys.stderr)
    handler.setFormatter(formatter(fmt, role))
    root = logging.getLogger()
    for old in list(root.handlers):
        root.removeHandler(old)
    root.addHandler(handler)
    root.setLevel(level)
