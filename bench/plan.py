"""How big and how long each scenario is: the full run and ``--quick``."""

from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True)
class Plan:
    runs: int = 3
    """Runs of every measurement; each figure is their median."""
    stories: int = 20_000
    """Stories in scenario 1's dump (repeats included, as the parser counts them)."""
    baseline_stories: int = 1_000
    """Stories in the obvious design's dump (scenario 1's baseline)."""
    seed: int = 1
    wrk_seconds: int = 10
    wrk_connections: int = 32
    wrk_threads: int = 2
    serve_stories: int = 2_000
    """Stories stored while scenarios 2 and 3 run (every feed full: 50 items)."""
    topic: str = "sports"
    """The topic feed scenarios 2 and 4 request."""
    fresh_probes: int = 40
    """Probes per idle freshness run."""
    fresh_baseline_probes: int = 20
    scale_small: int = 1_000
    scale_large: int = 200_000
    scale_ingest: int = 5_000
    """Stories of the fresh dump whose ingest rate scenario 4 measures at each store size."""
    scale_wrk_seconds: int = 5
    ingest_timeout: float = 600.0
    retention_days: int = 90
    """Simulated days scenario 5 replays."""
    retention_per_day: int = 5_000
    """New stories a simulated day."""
    retention_keep: int = 30
    """``WIREFEED_RETENTION_DAYS`` in scenario 5."""
    push_workers: int = 2
    """Scenario 6: websub workers (both designs; one per core)."""
    push_cases: tuple[tuple[int, int], ...] = ((1_000, 1), (10_000, 1), (50_000, 1), (10_000, 20))
    """Scenario 6: (subscribers, topics) of each case; the first and the largest one-topic case
    give the memory comparison."""

    @classmethod
    def quick(cls) -> Plan:
        return cls(
            runs=1,
            stories=4_000,
            baseline_stories=200,
            wrk_seconds=3,
            serve_stories=1_000,
            fresh_probes=15,
            fresh_baseline_probes=5,
            scale_large=20_000,
            scale_ingest=2_000,
            scale_wrk_seconds=2,
            ingest_timeout=180.0,
            retention_days=24,
            retention_per_day=500,
            retention_keep=8,
            push_cases=((500, 1), (2_000, 1), (5_000, 1), (2_000, 20)),
        )
