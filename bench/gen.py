"""A generated wire dump in the sample's format, deterministic from a seed.

``generate(n, seed)`` returns a dump (UTF-8 bytes) that
:func:`wirefeed.feeds.stories.parse.parse_dump` reads as
exactly ``n`` stories and no errors:

- most items are one-line headlines in their own ``-``-separated block, as in
  ``sample/wire-sample.txt``;
- about a fifth are articles: a title line, paragraphs, sometimes ``- Subhead -`` lines, and a
  byline ``Author--AGENCY``; some article blocks start with headline lines of their own (like
  the sample's last block);
- words come from hand-written banks per area (world, conflict, politics, business, markets,
  technology, AI, cyber, science, space, climate, health, sports, football, olympics, culture,
  crime) plus keywords of ``config/topics.toml``, so every topic gets stories;
- about ``repeat`` (default 4%) of the items repeat an earlier headline verbatim (same story id:
  the pipeline keeps one of them), and about ``versions`` (default 2%) resend an earlier headline
  with its number changed ("strikes kill 23" then "strikes kill 24"): a near-duplicate title,
  which the pipeline files as a new version of the same story.

``python -m bench.gen N [--seed S] [-o FILE]`` writes one.
"""

from __future__ import annotations

import argparse
import random
import sys
import tomllib
from dataclasses import dataclass
from pathlib import Path

from wirefeed.config.settings import TOPICS_PATH as TOPICS_TOML

AGENCIES = ("AFP", "BTB", "AP", "REUTERS", "DPA", "AFP/BTB", "UPI", "ANSA")
FIRST = "ABCDEFGHJKLMNOPRSTVW"
SURNAMES = [
    "Shevchenko",
    "Martin",
    "Okafor",
    "Lindqvist",
    "Moreau",
    "Tanaka",
    "Novak",
    "Rossi",
    "Haddad",
    "Kowalski",
    "Silva",
    "Dubois",
    "Nguyen",
    "Petrov",
    "Schmidt",
    "Ibrahim",
    "Costa",
    "Murphy",
    "Jensen",
    "Alvarez",
    "Kim",
    "Osei",
    "Fischer",
    "Romano",
    "Larsen",
    "Mendes",
    "Sato",
    "Quinn",
    "Varga",
    "Baptiste",
]

