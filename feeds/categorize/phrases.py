"""An editor's rule text (keyword, entity, pattern, exclude phrase) -> a validated :class:`Rule`.

Each rule is turned into a regular-expression source (and, for keywords and entities, its atoms,
which the rule matcher merges into prefix trees). The syntax is documented in the header of
``config/topics.toml``; any problem raises :class:`~wirefeed.errors.ConfigError`.
"""

from __future__ import annotations

import math
import re
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any, Literal

from wirefeed.config.defaults import TAXONOMY_MAX_WEIGHT
from wirefeed.errors import ConfigError

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


def where(source: str, slug: str) -> str:
    """How error messages name a topic of a taxonomy file."""
    return f"{source}: topic {slug!r}"


def number(source: str, what: str, value: Any) -> float:
    """``value`` as a float; :class:`ConfigError` if it is not a finite number."""
    if isinstance(value, bool) or not isinstance(value, int | float) or not math.isfinite(value):
        raise ConfigError(f"{source}: {what} must be a number, got {value!r}")
    return float(value)


def parse_rules(source: str, slug: str, raw: Mapping[str, Any], kind: RuleKind) -> list[Rule]:
    """The rules of one kind (its table: ``keywords``, ``entities`` or ``patterns``) of a topic."""
    table_name = {"keyword": "keywords", "entity": "entities", "pattern": "patterns"}[kind]
    table = raw.get(table_name, {})
    if not isinstance(table, Mapping):
        raise ConfigError(f'{where(source, slug)}: [{table_name}] must be a table of "text" = weight')
    rules = []
    for text, value in table.items():
        what = f"{where(source, slug)}: {kind} {text!r}"
        weight = number(source, f"topic {slug!r}: weight of {text!r}", value)
        if weight == 0 or abs(weight) > TAXONOMY_MAX_WEIGHT:
            raise ConfigError(f"{what}: weight must be non-zero and at most {TAXONOMY_MAX_WEIGHT:g} in size")
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


def parse_exclude(source: str, slug: str, phrases: tuple[str, ...]) -> tuple[Rule, ...]:
    """A topic's veto phrases (keyword syntax, case-insensitive) as rules of weight 0."""
    exclude = []
    for text in phrases:
        try:
            atoms = tuple(a.lower() for a in keyword_atoms(text))
            exclude.append(Rule(text=text, kind="keyword", weight=0.0, regex="".join(atoms), atoms=atoms))
        except ValueError as exc:
            raise ConfigError(f"{where(source, slug)}: exclude {text!r}: {exc}") from None
    return tuple(exclude)
