"""Topic tagging: a story's text in, its :class:`~feeds.model.TopicTag` s out (best first).

The workers and ``wirefeed classify`` only know the :class:`Categorizer` protocol and the
:func:`build_categorizer` factory. With the shipped taxonomy that is a :class:`HybridCategorizer`:
the editors' rules (:class:`RuleCategorizer`, below) plus a learned classifier for the top-level
topics (:mod:`feeds.classifier`: static sentence embeddings and a linear head, numpy only). A
taxonomy without a ``[classifier]`` table gets the rules alone.

How the hybrid combines the layers
----------------------------------

The classifier knows the top-level topics it was trained on (world, politics, business,
technology, science, health, sports, culture, crime). For each story it gives logits; each
topic's rule evidence (its rule score divided by its threshold, capped at ``rule_cap``) is added,
times ``rule_weight``, and a softmax turns them into one *combined probability* per topic. That
probability ranks the top-level topics and is their score. Then, in this order of precedence:

1. **vetoes**: an editor's ``exclude`` phrase in the title or summary removes the topic (and its
   finer topics) whatever the classifier says;
2. **confident classifier**: a top-level topic whose combined probability reaches its calibrated
   ``min_probability`` is given (reason ``classifier: sports 0.91``, plus the rules' matches);
3. **rules**: a top-level topic whose rules reach its threshold is given too (reason ``title
   matches ...; classifier 0.34``) -- unless the classifier, confident about another topic, finds
   this one far less likely (under ``rule_floor`` times its best topic's probability) and no
   matching term is *decisive* (weight :data:`DECISIVE_WEIGHT` or more, in the title or summary).
   So "deal" in an NBA story or two country names in a cricket report do not make world or
   business news, while "Chipmaker" still makes a chip maker's profit warning a technology story;
4. **finer topics and topics the classifier does not know** (cybercrime, elections, a topic the
   editors added yesterday) come from the rules alone, as in :class:`RuleCategorizer`; they imply
   their ancestors and ``implies`` topics (reason ``implied by cybercrime``);
5. **best guess**: if nothing else is given, the classifier's most likely topic is (reason
   ``classifier: science 0.31 (best guess)``); only a story with no words at all gets the
   taxonomy's default topic.

Tags are sorted by score: a top-level topic's combined probability; a finer topic's rule
confidence (0.5 at its threshold, 0.75 at twice it), never above its top-level topic's.
The numbers (``rule_weight``, ``rule_cap``, ``rule_floor``, ``min_probability``) are fitted by
``models/train_head.py`` on the tune split and stored with the head.

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

import functools
import math
import re
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Protocol, runtime_checkable

import numpy as np

from config import defaults
from feeds.classifier import TopicClassifier, model_text
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

DECISIVE_WEIGHT = 3.0
"""Weight of a rule the editors call decisive on its own (see ``config/topics.toml``): a match in
the title or summary is never overruled by the classifier."""

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
    """Topics with a decisive term (weight >= :data:`DECISIVE_WEIGHT`) in the title (unquoted) or
    the summary; a finer topic's decisive term counts for its ancestors too."""


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
        self._rx: re.Pattern[str] | None = None
        """The rules' regex with a marker group per rule: tells which rule a match is."""
        self._fast_rx: re.Pattern[str] | None = None
        """The same regex without the marker groups: the same matches, found much faster."""
        self._compile_rules(rules)
        self._term_of: dict[str, int] = {}
        """Matched text -> rule id, for texts a keyword or entity rule matched (see :meth:`_matches`)."""
        self._veto_group: list[frozenset[int]] = [frozenset()]
        """Veto regex group number -> topics the phrase vetoes."""
        self._veto_rx: re.Pattern[str] | None = None
        self._fast_veto_rx: re.Pattern[str] | None = None
        self._compile_vetoes(topics)
        self._veto_of: dict[str, frozenset[int]] = {}
        """Matched veto phrase -> topics it vetoes (memo, as :attr:`_term_of`)."""

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

    def _compile_rules(self, rules: list[Rule]) -> None:
        """ONE regex for every rule of every topic (``_rx``), and the same without markers.

        Keywords and entities are merged into two prefix trees (entities case-sensitive), so at
        each word start the engine follows one branch instead of trying every rule in turn;
        patterns follow as plain alternatives. In ``_rx`` each rule ends in an empty group whose
        number identifies it (``match.lastindex``). ``_fast_rx`` is the same expression without
        those groups: it finds exactly the same matches, but a regex with ~1,400 groups pays for
        them at every match (saving and copying the marks), so scanning uses ``_fast_rx`` and
        asks ``_rx`` only which rule a matched text is, once per distinct text.
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
        self._pattern_rules = frozenset(patterns)
        alts: list[str] = []
        fast: list[str] = []
        if keyword_trie:
            alts.append(_emit(keyword_trie, self._group_term))
            fast.append(_emit(keyword_trie, [], marker=""))
        if entity_trie:
            alts.append(f"(?-i:{_emit(entity_trie, self._group_term)})")
            fast.append(f"(?-i:{_emit(entity_trie, [], marker='')})")
        for i in sorted(patterns, key=lambda i: -len(rules[i].regex)):
            self._group_term.append(i)
            alts.append(f"(?:{rules[i].regex})()")
            fast.append(f"(?:{rules[i].regex})")
        if alts:
            self._rx = re.compile(rf"(?<!\w)(?:{'|'.join(alts)})(?!\w)", re.IGNORECASE)
            self._fast_rx = re.compile(rf"(?<!\w)(?:{'|'.join(fast)})(?!\w)", re.IGNORECASE)

    def _compile_vetoes(self, topics: list[Topic]) -> None:
        """One regex (a prefix tree) for all veto phrases; a vetoed topic takes its finer topics.

        As for the rules, ``_veto_rx`` marks each phrase with a group and ``_fast_veto_rx`` is
        the same without them.
        """
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
            return
        order: list[int] = []
        source = _emit(trie, order)
        self._veto_group.extend(frozenset(groups[k]) for k in order)
        self._veto_rx = re.compile(rf"(?<!\w)(?:{source})(?!\w)", re.IGNORECASE)
        self._fast_veto_rx = re.compile(rf"(?<!\w)(?:{_emit(trie, [], marker='')})(?!\w)", re.IGNORECASE)

    # -- public API ------------------------------------------------------------------------

    def evidence(self, item: TaggingInput) -> Evidence:
        """What the rules see in a story: every topic's score, the matched terms, the vetoes."""
        scores: dict[int, float] = {}
        title, summary = item.title, item.summary
        # a headline-only story's summary is often its title: scan that text once
        found = self._matches(title) if title and summary == title and self._rx is not None else None
        title_hits = self._scan_title(title, scores, found)
        summary_hits = self._scan_summary(summary, scores, found)
        body_hits = self._scan_body(item.body, scores)
        if not scores:  # no rule matched; an exclude phrase still vetoes what a classifier proposes
            return Evidence(scores, title_hits, summary_hits, body_hits, self._vetoed(item))
        decisive = {
            j
            for i in [*(i for i, (f, _) in title_hits.items() if f >= TITLE_WEIGHT), *summary_hits]
            for j, w in self._scoring[i]
            if w >= DECISIVE_WEIGHT
        }
        return Evidence(scores, title_hits, summary_hits, body_hits, self._vetoed(item), frozenset(decisive))

    def categorize(self, item: TaggingInput) -> list[TopicTag]:
        """Topics of one story, best first; never empty (see the module docs for the scheme)."""
        ev = self.evidence(item)
        scores, vetoed = ev.scores, ev.vetoed
        given = [j for j, s in scores.items() if s >= self._thresholds[j] and j not in vetoed]
        if not given:
            return [TopicTag(self._default, 0.0, DEFAULT_REASON)]

        # topic -> (score, given by its own rules?, reason); implications fill in the rest
        result: dict[int, tuple[float, bool, str]] = {}
        for j in given:
            result[j] = (scores[j], True, self.reason(j, ev))
        for j in sorted(given, key=lambda j: -scores[j]):
            self._imply(j, scores[j], result, vetoed)
        depth = self._depth
        ranked = sorted(result.items(), key=lambda kv: (-kv[1][0], not kv[1][1], -depth[kv[0]], kv[0]))
        return [TopicTag(self._slugs[j], round(s, 3), why) for j, (s, _, why) in ranked]

    def _vetoed(self, item: TaggingInput) -> frozenset[int]:
        """Topics vetoed by an exclude phrase in the title or summary."""
        rx = self._fast_veto_rx
        if rx is None:
            return frozenset()
        title, summary = item.title, item.summary
        found: list[str] = rx.findall(title) if title else []
        if summary and summary != title:
            found += rx.findall(summary)
        if not found:
            return frozenset()
        memo = self._veto_of
        try:
            return frozenset().union(*map(memo.__getitem__, found))
        except KeyError:
            pass
        vetoed: frozenset[int] = frozenset()
        for text in (title, summary):
            for m in rx.finditer(text):
                phrase = m.group()
                topics = memo.get(phrase)
                if topics is None:
                    topics = self._veto_group[self._identify(self._veto_rx, text, m) or 0]
                    if len(memo) >= defaults.RULE_MATCH_MEMO:
                        memo.clear()
                    memo[phrase] = topics
                vetoed |= topics
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

    def _matches(self, text: str) -> list[tuple[int, str]]:
        """(rule id, matched text) of every rule match in ``text``, in order.

        The matches are found with the marker-less regex; which rule a matched text is comes
        from :attr:`_term_of`. That memo is exact for keywords and entities: their prefix trees
        look at nothing but the matched text (and the word boundaries around it, which hold
        wherever the text matched), so the first rule, in the regex's order, that matches a
        given text whole is the same in every story. A pattern may look further (a lookahead)
        and comes after the trees, so a text a pattern matched is asked of ``_rx`` every time.
        """
        assert self._fast_rx is not None
        found = self._fast_rx.findall(text)
        if not found:
            return []
        term_of = self._term_of
        try:
            return [(term_of[s], s) for s in found]
        except KeyError:
            return [(i, s) for i, _, s in self._matches_at(text)]

    def _matches_at(self, text: str) -> list[tuple[int, int, str]]:
        """(rule id, start, matched text) of every rule match in ``text``, in order."""
        assert self._fast_rx is not None
        term_of = self._term_of
        out: list[tuple[int, int, str]] = []
        for m in self._fast_rx.finditer(text):
            s = m.group()
            i = term_of.get(s)
            if i is None:
                i = self._group_term[self._identify(self._rx, text, m) or 0]
                if i not in self._pattern_rules:
                    if len(term_of) >= defaults.RULE_MATCH_MEMO:
                        term_of.clear()
                    term_of[s] = i
            out.append((i, m.start(), s))
        return out

    @staticmethod
    def _identify(marked: re.Pattern[str] | None, text: str, m: re.Match[str]) -> int | None:
        """Number of the marker group that ``marked`` (the regex with markers) sets for the
        match ``m`` of its marker-less twin (same place, same extent)."""
        assert marked is not None
        again = marked.match(text, m.start())
        if again is None or again.end() != m.end():  # cannot happen: the two match the same
            raise RuntimeError(f"rule regexes disagree on {m.group()!r} in {text!r}")
        return again.lastindex

    def _scan_title(
        self, title: str, scores: dict[int, float], found: list[tuple[int, str]] | None = None
    ) -> dict[int, tuple[float, str]]:
        """Add title evidence to ``scores``; return rule id -> (factor, matched text).

        ``found``: the title's :meth:`_matches`, if the caller has them already.
        """
        if not title or self._rx is None:
            return {}
        hits: dict[int, tuple[float, str]] = {}
        if _QUOTE_CHARS.isdisjoint(title):
            for i, s in self._matches(title) if found is None else found:
                if i not in hits:
                    hits[i] = (TITLE_WEIGHT, s)
        else:
            spans = [m.span() for m in _QUOTED.finditer(title)]
            for i, start, s in self._matches_at(title):
                factor = TITLE_WEIGHT
                if spans and any(a <= start < b for a, b in spans):
                    factor *= QUOTED_FACTOR
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

        ``found``: the summary's :meth:`_matches`, if the caller has them already.
        """
        if not summary or self._rx is None:
            return {}
        hits: dict[int, str] = {}
        for i, s in self._matches(summary) if found is None else found:
            if i not in hits:
                hits[i] = s
        scoring = self._scoring
        for i in hits:
            for j, w in scoring[i]:
                scores[j] = scores.get(j, 0.0) + w * SUMMARY_WEIGHT
        return hits

    def _scan_body(self, body: str, scores: dict[int, float]) -> dict[int, tuple[int, str]]:
        """Add (capped, length-scaled) body evidence to ``scores``; return rule id -> (count, text)."""
        if not body or self._rx is None:
            return {}
        hits: dict[int, tuple[int, str]] = {}
        for i, s in self._matches(body):
            prev = hits.get(i)
            hits[i] = (1, s) if prev is None else (prev[0] + 1, prev[1])
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

    def reason(self, j: int, ev: Evidence, *, with_score: bool = True) -> str:
        """Why the rules give topic ``j``: the matched terms per field and the score."""
        positive = self._positive
        parts = []
        if ev.title_hits:
            terms = [
                f"'{text}' (quoted)" if f < TITLE_WEIGHT else f"'{text}'"
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

    def _scores_for(self, i: int, j: int) -> bool:
        """Whether rule ``i`` adds to topic ``j``'s score."""
        return j in self._positive[i]


