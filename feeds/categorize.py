"""Topic tagging: a story's text in, its :class:`~feeds.model.TopicTag` s out (best first).

The workers and ``wirefeed classify`` only know the :class:`Categorizer` protocol and the
:func:`build_categorizer` factory, so a smarter method (a trained model, an ensemble that
falls back to the editors' rules) can replace :class:`RuleCategorizer` without touching them.

How :class:`RuleCategorizer` scores a story
-------------------------------------------

Every rule of every topic in the taxonomy (keywords, entities, patterns; see
``config/topics.toml``) is compiled into ONE regular expression, so each field of a story is
scanned once, whatever the number of topics. Keywords and entities are merged into prefix
trees inside it (at a word start the engine follows one branch rather than trying ~1,000
rules in turn), and an empty marker group at the end of each rule tells which one matched.
Where rules overlap, the longest match wins ("air strike" hides "strike", "Wall Street"
hides "Wall").

A topic's score is the sum of the weights of its rules that match, per field:

- **title**: each distinct rule counts once, at full weight (:data:`TITLE_WEIGHT`); a match
  inside quotation marks (``'flop'``, ``"heavy price"``) counts :data:`QUOTED_FACTOR` of it,
  because quoted words in a headline are someone's words, often figurative;
- **summary**: each distinct rule once, at :data:`SUMMARY_WEIGHT`;
- **body**: each rule counts per occurrence, capped at :data:`BODY_MAX_COUNT` occurrences, at
  :data:`BODY_WEIGHT`, scaled down for bodies longer than :data:`BODY_REF_WORDS` words by
  ``sqrt(BODY_REF_WORDS / words)``; body evidence only counts for a topic with at least
  :data:`BODY_MIN_HITS` matches, so one stray word in a long article gives nothing; and a
  topic gets at most its share (of the body's matches, among top-level topics) of
  :data:`BODY_BUDGET`, so however long and wide-ranging a body is, it alone can lift at most
  a handful of topics over their thresholds.

The rules of a finer topic also count for its parent (and grandparent...): a topic's own
weight wins if it lists the same rule, otherwise the largest weight among its descendants.
A topic whose score reaches its ``threshold`` is given, with a reason such as
``title matches 'NBA', 'All-Star' (score 6.0)``.

Then:

- **vetoes**: an ``exclude`` phrase of a topic found in the title or summary vetoes the topic
  and its finer topics; a vetoed topic is not given at all, not even by implication;
- **implications**: a given topic also gives its ancestors and the topics it ``implies``
  (transitively), with the same score and the reason ``implied by <slug>``;
- **default**: a story no rule matches gets the taxonomy's default topic (``world`` in the
  shipped file) with score 0 and reason ``no rule matched; default`` -- on a general news
  wire an unmatched story is most often international news, and every story should be
  findable in some topic feed.

Tags are sorted by score (best first); at equal score a topic given by its own rules comes
before one given by implication, a finer topic before a broader one, then taxonomy order.
"""

from __future__ import annotations

import math
import re
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Protocol, runtime_checkable

from feeds.model import ParsedStory, Story, TopicTag
from feeds.taxonomy import Rule, Taxonomy, Topic

TITLE_WEIGHT = 1.0
"""Factor of a rule's weight when it matches the title."""

QUOTED_FACTOR = 0.5
"""Extra factor of a title match inside quotation marks."""

SUMMARY_WEIGHT = 0.5
"""Factor of a rule's weight when it matches the summary."""

BODY_WEIGHT = 0.25
"""Factor of a rule's weight per occurrence in the body (before length scaling)."""

BODY_MAX_COUNT = 3
"""Occurrences of one rule in the body that count at most."""

BODY_REF_WORDS = 300
"""Bodies longer than this many words have their body score scaled by ``sqrt(ref / words)``."""

BODY_MIN_HITS = 2
"""Matches (after capping) a topic needs in the body before body evidence counts at all."""

BODY_BUDGET = 10.0
"""Most body evidence all top-level topics together can get: each topic gets at most its share
of this budget (its share of the body's matches), so a long body cannot flood every topic."""

DEFAULT_REASON = "no rule matched; default"
"""Reason of the fallback tag given to a story that no rule matches."""

MAX_REASON_TERMS = 5
"""Matched terms listed per field in a reason; more are summarised as ``+N more``."""

_QUOTED = re.compile(r"""(?<!\w)['"\u2018\u201c][^'"\u2018\u2019\u201c\u201d\n]+['"\u2019\u201d](?!\w)""")
"""A quoted span in a headline: ``'flop'``, ``"heavy price"`` (not a possessive apostrophe)."""

_QUOTE_CHARS = frozenset("'\"\u2018\u2019\u201c\u201d")


