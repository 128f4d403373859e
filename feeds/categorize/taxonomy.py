"""The editors' topic taxonomy, loaded from ``config/topics.toml``.

A :class:`Taxonomy` is an ordered set of :class:`Topic` s (file order), each with its editorial
rules already validated and turned into regular-expression sources (:class:`Rule`, made by
:mod:`~wirefeed.feeds.categorize.phrases`), so a categorizer can combine them without re-checking
anything. The file format is documented in the header of ``config/topics.toml``. Any problem (bad
TOML, unknown parent, parent cycle, bad regex, the reserved slug ``all``, a typo in a key...)
raises :class:`~wirefeed.errors.ConfigError` naming the file, the topic and the offending value.
"""

from __future__ import annotations

import re
import tomllib
from collections.abc import Iterator, Mapping
from dataclasses import dataclass, replace
from pathlib import Path
from types import MappingProxyType
from typing import Any

from wirefeed.config.defaults import TAXONOMY_DEFAULT_THRESHOLD
from wirefeed.errors import ConfigError, UnknownTopic
from wirefeed.feeds.categorize.phrases import Rule, number, parse_exclude, parse_rules, where

RESERVED_SLUGS = frozenset({"all"})
"""Slugs a taxonomy may not define: ``all`` is the feed of every story."""

_SLUG_RE = re.compile(r"[a-z0-9](?:[a-z0-9-]*[a-z0-9])?")
_TOP_KEYS = frozenset({"version", "default_topic", "topics", "classifier", "mediatopics"})
_MEDIATOPIC_RE = re.compile(r"[0-9]{8}")

MEDIATOPIC_SCHEME = "http://cv.iptc.org/newscodes/mediatopic/"
"""Scheme (URI prefix) of IPTC Media Topic codes: ``<scheme><code>`` is the concept's URI."""
_CLASSIFIER_KEYS = frozenset({"model", "head", "enabled"})
_TOPIC_KEYS = frozenset(
    {
        "title",
        "description",
        "parent",
        "threshold",
        "implies",
        "exclude",
        "keywords",
        "entities",
        "patterns",
        "mediatopic",
    }
)


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
    """Veto phrases (keyword syntax, weight 0): one in the title or summary, and neither the topic
    nor its finer topics are given."""
    implies: tuple[str, ...] = ()
    """Other topics (besides the ancestors) that a match of this topic also gives."""
    ancestors: tuple[str, ...] = ()
    """Parent, grandparent, ... (nearest first)."""
    implied: tuple[str, ...] = ()
    """Every topic a match of this one also gives: ancestors, ``implies`` and, transitively, what
    those give in turn (taxonomy order, this topic excluded)."""
    mediatopic: MediaTopic | None = None
    """The IPTC Media Topic the topic corresponds to, if the taxonomy names one."""


@dataclass(frozen=True, slots=True)
class MediaTopic:
    """An IPTC Media Topic concept: its 8-digit code and English name."""

    code: str
    name: str

    @property
    def uri(self) -> str:
        return MEDIATOPIC_SCHEME + self.code


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
    default: str | None
    """Slug given (with reason ``no rule matched; default``) to a story nothing else tags, or
    ``None`` (no ``default_topic`` in the file): such a story gets no topic (it is still in ``all``)."""
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

        names = _mediatopic_names(source, data.get("mediatopics", {}))
        topics: dict[str, Topic] = {}
        for slug, raw in raw_topics.items():
            topics[slug] = _parse_topic(source, slug, raw, names)
        topics = _link(source, topics)

        default = data.get("default_topic")
        if default is not None and (not isinstance(default, str) or default not in topics):
            raise ConfigError(f"{source}: default_topic {default!r} is not a topic of the taxonomy")
        classifier = _classifier(source, data.get("classifier"), base or Path.cwd())
        return cls(topics=MappingProxyType(topics), default=default, source=source, classifier=classifier)

    # -- queries ---------------------------------------------------------------------------

    def get(self, slug: str) -> Topic:
        """The topic ``slug``; raise :class:`~wirefeed.errors.UnknownTopic` if there is none."""
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


def _mediatopic_names(source: str, raw: Any) -> dict[str, str]:
    """The ``[mediatopics]`` table: IPTC Media Topic code -> name."""
    if not isinstance(raw, Mapping):
        raise ConfigError(f'{source}: [mediatopics] must be a table of "<8-digit code>" = "<name>"')
    for code, name in raw.items():
        if not _MEDIATOPIC_RE.fullmatch(code) or not isinstance(name, str) or not name.strip():
            raise ConfigError(f'{source}: [mediatopics]: {code!r} = {name!r} is not "<8 digits>" = "<name>"')
    return {code: name.strip() for code, name in raw.items()}


