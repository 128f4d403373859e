"""A rendered feed document as stored and served (:class:`FeedDoc`)."""

from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True, slots=True)
class FeedDoc:
    """A rendered feed document as served: body bytes (and gzipped), strong ETag, Last-Modified."""

    body: bytes
    etag: str
    modified: str
    changed: int = 0
    """Microseconds of the topic change this document reflects."""
    gz: bytes | None = None
    """The body gzipped, when it was compressed ahead of time."""

    def fields(self) -> dict[str, bytes | str | int]:
        out: dict[str, bytes | str | int] = {
            "body": self.body,
            "etag": self.etag,
            "modified": self.modified,
            "changed": self.changed,
        }
        if self.gz is not None:
            out["gz"] = self.gz
        return out

    @classmethod
    def from_fields(cls, raw: dict[bytes, bytes]) -> FeedDoc:
        return cls(
            body=raw[b"body"],
            etag=raw[b"etag"].decode(),
            modified=raw[b"modified"].decode(),
            changed=int(raw.get(b"changed", b"0")),
            gz=raw.get(b"gz"),
        )