@dataclass(frozen=True, slots=True)
class TaggingInput:
    """The text a categorizer sees: the title, the summary (standfirst) and the full body.

    The summary may repeat the body's first paragraph; that is fine (the lede then counts a
    little more, as it should).
    """

    title: str
    summary: str = ""
    body: str = ""

    @classmethod
    def from_story(cls, story: Story | ParsedStory) -> TaggingInput:
        """Tagging input of a stored or parsed story (body = its paragraphs and subheads)."""
        summary = story.summary if isinstance(story, Story) else ""
        return cls(title=story.title, summary=summary, body="\n".join(b.text for b in story.blocks))


@runtime_checkable
class Categorizer(Protocol):
    """Anything that tags stories with topics of a taxonomy."""

    def categorize(self, item: TaggingInput) -> list[TopicTag]:
        """Topics of one story, best first; never empty."""
        ...

    def categorize_many(self, items: Sequence[TaggingInput]) -> list[list[TopicTag]]:
        """Topics of each story, in input order (lets a batched method amortise its cost)."""
        ...


class RuleCategorizer:
    """Tags stories with the editors' weighted rules from the taxonomy (see the module docs)."""

    def __init__(self, taxonomy: Taxonomy) -> None:
        self.taxonomy = taxonomy
        topics = list(taxonomy.topics.values())
        self._index = {t.slug: i for i, t in enumerate(topics)}
        self._slugs = [t.slug for t in topics]
        self._thresholds = [t.threshold for t in topics]
        self._implied = [tuple(self._index[s] for s in t.implied) for t in topics]
        self._depth = [len(t.ancestors) for t in topics]
        self._top_level = frozenset(self._index[t.slug] for t in topics if t.parent is None)
        self._default = taxonomy.default
        rules = self._collect_rules(topics)
        self._group_term: list[int] = [0]
        """Regex group number -> rule id (the groups are empty markers at each rule's end)."""
        self._rx = self._compile_rules(rules)
        self._veto_group: list[frozenset[int]] = [frozenset()]
        """Veto regex group number -> topics the phrase vetoes."""
        self._veto_rx = self._compile_vetoes(topics)

    def _collect_rules(self, topics: list[Topic]) -> list[Rule]:
        """Distinct rules (by what they match); fills ``_labels`` and ``_scoring`` per rule.

        ``_scoring[i]`` lists (topic, weight) for rule ``i``: the topics that list it, and their
        ancestors that don't (with the largest weight among their descendants).
        """
        ids: dict[tuple[bool, str], int] = {}
        rules: list[Rule] = []
        direct: list[dict[int, float]] = []
        for t in topics:
            for rule in t.rules:
                i = ids.get(rule.key)
                if i is None:
                    i = ids[rule.key] = len(rules)
                    rules.append(rule)
                    direct.append({})
                direct[i][self._index[t.slug]] = rule.weight
        self._labels = [r.text for r in rules]
        self._scoring: list[tuple[tuple[int, float], ...]] = []
        for weights in direct:
            rolled = dict(weights)
            for j, w in weights.items():
                for a in (self._index[s] for s in topics[j].ancestors):
                    if a not in weights:
                        rolled[a] = max(rolled.get(a, w), w)
            self._scoring.append(tuple(rolled.items()))
        self._positive = [frozenset(j for j, w in pairs if w > 0) for pairs in self._scoring]
        return rules

    def _compile_rules(self, rules: list[Rule]) -> re.Pattern[str] | None:
        """ONE regex for every rule of every topic.

        Keywords and entities are merged into two prefix trees (entities case-sensitive), so at
        each word start the engine follows one branch instead of trying every rule in turn;
        patterns follow as plain alternatives. Each rule ends in an empty group whose number
        identifies it (``match.lastindex``).
        """
        keyword_trie: _Trie = {}
        entity_trie: _Trie = {}
        patterns: list[int] = []
        for i, rule in enumerate(rules):
            if not rule.atoms:
                patterns.append(i)
                continue
            node = entity_trie if rule.case_sensitive else keyword_trie
            for atom in rule.atoms:
                node = node.setdefault(atom, {})  # type: ignore[assignment]
            node[_END] = i
        alts = []
        if keyword_trie:
            alts.append(_emit(keyword_trie, self._group_term))
        if entity_trie:
            alts.append(f"(?-i:{_emit(entity_trie, self._group_term)})")
        for i in sorted(patterns, key=lambda i: -len(rules[i].regex)):
            self._group_term.append(i)
            alts.append(f"(?:{rules[i].regex})()")
        return re.compile(rf"(?<!\w)(?:{'|'.join(alts)})(?!\w)", re.IGNORECASE) if alts else None

    def _compile_vetoes(self, topics: list[Topic]) -> re.Pattern[str] | None:
        """One regex (a prefix tree) for all veto phrases; a vetoed topic takes its finer topics."""
        trie: _Trie = {}
        groups: list[set[int]] = []
        for t in topics:
            vetoed = {self._index[t.slug]} | {self._index[d.slug] for d in topics if t.slug in d.ancestors}
            for rule in t.exclude:
                node = trie
                for atom in rule.atoms:
                    node = node.setdefault(atom, {})  # type: ignore[assignment]
                if _END not in node:
                    node[_END] = len(groups)
                    groups.append(set())
                groups[node[_END]].update(vetoed)  # type: ignore[index]
        if not trie:
            return None
        order: list[int] = []
        source = _emit(trie, order)
        self._veto_group.extend(frozenset(groups[k]) for k in order)
        return re.compile(rf"(?<!\w)(?:{source})(?!\w)", re.IGNORECASE)

    # -- public API ------------------------------------------------------------------------

    def categorize(self, item: TaggingInput) -> list[TopicTag]:
        """Topics of one story, best first; never empty (see the module docs for the scheme)."""
        scores: dict[int, float] = {}
        title_hits = self._scan_title(item.title, scores)
        summary_hits = self._scan_summary(item.summary, scores)
        body_hits = self._scan_body(item.body, scores)

        given = [j for j, s in scores.items() if s >= self._thresholds[j]]
        vetoed = self._vetoed(item) if given else frozenset()
        if vetoed:
            given = [j for j in given if j not in vetoed]
        if not given:
            return [TopicTag(self._default, 0.0, DEFAULT_REASON)]

        # topic -> (score, given by its own rules?, reason); implications fill in the rest
        result: dict[int, tuple[float, bool, str]] = {}
        for j in given:
            result[j] = (scores[j], True, self._reason(j, scores[j], title_hits, summary_hits, body_hits))
        for j in sorted(given, key=lambda j: -scores[j]):
            self._imply(j, scores[j], result, vetoed)
        depth = self._depth
        ranked = sorted(result.items(), key=lambda kv: (-kv[1][0], not kv[1][1], -depth[kv[0]], kv[0]))
        return [TopicTag(self._slugs[j], round(s, 3), why) for j, (s, _, why) in ranked]

    def _vetoed(self, item: TaggingInput) -> frozenset[int]:
        """Topics vetoed by an exclude phrase in the title or summary."""
        vetoed: frozenset[int] = frozenset()
        if self._veto_rx is None:
            return vetoed
        for text in (item.title, item.summary):
            if text:
                for m in self._veto_rx.finditer(text):
                    vetoed |= self._veto_group[m.lastindex or 0]
        return vetoed

    def _imply(
        self, j: int, score: float, result: dict[int, tuple[float, bool, str]], vetoed: frozenset[int]
    ) -> None:
        """Add the topics that topic ``j`` (given with ``score``) implies to ``result``."""
        note = f"implied by {self._slugs[j]}"
        for k in self._implied[j]:
            if k in vetoed:
                continue
            cur = result.get(k)
            if cur is None:
                result[k] = (score, False, note)
            elif cur[1] and note not in cur[2]:
                extra = f" (score {score:.1f})" if score > cur[0] else ""
                result[k] = (max(cur[0], score), True, f"{cur[2]}; {note}{extra}")

    def categorize_many(self, items: Sequence[TaggingInput]) -> list[list[TopicTag]]:
        """Topics of each story, in input order."""
        return [self.categorize(item) for item in items]

    # -- scanning --------------------------------------------------------------------------

    def _scan_title(self, title: str, scores: dict[int, float]) -> dict[int, tuple[float, str]]:
        """Add title evidence to ``scores``; return rule id -> (factor, matched text)."""
        if not title or self._rx is None:
            return {}
        hits: dict[int, tuple[float, str]] = {}
        spans = None
        if not _QUOTE_CHARS.isdisjoint(title):
            spans = [m.span() for m in _QUOTED.finditer(title)]
        for m in self._rx.finditer(title):
            i = self._group_term[m.lastindex or 0]
            factor = TITLE_WEIGHT
            if spans:
                start = m.start()
                if any(a <= start < b for a, b in spans):
                    factor *= QUOTED_FACTOR
            prev = hits.get(i)
            if prev is None or factor > prev[0]:
                hits[i] = (factor, m.group())
        for i, (factor, _) in hits.items():
            for j, w in self._scoring[i]:
                scores[j] = scores.get(j, 0.0) + w * factor
        return hits

    def _scan_summary(self, summary: str, scores: dict[int, float]) -> dict[int, str]:
        """Add summary evidence to ``scores``; return rule id -> matched text."""
        if not summary or self._rx is None:
            return {}
        hits: dict[int, str] = {}
        for m in self._rx.finditer(summary):
            hits.setdefault(self._group_term[m.lastindex or 0], m.group())
        for i in hits:
            for j, w in self._scoring[i]:
                scores[j] = scores.get(j, 0.0) + w * SUMMARY_WEIGHT
        return hits

    def _scan_body(self, body: str, scores: dict[int, float]) -> dict[int, tuple[int, str]]:
        """Add (capped, length-scaled) body evidence to ``scores``; return rule id -> (count, text)."""
        if not body or self._rx is None:
            return {}
        hits: dict[int, tuple[int, str]] = {}
        for m in self._rx.finditer(body):
            i = self._group_term[m.lastindex or 0]
            prev = hits.get(i)
            hits[i] = (1, m.group()) if prev is None else (prev[0] + 1, prev[1])
        if not hits:
            return hits
        words = body.count(" ") + body.count("\n") + 1
        scale = BODY_WEIGHT * min(1.0, math.sqrt(BODY_REF_WORDS / words))
        raw: dict[int, float] = {}
        count: dict[int, int] = {}
        for i, (seen, _) in hits.items():
            n = min(seen, BODY_MAX_COUNT)
            for j, w in self._scoring[i]:
                raw[j] = raw.get(j, 0.0) + w * n
                count[j] = count.get(j, 0) + n
        top = self._top_level
        total = sum(r for j, r in raw.items() if j in top and r > 0)
        for j, r in raw.items():
            if count[j] >= BODY_MIN_HITS and r > 0:
                scores[j] = scores.get(j, 0.0) + min(r * scale, BODY_BUDGET * r / total)
            elif r < 0:
                scores[j] = scores.get(j, 0.0) + r * scale
        return hits

    # -- reasons ---------------------------------------------------------------------------

    def _reason(
        self,
        j: int,
        score: float,
        title_hits: dict[int, tuple[float, str]],
        summary_hits: dict[int, str],
        body_hits: dict[int, tuple[int, str]],
    ) -> str:
        """Why topic ``j`` was given: the matched terms per field and the score."""
        parts = []
        terms = [
            f"'{text}'" + (" (quoted)" if f < TITLE_WEIGHT else "")
            for i, (f, text) in title_hits.items()
            if self._scores_for(i, j)
        ]
        if terms:
            parts.append("title matches " + _listing(terms))
        terms = [f"'{text}'" for i, text in summary_hits.items() if self._scores_for(i, j)]
        if terms:
            parts.append("summary matches " + _listing(terms))
        terms = [
            f"'{text}'" + (f" x{n}" if n > 1 else "")
            for i, (n, text) in body_hits.items()
            if self._scores_for(i, j)
        ]
        if terms:
            parts.append("body matches " + _listing(terms))
        return f"{'; '.join(parts) or 'rules match'} (score {score:.1f})"

    def _scores_for(self, i: int, j: int) -> bool:
        """Whether rule ``i`` adds to topic ``j``'s score."""
        return j in self._positive[i]


