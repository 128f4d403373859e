"""The editors' topic taxonomy, loaded from ``config/topics.toml``.

A :class:`Taxonomy` is an ordered set of :class:`Topic` s (file order). Each topic carries
its editorial rules already validated and turned into regular-expression sources
(:class:`Rule`), so a categorizer can combine them without re-checking anything; see
:mod:`feeds.categorize` for how they are scored.

The file format is documented in the header of ``config/topics.toml``. In short::

    default_topic = "world"            # given when no rule matches (optional)

    [topics.crime]                     # the table key is the slug
    title = "Crime"
    description = "Crime, policing and the courts."
    threshold = 2.0                    # optional, default 2.0
    parent = "..."                     # optional: a finer topic names its parent
    implies = ["..."]                  # optional: other topics a match also gives
    exclude = ["war crime*"]           # optional: phrases that veto the topic

    [topics.crime.keywords]            # case-insensitive words and phrases -> weight
    robbery = 3
    "plot* to kill" = 3

    [topics.crime.entities]            # case-sensitive names -> weight
    FBI = 2

    [topics.crime.patterns]            # case-insensitive regular expressions -> weight
    'shot (?:dead|and killed)' = 3

Any problem (bad TOML, unknown parent, parent cycle, bad regex, missing title, the reserved
slug ``all``, a typo in a key...) raises :class:`~feeds.errors.ConfigError` naming the file,
the topic and the offending value.
"""

from __future__ import annotations

import math
import re
import tomllib
from collections.abc import Iterator, Mapping
from dataclasses import dataclass, field, replace
from pathlib import Path
from types import MappingProxyType
from typing import Any, Literal

from feeds.errors import ConfigError, UnknownTopic

RESERVED_SLUGS = frozenset({"all"})
"""Slugs a taxonomy may not define: ``all`` is the feed of every story."""

DEFAULT_THRESHOLD = 2.0
"""Threshold of a topic that does not set one."""

MAX_WEIGHT = 100.0
"""Largest absolute weight a rule may have (catches typos such as ``30`` for ``3.0``)."""

_SLUG_RE = re.compile(r"[a-z0-9](?:[a-z0-9-]*[a-z0-9])?")
_TOP_KEYS = frozenset({"version", "default_topic", "topics", "classifier"})
_CLASSIFIER_KEYS = frozenset({"model", "head", "enabled"})
_TOPIC_KEYS = frozenset(
    {"title", "description", "parent", "threshold", "implies", "exclude", "keywords", "entities", "patterns"}
)
_SEP = r"[-\s]?"
"""What a space or hyphen inside a keyword matches: a hyphen, a space or nothing."""
_APOSTROPHE = "['\u2019]"
"""What an apostrophe inside a keyword matches: a straight or a curly one."""

RuleKind = Literal["keyword", "entity", "pattern"]


@dataclass(frozen=True, slots=True)
class Rule:
    """One weighted editorial rule: a keyword, an entity or a pattern."""

    text: str
    """The rule as the editor wrote it (shown in reasons)."""
    kind: RuleKind
    weight: float
    regex: str
    """Regular-expression source of the rule, without word-boundary anchors and without
    capturing groups; case-insensitive unless :attr:`kind` is ``entity``."""
    atoms: tuple[str, ...] = ()
    """For keywords and entities: :attr:`regex` split into atoms (lowercased for keywords), so a
    categorizer can merge rules into a prefix tree; empty for patterns."""

    @property
    def case_sensitive(self) -> bool:
        return self.kind == "entity"

    @property
    def key(self) -> tuple[bool, str]:
        """Identity of what the rule matches: two rules with the same key match the same text."""
        return (self.case_sensitive, self.regex if self.case_sensitive else self.regex.lower())


@dataclass(frozen=True)
class Topic:
    """A topic of the taxonomy with its validated rules."""

    slug: str
    title: str
    description: str
    parent: str | None
    threshold: float
    rules: tuple[Rule, ...] = ()
    """Weighted keywords, entities and patterns, in file order."""
    exclude: tuple[Rule, ...] = ()
    """Veto phrases (keyword syntax, weight 0): if one matches, the topic's own rules give nothing."""
    implies: tuple[str, ...] = ()
    """Other topics (besides the ancestors) that a match of this topic also gives."""
    ancestors: tuple[str, ...] = ()
    """Parent, grandparent, ... (nearest first)."""
    implied: tuple[str, ...] = ()
    """Every topic a match of this one also gives: ancestors, ``implies`` and, transitively, what
    those give in turn (taxonomy order, this topic excluded)."""
    exclude_re: re.Pattern[str] | None = field(default=None, compare=False, repr=False)
    """All veto phrases compiled into one case-insensitive regex (``None`` if there are none)."""

    @property
    def is_top_level(self) -> bool:
        return self.parent is None


