"""Replay a multi-day wire stream through the real pipeline with a simulated clock, and count
how story identity fared: false merges, missed resends and stories per day.

    python -m bench.replay [--days 60] [--stories 30000] [--resend-rate 0.12] [--redis-url URL]

Every item of ``news-topics/wikipedia-current-events.jsonl`` (shared data, outside the repository)
is a distinct story: its first sentence, cut to a headline, is the title. Items go out day by day
in hourly dumps (newest first, as a wire sends them); some are resent a few minutes to hours later
with a changed figure, a reworded verb, an added attribution or a dropped word (:func:`resend`).
Each dump runs through the shipped ingest and categorizer code (``run_express``) against a real
Redis (a private embedded one unless ``--redis-url`` names a database to empty and use), with
``wirefeed.workers.clock`` set to the simulated time. At the end every title is looked up as the
pipeline would (exact id, then alias): two distinct items under one story are a false merge, a
resend not under its original's story a missed resend.
"""

from __future__ import annotations

import argparse
import json
import random
import re
import sys
import tempfile
import time
from collections import Counter, defaultdict
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from pathlib import Path

import redis

from wirefeed.config.defaults import NEAR_BANDS
from wirefeed.config.settings import Settings
from wirefeed.feeds.queue import ingests
from wirefeed.feeds.store import keys, near_index
from wirefeed.feeds.stories.ids import story_id
from wirefeed.redis_server import EmbeddedRedis
from wirefeed.workers import clock, context
from wirefeed.workers.pipeline import run_express

ROOT = Path(__file__).resolve().parents[1]
DATA_NAME = "news-topics/wikipedia-current-events.jsonl"
START = datetime(2026, 1, 1, tzinfo=UTC)
MAX_TITLE = 180

SYNONYMS = {
    "says": "said", "kills": "killed", "announces": "confirms", "killed": "left dead", "attack": "assault",
    "begins": "starts", "warns": "cautions", "dies": "has died", "launches": "starts", "plans": "intends",
    "reports": "says", "arrested": "detained", "approves": "passes", "agree": "reach agreement",
    "meets": "holds talks with", "announced": "said", "elected": "voted in", "resigns": "steps down",
}  # fmt: skip
ATTRIBUTIONS = [
    ", officials say",
    ", reports say",
    ", police say",
    ", sources say",
    " - report",
    ", state media says",
]


def find_data(given: str | None) -> Path:
    """The news items: ``--data``, else ``shared/data/`` beside the checkout or one level up."""
    if given:
        return Path(given)
    for base in (ROOT.parent, ROOT.parent.parent):
        path = base / "shared" / "data" / DATA_NAME
        if path.exists():
            return path
    sys.exit(f"replay: cannot find shared/data/{DATA_NAME}; pass --data PATH")


def headline(text: str) -> str:
    """The first sentence of a news item, on one line, cut at a word to a headline's length."""
    text = " ".join(text.split())
    first = re.split(r"(?<=[a-z0-9\)\]])\.\s+(?=[A-Z])", text, maxsplit=1)[0].rstrip(".")
    if len(first) <= MAX_TITLE:
        return first
    return first[:MAX_TITLE].rsplit(" ", 1)[0].rstrip(" ,;:")


def load_titles(path: Path, n: int) -> list[str]:
    """The first ``n`` distinct headlines of the file (exact repeats of a title skipped)."""
    seen: set[str] = set()
    out: list[str] = []
    with path.open(encoding="utf-8") as f:
        for line in f:
            title = headline(json.loads(line)["text"])
            key = story_id("X", title)
            if len(title) < 20 or key in seen or title.startswith("-"):
                continue
            seen.add(key)
            out.append(title)
            if len(out) == n:
                break
    return out


_NUMBER = re.compile(r"\b\d{1,3}(?:,\d{3})*\b|\b\d+\b")


