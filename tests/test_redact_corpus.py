"""The PII corpus (datasets/pii): it is in sync with its source, big enough, and the redactor meets the recall
and precision targets on it; the judged real-review keys meet the precision target. A regression fails here."""

from __future__ import annotations

import csv
from collections import Counter

import pytest

from bench.redaction import PRECISION_TARGET, TARGETS, covered, evaluate_corpus
from voc.pii import Span
from voc.redact import Redactor
from voc_datasets.pii import KINDS, REAL_MASKS, build_corpus, load_corpus, parse_marked

CASES = load_corpus()


@pytest.fixture(scope="module")
def corpus_result() -> dict:
    return evaluate_corpus(Redactor(name_engine="morph"), CASES)


def test_corpus_matches_its_source_and_size() -> None:
    assert build_corpus() == CASES, "corpus.jsonl is stale: run python -m voc_datasets.pii"
    assert len(CASES) >= 300 and sum(c["negative"] for c in CASES) >= 60
    per_kind = Counter(s["kind"] for c in CASES for s in c["spans"])
    assert set(per_kind) == set(KINDS) and min(per_kind.values()) >= 15
    assert Counter(c["tag"] for c in CASES).keys() == {"bank", "telecom", "retail", "value"}
    for c in CASES:
        assert all(c["text"][s["start"] : s["end"]] == s["text"] for s in c["spans"]), c["id"]


def test_parse_marked_rejects_bad_markup() -> None:
    assert parse_marked("тел. [[phone:8 916 123 45 67]]!") == (
        "тел. 8 916 123 45 67!", [{"start": 5, "end": 20, "kind": "phone", "text": "8 916 123 45 67"}]
    )
    with pytest.raises(ValueError, match="unknown PII kind"):
        parse_marked("[[zip:123456]]", "x:1")
    with pytest.raises(ValueError, match="unbalanced"):
        parse_marked("[[phone:8 916", "x:2")


def test_covered_needs_the_whole_span() -> None:
    gold = {"start": 2, "end": 10}
    assert covered(gold, [Span(0, 6, "phone"), Span(6, 12, "phone")])
    assert not covered(gold, [Span(0, 6, "phone"), Span(7, 12, "phone")])


@pytest.mark.parametrize("kind", KINDS)
def test_recall_target_per_kind(corpus_result: dict, kind: str) -> None:
    got = corpus_result["per_kind"][kind]
    misses = [m for m in corpus_result["misses"] if m["kind"] == kind]
    assert got["recall"] >= TARGETS[kind], misses


def test_precision_on_corpus(corpus_result: dict) -> None:
    assert corpus_result["precision_overall"] >= PRECISION_TARGET, corpus_result["false_masks"]
    assert corpus_result["hard_negatives_masked"] <= 0.03 * corpus_result["hard_negatives"]


def test_real_review_keys_are_judged_and_precise() -> None:
    with REAL_MASKS.open(encoding="utf-8", newline="") as fh:
        rows = list(csv.DictReader(fh))
    assert rows and set(rows[0]) == {"file", "row", "start", "end", "kind", "verdict"}  # keys only, no text
    verdicts = Counter(r["verdict"] for r in rows)
    assert set(verdicts) <= {"tp", "fp"}, "unjudged masks: judge them (see docs/redaction.md)"
    assert verdicts["tp"] / len(rows) >= PRECISION_TARGET