def _mediatopic(
    source: str, slug: str, raw: Mapping[str, Any], names: Mapping[str, str]
) -> MediaTopic | None:
    code = raw.get("mediatopic")
    if code is None:
        return None
    if not isinstance(code, str) or not _MEDIATOPIC_RE.fullmatch(code):
        raise ConfigError(
            f"{where(source, slug)}: mediatopic {code!r} must be an 8-digit IPTC Media Topic code"
        )
    if code not in names:
        raise ConfigError(
            f"{where(source, slug)}: mediatopic {code!r} has no name in the [mediatopics] table"
        )
    return MediaTopic(code, names[code])


def _str(source: str, slug: str, raw: Mapping[str, Any], key: str, *, required: bool) -> str:
    value = raw.get(key)
    if value is None:
        if required:
            raise ConfigError(f"{where(source, slug)}: missing {key!r}")
        return ""
    if not isinstance(value, str) or (required and not value.strip()):
        raise ConfigError(f"{where(source, slug)}: {key!r} must be a non-empty string")
    return value.strip()


def _slug_list(source: str, slug: str, raw: Mapping[str, Any], key: str) -> tuple[str, ...]:
    value = raw.get(key, [])
    if not isinstance(value, list) or not all(isinstance(v, str) for v in value):
        raise ConfigError(f"{where(source, slug)}: {key!r} must be a list of strings")
    return tuple(value)


def _parse_topic(source: str, slug: Any, raw: Any, names: Mapping[str, str]) -> Topic:
    if not isinstance(slug, str) or not _SLUG_RE.fullmatch(slug):
        raise ConfigError(f"{source}: topic slug {slug!r} must be lowercase letters, digits and '-'")
    if slug in RESERVED_SLUGS:
        raise ConfigError(f"{source}: topic slug {slug!r} is reserved (it is the feed of every story)")
    if not isinstance(raw, Mapping):
        raise ConfigError(f"{where(source, slug)} must be a table")
    unknown = sorted(set(raw) - _TOPIC_KEYS)
    if unknown:
        raise ConfigError(f"{where(source, slug)}: unknown key(s) {unknown}; allowed: {sorted(_TOPIC_KEYS)}")

    title = _str(source, slug, raw, "title", required=True)
    description = _str(source, slug, raw, "description", required=False)
    parent = raw.get("parent")
    if parent is not None and not isinstance(parent, str):
        raise ConfigError(f"{where(source, slug)}: 'parent' must be a topic slug")
    threshold = number(source, f"topic {slug!r}: threshold", raw.get("threshold", TAXONOMY_DEFAULT_THRESHOLD))
    if threshold <= 0:
        raise ConfigError(f"{where(source, slug)}: threshold must be positive")

    rules = [
        *parse_rules(source, slug, raw, "keyword"),
        *parse_rules(source, slug, raw, "entity"),
        *parse_rules(source, slug, raw, "pattern"),
    ]
    seen: dict[tuple[bool, str], str] = {}
    for rule in rules:
        if rule.key in seen:
            raise ConfigError(f"{where(source, slug)}: {rule.text!r} duplicates {seen[rule.key]!r}")
        seen[rule.key] = rule.text

    exclude = parse_exclude(source, slug, _slug_list(source, slug, raw, "exclude"))

    return Topic(
        slug=slug,
        title=title,
        description=description,
        parent=parent,
        threshold=threshold,
        rules=tuple(rules),
        exclude=exclude,
        implies=_slug_list(source, slug, raw, "implies"),
        mediatopic=_mediatopic(source, slug, raw, names),
    )


def _link(source: str, topics: dict[str, Topic]) -> dict[str, Topic]:
    """Check parents and implications; fill in ``ancestors`` and ``implied``."""
    order = {slug: i for i, slug in enumerate(topics)}
    for t in topics.values():
        if t.parent is not None and t.parent not in topics:
            raise ConfigError(f"{where(source, t.slug)}: unknown parent {t.parent!r}")
        if t.parent == t.slug:
            raise ConfigError(f"{where(source, t.slug)}: a topic cannot be its own parent")
        for other in t.implies:
            if other not in topics:
                raise ConfigError(f"{where(source, t.slug)}: implies unknown topic {other!r}")
            if other == t.slug:
                raise ConfigError(f"{where(source, t.slug)}: a topic cannot imply itself")

    ancestors: dict[str, tuple[str, ...]] = {}
    for t in topics.values():
        chain: list[str] = []
        cur = t.parent
        while cur is not None:
            if cur == t.slug or cur in chain:
                cycle = " -> ".join([t.slug, *chain, cur])
                raise ConfigError(f"{where(source, t.slug)}: parent cycle {cycle}")
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
