"""How much CPU other processes take while the bench runs (the machine may be shared).

``busy CPU of the machine`` (/proc/stat) minus ``CPU of this process and all its descendants``
(/proc/<pid>/stat, with the CPU of reaped children such as wrk runs and rq work horses) is the
CPU that something else used. The bench records it per scenario, so a reader can tell a slow
figure from a busy machine, and can wait for the machine to calm down before each scenario.
"""

from __future__ import annotations

import os
import threading
import time
from pathlib import Path

from bench.stack import descendants

_TICK = os.sysconf("SC_CLK_TCK")


def _busy_ticks() -> int:
    fields = [int(x) for x in Path("/proc/stat").read_text().split("\n", 1)[0].split()[1:]]
    user, nice, system, _idle, _iowait, irq, softirq, steal = (fields + [0] * 8)[:8]
    return user + nice + system + irq + softirq + steal


def _own_ticks() -> int:
    total = 0
    for pid in [os.getpid(), *descendants(os.getpid())]:
        try:
            stat = Path(f"/proc/{pid}/stat").read_text()
        except OSError:
            continue
        f = stat.rsplit(")", 1)[1].split()
        total += int(f[11]) + int(f[12]) + int(f[13]) + int(f[14])  # utime stime cutime cstime
    return total


def foreign_cores(seconds: float = 2.0) -> float:
    """Cores' worth of CPU used by processes other than the bench's, over ``seconds``."""
    b0, o0 = _busy_ticks(), _own_ticks()
    time.sleep(seconds)
    b1, o1 = _busy_ticks(), _own_ticks()
    return max(0.0, (b1 - b0) - (o1 - o0)) / _TICK / seconds


def wait_quiet(threshold: float, max_wait: float, say: object = print) -> float:
    """Wait (at most ``max_wait`` s) until other processes use under ``threshold`` cores; the last figure."""
    deadline = time.monotonic() + max_wait
    load = foreign_cores()
    while load >= threshold and time.monotonic() < deadline:
        if callable(say):
            say(f"machine busy: other processes use {load:.2f} cores; waiting (until < {threshold})")
        time.sleep(10)
        load = foreign_cores()
    return load


class Monitor:
    """Average CPU of other processes per label, sampled every second in a thread."""

    def __init__(self) -> None:
        self.samples: dict[str, list[float]] = {}
        self.label = ""
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._run, daemon=True)

    def start(self) -> Monitor:
        self._thread.start()
        return self

    def stop(self) -> None:
        self._stop.set()
        self._thread.join(5)

    def _run(self) -> None:
        while not self._stop.is_set():
            b0, o0 = _busy_ticks(), _own_ticks()
            if self._stop.wait(1.0):
                return
            b1, o1 = _busy_ticks(), _own_ticks()
            if self.label:
                load = max(0.0, (b1 - b0) - (o1 - o0)) / _TICK
                self.samples.setdefault(self.label, []).append(load)

    def average(self, label: str) -> float | None:
        xs = self.samples.get(label)
        return sum(xs) / len(xs) if xs else None