_END = ""
"""Key marking the end of a rule in a prefix tree (no atom is empty)."""

_Trie = dict[str, "_Trie | int"]


def _emit(node: _Trie, ends: list[int], marker: str = "()") -> str:
    """Regex source of a prefix tree, each rule's end marked by ``marker`` (an empty group).

    The value stored at each end is appended to ``ends`` in the order of the groups, so
    ``ends[match.lastindex - 1]`` (after any groups before the tree) tells which rule matched.
    Continuations come before a rule's end, so the longest rule wins at a position (the
    word-boundary check after the tree makes the engine back off to shorter ones). With
    ``marker=""`` the source matches exactly the same (empty groups always match) but has no
    groups.
    """
    branches = [
        atom + _emit(node[atom], ends, marker)  # type: ignore[arg-type]
        for atom in sorted((a for a in node if a != _END), key=_atom_order)
    ]
    if _END in node:
        ends.append(node[_END])  # type: ignore[arg-type]
        branches.append(marker)
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


class HybridCategorizer:
    """The editors' rules plus the learned classifier, combined with a fixed precedence.

    See "How the hybrid combines the layers" in the module docs. ``categorize_many`` embeds and
    scores the whole batch at once (numpy), then decides each story in plain Python.
    """

    def __init__(self, taxonomy: Taxonomy, classifier: TopicClassifier) -> None:
        self.taxonomy = taxonomy
        self.rules = RuleCategorizer(taxonomy)
        self.classifier = classifier
        self.fusion = classifier.fusion
        topics = list(taxonomy.topics.values())
        index = {t.slug: i for i, t in enumerate(topics)}
        self._slugs = [t.slug for t in topics]
        self._thresholds = [t.threshold for t in topics]
        self._depth = [len(t.ancestors) for t in topics]
        self._top = [index[t.ancestors[-1]] if t.ancestors else i for i, t in enumerate(topics)]
        self._implied = [tuple(index[s] for s in t.implied) for t in topics]
        # head columns that are top-level topics of this taxonomy; others are ignored (a topic
        # the editors removed), and top-level topics the head does not know are rules-only
        self._columns = [
            k for k, s in enumerate(classifier.labels) if s in index and topics[index[s]].parent is None
        ]
        self._known = [index[classifier.labels[k]] for k in self._columns]
        """Taxonomy index of each (kept) head column."""
        self._col_of = {j: c for c, j in enumerate(self._known)}
        fusion = self.fusion
        self._min_prob = [
            fusion.min_probability.get(self._slugs[j], fusion.default_min_probability) for j in self._known
        ]

    def categorize(self, item: TaggingInput) -> list[TopicTag]:
        """Topics of one story, best first; never empty."""
        return self.categorize_many([item])[0]

    def categorize_many(self, items: Sequence[TaggingInput]) -> list[list[TopicTag]]:
        """Topics of each story, in input order."""
        if not items:
            return []
        evidence = [self.rules.evidence(item) for item in items]
        logits, has_text = self.classifier.logits([model_text(i.title, i.summary, i.body) for i in items])
        logits = logits[:, self._columns] if len(self._columns) != logits.shape[1] else logits
        strength = np.zeros_like(logits)
        blocked = np.zeros(logits.shape, dtype=bool)
        thresholds, col_of = self._thresholds, self._col_of
        for n, ev in enumerate(evidence):
            for j, score in ev.scores.items():
                c = col_of.get(j)
                if c is not None and score > 0:
                    strength[n, c] = score / thresholds[j]
            for j in ev.vetoed:
                c = col_of.get(j)
                if c is not None:
                    blocked[n, c] = True
        fusion = self.fusion
        z = logits + fusion.rule_weight * np.minimum(strength, fusion.rule_cap)
        z[blocked] = -np.inf
        z -= np.max(np.where(blocked, -1e30, z), axis=1, keepdims=True)
        probs = np.exp(z)
        total = probs.sum(axis=1, keepdims=True)
        probs = np.divide(probs, total, out=np.zeros_like(probs), where=total > 0)
        rows = zip(evidence, probs.tolist(), strength.tolist(), has_text.tolist(), strict=True)
        return [self._decide(ev, p, s, bool(ok)) for ev, p, s, ok in rows]

    def _decide(
        self, ev: Evidence, probs: list[float], strength: list[float], has_text: bool
    ) -> list[TopicTag]:
        """One story's tags from its rule evidence and combined probabilities (module docs)."""
        has_text = has_text and any(probs)
        # topic -> (score, reason)
        result = self._top_level(ev, probs, strength) if has_text else self._top_level_by_rules(ev)
        self._finer(ev, probs if has_text else None, result)
        if not result and has_text:  # 5. nothing else: the classifier's best guess
            c = max(range(len(probs)), key=probs.__getitem__)
            j = self._known[c]
            result[j] = (probs[c], f"classifier: {self._slugs[j]} {probs[c]:.2f} (best guess)")
        if not result:
            return [TopicTag(self.rules.taxonomy.default, 0.0, DEFAULT_REASON)]
        self._imply_all(ev, probs if has_text else None, result)
        depth, slugs = self._depth, self._slugs
        ranked = sorted(result.items(), key=lambda kv: (-round(kv[1][0], 3), depth[kv[0]], kv[0]))
        return [TopicTag(slugs[j], round(s, 3), why) for j, (s, why) in ranked]

    def _top_level(
        self, ev: Evidence, probs: list[float], strength: list[float]
    ) -> dict[int, tuple[float, str]]:
        """Steps 2-3: confident classifier topics; rule topics the classifier does not overrule."""
        result: dict[int, tuple[float, str]] = {}
        scores, thresholds, slugs = ev.scores, self._thresholds, self._slugs
        best = max(range(len(probs)), key=probs.__getitem__)
        # the classifier overrules a rule match only when it is confident about another topic
        confident = probs[best] >= self._min_prob[best]
        floor = self.fusion.rule_floor * probs[best] if confident else 0.0
        for c, j in enumerate(self._known):
            p = probs[c]
            if j in ev.vetoed or p <= 0:
                continue
            if p >= self._min_prob[c]:
                why = f"classifier: {slugs[j]} {p:.2f}"
                result[j] = (p, f"{why}; {self.rules.reason(j, ev)}" if strength[c] > 0 else why)
            elif scores.get(j, 0.0) >= thresholds[j]:
                if p >= floor:
                    result[j] = (p, f"{self.rules.reason(j, ev)}; classifier {p:.2f}")
                elif j in ev.decisive:
                    result[j] = (p, f"{self.rules.reason(j, ev)}; decisive term (classifier {p:.2f})")
        return result

    def _top_level_by_rules(self, ev: Evidence) -> dict[int, tuple[float, str]]:
        """A story without a word the model knows: the rules alone decide the known topics too."""
        thresholds = self._thresholds
        return {
            j: (_rule_confidence(ev.scores[j], thresholds[j]), self.rules.reason(j, ev))
            for j in self._known
            if j not in ev.vetoed and ev.scores.get(j, 0.0) >= thresholds[j]
        }

    def _fused(self, j: int, probs: list[float] | None, otherwise: float) -> float:
        """A known top-level topic's combined probability (what ranks it), else ``otherwise``."""
        c = self._col_of.get(j)
        return probs[c] if c is not None and probs is not None else otherwise

    def _finer(self, ev: Evidence, probs: list[float] | None, result: dict[int, tuple[float, str]]) -> None:
        """Step 4: topics the classifier does not know (finer ones, new ones) from the rules."""
        thresholds = self._thresholds
        for j, score in ev.scores.items():
            if score >= thresholds[j] and j not in ev.vetoed and j not in result and j not in self._col_of:
                conf = _rule_confidence(score, thresholds[j])
                result[j] = (min(conf, self._fused(self._top[j], probs, conf)), self.rules.reason(j, ev))

    def _imply_all(
        self, ev: Evidence, probs: list[float] | None, result: dict[int, tuple[float, str]]
    ) -> None:
        """Topics the rules give imply their ancestors and ``implies`` topics (never vetoed ones)."""
        scores, thresholds = ev.scores, self._thresholds
        fired = [j for j in result if scores.get(j, 0.0) >= thresholds[j]]
        for j in sorted(fired, key=lambda j: -result[j][0]):
            score = result[j][0]
            note = f"implied by {self._slugs[j]}"
            for k in self._implied[j]:
                if k in ev.vetoed:
                    continue
                cur = result.get(k)
                if cur is None:
                    result[k] = (self._fused(k, probs, score), note)
                elif note not in cur[1]:
                    kept = cur[0] if k in self._col_of else max(cur[0], score)
                    result[k] = (kept, f"{cur[1]}; {note}")


