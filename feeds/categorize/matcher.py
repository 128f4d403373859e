"""Which editorial rules match a text: every rule of a taxonomy compiled into one regex.

:class:`RuleMatcher` finds the rule matches of a text (rule id, position, matched text) and the
topics its veto phrases remove; :class:`~wirefeed.feeds.categorize.rules.RuleCategorizer` turns
them into scores. How the regex is built, and why it has a marker-less twin: "One regular
expression" in ``docs/categorizer.md``.
"""

from __future__ import annotations

import re

from wirefeed.config import defaults
from wirefeed.feeds.categorize.phrases import Rule
from wirefeed.feeds.categorize.taxonomy import Topic
from wirefeed.feeds.categorize.trie import END, Trie, emit, insert


class RuleMatcher:
    """The rules and veto phrases of a taxonomy's topics (in taxonomy order), compiled.

    A *rule id* numbers a distinct rule (by what it matches), a *topic* its index in ``topics``.
    """

    def __init__(self, topics: list[Topic]) -> None:
        self._index = {t.slug: i for i, t in enumerate(topics)}
        rules = self._collect_rules(topics)
        self.empty = not rules
        """Whether there are no rules at all (nothing can match)."""
        self._group_term: list[int] = [0]
        """Regex group number -> rule id (the groups are empty markers at each rule's end)."""
        self._rx: re.Pattern[str] | None = None
        """The rules' regex with a marker group per rule: tells which rule a match is."""
        self._fast_rx: re.Pattern[str] | None = None
        """The same regex without the marker groups: the same matches, found much faster."""
        self._compile_rules(rules)
        self._term_of: dict[str, int] = {}
        """Matched text -> rule id, for texts a keyword or entity rule matched (see :meth:`matches`)."""
        self._veto_group: list[frozenset[int]] = [frozenset()]
        """Veto regex group number -> topics the phrase vetoes."""
        self._veto_rx: re.Pattern[str] | None = None
        self._fast_veto_rx: re.Pattern[str] | None = None
        self._compile_vetoes(topics)
        self._veto_of: dict[str, frozenset[int]] = {}
        """Matched veto phrase -> topics it vetoes (memo, as :attr:`_term_of`)."""

    def _collect_rules(self, topics: list[Topic]) -> list[Rule]:
        """Distinct rules (by what they match), by rule id; fills :attr:`scoring` and :attr:`positive`."""
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
        self.scoring: list[tuple[tuple[int, float], ...]] = []
        """Rule id -> (topic, weight) pairs: the topics that list the rule, and their ancestors that
        don't (with the largest weight among their descendants)."""
        for weights in direct:
            rolled = dict(weights)
            for j, w in weights.items():
                for a in (self._index[s] for s in topics[j].ancestors):
                    if a not in weights:
                        rolled[a] = max(rolled.get(a, w), w)
            self.scoring.append(tuple(rolled.items()))
        self.positive = [frozenset(j for j, w in pairs if w > 0) for pairs in self.scoring]
        """Rule id -> topics whose score the rule raises."""
        return rules

    def _compile_rules(self, rules: list[Rule]) -> None:
        """ONE regex for every rule of every topic (``_rx``), and the same without markers.

        Keywords and entities are merged into two prefix trees (entities case-sensitive); patterns
        follow as plain alternatives. In ``_rx`` each rule ends in an empty group whose number
        identifies it (``match.lastindex``); ``_fast_rx`` finds the same matches without them.
        """
        keyword_trie: Trie = {}
        entity_trie: Trie = {}
        patterns: list[int] = []
        for i, rule in enumerate(rules):
            if not rule.atoms:
                patterns.append(i)
                continue
            insert(entity_trie if rule.case_sensitive else keyword_trie, rule.atoms)[END] = i
        self._pattern_rules = frozenset(patterns)
        alts: list[str] = []
        fast: list[str] = []
        if keyword_trie:
            alts.append(emit(keyword_trie, self._group_term))
            fast.append(emit(keyword_trie, [], marker=""))
        if entity_trie:
            alts.append(f"(?-i:{emit(entity_trie, self._group_term)})")
            fast.append(f"(?-i:{emit(entity_trie, [], marker='')})")
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
        trie: Trie = {}
        groups: list[set[int]] = []
        for t in topics:
            vetoed = {self._index[t.slug]} | {self._index[d.slug] for d in topics if t.slug in d.ancestors}
            for rule in t.exclude:
                node = insert(trie, rule.atoms)
                if END not in node:
                    node[END] = len(groups)
                    groups.append(set())
                groups[node[END]].update(vetoed)  # type: ignore[index]
        if not trie:
            return
        order: list[int] = []
        source = emit(trie, order)
        self._veto_group.extend(frozenset(groups[k]) for k in order)
        self._veto_rx = re.compile(rf"(?<!\w)(?:{source})(?!\w)", re.IGNORECASE)
        self._fast_veto_rx = re.compile(rf"(?<!\w)(?:{emit(trie, [], marker='')})(?!\w)", re.IGNORECASE)

    def vetoed(self, title: str, summary: str) -> frozenset[int]:
        """Topics vetoed by an exclude phrase in the title or summary."""
        rx = self._fast_veto_rx
        if rx is None:
            return frozenset()
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

    def matches(self, text: str) -> list[tuple[int, str]]:
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
            return [(i, s) for i, _, s in self.matches_at(text)]

    def matches_at(self, text: str) -> list[tuple[int, int, str]]:
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
