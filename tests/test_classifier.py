"""The learned layer and the hybrid categorizer: held-out quality, reasons, model files, CLI.

The evaluation set (``tests/data/eval-tune.jsonl`` / ``eval-test.jsonl``) was written for this
project: wire-style headlines with one-sentence summaries, balanced over the four news groups, with
hard cases. The head is trained on the TUNE split only (``models/build/train_head.py``); these tests
report on the TEST split, through the public :func:`~wirefeed.feeds.categorize.build_categorizer`.
No test here measures time (see ``bench/classify_bench.py``).
"""

from __future__ import annotations

import json
import re
import subprocess
import sys
from collections import Counter
from pathlib import Path

import numpy as np
import pytest

from wirefeed.errors import ConfigError
from wirefeed.feeds.categorize import (
    Categorizer,
    HybridCategorizer,
    RuleCategorizer,
    TaggingInput,
    build_categorizer,
)
from wirefeed.feeds.categorize.classifier import (
    PAIR_HASH,
    TopicClassifier,
    clean_for_model,
    model_text,
    pair_buckets,
)
from wirefeed.feeds.categorize.embed import StaticEmbedder, WordPiece
from wirefeed.feeds.categorize.evaluate import GROUP_NAMES, evaluate, read_eval
from wirefeed.feeds.categorize.taxonomy import Taxonomy
from wirefeed.feeds.stories.model import TopicTag

ROOT = Path(__file__).resolve().parents[1]
TOPICS = ROOT / "config" / "topics.toml"
TUNE = ROOT / "tests" / "data" / "eval-tune.jsonl"
FRESH = ROOT / "tests" / "data" / "eval-fresh.jsonl"
"""Held out too: wire stories written after the round-5 model was chosen (four groups, no topic
outside them)."""
TEST = ROOT / "tests" / "data" / "eval-test.jsonl"
MODEL = ROOT / "models" / "mpnet-static-256"
HEAD = ROOT / "models" / "topic-head.json"


@pytest.fixture(scope="module")
def taxonomy() -> Taxonomy:
    return Taxonomy.load(TOPICS)


@pytest.fixture(scope="module")
def categorizer(taxonomy: Taxonomy) -> Categorizer:
    return build_categorizer(taxonomy)


@pytest.fixture(scope="module")
def top_level(taxonomy: Taxonomy) -> set[str]:
    return {t.slug for t in taxonomy.top_level()}


def slugs(tags: list) -> list[str]:
    return [t.slug for t in tags]


# -- the evaluation set --------------------------------------------------------------------------


def test_eval_set_is_large_balanced_split_and_hard(top_level: set[str]) -> None:
    tune, test = read_eval(TUNE), read_eval(TEST)
    assert len(tune) + len(test) >= 400
    assert len(test) >= 300
    titles = [r["title"] for r in tune + test]
    assert len(set(titles)) == len(titles), "a story is in both splits (or twice)"
    for row in tune + test:
        assert row["title"].strip() and row["summary"].strip(), row
        assert row["topic"] in top_level, row
        assert set(row["also"]) <= top_level and row["topic"] not in row["also"], row
        assert row["group"] in (*GROUP_NAMES, None), row
    groups = Counter(r["group"] for r in test if r["group"])
    assert set(groups) == set(GROUP_NAMES)
    assert min(groups.values()) >= 0.75 * max(groups.values()), groups
    assert {r["topic"] for r in test} == top_level  # health, culture, crime and politics too
    hard = Counter(r.get("hard") for r in tune + test)
    for kind in ("nowords", "deal", "strike", "shot", "record", "healthsci"):
        assert hard[kind] >= 5, (kind, hard)


_GLUE = {"the", "a", "of", "to", "in", "for", "as", "on", "and", "after", "at", "with", "by", "its", "from"}


def _title_words(title: str) -> set[str]:
    return set(re.findall(r"[a-z0-9]+", title.lower())) - _GLUE


