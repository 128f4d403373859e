"""The one exception root of wirefeed, and its branches.

Every error wirefeed raises on purpose derives from :class:`WirefeedError`, so a caller
(the CLI, the API, a worker) can catch the project's own failures in one place and let
real bugs through.
"""

from __future__ import annotations


class WirefeedError(Exception):
    """Root of every error wirefeed raises on purpose."""


class ConfigError(WirefeedError):
    """Settings or the topic taxonomy are invalid."""


class InputRejected(WirefeedError):
    """A wire dump (or one item of it) cannot be accepted.

    ``reason`` is a short machine-readable slug (``empty``, ``binary``, ``too-large``,
    ``no-title``, ...); ``line`` is the 1-based line number where there is one.
    """

    def __init__(self, reason: str, message: str, line: int | None = None) -> None:
        self.reason = reason
        self.line = line
        where = f" (line {line})" if line is not None else ""
        super().__init__(f"{reason}: {message}{where}")

    def to_dict(self) -> dict[str, object]:
        return {"reason": self.reason, "line": self.line, "message": str(self)}


class StoreUnavailable(WirefeedError):
    """Redis cannot be reached; the caller should retry later."""


class UnknownTopic(WirefeedError):
    """A topic slug that the taxonomy does not define."""


class EmbeddedRedisError(WirefeedError):
    """The embedded Redis server could not be found or started."""