# Word banks by area: (subjects, verbs, objects, context words for paragraphs).
AREAS: dict[str, tuple[list[str], list[str], list[str], list[str]]] = {
    "world": (
        [
            "UN envoy",
            "Foreign minister",
            "EU leaders",
            "NATO allies",
            "Diplomats",
            "The embassy",
            "Security Council",
            "Regional bloc",
            "Ambassador",
            "Summit hosts",
        ],
        ["calls for", "warns over", "agrees on", "rejects", "pushes", "hails", "debates", "delays"],
        [
            "peace talks",
            "sanctions package",
            "humanitarian corridor",
            "refugee plan",
            "treaty review",
            "nuclear deal",
            "state visit",
            "aid convoy",
            "bilateral pact",
            "border accord",
        ],
        ["diplomacy", "sanctions", "refugees", "humanitarian", "treaty", "embassy", "summit", "talks"],
    ),
    "conflict": (
        [
            "Troops",
            "Rebels",
            "Army",
            "Militants",
            "Drone strike",
            "Navy",
            "Ceasefire monitors",
            "Artillery",
            "Insurgents",
            "Soldiers",
        ],
        ["clash near", "advance on", "shell", "withdraw from", "seize", "defend", "pound", "retake"],
        [
            "frontline town",
            "border post",
            "military base",
            "disputed region",
            "supply route",
            "coastal city",
            "air defence site",
            "refugee camp",
        ],
        ["ceasefire", "troops", "air strike", "shelling", "offensive", "war", "casualties", "missile"],
    ),
    "politics": (
        [
            "Prime minister",
            "Opposition leader",
            "Parliament",
            "Senate",
            "Ruling party",
            "Cabinet",
            "Lawmakers",
            "President",
            "Coalition partners",
            "Governor",
        ],
        ["unveils", "blocks", "backs", "scraps", "defends", "passes", "delays", "announces"],
        [
            "budget bill",
            "reform plan",
            "no-confidence motion",
            "immigration law",
            "tax cut",
            "cabinet reshuffle",
            "pension reform",
            "spending review",
        ],
        ["government", "minister", "parliament", "legislation", "policy", "opposition", "coalition"],
    ),
    "elections": (
        ["Voters", "Election commission", "Candidates", "Pollsters", "Challenger", "Incumbent"],
        ["head to", "prepare for", "dispute", "lead in", "trail in", "boycott"],
        [
            "presidential election",
            "runoff vote",
            "opinion poll",
            "ballot recount",
            "snap election",
            "primary race",
            "local elections",
        ],
        ["election", "ballots", "voters", "turnout", "polling stations", "campaign", "candidate"],
    ),
    "business": (
        [
            "Central bank",
            "Carmaker",
            "Airline",
            "Retail giant",
            "Energy firm",
            "Chipmaker",
            "Shipping group",
            "CEO",
            "Brewer",
            "Steelmaker",
        ],
        ["cuts", "raises", "reports", "warns of", "posts", "targets", "slashes", "lifts"],
        [
            "interest rates",
            "quarterly profit",
            "job cuts",
            "sales forecast",
            "inflation outlook",
            "revenue growth",
            "merger deal",
            "tariffs impact",
            "GDP estimate",
        ],
        ["economy", "inflation", "profits", "revenue", "investors", "recession", "earnings", "tariffs"],
    ),
    "markets": (
        [
            "Stocks",
            "Wall Street",
            "European shares",
            "Oil prices",
            "Gold",
            "Bond yields",
            "The dollar",
            "Tech stocks",
            "Asian markets",
        ],
        ["rally on", "slide after", "steady ahead of", "jump on", "tumble on", "edge up after"],
        [
            "rate cut hopes",
            "earnings season",
            "jobs data",
            "sell-off fears",
            "trade tensions",
            "inflation figures",
            "central bank minutes",
        ],
        ["stocks", "shares", "investors", "index", "bond yields", "trading", "stock market", "sell-off"],
    ),
    "technology": (
        [
            "Apple",
            "Google",
            "Microsoft",
            "Samsung",
            "Tech giant",
            "Start-up",
            "Amazon",
            "Meta",
            "Smartphone maker",
            "Software firm",
        ],
        ["launches", "unveils", "delays", "recalls", "patches", "expands", "tests", "abandons"],
        [
            "new smartphone",
            "cloud service",
            "chip plant",
            "app store rules",
            "software update",
            "data centre",
            "semiconductor deal",
            "satellite internet",
        ],
        ["technology", "software", "smartphone", "semiconductors", "tech sector", "platform", "app"],
    ),
    "ai": (
        ["OpenAI", "AI lab", "Regulators", "Chatbot maker", "Researchers", "DeepMind"],
        ["releases", "restricts", "trains", "probes", "debuts", "limits"],
        [
            "AI model",
            "chatbot",
            "artificial intelligence rules",
            "deepfake detector",
            "machine learning tool",
            "AI safety plan",
        ],
        ["artificial intelligence", "AI", "chatbot", "machine learning", "deepfakes", "algorithm"],
    ),
    "cybercrime": (
        ["Hackers", "Ransomware gang", "Police", "Cyber agency", "Bank", "Hospital network"],
        ["hit", "target", "dismantle", "expose", "breach", "disrupt"],
        [
            "ransomware attack",
            "cyberattack",
            "data breach",
            "phishing scheme",
            "botnet",
            "cyber espionage ring",
        ],
        ["cyberattack", "hackers", "ransomware", "cybercrime", "data breach", "phishing", "malware"],
    ),
    "science": (
        ["Scientists", "Researchers", "Study", "Physicists", "Biologists", "Archaeologists"],
        ["discover", "map", "find", "reveal", "decode", "trace"],
        [
            "ancient genome",
            "new species",
            "deep-sea fossils",
            "quantum effect",
            "brain circuits",
            "lost city",
        ],
        ["research", "study", "scientists", "laboratory", "findings", "journal", "experiment"],
    ),
    "space": (
        ["NASA", "Astronauts", "Space agency", "Rocket", "Telescope", "Probe", "ESA"],
        ["launches", "spots", "lands on", "delays", "captures", "reaches"],
        [
            "Mars mission",
            "moon lander",
            "space station module",
            "distant galaxy",
            "asteroid sample",
            "spacewalk",
        ],
        ["spacecraft", "orbit", "astronauts", "launch", "telescope", "space station", "rocket"],
    ),
    "climate": (
        ["Wildfire", "Heatwave", "Floods", "Climate talks", "Drought", "Glaciers", "Emissions"],
        ["sweeps", "grips", "force evacuations in", "threaten", "hit record in", "shrink in"],
        ["southern Europe", "coastal towns", "the Amazon", "farm belt", "Alpine valleys", "island nations"],
        ["climate change", "emissions", "global warming", "carbon", "wildfires", "renewable energy"],
    ),
    "health": (
        ["WHO", "Health officials", "Hospitals", "Vaccine maker", "Doctors", "Regulator"],
        ["warn of", "approve", "report", "roll out", "track", "recall"],
        [
            "cholera outbreak",
            "measles cases",
            "new vaccine",
            "flu season",
            "cancer drug",
            "mental health plan",
            "malaria treatment",
        ],
        ["health", "patients", "hospital", "vaccine", "disease", "outbreak", "doctors", "treatment"],
    ),
    "sports": (
        [
            "NBA",
            "Tennis star",
            "Cyclist",
            "Golfer",
            "F1 team",
            "Boxer",
            "Sprinter",
            "NFL",
            "Rugby captain",
            "Champion",
        ],
        ["wins", "misses", "clinches", "withdraws from", "dominates", "eyes", "retains", "loses"],
        [
            "title race",
            "Grand Slam",
            "Super Bowl",
            "world championship",
            "season opener",
            "Six Nations clash",
            "Grand Prix",
            "playoff series",
            "All-Star Game",
        ],
        ["tournament", "championship", "season", "coach", "final", "victory", "team", "match"],
    ),
    "football": (
        [
            "Arsenal",
            "Real Madrid",
            "Bayern",
            "Juventus",
            "Liverpool",
            "Striker",
            "Manager",
            "Barcelona",
            "Chelsea",
        ],
        ["beat", "draw with", "sign", "sack", "stun", "edge past"],
        [
            "Premier League rivals",
            "Champions League tie",
            "League Cup final",
            "transfer target",
            "derby opponents",
            "Europa League side",
        ],
        ["football", "Premier League", "goal", "striker", "midfielder", "Champions League", "club"],
    ),
    "olympics": (
        ["Olympic champion", "IOC", "Skier", "Figure skater", "Olympic hosts", "Snowboarder"],
        ["chases", "claims", "prepares for", "misses", "targets", "defends"],
        [
            "Winter Olympics gold",
            "Olympic medal",
            "Milan Cortina debut",
            "torch relay",
            "Olympic village opening",
        ],
        ["Olympics", "Olympic", "medal", "Winter Games", "athletes", "gold", "podium"],
    ),
    "culture": (
        ["Museum", "Director", "Novelist", "Film festival", "Painter", "Orchestra", "Pop star"],
        ["unveils", "restores", "premieres", "cancels", "celebrates", "auctions"],
        [
            "lost masterpiece",
            "new exhibition",
            "film adaptation",
            "world tour",
            "opera revival",
            "art collection",
        ],
        ["art", "museum", "exhibition", "film", "artist", "festival", "culture", "gallery"],
    ),
    "crime": (
        ["Police", "Prosecutors", "Court", "Jury", "Suspect", "FBI", "Detectives"],
        ["arrest", "charge", "convict", "sentence", "hunt", "investigate"],
        [
            "murder suspect",
            "robbery gang",
            "fraud ring",
            "drug cartel boss",
            "heist crew",
            "smuggling network",
        ],
        ["police", "murder", "court", "trial", "prosecutors", "arrest", "crime", "sentenced"],
    ),
}