def test_no_tune_story_retells_a_test_story() -> None:
    """The model trains on the tune split: a test story's event told again there (same words in
    the headline) would flatter the test figures (both held-out sets)."""
    test = [_title_words(r["title"]) for r in read_eval(TEST) + read_eval(FRESH)]
    for row in read_eval(TUNE):
        words = _title_words(row["title"])
        closest = max(len(words & t) / len(words | t) for t in test)
        assert closest <= 0.45, row["title"]


def test_sample_labels_are_not_in_the_eval_set() -> None:
    sample = {json.loads(line)["title"] for line in (ROOT / "tests/data/sample-labels.jsonl").open()}
    assert not sample & {r["title"] for r in read_eval(TUNE) + read_eval(TEST)}


# -- held-out quality, through the public categorizer ------------------------------------------------


def test_held_out_accuracy_and_group_recall(categorizer: Categorizer, top_level: set[str]) -> None:
    rows = read_eval(TEST)
    answers = categorizer.categorize_many([TaggingInput(r["title"], r["summary"]) for r in rows])
    report = evaluate(rows, answers, top_level)
    detail = report.summary() + "\n" + "\n".join(report.misses)
    assert report.n >= 300
    assert report.accuracy >= 0.85, detail
    for group in GROUP_NAMES:
        assert report.recall(group) >= 0.80, (group, detail)
    assert report.tag_precision() >= 0.85, detail  # multi-label kept honest


def test_groups_counted_leniently_and_by_the_first_top_level_topic(top_level: set[str]) -> None:
    """A world story tagged crime first: right by its first topic that has a group, wrong by its
    first top-level topic (as the real-news targets count)."""
    rows = [
        {"title": "a", "summary": "", "topic": "crime", "also": ["world"], "group": "world"},
        {"title": "b", "summary": "", "topic": "business", "also": [], "group": "business"},
    ]
    answers = [
        [TopicTag("crime", 0.6, ""), TopicTag("world", 0.3, "")],
        [TopicTag("business", 0.9, "")],
    ]
    report = evaluate(rows, answers, top_level)
    assert (report.accuracy, report.first_accuracy()) == (1.0, 0.5)
    assert (report.recall("world"), report.first_recall("world"), report.first_recall("business")) == (
        1.0,
        0.0,
        1.0,
    )


def test_fresh_wire_stories_by_the_first_top_level_topic(
    categorizer: Categorizer, top_level: set[str]
) -> None:
    """The real-news targets, counted as they are (the group of the first top-level topic), on
    wire stories no build step has read."""
    rows = read_eval(FRESH)
    report = evaluate(
        rows, categorizer.categorize_many([TaggingInput(r["title"], r["summary"]) for r in rows]), top_level
    )
    detail = report.summary() + "\n" + "\n".join(report.misses)
    assert report.n >= 250 and {r["group"] for r in rows} == set(GROUP_NAMES)
    assert report.first_accuracy() >= 0.86, detail
    assert min(report.first_recall("business"), report.first_recall("scitech")) >= 0.80, detail


def test_held_out_bare_headlines(categorizer: Categorizer, top_level: set[str]) -> None:
    """Most wire items are headlines without a summary: the held-out titles alone."""
    rows = read_eval(TEST)
    report = evaluate(rows, categorizer.categorize_many([TaggingInput(r["title"]) for r in rows]), top_level)
    assert report.accuracy >= 0.80, report.summary() + "\n" + "\n".join(report.misses)
    assert report.min_recall() >= 0.75, report.summary()


def test_every_tag_has_a_reason(categorizer: Categorizer) -> None:
    rows = read_eval(TEST)
    answers = categorizer.categorize_many([TaggingInput(r["title"], r["summary"]) for r in rows])
    for row, tags in zip(rows, answers, strict=True):
        assert len(set(slugs(tags))) == len(tags)
        scores = [t.score for t in tags]
        assert scores == sorted(scores, reverse=True), tags
        for tag in tags:
            assert tag.reason.strip() and 0.0 <= tag.score <= 1.0, (row["title"], tag)


