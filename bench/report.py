"""The result table (terminal and bench/RESULTS.md) and the machine description.

RESULTS.md is shared: this module rewrites only its own generated sections (``## Machine``,
``## Results``) and leaves every other section (hand-written findings, other benchmarks such as
``## Categorizer``) where it is, as it is.
"""

from __future__ import annotations

import contextlib
import os
import platform
import re
import shutil
import statistics
import subprocess
import sys
import time
from collections.abc import Sequence
from dataclasses import dataclass, field
from importlib import metadata
from pathlib import Path

RESULTS_MD = Path(__file__).with_name("RESULTS.md")
GENERATED = ("Machine", "Results")
"""The ``## `` sections of RESULTS.md that a bench run rewrites."""


@dataclass
class Row:
    scenario: str
    figure: str
    value: float | None
    unit: str
    baseline: str = ""
    """What the baseline is (measured in the same run)."""
    baseline_value: float | None = None
    target: str = ""
    met: bool | None = None
    samples: list[float] = field(default_factory=list)
    baseline_samples: list[float] = field(default_factory=list)
    note: str = ""

    @property
    def ratio(self) -> float | None:
        if self.value is None or not self.baseline_value:
            return None
        return self.value / self.baseline_value


def median(values: Sequence[float]) -> float | None:
    return statistics.median(values) if values else None


def percentile(values: Sequence[float], p: float) -> float | None:
    """The ``p``-th percentile (0-100), nearest-rank."""
    if not values:
        return None
    ordered = sorted(values)
    k = max(0, min(len(ordered) - 1, round(p / 100 * len(ordered) + 0.5) - 1))
    return ordered[k]


def fmt(value: float | None, unit: str) -> str:
    if value is None:
        return "n/a"
    if unit.endswith("/s"):
        return f"{value:,.0f} {unit}"
    if unit == "ms":
        return f"{value:,.1f} ms" if value < 100 else f"{value:,.0f} ms"
    if unit == "B":
        return f"{value:,.0f} B"
    if unit == "MiB":
        return f"{value:,.1f} MiB"
    return f"{value:,.3g} {unit}".strip()


def table(rows: Sequence[Row]) -> str:
    head = ["#", "figure", "value", "baseline (same run)", "ratio", "target", "met?"]
    lines = ["| " + " | ".join(head) + " |", "|" + "|".join("---" for _ in head) + "|"]
    for r in rows:
        base = f"{r.baseline}: {fmt(r.baseline_value, r.unit)}" if r.baseline else "—"
        ratio = f"{r.ratio:.2f}x" if r.ratio is not None else "—"
        met = {True: "**yes**", False: "**NO**", None: "—"}[r.met]
        cells = [r.scenario, r.figure, fmt(r.value, r.unit), base, ratio, r.target or "—", met]
        lines.append("| " + " | ".join(c.replace("|", "/") for c in cells) + " |")
    return "\n".join(lines)


def samples_block(rows: Sequence[Row]) -> str:
    """Every run's raw figure, for the record."""
    out = []
    for r in rows:
        if not (r.samples or r.baseline_samples or r.note):
            continue
        line = f"- {r.scenario} {r.figure}"
        if r.samples or r.baseline_samples:
            s = ", ".join(fmt(v, r.unit) for v in r.samples)
            b = ", ".join(fmt(v, r.unit) for v in r.baseline_samples)
            line += f": [{s}]" + (f"; baseline [{b}]" if b else "")
        out.append(line)
        if r.note:
            out.append(f"  - {r.note}")
    return "\n".join(out)


# -- machine ---------------------------------------------------------------------------------


def _run(argv: list[str]) -> str:
    if shutil.which(argv[0]) is None:
        return "not installed"
    try:
        out = subprocess.run(argv, capture_output=True, text=True, timeout=10, check=False)
    except (OSError, subprocess.TimeoutExpired):
        return "unknown"
    return (out.stdout + out.stderr).strip().splitlines()[0] if (out.stdout + out.stderr).strip() else ""


def _cpu_model() -> str:
    with contextlib.suppress(OSError):
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.startswith("model name"):
                return line.split(":", 1)[1].strip()
    return platform.processor() or "unknown"


