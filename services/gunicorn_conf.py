"""gunicorn's settings for ``wirefeed serve`` (``gunicorn -c python:wirefeed.services.gunicorn_conf``).

- Logs: gunicorn's error and access logs go through wirefeed's formatters
  (:mod:`wirefeed.config.logs`; ``WIREFEED_LOG_FORMAT``), an access line carrying method, path,
  status, bytes, seconds and the ``X-Request-Id`` header when the client sent one.
- Metrics: in prometheus-client's multiprocess mode each gunicorn worker writes its own files
  into ``PROMETHEUS_MULTIPROC_DIR``; when one exits its live gauges are marked dead here.
"""

from __future__ import annotations

from typing import Any

from gunicorn.glogging import Logger
from prometheus_client import multiprocess

from wirefeed.config.logs import formatter
from wirefeed.config.settings import Settings

_FORMAT = Settings.from_env().log_format


class WirefeedLogger(Logger):
    """gunicorn's logger with wirefeed's line formats."""

    def setup(self, cfg: Any) -> None:
        super().setup(cfg)
        fmt = formatter(_FORMAT, "web")
        for log in (self.error_log, self.access_log):
            for handler in log.handlers:
                handler.setFormatter(fmt)

    def access(self, resp: Any, req: Any, environ: dict[str, Any], request_time: Any) -> None:
        if not self.cfg.accesslog:
            return
        status = str(resp.status).split(" ", 1)[0]
        path = req.path + (f"?{req.query}" if req.query else "")
        self.access_log.info(
            "%s %s %s",
            req.method,
            path,
            status,
            extra={
                "event": "request",
                "method": req.method,
                "path": path,
                "status": int(status) if status.isdigit() else status,
                "bytes": getattr(resp, "sent", 0),
                "seconds": round(request_time.total_seconds(), 6),
                "request_id": environ.get("HTTP_X_REQUEST_ID", ""),
                "remote": environ.get("REMOTE_ADDR", ""),
            },
        )


logger_class = WirefeedLogger


def child_exit(server: Any, worker: Any) -> None:
    """A gunicorn worker exited: its live gauges no longer count (prometheus-client)."""
    multiprocess.mark_process_dead(worker.pid)