def test_classifier_reasons_show_the_probability(categorizer: Categorizer) -> None:
    tags = categorizer.categorize(
        TaggingInput("White says time at Toulon has made him a better Scotland player")
    )
    assert slugs(tags)[0] == "sports"
    assert re.match(r"classifier: sports [01]\.\d\d", tags[0].reason), tags


# -- precedence: vetoes, rules, the classifier ------------------------------------------------------


@pytest.mark.parametrize(
    ("title", "summary", "want", "not_want"),
    [
        # editors' vetoes win over the classifier
        ("Celtics land veteran guard in three-team trade deal", "", {"sports"}, {"business"}),
        # a decisive sports term keeps a cricket report in sports; the model, trained on real
        # news where two country names mostly mean world news, adds world (known limit)
        ("Pakistan spinner's six wickets leave Bangladesh reeling", "", {"sports"}, set()),
        # ... but not a decisive term ("Chipmaker" = 3): a business story about a tech company
        ("Chipmaker shares slump after weak sales forecast", "", {"business", "technology"}, {"sports"}),
        # finer topics come from the rules and bring their parents
        ("Ransomware gang claims hospital data breach", "", {"cybercrime", "crime", "technology"}, set()),
        # sport without sports words, "deal"/"strike" in other senses
        ("Okafor's late header rescues point for struggling side", "", {"sports"}, {"world", "business"}),
        ("Senators strike bipartisan deal on gun safety bill", "", {"politics"}, {"sports", "business"}),
        ("Drone strike kills militia commander near border", "", {"world", "conflict"}, {"sports"}),
    ],
)
def test_precedence(
    categorizer: Categorizer, title: str, summary: str, want: set[str], not_want: set[str]
) -> None:
    tags = categorizer.categorize(TaggingInput(title, summary))
    got = set(slugs(tags))
    assert want <= got, tags
    assert not got & not_want, tags


def test_finer_topic_never_outranks_its_top_level_topic(categorizer: Categorizer, taxonomy: Taxonomy) -> None:
    rows = read_eval(TEST)
    for tags in categorizer.categorize_many([TaggingInput(r["title"]) for r in rows]):
        order = slugs(tags)
        for slug in order:
            for ancestor in taxonomy.get(slug).ancestors:
                assert ancestor in order and order.index(ancestor) < order.index(slug), tags


def test_categorize_many_matches_categorize(categorizer: Categorizer) -> None:
    items = [TaggingInput(r["title"], r["summary"]) for r in read_eval(TEST)[:40]]
    assert categorizer.categorize_many(items) == [categorizer.categorize(i) for i in items]
    assert categorizer.categorize_many([]) == []


def test_abstains_without_evidence_and_guesses_with_some(categorizer: Categorizer) -> None:
    assert categorizer.categorize(TaggingInput("")) == []
    assert categorizer.categorize(TaggingInput("!!! ??? ...")) == []
    assert categorizer.categorize(TaggingInput("Man bites dog")) == []
    assert isinstance(categorizer, HybridCategorizer) and categorizer.fusion.min_guess > 0
    # no rule matches, but the words are a football report's: the classifier's best guess
    tags = categorizer.categorize(TaggingInput("Okafor's late header rescues point for struggling side"))
    assert slugs(tags)[:1] == ["sports"] and tags[0].reason.startswith("classifier: "), tags


def test_coverage_on_the_held_out_set(categorizer: Categorizer, top_level: set[str]) -> None:
    rows = read_eval(TEST)
    report = evaluate(
        rows, categorizer.categorize_many([TaggingInput(r["title"], r["summary"]) for r in rows]), top_level
    )
    assert report.coverage >= 0.97, report.summary()


def _shipped_toml() -> str:
    return TOPICS.read_text(encoding="utf-8")


def test_editors_add_a_topic_without_code(taxonomy: Taxonomy) -> None:
    """A new top-level topic works at once through its rules; the classifier ignores it."""
    weather = '[topics.weather]\ntitle = "Weather"\n[topics.weather.keywords]\nforecast = 3\n'
    text = _shipped_toml() + "\n" + weather
    tax = Taxonomy.from_toml(text, source="test", base=TOPICS.parent)
    cat = build_categorizer(tax)
    assert isinstance(cat, HybridCategorizer)
    tags = cat.categorize(TaggingInput("Forecast promises a sunny bank holiday weekend"))
    weather = next(t for t in tags if t.slug == "weather")
    assert "title matches 'Forecast'" in weather.reason