def _ram() -> str:
    with contextlib.suppress(OSError):
        m = re.search(r"MemTotal:\s+(\d+) kB", Path("/proc/meminfo").read_text())
        if m:
            return f"{int(m.group(1)) / 1024 / 1024:.1f} GiB"
    return "unknown"


def _os() -> str:
    with contextlib.suppress(OSError):
        m = re.search(r'PRETTY_NAME="([^"]+)"', Path("/etc/os-release").read_text())
        if m:
            return f"{m.group(1)}, kernel {platform.release()}"
    return platform.platform()


def _version(dist: str) -> str:
    try:
        return metadata.version(dist)
    except metadata.PackageNotFoundError:
        return "not installed"


def _code() -> str:
    """The commit of the code under test (a checkout, or an exported tree with ``.bench-commit``)."""
    from bench.stack import ROOT

    if (ROOT / ".git").exists():
        git = _run(["git", "-C", str(ROOT), "rev-parse", "--short", "HEAD"])
        dirty = _run(["git", "-C", str(ROOT), "status", "--porcelain", "--untracked-files=no"])
        return f"{git}{' + uncommitted changes' if dirty else ''}"
    marker = ROOT / ".bench-commit"
    if marker.exists():
        return f"{marker.read_text().strip()[:12]} (exported tree)"
    return "unknown (not a git checkout)"


def machine(redis_version: str, load: str = "") -> list[tuple[str, str]]:
    return [
        ("date", time.strftime("%Y-%m-%d %H:%M %Z")),
        ("cores (`nproc`)", str(os.cpu_count())),
        ("CPU", _cpu_model()),
        ("RAM", _ram()),
        ("OS", _os()),
        ("Python", sys.version.split()[0]),
        ("Redis", redis_version),
        ("nginx", _run(["nginx", "-v"]).replace("nginx version: ", "")),
        ("wrk", _run(["wrk", "--version"]).split(" Copyright")[0]),
        (
            "Python packages",
            ", ".join(f"{d} {_version(d)}" for d in ("flask", "gunicorn", "rq", "redis", "feedgen")),
        ),
        ("code under test", _code()),
        ("load average (1 min) at start / end of the run", load or "n/a"),
    ]


# -- RESULTS.md ------------------------------------------------------------------------------


def _split_sections(text: str) -> tuple[str, list[tuple[str, str]]]:
    """(text before the first ``## ``, [(heading, body)...]) of a markdown file."""
    parts = re.split(r"(?m)^## ", text)
    head, sections = parts[0], []
    for part in parts[1:]:
        title, _, body = part.partition("\n")
        sections.append((title.strip(), body))
    return head, sections


def write_results(
    rows: Sequence[Row], machine_info: list[tuple[str, str]], command: str, partial: str = ""
) -> Path:
    """Rewrite the generated sections of RESULTS.md, keeping every other section."""
    generated = {
        "Machine": "\n".join(f"- **{k}**: {v}" for k, v in machine_info) + "\n",
        "Results": (
            f"Produced by `{command}`{partial}. Each value is the median of the runs listed below; "
            "each baseline was measured in the same run on the same machine; "
            "ratio = value / baseline.\n\n"
            + table(rows)
            + "\n\n<details><summary>Every run</summary>\n\n"
            + samples_block(rows)
            + "\n\n</details>\n"
        ),
    }
    text = RESULTS_MD.read_text(encoding="utf-8") if RESULTS_MD.exists() else ""
    head, sections = _split_sections(text)
    if not head.strip():
        head = "# Benchmark results\n\nWhat each scenario measures: `bench/__init__.py`.\n\n"
    seen = set()
    out = []
    for title, body in sections:
        if title in generated:
            seen.add(title)
        out.append((title, "\n" + generated[title] + "\n" if title in generated else body))
    for title in GENERATED:
        if title not in seen:
            out.append((title, "\n" + generated[title] + "\n"))
    RESULTS_MD.write_text(
        head.rstrip("\n") + "\n\n" + "".join(f"## {t}\n{b.rstrip()}\n\n" for t, b in out).rstrip() + "\n",
        encoding="utf-8",
    )
    return RESULTS_MD
