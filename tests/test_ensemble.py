"""The ensemble model kind: weighted average of members' probabilities through the TextClassifier contract,
members by relative path / name / multi-task head, save/load round trip, `voc models list`, the accurate profile."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pytest
from helpers.multitask import build_tiny_multitask
from helpers.tinydata import sentiment_rows, tiny_sentiment_model
from typer.testing import CliRunner

from voc.pipeline import Pipeline
from voc.schema import Feedback
from voc_models import registry
from voc_models.base import ModelInfo
from voc_models.ensemble import EnsembleClassifier, EnsembleError, EnsembleFeatures, write_ensemble
from voc_models.tfidf import TfidfClassifier

TEXTS = ["Ужасный сервис, всё сломалось", "Спасибо, всё отлично, быстро помогли!", "Ок", "Деньги списали дважды."]


@pytest.fixture()
def members(tmp_path, user_registry) -> Path:
    """A folder with two different tiny TF-IDF sentiment models (a, b) next to each other."""
    texts, labels = sentiment_rows()
    a = tiny_sentiment_model("sent-a", "1")
    a.save(tmp_path / "sent-a")
    info = ModelInfo(name="sent-b", version="1", task="sentiment", kind="tfidf", labels=[])
    TfidfClassifier(info, C=0.2).fit(texts, labels, label_set=["negative", "neutral", "positive"]).save(
        tmp_path / "sent-b")
    return tmp_path


def _ens(root: Path, wa: float = 0.3, wb: float = 0.7, **kw) -> Path:
    return write_ensemble(root / "ens", [("../sent-a", wa), ("../sent-b", wb)], task="sentiment",
                          name="sent-ens", version="1", **kw)


def test_probabilities_are_the_weighted_average(members):
    ens = registry.load_model(_ens(members))
    a, b = registry.load_model(members / "sent-a"), registry.load_model(members / "sent-b")
    pa, pb = a.predict_proba(TEXTS), b.predict_proba(TEXTS)
    assert not np.allclose(pa, pb)  # the members differ, so the weights matter
    want = 0.3 * pa + 0.7 * pb
    np.testing.assert_allclose(ens.predict_proba(TEXTS), want, atol=1e-6)
    np.testing.assert_allclose(ens.predict_proba(TEXTS).sum(1), 1.0, atol=1e-5)
    # the fast-path contract gives the same numbers
    feats = ens.featurize(TEXTS)
    assert isinstance(feats, EnsembleFeatures) and len(feats) == len(TEXTS)
    np.testing.assert_allclose(ens.proba_from_features(feats), want, atol=1e-6)
    np.testing.assert_allclose(ens.proba_from_features(feats[[2, 0]]), want[[2, 0]], atol=1e-6)
    seg = ens.segment_proba(TEXTS, list(range(len(TEXTS))), TEXTS)
    np.testing.assert_allclose(seg.segments, want, atol=1e-6)
    np.testing.assert_allclose(seg.documents, want, atol=1e-6)
    assert ens.predict(TEXTS) == [ens.labels[i] for i in want.argmax(1)]


def test_documents_only_member_scores_documents_not_sentences(members):
    """A member marked ``segments: false`` is not run on sentences: they come from the other members; a sentence
    that is its whole document takes the document's probabilities; documents are the full average."""
    ens = registry.load_model(_ens(members, documents_only=[1]))
    assert ens.scores_segments == [True, False]
    assert ModelInfo.read(members / "ens").members[1]["segments"] is False
    a, b = registry.load_model(members / "sent-a"), registry.load_model(members / "sent-b")
    docs = ["Ужасный сервис. Всё сломалось, деньги не вернули.", "Ок"]
    segs = ["Ужасный сервис.", "Всё сломалось, деньги не вернули.", "Ок"]
    calls: list[list[str]] = []
    member = ens.members[1]
    real = member.featurize
    member.featurize = lambda texts: calls.append(list(texts)) or real(texts)  # type: ignore[method-assign]
    try:
        out = ens.segment_proba(segs, [0, 0, 1], docs)
    finally:
        del member.featurize
    assert calls == [docs]  # the documents-only member saw each document once and no sentence
    own = a.segment_proba(segs, [0, 0, 1], docs)  # TF-IDF documents: the sums of their sentences' counts
    want_docs = 0.3 * own.documents + 0.7 * b.predict_proba(docs)
    np.testing.assert_allclose(out.documents, want_docs, atol=1e-6)
    np.testing.assert_allclose(out.segments[:2], own.segments[:2], atol=1e-6)  # weights renormalised
    np.testing.assert_allclose(out.segments[2], want_docs[1], atol=1e-6)  # "Ок" is its whole document
    ens.save(members / "copy")
    assert EnsembleClassifier.load(members / "copy").scores_segments == [True, False]
    with pytest.raises(EnsembleError, match="documents-only"):
        EnsembleClassifier(ens.info, ens.members, [1, 1], documents_only=[0, 1])


