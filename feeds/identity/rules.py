"""Is a near-duplicate title really a new version of the same story? The rules after the match.

:mod:`.near` finds titles that share most of their words; two different stories often do
("Arsenal beat Manchester City 2-1" / "Manchester City beat Arsenal 2-1"). A false merge
loses a story, a missed resend costs a reader one extra line, so :func:`conflict` vetoes the
match when any of these rules finds a difference (``docs/identity.md`` explains each):

- **names**: a named entity (capitalised word, a country's demonym counted as the country) only
  in one title while the other has a name of its own: a changed person, place, team or country;
- **roles**: two names of both titles in the opposite order around a word both share: who beat
  whom, who sanctions whom;
- **directions**: direction words (rise/fall, wins/loses, arrests/releases, imposes/lifts, ...)
  that disagree: neither title's sequence of them a subsequence of the other's;
- **negation**: a ``not``/``no``/``never`` in one title only;
- **figures**: a changed year, or more than ``NEAR_MAX_FIGURE_CHANGES`` other figures changed
  (a changed casualty count or magnitude is the typical correction and passes).

Each title is analysed once (memoised); the rules run only on pairs :mod:`.near` already found.
"""

from __future__ import annotations

import re
from collections import Counter
from dataclasses import dataclass
from functools import lru_cache

from wirefeed.config import defaults
from wirefeed.config.defaults import NEAR_ACTION_OVERLAP, NEAR_MAX_FIGURE_CHANGES
from wirefeed.feeds.identity.lexicon import (
    COMMON,
    DEMONYMS,
    DIRECTIONS,
    FUNCTION,
    INCREMENTS,
    KINDS,
    LABELS,
    NEGATIONS,
    NUMBER_WORDS,
    ORDINALS,
    PHRASES,
    REPEATS,
)

_TOKEN = re.compile(r"\d+(?:[.,:]\d+)*[^\W_]*|[^\W\d_]+", re.UNICODE)
_ACRONYM_DOTS = re.compile(r"\b((?:[A-Z]\.){2,})")
_NT = re.compile(r"n['’]t\b", re.IGNORECASE)
_YEAR = re.compile(r"(19|20)\d\d")


RULES = ("names", "action", "roles", "repeat", "directions", "negation", "figures")
"""The rules :func:`conflict` applies, in order (its answer is one of them, or ``None``)."""


@dataclass(frozen=True, slots=True)
class Title:
    """What the rules compare of one title."""

    tokens: tuple[str, ...]
    """Case-folded words and figures, in order (demonyms as their country)."""
    names: frozenset[str]
    """Tokens that are names: capitalised, not a function or common word at the start."""
    directions: dict[str, tuple[int, ...]]
    """Direction group -> the polarities (+1/-1) of its words, in order."""
    negated: frozenset[str]
    """Words negated: the three after each negation word."""
    repeated: dict[str, frozenset[str]]
    """Repeat word ("again", "another", a figure's "more") -> the three words before and after it."""
    increments: tuple[str, ...]
    """Figures counted on top of an earlier report ("3 more killed")."""
    figures: tuple[str, ...]
    years: frozenset[str]


@lru_cache(maxsize=defaults.NEAR_TITLE_CACHE)
def analyse(title: str) -> Title:
    """The tokens, names, directions and figures of a title (memoised)."""
    text = _ACRONYM_DOTS.sub(lambda m: m.group(1).replace(".", ""), title)
    text = _NT.sub(" not", text)
    for phrase, short in PHRASES:
        if phrase in text:
            text = text.replace(phrase, short)
    raw = _TOKEN.findall(text)
    alpha = [w for w in raw if w[0].isalpha() and len(w) > 3]
    title_case = len(alpha) >= 4 and sum(w[0].isupper() for w in alpha) >= 0.7 * len(alpha)
    if not raw:
        return Title((), frozenset(), {}, frozenset(), {}, (), (), frozenset())
    tokens: list[str] = []
    names: set[str] = set()
    figures: list[str] = []
    directions: dict[str, list[int]] = {}
    for pos, spelled in enumerate(raw):
        word, low = spelled, spelled.casefold()
        if low in NUMBER_WORDS:
            word = low = NUMBER_WORDS[low]
        if word[0].isdigit():
            if word[-1].isdigit() and not _labelled(tokens):
                figures.append(word.replace(",", ""))
            else:  # a label: 100m, 49ers, Category 3, round of 16, Boeing 737; changed, another story
                names.add(low)
            tokens.append(low)
            continue
        country = DEMONYMS.get(low) or (DEMONYMS.get(low[:-1]) if low.endswith("s") else None)
        if country:
            low = country
        tokens.append(low)
        if _is_name(word, low, pos, title_case, bool(country)):
            names.add(low)
        for group, sign in DIRECTIONS.get(low, ()):
            directions.setdefault(group, []).append(sign)
    return Title(
        tokens=tuple(tokens),
        names=frozenset(names),
        directions={g: tuple(p) for g, p in directions.items()},
        negated=frozenset(w for i, t in enumerate(tokens) if t in NEGATIONS for w in tokens[i + 1 : i + 4]),
        repeated={
            t: frozenset(tokens[max(0, i - 3) : i] + tokens[i + 1 : i + 4])
            for i, t in enumerate(tokens)
            if t in REPEATS or (t in INCREMENTS and i and tokens[i - 1][0].isdigit())
        },
        increments=tuple(
            t for i, t in enumerate(tokens[:-1]) if t[0].isdigit() and tokens[i + 1] in INCREMENTS
        ),
        figures=tuple(figures),
        years=frozenset(f for f in figures if _YEAR.fullmatch(f)),
    )


