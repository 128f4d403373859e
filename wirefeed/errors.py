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


class BadFeedRequest(WirefeedError):
    """A feed request that cannot be answered as asked (HTTP 400)."""


class UnknownFeed(WirefeedError):
    """A feed topic or format that does not exist (HTTP 404)."""


class LogExpired(WirefeedError):
    """A change-log cursor or archive page older than the retention horizon (HTTP 410)."""


class NoSuchStory(WirefeedError):
    """A story id that is not stored (HTTP 404; on the command line, a one-line error)."""


class StoryConflict(WirefeedError):
    """A lifecycle change that does not apply to the story as it is (already withdrawn, an
    unchanged correction; HTTP 409)."""


class NoSuchIngest(WirefeedError):
    """An ingest id that is unknown or expired (HTTP 404)."""


class CallbackRefused(WirefeedError):
    """A WebSub callback may not be contacted (scheme, form, or an address that is not allowed)."""


class CallbackUnresolvable(WirefeedError):
    """A WebSub callback's host does not resolve (now): worth retrying later, unlike a refusal."""


class DeliveryFailed(WirefeedError):
    """A WebSub callback did not take a delivery (rq retries the job)."""


class AnswerInvalid(WirefeedError):
    """A WebSub callback's answer is not HTTP/1.1 the hub can read (a failed delivery)."""


class EmbeddedRedisError(WirefeedError):
    """The embedded Redis server could not be found or started."""


class EditRefused(StoryConflict):
    """An editor's split or merge that cannot be done as asked, e.g. a story with no merged-in
    version, or a story merged into itself (HTTP 409, exit status 1)."""


class NotReplicated(StoreUnavailable):
    """Fewer replicas than ``WIREFEED_MIN_REPLICAS`` confirmed a write in time (the API answers 503)."""


class PurgeFailed(WirefeedError):
    """The purge endpoint did not take a purge (rq retries the job)."""