def test_weights_normalised_and_columns_reordered(members, tmp_path):
    ens = registry.load_model(_ens(members, 1.0, 3.0))
    np.testing.assert_allclose(ens.weights, [0.25, 0.75])
    a = registry.load_model(members / "sent-a")
    # a member whose labels come in another order is mapped by label, not by column
    perm = [2, 0, 1]
    reordered = EnsembleClassifier(ModelInfo(name="x", version="1", task="sentiment", kind="ensemble",
                                             labels=[a.labels[i] for i in perm]), [a], [1.0])
    np.testing.assert_allclose(reordered.predict_proba(TEXTS), a.predict_proba(TEXTS)[:, perm], atol=1e-6)


def test_evidence_comes_from_the_tfidf_member_with_labels_mapped(members):
    ens = registry.load_model(_ens(members))
    assert ens.evidence == 0  # the first TF-IDF member (both are): the default
    neg = ens.labels.index("negative")
    spans = ens.explain_spans(TEXTS, [neg] * len(TEXTS), features=ens.featurize(TEXTS))
    direct = registry.load_model(members / "sent-a").explain_spans(TEXTS, [neg] * len(TEXTS))
    assert [[(s.start, s.end) for s in row] for row in spans] == [[(s.start, s.end) for s in row] for row in direct]
    marked = registry.load_model(write_ensemble(members / "ens-b", [("../sent-a", 1), ("../sent-b", 1)],
                                                task="sentiment", name="ens-b", version="1", evidence=1))
    assert marked.evidence == 1


def test_save_load_round_trip_and_list(members, tmp_path):
    ens = registry.load_model(_ens(members))
    copy = tmp_path / "elsewhere" / "deeper" / "ens2"
    ens.save(copy)
    info = ModelInfo.read(copy)
    assert info.kind == "ensemble" and [m["weight"] for m in info.members] == [0.3, 0.7]
    assert all((copy / m["model"] / "voc_model.json").is_file() for m in info.members)  # relative to the copy
    registry.clear_cache()
    again = registry.load_model(copy)
    np.testing.assert_allclose(again.predict_proba(TEXTS), ens.predict_proba(TEXTS), atol=1e-6)
    registry.register(copy)
    listed = {m["name"]: m for m in registry.list_models()}
    assert listed["sent-ens"]["kind"] == "ensemble" and listed["sent-ens"]["task"] == "sentiment"
    from voc_training.cli import app

    res = CliRunner().invoke(app, ["models", "list"])
    assert res.exit_code == 0 and "sent-ens@1" in res.output and "ensemble" in res.output


def test_members_by_registry_name(members):
    registry.register(members / "sent-a")
    registry.register(members / "sent-b")
    ens = registry.load_model(write_ensemble(members / "by-name", [("sent-a", 1), ("sent-b@1", 1)],
                                             task="sentiment", name="named", version="1"))
    a, b = registry.load_model("sent-a"), registry.load_model("sent-b")
    np.testing.assert_allclose(ens.predict_proba(TEXTS), (a.predict_proba(TEXTS) + b.predict_proba(TEXTS)) / 2,
                               atol=1e-6)


def test_bad_ensembles_name_the_file(members):
    path = _ens(members)
    data = json.loads((path / "voc_model.json").read_text(encoding="utf-8"))
    for members_value, match in (([], "'members' is empty"), ([{"model": "../nope", "weight": 1}], r"members\[0\]"),
                                 ([{"model": "../sent-a", "weight": "x"}], "must be a number"),
                                 ([{"model": "../sent-a", "weight": -1}], "non-negative")):
        registry.clear_cache()
        (path / "voc_model.json").write_text(json.dumps({**data, "members": members_value}), encoding="utf-8")
        with pytest.raises(EnsembleError, match=match) as err:
            registry.load_model(path)
        assert "voc_model.json" in str(err.value)
    emo = tiny_sentiment_model("emo", "1")
    emo.info.labels = ["a", "b", "c"]
    with pytest.raises(EnsembleError, match="labels"):
        EnsembleClassifier(ModelInfo(name="x", version="1", task="sentiment", kind="ensemble",
                                     labels=["negative", "neutral", "positive"]), [emo], [1.0])