_END = ""
"""Key marking the end of a rule in a prefix tree (no atom is empty)."""

_Trie = dict[str, "_Trie | int"]


def _emit(node: _Trie, ends: list[int]) -> str:
    """Regex source of a prefix tree, each rule's end marked by an empty group.

    The value stored at each end is appended to ``ends`` in the order of the groups, so
    ``ends[match.lastindex - 1]`` (after any groups before the tree) tells which rule matched.
    Continuations come before a rule's end, so the longest rule wins at a position (the
    word-boundary check after the tree makes the engine back off to shorter ones).
    """
    branches = [
        atom + _emit(node[atom], ends)  # type: ignore[arg-type]
        for atom in sorted((a for a in node if a != _END), key=_atom_order)
    ]
    if _END in node:
        ends.append(node[_END])  # type: ignore[arg-type]
        branches.append("()")
    if len(branches) == 1 and _END not in node:
        return branches[0]
    return f"(?:{'|'.join(branches)})"


def _atom_order(atom: str) -> tuple[int, str]:
    """Literal atoms first, then optional separators and wildcards (which may match nothing)."""
    return (atom.endswith(("?", "*")), atom)


def _listing(terms: list[str]) -> str:
    shown = ", ".join(terms[:MAX_REASON_TERMS])
    more = len(terms) - MAX_REASON_TERMS
    return f"{shown} +{more} more" if more > 0 else shown


def build_categorizer(taxonomy: Taxonomy) -> Categorizer:
    """The categorizer the workers and the CLI use (today: the editors' rules)."""
    return RuleCategorizer(taxonomy)