def resend(title: str, rng: random.Random) -> str | None:
    """A wire resend of ``title``: a changed figure, a synonym, an attribution or a dropped word."""
    kinds = ["attribution", "drop"]
    numbers = [m for m in _NUMBER.finditer(title) if not re.fullmatch(r"(19|20)\d\d", m.group())]
    if numbers:
        kinds += ["figure", "figure"]
    words = title.split()
    if any(w in SYNONYMS for w in words):
        kinds.append("synonym")
    kind = rng.choice(kinds)
    if kind == "figure":
        m = rng.choice(numbers)
        value = int(m.group().replace(",", ""))
        new = max(0, value + rng.choice([-1, 1]) * max(1, round(value * rng.uniform(0.02, 0.2))))
        out = title[: m.start()] + f"{new:,}" + title[m.end() :]
    elif kind == "synonym":
        n = rng.choice([i for i, w in enumerate(words) if w in SYNONYMS])
        out = " ".join([*words[:n], SYNONYMS[words[n]], *words[n + 1 :]])
    elif kind == "attribution":
        out = title + rng.choice(ATTRIBUTIONS)
    else:
        droppable = [i for i, w in enumerate(words) if i and w.isalpha() and w.islower() and len(w) > 3]
        if not droppable:
            return None
        n = rng.choice(droppable)
        out = " ".join(words[:n] + words[n + 1 :])
    return out if out != title else None


@dataclass
class Item:
    title: str
    at: datetime
    original: int
    """Index of the original item this is (itself) or resends."""
    is_resend: bool


def schedule(titles: list[str], days: int, rate: float, seed: int) -> list[Item]:
    """Originals spread evenly over the days, resends a few minutes to hours after theirs."""
    rng = random.Random(seed)
    span = timedelta(days=days).total_seconds()
    items: list[Item] = []
    for n, title in enumerate(titles):
        at = START + timedelta(seconds=span * n / len(titles) + rng.uniform(0, 30))
        items.append(Item(title, at, n, False))
        if rng.random() < rate:
            variant = resend(title, rng)
            if variant:
                delay = timedelta(minutes=rng.choice([rng.uniform(5, 60), rng.uniform(60, 12 * 60)]))
                items.append(Item(variant, at + delay, n, True))
    return sorted(items, key=lambda i: i.at)


def dump_of(items: list[Item]) -> bytes:
    """A headline dump, newest first."""
    return ("".join(f"-\n{i.title}\n" for i in sorted(items, key=lambda i: i.at, reverse=True))).encode()