@dataclass(frozen=True)
class ClassifierSettings:
    """The ``[classifier]`` table: where the learned layer's files are (paths resolved)."""

    model: Path
    """Folder of the static embedding model (``vocab.txt``, ``embeddings.npy``, ``meta.json``)."""
    head: Path
    """JSON file of the topic head trained on those embeddings."""


@dataclass(frozen=True, eq=False)
class Taxonomy:
    """The ordered set of topics (file order) and the fallback topic."""

    topics: Mapping[str, Topic]
    default: str
    """Slug given (with reason ``no rule matched; default``) when no rule matches a story."""
    source: str = "<memory>"
    classifier: ClassifierSettings | None = None
    """The learned layer's files, or ``None``: the editors' rules alone tag stories."""

    # -- loading ---------------------------------------------------------------------------

    @classmethod
    def load(cls, path: Path | str) -> Taxonomy:
        """Read and validate a taxonomy file; raise :class:`ConfigError` for any problem."""
        path = Path(path)
        try:
            text = path.read_text(encoding="utf-8")
        except FileNotFoundError:
            raise ConfigError(f"topic taxonomy {path} does not exist") from None
        except (OSError, UnicodeDecodeError) as exc:
            raise ConfigError(f"topic taxonomy {path} cannot be read: {exc}") from None
        return cls.from_toml(text, source=str(path), base=path.resolve().parent)

    @classmethod
    def from_toml(cls, text: str, source: str = "<memory>", base: Path | None = None) -> Taxonomy:
        """Parse taxonomy TOML text (``source`` names it in error messages; relative paths in it
        are resolved against ``base``, default the current directory)."""
        try:
            data = tomllib.loads(text)
        except tomllib.TOMLDecodeError as exc:
            raise ConfigError(f"{source}: not valid TOML: {exc}") from None
        return cls.from_dict(data, source=source, base=base)

    @classmethod
    def from_dict(
        cls, data: Mapping[str, Any], source: str = "<memory>", base: Path | None = None
    ) -> Taxonomy:
        """Build a taxonomy from already-parsed TOML data."""
        unknown = sorted(set(data) - _TOP_KEYS)
        if unknown:
            raise ConfigError(
                f"{source}: unknown top-level key(s) {unknown}; topics go under [topics.<slug>]"
            )
        version = data.get("version", 1)
        if version != 1:
            raise ConfigError(f"{source}: unsupported taxonomy version {version!r} (expected 1)")
        raw_topics = data.get("topics")
        if not isinstance(raw_topics, Mapping) or not raw_topics:
            raise ConfigError(f"{source}: no topics defined (expected [topics.<slug>] tables)")

        topics: dict[str, Topic] = {}
        for slug, raw in raw_topics.items():
            topics[slug] = _parse_topic(source, slug, raw)
        topics = _link(source, topics)

        default = data.get("default_topic")
        if default is None:
            default = "world" if "world" in topics else next(t.slug for t in topics.values() if not t.parent)
        if not isinstance(default, str) or default not in topics:
            raise ConfigError(f"{source}: default_topic {default!r} is not a topic of the taxonomy")
        classifier = _classifier(source, data.get("classifier"), base or Path.cwd())
        return cls(topics=MappingProxyType(topics), default=default, source=source, classifier=classifier)

    # -- queries ---------------------------------------------------------------------------

    def get(self, slug: str) -> Topic:
        """The topic ``slug``; raise :class:`~feeds.errors.UnknownTopic` if there is none."""
        try:
            return self.topics[slug]
        except KeyError:
            raise UnknownTopic(f"unknown topic {slug!r}") from None

    def top_level(self) -> list[Topic]:
        """Topics without a parent, in file order."""
        return [t for t in self.topics.values() if t.parent is None]

    def children(self, slug: str) -> list[Topic]:
        """Direct children of ``slug``, in file order."""
        self.get(slug)
        return [t for t in self.topics.values() if t.parent == slug]

    def __contains__(self, slug: object) -> bool:
        return slug in self.topics

    def __iter__(self) -> Iterator[Topic]:
        return iter(self.topics.values())

    def __len__(self) -> int:
        return len(self.topics)


# -- parsing helpers -----------------------------------------------------------------------