PLACES = [
    "Paris",
    "Berlin",
    "Tokyo",
    "Nairobi",
    "Lima",
    "Kyiv",
    "Seoul",
    "Madrid",
    "Lagos",
    "Hanoi",
    "Oslo",
    "Cairo",
    "Manila",
    "Quito",
    "Accra",
    "Dublin",
    "Lisbon",
    "Warsaw",
    "Rome",
    "Sydney",
    "Toronto",
    "Ankara",
    "Doha",
    "Riyadh",
    "Jakarta",
    "Bogota",
    "Santiago",
    "Athens",
]
TAILS = (
    "in {place}",
    "after {n}-day standoff",
    "amid {ctx} concerns",
    "ahead of {month} deadline",
    "as {ctx} row deepens",
    "despite {ctx} warnings",
    "for {n} years",
    "in landmark move",
    "report says",
    "officials say",
    "in {place} talks",
    "over {ctx}",
)
MONTHS = [
    "January",
    "February",
    "March",
    "April",
    "May",
    "June",
    "July",
    "August",
    "September",
    "October",
    "November",
    "December",
]
FILLER = (
    "officials said on {day}",
    "according to a statement",
    "the agency reported",
    "sources familiar with the matter said",
    "local media reported",
    "in a televised address",
    "analysts noted",
    "a spokesperson told reporters",
)
QUALIFIERS = [
    "fresh",
    "new",
    "major",
    "surprise",
    "rare",
    "historic",
    "early",
    "record",
    "final",
    "disputed",
    "secret",
    "emergency",
    "landmark",
    "costly",
    "bold",
    "controversial",
    "delayed",
    "urgent",
    "unexpected",
    "sweeping",
    "limited",
    "partial",
    "modest",
    "massive",
    "long-awaited",
    "second",
    "third",
    "rival",
    "joint",
    "cross-border",
    "regional",
    "national",
    "global",
    "local",
    "temporary",
    "permanent",
    "late",
    "snap",
    "formal",
    "informal",
    "contested",
    "fragile",
    "tentative",
    "interim",
    "revised",
    "expanded",
    "scaled-back",
    "high-stakes",
    "low-key",
    "crucial",
    "decisive",
    "closely-watched",
    "stalled",
    "renewed",
    "first-ever",
    "overnight",
    "weekend",
    "midweek",
    "quarterly",
    "annual",
    "five-year",
    "ten-year",
    "multi-billion",
    "pilot",
    "flagship",
]
DAYS = ["Monday", "Tuesday", "Wednesday", "Thursday", "Friday", "Saturday", "Sunday"]


