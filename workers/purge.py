"""The purge job: POST surrogate keys to the CDN's purge endpoint (``WIREFEED_PURGE_URL``).

Queued by :func:`wirefeed.feeds.render.cdn.request_purge` on the websub queue (the worker of
outgoing requests); a failure raises :class:`~wirefeed.errors.PurgeFailed`, is logged, and rq
retries the job after each of ``PURGE_RETRY_INTERVALS`` (the websub worker runs rq's scheduler).
"""

from __future__ import annotations

import json
import logging
import urllib.error
import urllib.request

from wirefeed.config import defaults
from wirefeed.config.settings import Settings
from wirefeed.errors import PurgeFailed
from wirefeed.workers.context import current

log = logging.getLogger(__name__)


def purge_job(surrogate_keys: list[str]) -> dict[str, int]:
    """Purge ``surrogate_keys`` at the configured endpoint."""
    return send_purge(current().settings, surrogate_keys)


def send_purge(settings: Settings, surrogate_keys: list[str]) -> dict[str, int]:
    if not settings.purge_url:
        return {"keys": 0}
    headers = {"Content-Type": "application/json", "User-Agent": "wirefeed-purge"}
    if settings.purge_header:
        name, _, value = settings.purge_header.partition(":")
        headers[name.strip()] = value.strip()
    body = json.dumps({"surrogate_keys": surrogate_keys}).encode()
    req = urllib.request.Request(settings.purge_url, data=body, headers=headers, method="POST")
    try:
        with urllib.request.urlopen(req, timeout=defaults.PURGE_TIMEOUT) as resp:
            status = resp.status
    except urllib.error.HTTPError as exc:
        status = exc.code
    except OSError as exc:
        log.warning("purge of %d keys failed: %s", len(surrogate_keys), exc)
        raise PurgeFailed(f"purge endpoint unreachable: {exc}") from exc
    if not 200 <= status < 300:
        log.warning("purge of %d keys refused: HTTP %d", len(surrogate_keys), status)
        raise PurgeFailed(f"purge endpoint answered HTTP {status}")
    return {"keys": len(surrogate_keys), "status": status}