@pytest.mark.slow
def test_multitask_member_serves_its_head(tmp_path, user_registry):
    mt = build_tiny_multitask(tmp_path / "mt", onnx=True)
    tiny_sentiment_model("sent-a", "1").save(tmp_path / "sent-a")
    ens = registry.load_model(write_ensemble(tmp_path / "ens", [("../mt", 0.5), ("../sent-a", 0.5)],
                                             task="sentiment", name="mixed", version="1"))
    head = registry.load_model(mt, task="sentiment")
    tfidf = registry.load_model(tmp_path / "sent-a")
    want = 0.5 * head.predict_proba(TEXTS)[:, [head.labels.index(lab) for lab in ens.labels]] \
        + 0.5 * tfidf.predict_proba(TEXTS)
    np.testing.assert_allclose(ens.predict_proba(TEXTS), want, atol=1e-5)
    assert ens.evidence == 1  # the TF-IDF member explains


def test_profiles_map_sentiment_cause_and_stage_to_the_ensembles(user_registry):
    assert "accurate" in registry.PROFILES
    teacher = registry.task_model_path("sentiment", "accurate")
    assert teacher is not None and teacher.name == "sentiment-teacher-ensemble" and teacher.parent == registry.SHIPPED_DIR
    path = registry.task_model_path("sentiment", "default")
    assert path is not None and path.name == "sentiment-ensemble" and path.parent == registry.SHIPPED_DIR
    # the default profile: sentiment on the student + TF-IDF ensemble (docs/decisions.md 67); the cause on its
    # TF-IDF head again (75), as in fast; accurate: the teacher's sentiment (the teacher's cause 77 → 81: TF-IDF)
    assert registry.SHIPPED_DEFAULTS == {"sentiment": "sentiment-ensemble"}
    path = registry.task_model_path("cause", "default")
    assert path is not None and path.name == "cause-tfidf" == registry.FAST_DEFAULTS["cause"]
    assert registry.task_model_path("cause", "fast").name.endswith("-tfidf")
    for task in ("emotions", "topics", "journey_stage", "cause"):
        assert registry.task_model_path(task, "default") == registry.task_model_path(task, "fast")
        assert registry.task_model_path(task, "accurate") == registry.task_model_path(task, "fast")


@pytest.mark.slow
def test_shipped_sentiment_ensemble(user_registry):
    """The shipped default sentiment model: 0.5/0.5 student + TF-IDF, ≤ 40 MB student, evidence from TF-IDF,
    the student scoring documents only (sentences from TF-IDF)."""
    ens = registry.load_model("sentiment-ensemble")
    assert [Path(r).name for r in ens.refs] == ["mt-student", "sentiment-tfidf"]
    np.testing.assert_allclose(ens.weights, [0.5, 0.5])
    assert ens.scores_segments == [False, True]
    assert ens.members[ens.evidence].info.kind == "tfidf"
    student = registry.SHIPPED_DIR / "mt-student"
    assert sum(p.stat().st_size for p in student.rglob("*") if p.is_file()) <= 40 * 2**20
    assert "non-commercial" in (student / "README.md").read_text(encoding="utf-8")
    pipe = Pipeline.load(components=["sentiment"], redact=False)
    assert pipe.versions["sentiment"].startswith("sentiment-ensemble@")
    _, [f] = pipe.analyze([Feedback(id="1", text="Ужасный сервис, всё сломалось, деньги не вернули")])
    assert f.sentiment == "negative"