def test_a_topic_the_head_knows_can_be_removed() -> None:
    blocks = re.split(r"(?m)^(?=\[topics\.)", _shipped_toml())
    text = "".join(b for b in blocks if not b.startswith(("[topics.culture]", "[topics.culture.")))
    tax = Taxonomy.from_toml(text, source="test", base=TOPICS.parent)
    assert "culture" not in tax
    tags = build_categorizer(tax).categorize(TaggingInput("Slow-burning family drama takes top film prize"))
    assert tags and "culture" not in slugs(tags)


# -- configuration and model files ------------------------------------------------------------------


def test_build_categorizer_picks_the_layers(taxonomy: Taxonomy) -> None:
    assert isinstance(build_categorizer(taxonomy), HybridCategorizer)
    disabled = _shipped_toml().replace("[classifier]\n", "[classifier]\nenabled = false\n")
    rules_only = Taxonomy.from_toml(disabled)
    assert rules_only.classifier is None
    assert isinstance(build_categorizer(rules_only), RuleCategorizer)


def test_missing_model_files_raise_config_error(tmp_path: Path) -> None:
    text = _shipped_toml().replace('"../models/mpnet-static-256"', f'"{tmp_path / "nope"}"')
    with pytest.raises(ConfigError, match=r"embedding model file .* is missing"):
        build_categorizer(Taxonomy.from_toml(text, base=TOPICS.parent))
    text = _shipped_toml().replace('"../models/topic-head.json"', f'"{tmp_path / "head.json"}"')
    with pytest.raises(ConfigError, match=r"topic head .* is missing"):
        build_categorizer(Taxonomy.from_toml(text, base=TOPICS.parent))


def test_stale_or_malformed_head_raises_config_error() -> None:
    embedder = StaticEmbedder(MODEL)
    head = json.loads(HEAD.read_text(encoding="utf-8"))
    with pytest.raises(ConfigError, match="other embeddings"):
        TopicClassifier(embedder, {**head, "embeddings_sha256": "0" * 64})
    with pytest.raises(ConfigError, match="not a topic head"):
        TopicClassifier(embedder, {**head, "format": "something-else"})
    with pytest.raises(ConfigError, match="malformed"):
        TopicClassifier(embedder, {k: v for k, v in head.items() if k != "fusion"})
    with pytest.raises(ConfigError, match="do not fit"):
        TopicClassifier(embedder, {**head, "bias": head["bias"][:-1]})


def test_logit_offsets_move_the_balance(taxonomy: Taxonomy) -> None:
    """``fusion.offsets`` adds a constant to a topic's logit before the softmax."""
    clf = TopicClassifier.load(MODEL, HEAD)
    head = json.loads(HEAD.read_text(encoding="utf-8"))
    item = TaggingInput("Government raises import tariffs on steel", "Exporters fear a trade war.")

    def business_score(offsets: dict[str, float]) -> float:
        fusion = {**head["fusion"], "offsets": offsets}
        shifted = TopicClassifier(clf.embedder, {**head, "fusion": fusion}, tokens=clf.token_logits)
        shifted.pair_logits = clf.pair_logits
        tags = HybridCategorizer(taxonomy, shifted).categorize(item)
        return next((t.score for t in tags if t.slug == "business"), 0.0)

    assert business_score({"business": 2.0}) > business_score({}) > business_score({"business": -2.0})


