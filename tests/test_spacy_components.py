"""The analyzers as spaCy components: the Doc (tokens, lemmas, sentences), factories with assigns/requires,
span-group evidence, redaction as the first component, lazy model loading."""

import pytest
from spacy.language import Language

from voc.analyzers.base import LazyModel
from voc.analyzers.cause import CauseAnalyzer
from voc.analyzers.components import SPECS
from voc.analyzers.lexicon import PhraseIndex
from voc.analyzers.nlp import attach, findings_of, make_docs, make_nlp, record_of, word_view
from voc.analyzers.sentiment import SentimentAnalyzer
from voc.pipeline import Pipeline
from voc.schema import Feedback, Findings
from voc.text import lemma, sentences, words

TEXT = "Курьер опоздал на 3 дня!  Т.е. деньги за доставку так и не вернули.\nКарта лояльности, увы, не работает."


def test_doc_words_lemmas_and_sentences_match_voc_text():
    nlp = make_nlp()
    doc = nlp(TEXT)
    assert doc.text == TEXT
    lemmas, spans, _ = word_view(doc)
    assert lemmas == [lemma(w.text) for w in words(TEXT)]
    assert spans == [(w.start, w.end) for w in words(TEXT)]
    assert [t.lemma_ for t in doc if t.text == "деньги"] == ["деньги"]  # LEMMA_OVERRIDES apply
    starts = [t.idx for t in doc if t.is_sent_start]
    assert starts == [s.start for s in sentences(TEXT)]


def test_every_builtin_analyzer_is_a_factory_with_assigns_and_requires():
    for name, (assigns, requires) in SPECS.items():
        meta = Language.get_factory_meta(f"voc_{name}")
        assert meta.assigns == assigns and meta.requires == requires
    assert "doc._.sentiment" in Language.get_factory_meta("voc_topics").requires
    assert Language.get_factory_meta("voc_redact").assigns == ["doc._.record"]


def test_pipeline_is_a_spacy_pipeline_redaction_first_and_no_problems():
    pipe = Pipeline.load(profile="fast")
    names = pipe.nlp.pipe_names
    assert names[0] == "voc_redact"
    assert names[1:3] == ["voc_lemmatizer", "voc_sentencizer"]
    assert names[3:] == ["sentiment", "emotions", "topics", "cause", "journey_stage"]
    problems = pipe.nlp.analyze_pipes()["problems"]
    assert all(not p for p in problems.values()), problems


def test_components_built_by_name_write_doc_extensions_and_span_groups():
    nlp = make_nlp()
    nlp.add_pipe("voc_sentiment", config={"options": {"profile": "fast"}})
    nlp.add_pipe("voc_topics", config={"options": {"model": "lexicon"}})
    nlp.add_pipe("voc_cause", config={"options": {"model": "lexicon"}})
    rec = Feedback(id="1", text=TEXT)
    doc = nlp(attach(nlp.make_doc(rec.text), rec, Findings(feedback_id="1")))
    assert doc._.sentiment == "negative" and doc._.findings.sentiment == "negative"
    assert {t.name for t in doc._.topics} >= {"доставка", "бонусы и лояльность"}
    assert doc._.cause is not None
    group = doc.spans["evidence:topics"]
    found = {(s.label_, s.start_char, s.end_char) for s in group}
    expected = {(e.label, e.start, e.end) for e in doc._.evidence if e.label.startswith("topic:")}
    assert found == expected and len(group.attrs["weights"]) == len(group)
    assert "evidence:sentiment" in doc.spans


def test_phrases_match_lemmas_longest_first_and_not_across_punctuation():
    index = PhraseIndex({"карты": ["карта"], "бонусы": ["карта лояльности"], "возврат": ["вернуть деньги"]})
    labels = [m.label for m in index.match_text("Карты лояльности нет, карту заблокировали")]
    assert labels == ["бонусы", "карты"]
    assert [m.label for m in index.match_text("вернули деньги")] == ["возврат"]
    assert index.match_text("вернули, деньги") == []


def test_models_load_on_first_use_not_when_built():
    analyzer = SentimentAnalyzer(profile="fast")
    assert isinstance(analyzer.lazy, LazyModel) and not analyzer.lazy.loaded
    cause = CauseAnalyzer(model="lexicon")
    assert cause._similarity is None
    rec = Feedback(id="1", text="Ужасно, деньги списали дважды")
    f = Findings(feedback_id="1")
    analyzer([rec], [f])
    cause([rec], [f])
    assert analyzer.lazy.loaded and cause._similarity is not None
    assert f.model_versions["sentiment"].startswith("sentiment-tfidf@")  # profile "fast"


def test_a_named_model_is_checked_when_built(tmp_path):
    with pytest.raises(FileNotFoundError, match=str(tmp_path / "absent")):
        SentimentAnalyzer(model=str(tmp_path / "absent"))


def test_pipeline_records_versions_once_and_evidence_is_not_duplicated():
    pipe = Pipeline.load(profile="fast", redact=False)
    rec = Feedback(id="1", text=TEXT)
    _, (first,) = pipe.analyze([rec])
    _, (again,) = pipe.analyze([rec])
    assert first.evidence == again.evidence
    assert set(first.model_versions) == {"sentiment", "emotions", "topics", "cause", "journey_stage"}


def test_redaction_component_masks_before_the_analyzers_and_gate_counts_skip_it():
    pipe = Pipeline.load(profile="fast", components=["sentiment"])
    rec = Feedback(id="1", text="Позвоните мне 8 999 123-45-67, деньги не вернули")
    (red,), (f,) = pipe.analyze([rec])
    assert "[ТЕЛЕФОН]" in red.text and f.pii_masked.get("phone") == 1
    assert all("999" not in s.text for s in f.sentences)
    (same,), (g,) = pipe.analyze([rec], pii_counts=[{"phone": 2}])
    assert same.text == rec.text and g.pii_masked == {"phone": 2}


def test_analyzer_called_on_records_makes_its_own_docs():
    recs = [Feedback(id=str(i), text=t) for i, t in enumerate(["Отличный сервис", "Курьер опоздал"])]
    docs = make_docs(recs, [Findings(feedback_id=r.id) for r in recs])
    assert [d._.record.id for d in docs] == ["0", "1"] and all(d.has_annotation("LEMMA") for d in docs)
    assert all(record_of(d) is d._.record and findings_of(d) is d._.findings for d in docs)


def test_pipeline_docs_carry_span_groups_and_analyze_skips_them():
    pipe = Pipeline.load(profile="fast", redact=False)
    rec = Feedback(id="1", text=TEXT)
    (doc,) = pipe.docs([rec])
    assert doc._.findings.model_versions and "evidence:topics" in doc.spans
    _, (f,) = pipe.analyze([rec])
    assert f.evidence == doc._.findings.evidence
