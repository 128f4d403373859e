"""The shipped categorizer: the editors' rules plus the learned classifier.

:class:`HybridCategorizer` adds each top-level topic's rule evidence to the classifier's logits,
then decides with a fixed precedence: vetoes, confident classifier, rules (unless overruled),
finer topics from the rules alone, and the classifier's best guess. The precedence in full:
"How the hybrid combines the layers" in ``docs/categorizer.md``.
"""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np

from wirefeed.feeds.categorize.classifier import NONE_LABEL, TopicClassifier, model_text
from wirefeed.feeds.categorize.protocol import DEFAULT_REASON, TaggingInput
from wirefeed.feeds.categorize.rules import Evidence, RuleCategorizer
from wirefeed.feeds.categorize.taxonomy import Taxonomy
from wirefeed.feeds.stories.model import TagSource, TopicTag


class HybridCategorizer:
    """The editors' rules plus the learned classifier, combined with a fixed precedence.

    See "How the hybrid combines the layers" in ``docs/categorizer.md``. ``categorize_many`` embeds and
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
        if NONE_LABEL in classifier.labels:  # "none of these topics" takes part in the softmax
            self._columns.append(classifier.labels.index(NONE_LABEL))
        self._col_of = {j: c for c, j in enumerate(self._known)}
        fusion = self.fusion
        self._min_prob = [
            fusion.min_probability.get(self._slugs[j], fusion.default_min_probability) for j in self._known
        ]
        labels = [classifier.labels[k] for k in self._columns]
        self._offset = np.array([fusion.offsets.get(s, 0.0) for s in labels], dtype=np.float64)
        """Each column's calibrated logit offset (``Fusion.offsets``; 0 for ``_none``)."""
        weights = [fusion.rule_weights.get(s, fusion.rule_weight) for s in labels]
        self._rule_weight = np.array(weights, dtype=np.float64)
        """Each column's rule weight (``Fusion.rule_weights``, else the common ``rule_weight``)."""

    def categorize(self, item: TaggingInput) -> list[TopicTag]:
        """Topics of one story, best first; never empty."""
        return self.categorize_many([item])[0]

    def categorize_many(self, items: Sequence[TaggingInput]) -> list[list[TopicTag]]:
        """Topics of each story, in input order."""
        if not items:
            return []
        evidence = [self.rules.evidence(item) for item in items]
        logits, has_text = self.classifier.logits([model_text(i.title, i.summary, i.body) for i in items])
        # float64: numpy's float32 exp differs in the last bits with the batch's shape (SIMD
        # lanes), which could move a rounded score; a story's tags must not depend on its batch
        logits = logits[:, self._columns].astype(np.float64)
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
        z = logits + self._offset + self._rule_weight * np.minimum(strength, fusion.rule_cap)
        z[blocked] = -np.inf
        z -= np.max(np.where(blocked, -1e30, z), axis=1, keepdims=True)
        probs = np.exp(z)
        total = probs.sum(axis=1, keepdims=True)
        probs = np.divide(probs, total, out=np.zeros_like(probs), where=total > 0)
        k = len(self._known)  # a "none" column, if any, is last: it is never a tag
        none = probs[:, k] if probs.shape[1] > k else np.zeros(len(items))
        rows = zip(
            evidence, probs[:, :k].tolist(), strength.tolist(), has_text.tolist(), none.tolist(), strict=True
        )
        return [self._decide(ev, p, s, bool(ok), p_none) for ev, p, s, ok, p_none in rows]

    def _decide(
        self, ev: Evidence, probs: list[float], strength: list[float], has_text: bool, p_none: float
    ) -> list[TopicTag]:
        """One story's tags from its rule evidence and combined probabilities (see the docs)."""
        has_text = has_text and any(probs)
        # topic -> (score, reason)
        # the classifier alone gives topics only while "none of them" stays unlikely enough
        alone = p_none < self.fusion.max_none
        result = self._top_level(ev, probs, strength, alone) if has_text else self._top_level_by_rules(ev)
        self._finer(ev, probs if has_text else None, result)
        if not result and has_text and alone:  # 5. nothing else: the classifier's best guess, if any
            c = probs.index(max(probs))
            if probs[c] >= self.fusion.min_guess:
                j = self._known[c]
                result[j] = (probs[c], f"classifier: {self._slugs[j]} {probs[c]:.2f} (best guess)")
        if not result:  # no evidence: no topic (the story is still in "all"), or the editors' default
            default = self.rules.taxonomy.default
            return [TopicTag(default, 0.0, DEFAULT_REASON, "default")] if default else []
        self._imply_all(ev, probs if has_text else None, result)
        depth, slugs = self._depth, self._slugs
        ranked = sorted(result.items(), key=lambda kv: (-round(kv[1][0], 3), depth[kv[0]], kv[0]))
        return [TopicTag(slugs[j], round(s, 3), why, _decided_by(why)) for j, (s, why) in ranked]

    def _top_level(
        self, ev: Evidence, probs: list[float], strength: list[float], alone: bool
    ) -> dict[int, tuple[float, str]]:
        """Steps 2-3: confident classifier topics; rule topics the classifier does not overrule."""
        result: dict[int, tuple[float, str]] = {}
        scores, thresholds, slugs = ev.scores, self._thresholds, self._slugs
        best = probs.index(max(probs))
        # the classifier overrules a rule match only when it is confident about another topic
        confident = probs[best] >= self._min_prob[best]
        floor = self.fusion.rule_floor * probs[best] if confident else 0.0
        for c, j in enumerate(self._known):
            p = probs[c]
            if j in ev.vetoed or p <= 0:
                continue
            if p >= self._min_prob[c] and (alone or strength[c] > 0):
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


def _decided_by(reason: str) -> TagSource:
    """The layer that gave a topic: every tag the classifier decides (confident, or the best
    guess) has a reason starting ``classifier:``; rule matches and what they imply do not."""
    return "classifier" if reason.startswith(CLASSIFIER_REASON) else "rules"


CLASSIFIER_REASON = "classifier:"
"""How the reason of a topic the classifier decided begins."""