def test_rule_weights_scale_one_topics_rule_evidence(taxonomy: Taxonomy) -> None:
    """``fusion.rule_weights`` gives one topic its own weight for its rule evidence; a story no rule
    of that topic matches is tagged the same whatever the weight."""
    clf = TopicClassifier.load(MODEL, HEAD)
    head = json.loads(HEAD.read_text(encoding="utf-8"))
    matched = TaggingInput("Government raises import tariffs on steel", "Exporters fear a trade war.")
    unmatched = TaggingInput("Striker scores twice as leaders win the derby", "")

    def tags(item: TaggingInput, weights: dict[str, float]) -> list[tuple[str, float]]:
        fusion = {**head["fusion"], "rule_weights": weights}
        weighted = TopicClassifier(clf.embedder, {**head, "fusion": fusion}, tokens=clf.token_logits)
        weighted.pair_logits = clf.pair_logits
        return [(t.slug, t.score) for t in HybridCategorizer(taxonomy, weighted).categorize(item)]

    def business(weights: dict[str, float]) -> float:
        return dict(tags(matched, weights)).get("business", 0.0)

    assert business({"business": 3.0}) > business({"business": 1.0}) > business({"business": 0.0})
    assert tags(unmatched, {"business": 3.0}) == tags(unmatched, {"business": 0.0})


@pytest.mark.parametrize(
    ("table", "message"),
    [
        ('[classifier]\nmodel = "m"\n', "'head' must be a path"),
        ('[classifier]\nmodel = "m"\nhead = "h"\nfoo = 1\n', "unknown key"),
        ('[classifier]\nmodel = "m"\nhead = "h"\nenabled = "yes"\n', "true or false"),
        ('classifier = "m"\n', "must be a table"),
    ],
)
def test_bad_classifier_table_raises_config_error(table: str, message: str) -> None:
    toml = table + '[topics.crime]\ntitle = "Crime"\n[topics.crime.keywords]\nrobbery = 3\n'
    with pytest.raises(ConfigError, match=re.escape(message)):
        Taxonomy.from_toml(toml)


def test_shipped_model_is_small_and_consistent() -> None:
    head = json.loads(HEAD.read_text(encoding="utf-8"))
    tokens = HEAD.parent / head["token_logits"]["file"]
    tables = [HEAD.parent / head[k]["file"] for k in ("token_logits", "pair_logits") if k in head]
    size = sum(p.stat().st_size for p in [*MODEL.iterdir(), HEAD, *tables])
    assert size < 50_000_000, size
    meta = json.loads((MODEL / "meta.json").read_text(encoding="utf-8"))
    assert head["embeddings_sha256"] == meta["embeddings_sha256"]
    data = head["trained"]["data"]
    assert "train part" in data["wikipedia"] and "train part" in data["huffpost"]  # never test parts
    assert data["own"].startswith("tests/data/eval-tune.jsonl")  # never eval-test
    assert "all-mpnet-base-v2" in meta["source"]
    assert np.load(tokens).shape == (meta["vocab_size"], len(head["labels"]))


def test_altered_token_table_raises_config_error(tmp_path: Path) -> None:
    head = json.loads(HEAD.read_text(encoding="utf-8"))
    (tmp_path / "head.json").write_text(json.dumps(head), encoding="utf-8")
    with pytest.raises(ConfigError, match="missing"):
        TopicClassifier.load(MODEL, tmp_path / "head.json")
    table = np.load(HEAD.parent / head["token_logits"]["file"])
    np.save(tmp_path / head["token_logits"]["file"], table * 2)
    with pytest.raises(ConfigError, match="not the token table"):
        TopicClassifier.load(MODEL, tmp_path / "head.json")
    np.save(tmp_path / head["token_logits"]["file"], table)
    pairs = np.load(HEAD.parent / head["pair_logits"]["file"])
    np.save(tmp_path / head["pair_logits"]["file"], pairs[:, :-1])
    with pytest.raises(ConfigError, match="not the pair table"):
        TopicClassifier.load(MODEL, tmp_path / "head.json")
    clf = TopicClassifier.load(MODEL, HEAD)
    with pytest.raises(ConfigError, match="pair logits"):
        TopicClassifier(clf.embedder, head, tokens=clf.token_logits, pairs=pairs[:, :-1])


