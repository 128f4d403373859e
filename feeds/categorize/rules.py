"""The editors' rules as a categorizer: :class:`RuleCategorizer` and its :class:`Evidence`.

A topic's score adds up the weights of its rules that match the title, the summary and the body
(each field weighted differently; the tunables are ``CATEGORIZE_*`` in
:mod:`wirefeed.config.defaults`); a topic whose score reaches its threshold is given, with its
ancestors and ``implies`` topics, unless an exclude phrase vetoes it. The scheme in full:
"How the rules score a story" in ``docs/categorizer.md``.
"""

from __future__ import annotations

import math
import re
from collections.abc import Sequence
from dataclasses import dataclass

from wirefeed.config.defaults import (
    CATEGORIZE_BODY_BUDGET,
    CATEGORIZE_BODY_MAX_COUNT,
    CATEGORIZE_BODY_MIN_HITS,
    CATEGORIZE_BODY_REF_WORDS,
    CATEGORIZE_BODY_WEIGHT,
    CATEGORIZE_DECISIVE_WEIGHT,
    CATEGORIZE_MAX_REASON_TERMS,
    CATEGORIZE_QUOTED_FACTOR,
    CATEGORIZE_SUMMARY_WEIGHT,
    CATEGORIZE_TITLE_WEIGHT,
)
from wirefeed.feeds.categorize.matcher import RuleMatcher
from wirefeed.feeds.categorize.protocol import DEFAULT_REASON, TaggingInput
from wirefeed.feeds.categorize.taxonomy import Taxonomy
from wirefeed.feeds.stories.model import TopicTag

_QUOTED = re.compile(r"""(?<!\w)['"\u2018\u201c][^'"\u2018\u2019\u201c\u201d\n]+['"\u2019\u201d](?!\w)""")
"""A quoted span in a headline: ``'flop'``, ``"heavy price"`` (not a possessive apostrophe)."""

_QUOTE_CHARS = frozenset("'\"\u2018\u2019\u201c\u201d")


@dataclass(frozen=True, slots=True)
class Evidence:
    """What the editors' rules found in one story (topics by their index in the taxonomy)."""

    scores: dict[int, float]
    """Score of every topic that any rule matched (vetoed topics included; below threshold too)."""
    title_hits: dict[int, tuple[float, str]]
    """Rule id -> (factor, matched text) for the title."""
    summary_hits: dict[int, str]
    """Rule id -> matched text for the summary."""
    body_hits: dict[int, tuple[int, str]]
    """Rule id -> (occurrences, first matched text) for the body."""
    vetoed: frozenset[int]
    """Topics vetoed by an exclude phrase in the title or summary."""
    decisive: frozenset[int] = frozenset()
    """Topics with a decisive term (weight >= ``CATEGORIZE_DECISIVE_WEIGHT``) in the title
    (unquoted) or the summary; a finer topic's decisive term counts for its ancestors too."""