@pytest.mark.slow
def test_shipped_teacher_and_cx_ensembles(user_registry):
    """The accurate profile's sentiment (documents only) and the opt-in teacher cause: 0.5 teacher head + 0.5 TF-IDF. The student's cause
    ensemble (opt-in since decision 75) and the unshipped stage candidate (written here): 0.5 student head + 0.5
    TF-IDF (matched by label: 7 + «—»), evidence from TF-IDF; one student pass per text serves them all."""
    from voc_training.cxlabels import ensembles

    ensembles.write("journey_stage", registry.user_dir())
    sent = registry.load_model("sentiment-teacher-ensemble")
    assert [Path(r).name for r in sent.refs] == ["mt-teacher", "sentiment-tfidf"]
    assert sent.scores_segments == [False, True] and sent.members[sent.evidence].info.kind == "tfidf"
    teacher = registry.SHIPPED_DIR / "mt-teacher"
    assert sum(p.stat().st_size for p in teacher.rglob("*") if p.is_file()) <= 48 * 2**20
    assert "non-commercial" in (teacher / "README.md").read_text(encoding="utf-8")
    cause_t = registry.load_model("cause-teacher-ensemble", task="cause")  # opt-in since decision 81
    assert [Path(r).name for r in cause_t.refs] == ["mt-teacher", "cause-tfidf"]
    assert cause_t.members[0].runner is sent.members[0].runner  # one teacher pass serves sentiment and cause
    assert [r["task"] for r in ModelInfo.read(teacher).training["refits"]] == ["cause"]
    default_sent = registry.load_model("sentiment-ensemble")
    for task in ("cause", "journey_stage"):
        ens = registry.load_model(f"{task.replace('_', '-')}-ensemble", task=task)
        assert [Path(r).name for r in ens.refs] == ["mt-student", f"{task.replace('_', '-')}-tfidf"]
        assert ens.members[0].runner is default_sent.members[0].runner  # one ONNX session and text cache
        np.testing.assert_allclose(ens.weights, [0.5, 0.5])
        assert ens.members[ens.evidence].info.kind == "tfidf" and ens.members[0].info.task == task
        assert ens.labels == ens.members[1].labels and "—" in ens.labels
        texts = ["Курьер привёз заказ на неделю позже обещанного", "Спасибо"]
        want = 0.5 * ens.members[0].predict_proba(texts)[:, ens._cols[0]] + 0.5 * ens.members[1].predict_proba(texts)
        np.testing.assert_allclose(ens.predict_proba(texts), want, atol=1e-5)
    refits = ModelInfo.read(registry.SHIPPED_DIR / "mt-student").training["refits"]
    assert [r["task"] for r in refits] == ["cause", "journey_stage"] * 2  # rounds 2 and 4 of the cxreal labels
    pipe = Pipeline.load(components=["sentiment", "cause", "journey_stage"], redact=False, profile="accurate")
    assert pipe.versions["journey_stage"].startswith("journey-stage-tfidf@")
    assert pipe.versions["cause"].startswith("cause-tfidf@")
    assert pipe.versions["sentiment"].startswith("sentiment-teacher-ensemble@")
    _, [f, _, g] = pipe.analyze([Feedback(id="1", text="Курьер привёз заказ на неделю позже обещанного"),
                                 Feedback(id="2", text="Спасибо"),
                                 Feedback(id="3", text="Ужасный сервис, всё сломалось, деньги не вернули")])
    assert f.journey_stage == "доставка" and g.sentiment == "negative" and g.cause is not None
    fast = Pipeline.load(components=["journey_stage"], redact=False, profile="fast")
    assert fast.versions["journey_stage"].startswith("journey-stage-tfidf@")


def test_cx_ensemble_writer(user_registry, tmp_path):
    """``voc_training.cxlabels.ensembles``: members by registry name outside the shipped directory, by relative
    path inside it; an unknown task is an error."""
    from voc_training.cxlabels import ensembles

    out = ensembles.write("cause", tmp_path)
    info = ModelInfo.read(out)
    assert out == tmp_path / "cause-ensemble" and info.kind == "ensemble" and info.task == "cause"
    assert info.members == [{"model": "mt-student", "weight": 0.5}, {"model": "cause-tfidf", "weight": 0.5,
                                                                       "evidence": True}]
    sent = ModelInfo.read(ensembles.write("sentiment", tmp_path, encoder="mt-teacher"))
    assert sent.name == "sentiment-teacher-ensemble" and sent.members[0] == {"model": "mt-teacher", "weight": 0.5,
                                                                             "segments": False}
    shipped = ModelInfo.read(registry.SHIPPED_DIR / "cause-ensemble")
    assert [m["model"] for m in shipped.members] == ["../mt-student", "../cause-tfidf"]
    with pytest.raises(ValueError, match="no ensemble for task 'topics'"):
        ensembles.write("topics", tmp_path)
    with pytest.raises(ValueError, match="unknown encoder"):
        ensembles.write("cause", tmp_path, encoder="bert")