def test_token_pairs_stay_within_a_story() -> None:
    flat = np.array([5, 6, 7, 8, 9, 10])
    buckets = pair_buckets(flat, np.array([0, 1, 4]), 100)
    assert buckets.tolist() == [100, (6 * PAIR_HASH + 7) % 100, (7 * PAIR_HASH + 8) % 100, 100, 37, 100]
    clf = TopicClassifier.load(MODEL, HEAD)
    assert clf.pair_logits is not None and not clf.pair_logits[-1].any()  # the "no pair" row
    texts = ["Interest rates rise", "World Cup final", "Supreme Court ruling"]
    together, _ = clf.logits(texts)
    alone = np.vstack([clf.logits([t])[0] for t in texts])
    assert np.allclose(together, alone, atol=1e-5)
    # the pair table is part of a story's logits: the same tokens in another order differ
    swapped, _ = clf.logits(["rates interest rise"])
    assert not np.allclose(swapped[0], together[0])


# -- tokenizer and embeddings -----------------------------------------------------------------------


@pytest.fixture(scope="module")
def embedder() -> StaticEmbedder:
    return StaticEmbedder(MODEL)


@pytest.mark.parametrize(
    ("text", "tokens"),
    [
        ("Chipmaker shares slump", ["chip", "##maker", "shares", "slump"]),
        ("Café owner's “quote”", ["cafe", "owner", "'", "s", "“", "quote", "”"]),
        ("AI-fuelled $5bn sell-off", ["ai", "-", "fuel", "##led", "$", "5", "##bn", "sell", "-", "off"]),
        ("東京 talks", ["東", "京", "talks"]),
    ],
)
def test_wordpiece_matches_the_bert_tokenizer(embedder: StaticEmbedder, text: str, tokens: list[str]) -> None:
    assert embedder.tokenizer.tokens(text) == tokens


def test_unknown_and_overlong_words_contribute_nothing() -> None:
    wp = WordPiece({"a": 0, "##b": 1})
    assert wp.ids("ab ac") == [0, 1]  # "ac" cannot be split: left out
    assert wp.ids("a" * 101) == []


def test_embeddings_are_unit_vectors_or_zero(embedder: StaticEmbedder) -> None:
    vectors = embedder.embed(["Markets rally", "", "Markets rally"])
    assert vectors.shape == (3, embedder.dims)
    assert np.isclose(np.linalg.norm(vectors[0]), 1.0, atol=1e-5)
    assert not vectors[1].any()
    means = embedder.embed(["Markets rally"], normalize=False)
    assert np.allclose(means[0] / np.linalg.norm(means[0]), vectors[0], atol=1e-5)


def test_model_text_decodes_entities_and_uses_the_body_start() -> None:
    raw = "Fed&#39;s move &amp; markets #39;rally#39; <b>now</b>"
    assert clean_for_model(raw) == "Fed's move & markets 'rally'  now "
    assert model_text("Title", "", "one two three") == "Title one two three"
    assert model_text("Title", "Summary", "body text") == "Title Summary"


# -- the command line ----------------------------------------------------------------------------------


def test_wirefeed_classify_handles_10000_lines(tmp_path: Path) -> None:
    rows = read_eval(TEST)
    lines = [
        json.dumps({"id": n, "title": row["title"], "summary": row["summary"]})
        for n, row in ((n, rows[n % len(rows)]) for n in range(10_000))
    ]
    result = subprocess.run(
        [sys.executable, "-m", "wirefeed", "classify"],
        input="\n".join(lines) + "\n",
        capture_output=True,
        text=True,
        cwd=ROOT,
        check=False,
    )
    assert result.returncode == 0, result.stderr
    out = [json.loads(line) for line in result.stdout.splitlines()]
    assert len(out) == 10_000
    assert [o["id"] for o in out] == list(range(10_000))
    for o in out[: len(rows)]:
        assert o["topics"] and set(o["scores"]) == set(o["topics"]) == set(o["reasons"])
        assert all(o["reasons"].values())
    # the same code path as the service: identical answers for the first stories
    cat = build_categorizer(Taxonomy.load(TOPICS))
    first = cat.categorize(TaggingInput(rows[0]["title"], rows[0]["summary"]))
    assert out[0]["topics"] == slugs(first)