def replay(client: redis.Redis, items: list[Item], days: int) -> dict[str, object]:
    """Feed the items hour by hour through the pipeline; return the figures."""
    client.flushdb()
    settings = Settings(redis_url="redis://unused")
    ctx = context.build(settings, client)
    sim = [0]
    real_now = clock.now_micros
    clock.now_micros = lambda: sim[0]  # type: ignore[assignment]
    per_day: dict[int, Counter[str]] = defaultdict(Counter)
    by_hour: dict[int, list[Item]] = defaultdict(list)
    for item in items:
        by_hour[int((item.at - START).total_seconds() // 3600)].append(item)
    try:
        for hour in sorted(by_hour):
            batch = by_hour[hour]
            sim[0] = int((START + timedelta(hours=hour + 1)).timestamp() * 1_000_000)
            sub = ingests.submit(client, settings.with_(express_max_stories=10**6), dump_of(batch), "replay")
            client.delete(f"rq:queue:{keys.EXPRESS_QUEUE}")
            counts = run_express(ctx, sub.ingest_id)
            day = hour // 24
            for name in ("new", "updated", "unchanged"):
                per_day[day][name] += counts.get(name, 0)
    finally:
        clock.now_micros = real_now  # type: ignore[assignment]
    return judge(client, items, per_day, settings.default_agency)


def judge(
    client: redis.Redis, items: list[Item], per_day: dict[int, Counter[str]], agency: str
) -> dict[str, object]:
    aliases = {k.decode(): v.decode() for k, v in client.hgetall(keys.ALIAS).items()}

    def where(title: str) -> str:
        i = story_id(agency, title)
        return aliases.get(i, i)

    home: dict[int, str] = {}
    owners: dict[str, list[int]] = defaultdict(list)
    for item in items:
        if not item.is_resend:
            home[item.original] = where(item.title)
            owners[home[item.original]].append(item.original)
    false_merges = []
    for sid, originals in owners.items():
        for later in sorted(originals)[1:]:
            false_merges.append((sid, later, originals[0]))
    resends = [i for i in items if i.is_resend]
    merged = sum(where(i.title) == home[i.original] for i in resends)
    wrong = [i for i in resends if where(i.title) != home[i.original] and where(i.title) in owners]
    titles = {i.original: i.title for i in items if not i.is_resend}
    day_of = {i.original: int((i.at - START).total_seconds() // 86400) for i in items if not i.is_resend}
    for _, later, _ in false_merges:
        per_day[day_of[later]]["false_merges"] += 1
    stored = sum(1 for _ in client.scan_iter(match=keys.story("*"), count=1000))
    originals = len(home)
    return {
        "stories": originals,
        "resends": len(resends),
        "stored_stories": stored,
        "false_merges": len(false_merges) + len(wrong),
        "false_merge_rate": (len(false_merges) + len(wrong)) / originals,
        "resends_merged": merged,
        "resend_recall": merged / len(resends) if resends else 1.0,
        "near_index_entries": sum(
            client.hlen(keys.near_band(b, slot))
            for slot in near_index.live_slots(client)
            for b in range(NEAR_BANDS)
        ),
        "per_day": {d: dict(c) for d, c in sorted(per_day.items())},
        "examples": [(titles[a], titles[b]) for _, b, a in false_merges[:100]]
        + [(i.title, titles[i.original]) for i in wrong[:5]],
    }


def main(argv: list[str] | None = None) -> int:
    p = argparse.ArgumentParser(prog="python -m bench.replay", description=__doc__.split("\n")[0])
    p.add_argument("--days", type=int, default=60)
    p.add_argument("--stories", type=int, default=30000)
    p.add_argument("--resend-rate", type=float, default=0.12)
    p.add_argument("--seed", type=int, default=11)
    p.add_argument("--data", help="the wikipedia-current-events.jsonl file")
    p.add_argument(
        "--redis-url", help="a Redis database to EMPTY and use (default: a private embedded Redis)"
    )
    p.add_argument("--json", help="also write the figures to this file")
    args = p.parse_args(argv)
    titles = load_titles(find_data(args.data), args.stories)
    items = schedule(titles, args.days, args.resend_rate, args.seed)
    started = time.monotonic()
    if args.redis_url:
        result = replay(redis.Redis.from_url(args.redis_url), items, args.days)
    else:
        with tempfile.TemporaryDirectory() as tmp, EmbeddedRedis(Path(tmp), persist=False) as server:
            result = replay(redis.Redis.from_url(server.url), items, args.days)
    report(result, args.days, time.monotonic() - started)
    if args.json:
        Path(args.json).write_text(json.dumps(result, indent=1, ensure_ascii=False))
    return 0


def report(r: dict[str, object], days: int, seconds: float) -> None:
    print(f"replay: {days} simulated days, {r['stories']} stories, {r['resends']} resends ({seconds:.0f} s)")
    print(" day    new  updated  unchanged  false merges")
    for day, c in r["per_day"].items():  # type: ignore[attr-defined]
        counts = [c.get(k, 0) for k in ("new", "updated", "unchanged", "false_merges")]
        print(f"{day:4d} {counts[0]:6d} {counts[1]:8d} {counts[2]:10d} {counts[3]:13d}")
    print(
        f"false merges: {r['false_merges']} ({100 * r['false_merge_rate']:.3f}% of stories); "  # type: ignore[operator]
        f"resends merged: {r['resends_merged']}/{r['resends']} ({100 * r['resend_recall']:.1f}%); "  # type: ignore[operator]
        f"stored stories: {r['stored_stories']}; near-index entries at the end: {r['near_index_entries']}"
    )
    for a, b in r["examples"]:  # type: ignore[attr-defined]
        print(f"  merged: {a!r} <- {b!r}")


if __name__ == "__main__":
    raise SystemExit(main())