def _classifier(source: str, raw: Any, base: Path) -> ClassifierSettings | None:
    """The ``[classifier]`` table: ``model`` and ``head`` paths (relative to the taxonomy file)."""
    if raw is None:
        return None
    if not isinstance(raw, Mapping):
        raise ConfigError(f"{source}: [classifier] must be a table with 'model' and 'head'")
    unknown = sorted(set(raw) - _CLASSIFIER_KEYS)
    if unknown:
        allowed = sorted(_CLASSIFIER_KEYS)
        raise ConfigError(f"{source}: [classifier]: unknown key(s) {unknown}; allowed: {allowed}")
    enabled = raw.get("enabled", True)
    if not isinstance(enabled, bool):
        raise ConfigError(f"{source}: [classifier]: 'enabled' must be true or false")
    paths = {}
    for key in ("model", "head"):
        value = raw.get(key)
        if not isinstance(value, str) or not value.strip():
            raise ConfigError(f"{source}: [classifier]: {key!r} must be a path (relative to this file)")
        paths[key] = (base / value).resolve()
    if not enabled:
        return None
    return ClassifierSettings(model=paths["model"], head=paths["head"])



def keyword_atoms(text: str) -> tuple[str, ...]:
    """Regular-expression atoms (one per character or operator) of an editor keyword.

    Matching is literal except that a space or hyphen matches a space, a hyphen or nothing
    (``sell-off`` matches ``sell off`` and ``selloff``), an apostrophe matches a straight or
    curly one, and a ``*`` at the end of a word matches any word ending (``vaccin*``).
    Word boundaries are added by the caller. Raises :class:`ValueError` for a bad keyword.
    """
    words = [w for w in re.split(r"[-\s]+", text.strip()) if w]
    if not words:
        raise ValueError("empty keyword")
    atoms: list[str] = []
    for n, word in enumerate(words):
        star = word.endswith("*")
        core = word.rstrip("*") if star else word
        if not core or "*" in core:
            raise ValueError("'*' may only end a word")
        if n:
            atoms.append(_SEP)
        atoms.extend(_APOSTROPHE if ch in "'\u2019" else re.escape(ch) for ch in core)
        if star:
            atoms.append(r"\w*")
    return tuple(atoms)


def _where(source: str, slug: str) -> str:
    return f"{source}: topic {slug!r}"


def _str(source: str, slug: str, raw: Mapping[str, Any], key: str, *, required: bool) -> str:
    value = raw.get(key)
    if value is None:
        if required:
            raise ConfigError(f"{_where(source, slug)}: missing {key!r}")
        return ""
    if not isinstance(value, str) or (required and not value.strip()):
        raise ConfigError(f"{_where(source, slug)}: {key!r} must be a non-empty string")
    return value.strip()


def _slug_list(source: str, slug: str, raw: Mapping[str, Any], key: str) -> tuple[str, ...]:
    value = raw.get(key, [])
    if not isinstance(value, list) or not all(isinstance(v, str) for v in value):
        raise ConfigError(f"{_where(source, slug)}: {key!r} must be a list of strings")
    return tuple(value)


def _number(source: str, what: str, value: Any) -> float:
    if isinstance(value, bool) or not isinstance(value, int | float) or not math.isfinite(value):
        raise ConfigError(f"{source}: {what} must be a number, got {value!r}")
    return float(value)


def _rules(source: str, slug: str, raw: Mapping[str, Any], kind: RuleKind) -> list[Rule]:
    table_name = {"keyword": "keywords", "entity": "entities", "pattern": "patterns"}[kind]
    table = raw.get(table_name, {})
    if not isinstance(table, Mapping):
        raise ConfigError(f'{_where(source, slug)}: [{table_name}] must be a table of "text" = weight')
    rules = []
    for text, value in table.items():
        what = f"{_where(source, slug)}: {kind} {text!r}"
        weight = _number(source, f"topic {slug!r}: weight of {text!r}", value)
        if weight == 0 or abs(weight) > MAX_WEIGHT:
            raise ConfigError(f"{what}: weight must be non-zero and at most {MAX_WEIGHT:g} in size")
        if kind == "pattern":
            try:
                compiled = re.compile(text, re.IGNORECASE)
            except re.error as exc:
                raise ConfigError(f"{what} is not a valid regular expression: {exc}") from None
            if compiled.groups:
                raise ConfigError(f"{what}: use non-capturing groups (?:...) in patterns")
            if compiled.fullmatch(""):
                raise ConfigError(f"{what} matches the empty string")
            regex = text
            atoms: tuple[str, ...] = ()
        else:
            try:
                atoms = keyword_atoms(text)
            except ValueError as exc:
                raise ConfigError(f"{what}: {exc}") from None
            if kind == "keyword":
                atoms = tuple(a.lower() for a in atoms)
            regex = "".join(atoms)
        rules.append(Rule(text=text, kind=kind, weight=weight, regex=regex, atoms=atoms))
    return rules