@dataclass(frozen=True)
class _Item:
    text: str
    """The item's lines (no separator), as they go into the dump."""
    stories: int
    """Stories the parser finds in it."""


def _taxonomy_words() -> dict[str, list[str]]:
    """Plain keywords and entities of each topic (no wildcards), to mix into titles."""
    data = tomllib.loads(TOPICS_TOML.read_text(encoding="utf-8"))
    out: dict[str, list[str]] = {}
    for slug, topic in data.get("topics", {}).items():
        words = [w for w in (*topic.get("keywords", {}), *topic.get("entities", {})) if "*" not in w]
        out[slug] = [w for w in words if "--" not in w and len(w) < 40]
    return out


class DumpGenerator:
    """Deterministic wire-dump text from a seed."""

    def __init__(
        self,
        seed: int = 1,
        *,
        article_share: float = 0.2,
        repeat: float = 0.04,
        versions: float = 0.02,
        first_serial: int = 0,
    ) -> None:
        self.rng = random.Random(seed)
        self.seed = seed
        self.article_share = article_share
        self.repeat = repeat
        self.versions = versions
        self.tax = _taxonomy_words()
        self.areas = list(AREAS)
        self.serial = first_serial
        """Titles carry a serial number: dumps with far apart ``first_serial`` share no title."""

    # -- pieces --------------------------------------------------------------------------------
    def _ctx(self, area: str) -> str:
        rng = self.rng
        pool = AREAS[area][3] + self.tax.get(area, [])[:40]
        return rng.choice(pool)

    def title(self) -> str:
        rng = self.rng
        area = rng.choice(self.areas)
        subjects, verbs, objects, _ = AREAS[area]
        self.serial += 1
        obj = rng.choice(objects)
        if self.tax.get(area) and rng.random() < 0.35:
            obj = f"{rng.choice(self.tax[area])} {obj}"
        tail = rng.choice(TAILS).format(
            place=rng.choice(PLACES),
            n=rng.randint(2, 90),
            ctx=self._ctx(rng.choice(self.areas) if rng.random() < 0.3 else area),
            month=rng.choice(MONTHS),
        )
        qualifier = rng.choice(QUALIFIERS)
        if rng.random() < 0.5:
            obj = f"{qualifier} {obj}"
        else:
            tail = f"{tail} with {rng.choice(self.tax[rng.choice(self.areas)] or ['talks'])} {qualifier}"
        title = f"{rng.choice(subjects)} {rng.choice(verbs)} {obj} {tail}"
        if rng.random() < 0.08:
            title = f"{title}?"
        elif rng.random() < 0.1:
            title = title.replace(obj, f"'{obj}'", 1)
        # A serial keeps titles distinct (ids come from titles); written as a word, not punctuation.
        return f"{title} #{self.serial}" if rng.random() < 0.5 else f"{title} ({self.serial})"

    def paragraph(self, area: str) -> str:
        rng = self.rng
        sentences = []
        for _ in range(rng.randint(1, 3)):
            words = [self._ctx(area) for _ in range(rng.randint(2, 4))]
            sentences.append(
                f"{rng.choice(AREAS[area][0])} {rng.choice(AREAS[area][1])} {words[0]} in "
                f"{rng.choice(PLACES)}, {rng.choice(FILLER).format(day=rng.choice(DAYS))}, "
                f"citing {', '.join(words[1:])} and {rng.randint(2, 900)} other factors."
            )
        return " ".join(sentences)

    def article(self) -> _Item:
        rng = self.rng
        lines: list[str] = []
        heads = rng.choice((0, 0, 0, 1, 2))
        lines.extend(self.title() for _ in range(heads))
        lines.append(self.title())
        area = rng.choice(self.areas)
        for n in range(rng.randint(2, 5)):
            if n and rng.random() < 0.25:
                lines.append(f"- {rng.choice(AREAS[area][3]).capitalize()} {rng.choice(PLACES)} -")
            lines.append(self.paragraph(area))
        lines.append(f"{rng.choice(FIRST)}.{rng.choice(SURNAMES)}--{rng.choice(AGENCIES)}")
        return _Item("\n".join(lines), heads + 1)

    # -- whole dump ----------------------------------------------------------------------------
    def items(self, n: int) -> list[_Item]:
        rng = self.rng
        out: list[_Item] = []
        singles: list[_Item] = []
        total = 0
        while total < n:
            left = n - total
            roll = rng.random()
            if singles and roll < self.versions:
                item = _Item(_renumber(rng.choice(singles).text, rng), 1)
            elif singles and roll < self.versions + self.repeat:
                item = rng.choice(singles)  # an exact resend: same id, the pipeline keeps one
            elif rng.random() < self.article_share and left >= 3:
                item = self.article()
            else:
                item = _Item(self.title(), 1)
            if item.stories > left:
                continue
            if item.stories == 1:
                singles.append(item)
            out.append(item)
            total += item.stories
        return out

    def dump(self, n: int) -> bytes:
        return ("\n-\n".join(i.text for i in self.items(n)) + "\n").encode("utf-8")


def _renumber(title: str, rng: random.Random) -> str:
    """The title with its last number changed: a resend with a corrected figure."""
    head, sep, tail = title.rpartition("#") if "#" in title else title.rpartition("(")
    digits = "".join(c for c in tail if c.isdigit())
    if not sep or not digits:
        return f"{title} update"
    return f"{head}{sep}{int(digits) + rng.randint(1, 9)}{')' if sep == '(' else ''}"


def generate(n: int, seed: int = 1, **kwargs: float | int) -> bytes:
    """A dump of exactly ``n`` stories (parser count, repeats included), deterministic from ``seed``."""
    return DumpGenerator(seed, **kwargs).dump(n)  # type: ignore[arg-type]


def main(argv: list[str] | None = None) -> int:
    p = argparse.ArgumentParser(prog="python -m bench.gen", description=__doc__.splitlines()[0])
    p.add_argument("stories", type=int, nargs="?", default=20_000)
    p.add_argument("--seed", type=int, default=1)
    p.add_argument("-o", "--output", type=Path)
    args = p.parse_args(argv)
    data = generate(args.stories, args.seed)
    if args.output:
        args.output.write_bytes(data)
    else:
        sys.stdout.buffer.write(data)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