def _labelled(before: list[str]) -> bool:
    """A figure after these tokens names something (``Category 3``, ``round of 16``) rather than counts it."""
    prev = before[-2:] if before[-1:] and before[-1] in FUNCTION else before[-1:]
    return bool(prev) and prev[0] in LABELS


def _is_name(word: str, low: str, pos: int, title_case: bool, country: bool) -> bool:
    if country or low in KINDS or low in ORDINALS or (len(word) >= 2 and word.isupper()):
        return True  # a country or nationality, a currency or commodity, an acronym (US, UN, NATO)
    if not word[0].isupper() or low in FUNCTION:
        return False
    if any(c.isupper() for c in word[1:]):
        return True  # McDonald, iPhone-like spellings
    if title_case:
        return True  # every word capitalised: each counts (precision first)
    return not (pos == 0 and low in COMMON)


def conflict(new: str, old: str) -> str | None:
    """The rule that says these two near-duplicate titles are different stories, if any."""
    a, b = analyse(new), analyse(old)
    words_a, words_b = set(a.tokens), set(b.tokens)
    only_a = a.names - words_b
    only_b = b.names - words_a
    if only_a and only_b:
        return "names"
    act_a, act_b = _action(a, b), _action(b, a)
    own = min(len(act_a - act_b), len(act_b - act_a))
    if own >= 2 or (own and _overlap(act_a, act_b) < NEAR_ACTION_OVERLAP):
        return "action"
    if _roles_swapped(a, b):
        return "roles"
    if _repeats(a, b, words_b) or _repeats(b, a, words_a) or (a.increments and b.increments != a.increments):
        return "repeat"
    for group in a.directions.keys() & b.directions.keys():
        pa, pb = a.directions[group], b.directions[group]
        if not (_subsequence(pa, pb) or _subsequence(pb, pa)):
            return "directions"
    if _negates(a, b, words_b) or _negates(b, a, words_a):
        return "negation"
    if a.years and b.years and a.years != b.years:
        return "figures"
    fa = Counter(f for f in a.figures if f not in a.years)
    fb = Counter(f for f in b.figures if f not in b.years)
    if max(sum((fa - fb).values()), sum((fb - fa).values())) > NEAR_MAX_FIGURE_CHANGES:
        return "figures"
    return None


def _stem(word: str) -> str:
    """A crude stem, so that "hears" and "hear", "killed" and "kill" count as one word."""
    for end in ("ing", "ed", "es", "s"):
        if word.endswith(end) and len(word) - len(end) >= 3 and not word.endswith("ss"):
            return word[: -len(end)]
    return word


def _action(a: Title, b: Title) -> set[str]:
    """What ``a`` says happened: its words that are no name (of either title), figure or function word."""
    names = a.names | b.names
    return {_stem(t) for t in a.tokens if t not in names and t not in FUNCTION and not t[0].isdigit()}


def _overlap(x: set[str], y: set[str]) -> float:
    return len(x & y) / len(x | y) if x and y else 1.0


def _repeats(a: Title, b: Title, words_b: set[str]) -> bool:
    """A repeat word of ``a`` that ``b`` lacks, next to words ``b`` has: "erupts" / "erupts again"."""
    return any(word not in b.repeated and near & words_b for word, near in a.repeated.items())


def _negates(a: Title, b: Title, words_b: set[str]) -> bool:
    """A word ``a`` negates (one of the three after a ``not``) that ``b`` says without negating."""
    return bool((a.negated - b.negated) & words_b)


def _subsequence(short: tuple[int, ...], long: tuple[int, ...]) -> bool:
    it = iter(long)
    return all(x in it for x in short)


def _roles_swapped(a: Title, b: Title) -> bool:
    """Two shared names in opposite orders, with a shared (non-function) word between them in both."""
    shared = sorted(a.names & b.names)
    if len(shared) < 2:
        return False
    pa = {t: a.tokens.index(t) for t in shared}
    pb = {t: b.tokens.index(t) for t in shared}
    between = set(a.tokens) & set(b.tokens) - FUNCTION - a.names - b.names
    if not between:
        return False
    wa = {w: a.tokens.index(w) for w in between}
    wb = {w: b.tokens.index(w) for w in between}
    for i, x in enumerate(shared):
        for y in shared[i + 1 :]:
            if (pa[x] < pa[y]) == (pb[x] < pb[y]):
                continue
            lo_a, hi_a = sorted((pa[x], pa[y]))
            lo_b, hi_b = sorted((pb[x], pb[y]))
            if any(lo_a < wa[w] < hi_a and lo_b < wb[w] < hi_b for w in between):
                return True
    return False


def same_story(new: str, old: str) -> bool:
    """No rule of :func:`conflict` tells these titles apart (call only on near-duplicates)."""
    return conflict(new, old) is None