class RuleCategorizer:
    """Tags stories with the editors' weighted rules from the taxonomy (see the module docs)."""

    def __init__(self, taxonomy: Taxonomy) -> None:
        self.taxonomy = taxonomy
        topics = list(taxonomy.topics.values())
        index = {t.slug: i for i, t in enumerate(topics)}
        self._slugs = [t.slug for t in topics]
        self._thresholds = [t.threshold for t in topics]
        self._implied = [tuple(index[s] for s in t.implied) for t in topics]
        self._depth = [len(t.ancestors) for t in topics]
        self._top_level = frozenset(index[t.slug] for t in topics if t.parent is None)
        self._default = taxonomy.default
        matcher = RuleMatcher(topics)
        self._empty = matcher.empty
        self._scoring = matcher.scoring
        self._positive = matcher.positive
        self._matches = matcher.matches
        self._matches_at = matcher.matches_at
        self._vetoed = matcher.vetoed

    def evidence(self, item: TaggingInput) -> Evidence:
        """What the rules see in a story: every topic's score, the matched terms, the vetoes."""
        scores: dict[int, float] = {}
        title, summary = item.title, item.summary
        # a headline-only story's summary is often its title: scan that text once
        found = self._matches(title) if title and summary == title and not self._empty else None
        title_hits = self._scan_title(title, scores, found)
        summary_hits = self._scan_summary(summary, scores, found)
        body_hits = self._scan_body(item.body, scores)
        if not scores:  # no rule matched; an exclude phrase still vetoes what a classifier proposes
            return Evidence(scores, title_hits, summary_hits, body_hits, self._vetoed(title, summary))
        decisive = {
            j
            for i in [*(i for i, (f, _) in title_hits.items() if f >= CATEGORIZE_TITLE_WEIGHT), *summary_hits]
            for j, w in self._scoring[i]
            if w >= CATEGORIZE_DECISIVE_WEIGHT
        }
        vetoed = self._vetoed(title, summary)
        return Evidence(scores, title_hits, summary_hits, body_hits, vetoed, frozenset(decisive))

    def categorize(self, item: TaggingInput) -> list[TopicTag]:
        """Topics of one story, best first (the scheme: ``docs/categorizer.md``); empty when no rule
        matches and the taxonomy has no default topic."""
        ev = self.evidence(item)
        scores, vetoed = ev.scores, ev.vetoed
        given = [j for j, s in scores.items() if s >= self._thresholds[j] and j not in vetoed]
        if not given:
            return [TopicTag(self._default, 0.0, DEFAULT_REASON, "default")] if self._default else []

        # topic -> (score, given by its own rules?, reason); implications fill in the rest
        result: dict[int, tuple[float, bool, str]] = {}
        for j in given:
            result[j] = (scores[j], True, self.reason(j, ev))
        for j in sorted(given, key=lambda j: -scores[j]):
            self._imply(j, scores[j], result, vetoed)
        depth = self._depth
        ranked = sorted(result.items(), key=lambda kv: (-kv[1][0], not kv[1][1], -depth[kv[0]], kv[0]))
        thresholds = self._thresholds
        return [
            TopicTag(self._slugs[j], round(s, 3), why, "rules", round(rule_confidence(s, thresholds[j]), 3))
            for j, (s, _, why) in ranked
        ]

    def categorize_many(self, items: Sequence[TaggingInput]) -> list[list[TopicTag]]:
        """Topics of each story, in input order."""
        return [self.categorize(item) for item in items]

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

    # -- scanning --------------------------------------------------------------------------

    def _scan_title(
        self, title: str, scores: dict[int, float], found: list[tuple[int, str]] | None = None
    ) -> dict[int, tuple[float, str]]:
        """Add title evidence to ``scores``; return rule id -> (factor, matched text).

        ``found``: the title's matches (:meth:`RuleMatcher.matches`), if the caller has them.
        """
        if not title or self._empty:
            return {}
        hits: dict[int, tuple[float, str]] = {}
        if _QUOTE_CHARS.isdisjoint(title):
            for i, s in self._matches(title) if found is None else found:
                if i not in hits:
                    hits[i] = (CATEGORIZE_TITLE_WEIGHT, s)
        else:
            spans = [m.span() for m in _QUOTED.finditer(title)]
            for i, start, s in self._matches_at(title):
                factor = CATEGORIZE_TITLE_WEIGHT
                if spans and any(a <= start < b for a, b in spans):
                    factor *= CATEGORIZE_QUOTED_FACTOR
                prev = hits.get(i)
                if prev is None or factor > prev[0]:
                    hits[i] = (factor, s)
        scoring = self._scoring
        for i, (factor, _) in hits.items():
            for j, w in scoring[i]:
                scores[j] = scores.get(j, 0.0) + w * factor
        return hits

    def _scan_summary(
        self, summary: str, scores: dict[int, float], found: list[tuple[int, str]] | None = None
    ) -> dict[int, str]:
        """Add summary evidence to ``scores``; return rule id -> matched text.

        ``found``: the summary's matches (:meth:`RuleMatcher.matches`), if the caller has them.
        """
        if not summary or self._empty:
            return {}
        hits: dict[int, str] = {}
        for i, s in self._matches(summary) if found is None else found:
            if i not in hits:
                hits[i] = s
        scoring = self._scoring
        for i in hits:
            for j, w in scoring[i]:
                scores[j] = scores.get(j, 0.0) + w * CATEGORIZE_SUMMARY_WEIGHT
        return hits

    def _scan_body(self, body: str, scores: dict[int, float]) -> dict[int, tuple[int, str]]:
        """Add (capped, length-scaled) body evidence to ``scores``; return rule id -> (count, text)."""
        if not body or self._empty:
            return {}
        hits: dict[int, tuple[int, str]] = {}
        for i, s in self._matches(body):
            prev = hits.get(i)
            hits[i] = (1, s) if prev is None else (prev[0] + 1, prev[1])
        if not hits:
            return hits
        words = body.count(" ") + body.count("\n") + 1
        scale = CATEGORIZE_BODY_WEIGHT * min(1.0, math.sqrt(CATEGORIZE_BODY_REF_WORDS / words))
        raw: dict[int, float] = {}
        count: dict[int, int] = {}
        for i, (seen, _) in hits.items():
            n = min(seen, CATEGORIZE_BODY_MAX_COUNT)
            for j, w in self._scoring[i]:
                raw[j] = raw.get(j, 0.0) + w * n
                count[j] = count.get(j, 0) + n
        top = self._top_level
        total = sum(r for j, r in raw.items() if j in top and r > 0)
        for j, r in raw.items():
            if count[j] >= CATEGORIZE_BODY_MIN_HITS and r > 0:
                scores[j] = scores.get(j, 0.0) + min(r * scale, CATEGORIZE_BODY_BUDGET * r / total)
            elif r < 0:
                scores[j] = scores.get(j, 0.0) + r * scale
        return hits

    # -- reasons ---------------------------------------------------------------------------

    def reason(self, j: int, ev: Evidence, *, with_score: bool = True) -> str:
        """Why the rules give topic ``j``: the matched terms per field and the score."""
        positive = self._positive
        parts = []
        if ev.title_hits:
            terms = [
                f"'{text}' (quoted)" if f < CATEGORIZE_TITLE_WEIGHT else f"'{text}'"
                for i, (f, text) in ev.title_hits.items()
                if j in positive[i]
            ]
            if terms:
                parts.append("title matches " + _listing(terms))
        if ev.summary_hits:
            terms = [f"'{text}'" for i, text in ev.summary_hits.items() if j in positive[i]]
            if terms:
                parts.append("summary matches " + _listing(terms))
        if ev.body_hits:
            terms = [
                f"'{text}' x{n}" if n > 1 else f"'{text}'"
                for i, (n, text) in ev.body_hits.items()
                if j in positive[i]
            ]
            if terms:
                parts.append("body matches " + _listing(terms))
        text = "; ".join(parts) or "rules match"
        return f"{text} (score {ev.scores.get(j, 0.0):.1f})" if with_score else text


def rule_confidence(score: float, threshold: float) -> float:
    """A rule score on a 0..1 scale: 0.5 at the threshold, 0.75 at twice it..."""
    return 1.0 - 0.5 ** (score / threshold) if score > 0 else 0.0


def _listing(terms: list[str]) -> str:
    """``terms`` joined, at most ``CATEGORIZE_MAX_REASON_TERMS`` of them, then ``+N more``."""
    shown = ", ".join(terms[:CATEGORIZE_MAX_REASON_TERMS])
    more = len(terms) - CATEGORIZE_MAX_REASON_TERMS
    return f"{shown} +{more} more" if more > 0 else shown