def _rule_confidence(score: float, threshold: float) -> float:
    """A rule score on the classifier's 0..1 scale: 0.5 at the threshold, 0.75 at twice it..."""
    return 1.0 - 0.5 ** (score / threshold)


@functools.lru_cache(maxsize=4)
def _load_classifier(model: Path, head: Path, stamp: tuple[float, ...]) -> TopicClassifier:
    """One loaded classifier per process and set of files (``stamp``: their mtimes)."""
    return TopicClassifier.load(model, head)


def _stamp(*paths: Path) -> tuple[float, ...]:
    out = []
    for path in paths:
        try:
            out.append(path.stat().st_mtime)
        except OSError:
            out.append(0.0)
    return tuple(out)


def build_categorizer(taxonomy: Taxonomy) -> Categorizer:
    """The categorizer the workers and the CLI use.

    With a ``[classifier]`` table in the taxonomy: the :class:`HybridCategorizer` (rules + the
    learned layer; raises :class:`~feeds.errors.ConfigError` if the model files are missing or
    do not fit). Without one: the editors' rules alone (:class:`RuleCategorizer`).
    """
    settings = taxonomy.classifier
    if settings is None:
        return RuleCategorizer(taxonomy)
    stamp = _stamp(settings.model / "embeddings.npy", settings.head)
    return HybridCategorizer(taxonomy, _load_classifier(settings.model, settings.head, stamp))