def _parse_topic(source: str, slug: Any, raw: Any) -> Topic:
    if not isinstance(slug, str) or not _SLUG_RE.fullmatch(slug):
        raise ConfigError(f"{source}: topic slug {slug!r} must be lowercase letters, digits and '-'")
    if slug in RESERVED_SLUGS:
        raise ConfigError(f"{source}: topic slug {slug!r} is reserved (it is the feed of every story)")
    if not isinstance(raw, Mapping):
        raise ConfigError(f"{_where(source, slug)} must be a table")
    unknown = sorted(set(raw) - _TOPIC_KEYS)
    if unknown:
        raise ConfigError(f"{_where(source, slug)}: unknown key(s) {unknown}; allowed: {sorted(_TOPIC_KEYS)}")

    title = _str(source, slug, raw, "title", required=True)
    description = _str(source, slug, raw, "description", required=False)
    parent = raw.get("parent")
    if parent is not None and not isinstance(parent, str):
        raise ConfigError(f"{_where(source, slug)}: 'parent' must be a topic slug")
    threshold = _number(source, f"topic {slug!r}: threshold", raw.get("threshold", DEFAULT_THRESHOLD))
    if threshold <= 0:
        raise ConfigError(f"{_where(source, slug)}: threshold must be positive")

    rules = [
        *_rules(source, slug, raw, "keyword"),
        *_rules(source, slug, raw, "entity"),
        *_rules(source, slug, raw, "pattern"),
    ]
    seen: dict[tuple[bool, str], str] = {}
    for rule in rules:
        if rule.key in seen:
            raise ConfigError(f"{_where(source, slug)}: {rule.text!r} duplicates {seen[rule.key]!r}")
        seen[rule.key] = rule.text

    exclude = []
    for text in _slug_list(source, slug, raw, "exclude"):
        try:
            atoms = tuple(a.lower() for a in keyword_atoms(text))
            exclude.append(Rule(text=text, kind="keyword", weight=0.0, regex="".join(atoms), atoms=atoms))
        except ValueError as exc:
            raise ConfigError(f"{_where(source, slug)}: exclude {text!r}: {exc}") from None
    exclude_re = None
    if exclude:
        alternation = "|".join(r.regex for r in sorted(exclude, key=lambda r: -len(r.regex)))
        exclude_re = re.compile(rf"(?<!\w)(?:{alternation})(?!\w)", re.IGNORECASE)

    return Topic(
        slug=slug,
        title=title,
        description=description,
        parent=parent,
        threshold=threshold,
        rules=tuple(rules),
        exclude=tuple(exclude),
        implies=_slug_list(source, slug, raw, "implies"),
        exclude_re=exclude_re,
    )


def _link(source: str, topics: dict[str, Topic]) -> dict[str, Topic]:
    """Check parents and implications; fill in ``ancestors`` and ``implied``."""
    order = {slug: i for i, slug in enumerate(topics)}
    for t in topics.values():
        if t.parent is not None and t.parent not in topics:
            raise ConfigError(f"{_where(source, t.slug)}: unknown parent {t.parent!r}")
        if t.parent == t.slug:
            raise ConfigError(f"{_where(source, t.slug)}: a topic cannot be its own parent")
        for other in t.implies:
            if other not in topics:
                raise ConfigError(f"{_where(source, t.slug)}: implies unknown topic {other!r}")
            if other == t.slug:
                raise ConfigError(f"{_where(source, t.slug)}: a topic cannot imply itself")

    ancestors: dict[str, tuple[str, ...]] = {}
    for t in topics.values():
        chain: list[str] = []
        cur = t.parent
        while cur is not None:
            if cur == t.slug or cur in chain:
                cycle = " -> ".join([t.slug, *chain, cur])
                raise ConfigError(f"{_where(source, t.slug)}: parent cycle {cycle}")
            chain.append(cur)
            cur = topics[cur].parent
        ancestors[t.slug] = tuple(chain)

    linked: dict[str, Topic] = {}
    for t in topics.values():
        seen: set[str] = set()
        todo = [*ancestors[t.slug], *t.implies]
        while todo:
            slug = todo.pop()
            if slug in seen or slug == t.slug:
                continue
            seen.add(slug)
            todo.extend(ancestors[slug])
            todo.extend(topics[slug].implies)
        implied = tuple(sorted(seen, key=order.__getitem__))
        linked[t.slug] = replace(t, ancestors=ancestors[t.slug], implied=implied)
    return linked
