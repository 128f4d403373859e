"""What ``wirefeed ingest`` and ``wirefeed up`` say about an ingest: its items and outcomes, and,
for ``ingest --wait`` on a terminal, a progress line (batches stored of all, stories stored, their
rate). Hand-rolled (one carriage-return line on stderr) rather than a progress-bar dependency: it
draws one bar, from one polling loop."""

from __future__ import annotations

import time
from typing import IO

from wirefeed.feeds.queue.ingests import Progress


class ProgressLine:
    """Redraws ``[#####.....] 12/40 batches, 6,000 stories stored, 3,000/s`` in place."""

    width = 30
    """Characters of the bar itself."""

    def __init__(self, stream: IO[str], label: str) -> None:
        self.stream = stream
        self.label = label
        self.started = time.monotonic()
        self.drawn = False

    def update(self, prog: Progress) -> None:
        stored = prog.new + prog.updated + prog.unchanged + prog.failed
        total = max(prog.batches, 1)
        filled = self.width * prog.batches_done // total
        rate = stored / max(time.monotonic() - self.started, 1e-6)
        bar = "#" * filled + "." * (self.width - filled)
        self.stream.write(
            f"\r{self.label} [{bar}] {prog.batches_done}/{prog.batches} batches, "
            f"{stored:,} stories stored, {rate:,.0f}/s "
        )
        self.stream.flush()
        self.drawn = True

    def close(self) -> None:
        if self.drawn:
            self.stream.write("\n")
            self.stream.flush()


def items(n: int) -> str:
    return f"{n} item{'' if n == 1 else 's'}"


def outcome_line(prog: Progress, rejected: int = 0) -> str:
    """``48 new, 0 updated, 0 unchanged`` (+ withdrawn, failed, rejected when there are any): what was stored
    of a dump's items (versions of one story in one dump are stored as one)."""
    parts = [f"{prog.new} new", f"{prog.updated} updated", f"{prog.unchanged} unchanged"]
    if prog.withdrawn:
        parts.append(f"{prog.withdrawn} withdrawn (not published again)")
    if prog.failed:
        parts.append(f"{prog.failed} set aside (wirefeed failed)")
    if rejected:
        parts.append(f"{rejected} rejected")
    return ", ".join(parts)
