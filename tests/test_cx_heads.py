"""The shipped cause / journey-stage / topic heads (issue #11): mapped in the registry, small, carded, used by the
pipeline; the analyzers' head + lexicon combination (stub heads); the combination simulation of
``voc_training.cxlabels.tune_heads`` matches the analyzers; training refuses bad labels clearly."""

from __future__ import annotations

import json
from collections.abc import Sequence
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
from typer.testing import CliRunner

from voc.analyzers.cause import CauseAnalyzer
from voc.analyzers.journey import JourneyStageAnalyzer
from voc.analyzers.topics import TopicAnalyzer
from voc.config import Taxonomy, Topic, load_taxonomy
from voc.pipeline import Pipeline
from voc.schema import Feedback, Findings
from voc.vocab import COMPLAINT_CAUSES, JOURNEY_STAGES
from voc_models import registry
from voc_models.base import NONE_LABEL, ModelInfo, TextClassifier
from voc_training.cxlabels.loader import TOPICS
from voc_training.cxlabels.tune_heads import CAUSE_LABELS, cause_rule, stage_rule, topics_rule
from voc_training.shipped import MAX_MODEL_BYTES
from voc_training.train_cx_defaults import MODEL_NAMES, app, head_data, train


# ---------------------------------------------------------------- the shipped heads
def test_shipped_heads_are_mapped_small_and_carded(user_registry):
    for task, name in MODEL_NAMES.items():
        assert registry.FAST_DEFAULTS[task] == name
        path = registry.task_model_path(task, "fast")
        assert path is not None and path.name == name and path.parent == registry.SHIPPED_DIR
        assert sum(p.stat().st_size for p in path.rglob("*") if p.is_file()) < MAX_MODEL_BYTES
        info = ModelInfo.read(path)
        assert info.kind == "tfidf" and info.task == task and "cv:cxreal_train" in info.metrics
        card = (path / "README.md").read_text(encoding="utf-8")
        assert "research / non-commercial" in card and "project's own" in card and "train_cx_defaults" in card
        if task not in registry.SHIPPED_DEFAULTS:
            assert registry.task_model_path(task, "default") == path  # the default profile's fallback
    labels = {task: ModelInfo.read(registry.task_model_path(task, "fast")).labels for task in MODEL_NAMES}
    assert labels["cause"] == [*COMPLAINT_CAUSES, NONE_LABEL]
    assert labels["journey_stage"] == [*JOURNEY_STAGES, NONE_LABEL]
    assert labels["topics"] == list(TOPICS) and set(load_taxonomy().names()) == set(TOPICS)
    topics = ModelInfo.read(registry.task_model_path("topics", "fast"))
    assert topics.multilabel and set(topics.thresholds) == set(TOPICS)


@pytest.fixture(scope="module")
def fast_pipe() -> Pipeline:
    return Pipeline.load(redact=False, profile="fast")


def test_pipeline_runs_the_shipped_heads(fast_pipe):
    versions = fast_pipe.versions
    assert versions["cause"].startswith("cause-tfidf@") and versions["cause"].endswith("+weak-lexicon-tfidf-1")
    assert versions["journey_stage"].startswith("journey-stage-tfidf@")
    assert versions["topics"].startswith("topics-tfidf@")
    text = "Полгода не могу закрыть вклад: в отделении говорят звонить на горячую линию, а там отправляют обратно"
    _, [f] = fast_pipe.analyze([Feedback(id="1", text=text)])
    cause = next(a for a in fast_pipe.analyzers if a.name == "cause")
    head = cause.head.pick(cause.head.proba([Feedback(id="1", text=text)])[0], force=True)
    lexicon = [Findings(feedback_id="1", sentiment="negative")]
    CauseAnalyzer(model="lexicon")([Feedback(id="1", text=text)], lexicon)
    assert f.sentiment == "negative" and f.cause is not None
    assert f.cause.name == head.label == "ошибка процесса" != lexicon[0].cause.name  # the head decided
    assert f.cause.confidence == head.confidence
    assert any(e.label == "cause:ошибка процесса" for e in f.evidence)
    assert "вклады и накопления" in f.topic_names() and f.journey_stage


def test_pipeline_cause_in_a_positive_text_and_no_stage_when_the_head_says_none(fast_pipe):
    texts = ["Спасибо оператору за помощь, но приложение постоянно вылетает при входе",
             "Отличный банк, всем рекомендую", "Подпишитесь на мой канал"]
    _, found = fast_pipe.analyze([Feedback(id=str(i), text=t) for i, t in enumerate(texts)])
    assert found[0].sentiment != "negative" and found[0].cause.name == "технический сбой"
    assert found[1].sentiment == "positive" and found[1].cause is None
    assert found[2].journey_stage is None and found[2].journey_stage_source is None
    old_rule = JourneyStageAnalyzer(head_none="lexicon")
    f = Findings(feedback_id="2")
    old_rule([Feedback(id="2", text=texts[2])], [f])
    assert (f.journey_stage, f.journey_stage_source) == ("обслуживание/поддержка", "predicted")


# ---------------------------------------------------------------- the combination, with stub heads
class Fixed(TextClassifier):
    """A head answering fixed probabilities per text (``default`` for any other text, e.g. occlusion views)."""

    def __init__(self, task: str, labels: Sequence[str], rows: dict[str, Sequence[float]],
                 default: Sequence[float], multilabel: bool = False, thresholds: dict[str, float] | None = None):
        self.info = ModelInfo(name=f"fixed-{task}", version="1", task=task, kind="tfidf", labels=list(labels),
                              multilabel=multilabel, thresholds=thresholds or {})
        self.rows, self.default = rows, default

    def predict_proba(self, texts: Sequence[str]) -> np.ndarray:
        return np.array([self.rows.get(t, self.default) for t in texts], dtype=np.float32)

    def save(self, model_dir: str | Path) -> None:  # pragma: no cover
        raise NotImplementedError


def _onehot(labels: Sequence[str], label: str, p: float) -> list[float]:
    rest = (1.0 - p) / (len(labels) - 1)
    return [p if lab == label else rest for lab in labels]


def _probs(labels: Sequence[str], given: dict[str, float]) -> list[float]:
    """``given`` probabilities, the rest spread evenly over the other labels."""
    rest = (1.0 - sum(given.values())) / (len(labels) - len(given))
    return [given.get(lab, rest) for lab in labels]


def _stub(monkeypatch, module: str, model: TextClassifier) -> None:
    from voc.analyzers.base import LazyModel

    monkeypatch.setattr(f"voc.analyzers.{module}.load_head_model",
                        lambda name, *a, **k: None if name == "lexicon" else LazyModel.of(model))


CAUSE_ROWS = {"Приложение вылетает при оплате": {"—": 0.9, "технический сбой": 0.05},
              "Курьер опоздал на три часа": {"—": 0.6, "ошибка процесса": 0.3},
              "Оператор нагрубил": {"человеческий фактор": 0.8, "—": 0.1},
              "Всё хорошо, но сайт тормозит": {"—": 0.45, "технический сбой": 0.4}}


def test_cause_combination_options(monkeypatch):
    rows = {t: _probs(CAUSE_LABELS, given) for t, given in CAUSE_ROWS.items()}
    _stub(monkeypatch, "base", Fixed("cause", CAUSE_LABELS, rows, _onehot(CAUSE_LABELS, "—", 0.9)))
    records = [Feedback(id=str(i), text=t) for i, t in enumerate(CAUSE_ROWS)]

    def run(analyzer: CauseAnalyzer, sentiment: str) -> list[str | None]:
        found = [Findings(feedback_id=r.id, sentiment=sentiment) for r in records]
        analyzer(records, found)
        return [f.cause.name if f.cause else None for f in found]

    lexicon = run(CauseAnalyzer(model="lexicon"), "negative")
    assert run(CauseAnalyzer(), "negative") == ["технический сбой", "ошибка процесса", "человеческий фактор",
                                                "технический сбой"]  # «—» on a negative record: the best cause
    old_rule = run(CauseAnalyzer(head_none="lexicon"), "negative")
    assert old_rule == [lexicon[0], lexicon[1], "человеческий фактор", lexicon[3]]
    # not negative: a cause only where the head is confident there is one (1 − P(«—») ≥ others_min)
    assert run(CauseAnalyzer(others_min=0.5), "positive") == [None, None, "человеческий фактор", "технический сбой"]
    assert run(CauseAnalyzer(), "positive")[:2] == [None, "ошибка процесса"]  # the default others_min is 0.4
    assert run(CauseAnalyzer(others_min=None), "neutral") == [None] * 4
    with pytest.raises(ValueError, match="head_none must be one of forced, lexicon"):
        CauseAnalyzer(head_none="skip")
    with pytest.raises(ValueError, match="others_min must be in"):
        CauseAnalyzer(others_min=1.5)


def test_cause_analyzer_matches_the_tuning_simulation(monkeypatch):
    rng = np.random.default_rng(3)
    texts = ["Курьер опоздал, заказ потеряли", "Приложение вылетает", "Оператор нагрубил", "Комиссия выросла",
             "Не предупредили об изменении тарифа", "Товар сломался через день", "Всё понравилось", "Ну такое"]
    rows = {t: list(rng.dirichlet(np.ones(len(CAUSE_LABELS)) * 0.5)) for t in texts}
    _stub(monkeypatch, "base", Fixed("cause", CAUSE_LABELS, rows, rows[texts[0]]))
    records = [Feedback(id=str(i), text=t) for i, t in enumerate(texts)]
    sentiments = ["negative", "positive", "neutral", "negative"] * 2
    found = [Findings(feedback_id=r.id, sentiment=s) for r, s in zip(records, sentiments, strict=True)]
    analyzer = CauseAnalyzer()
    analyzer(records, found)
    scores, _ = analyzer.score(texts)
    lexicon = [analyzer._label(row).name for row in scores]
    simulated = cause_rule(np.array([rows[t] for t in texts]), sentiments, lexicon, negative_none="forced",
                           other_to_lexicon=analyzer.other_to_lexicon, others_min=analyzer.others_min)
    assert [f.cause.name if f.cause else "" for f in found] == simulated
    old = CauseAnalyzer(other_to_lexicon=True)
    found_old = [Findings(feedback_id=r.id, sentiment=s) for r, s in zip(records, sentiments, strict=True)]
    old(records, found_old)
    assert [f.cause.name if f.cause else "" for f in found_old] == cause_rule(
        np.array([rows[t] for t in texts]), sentiments, lexicon, negative_none="forced", other_to_lexicon=True,
        others_min=old.others_min)


def test_stage_head_none_means_no_stage(monkeypatch):
    labels = [*JOURNEY_STAGES, NONE_LABEL]
    rows = {"Курьер опоздал": _onehot(labels, NONE_LABEL, 0.7), "Оплата не прошла": _onehot(labels, "оплата", 0.8)}
    _stub(monkeypatch, "base", Fixed("journey_stage", labels, rows, _onehot(labels, NONE_LABEL, 0.9)))
    records = [Feedback(id="1", text="Курьер опоздал"), Feedback(id="2", text="Оплата не прошла"),
               Feedback(id="3", text="Курьер опоздал", journey_stage="Доставка")]

    def run(analyzer: JourneyStageAnalyzer) -> list[tuple]:
        found = [Findings(feedback_id=r.id) for r in records]
        analyzer(records, found)
        return [(f.journey_stage, f.journey_stage_source) for f in found]

    assert run(JourneyStageAnalyzer()) == [(None, None), ("оплата", "predicted"), ("доставка", "record")]
    assert run(JourneyStageAnalyzer(head_none="lexicon"))[0] == ("доставка", "predicted")
    cues = np.zeros((2, 7))
    cues[0, JOURNEY_STAGES.index("доставка")] = 1.0
    assert stage_rule(np.array([rows["Курьер опоздал"], rows["Оплата не прошла"]]), cues, np.zeros((2, 7)),
                      none_min=0.0, none_to="none") == ["", "оплата"]
    with pytest.raises(ValueError, match="head_none must be one of none, lexicon"):
        JourneyStageAnalyzer(head_none="forced")


def test_topics_keyword_match_lowers_the_head_threshold(monkeypatch):
    labels = ["доставка", "оплата"]
    text = "Курьер опоздал, оплата картой"
    model = Fixed("topics", labels, {text: [0.3, 0.3]}, [0.0, 0.0], multilabel=True,
                  thresholds={"доставка": 0.5, "оплата": 0.7})
    _stub(monkeypatch, "topics", model)
    taxonomy = Taxonomy(topics=[Topic(name="доставка", keywords=["курьер"]), Topic(name="оплата", keywords=["чек"])])

    def names(analyzer: TopicAnalyzer) -> list[str]:
        f = Findings(feedback_id="1", sentiment="negative")
        analyzer([Feedback(id="1", text=text)], [f])
        return f.topic_names()

    assert names(TopicAnalyzer(taxonomy, model="stub", lexicon_factor=0.5)) == ["доставка"]  # 0.3 ≥ 0.5 × 0.5
    assert names(TopicAnalyzer(taxonomy, model="stub")) == []  # the default factor 0.75: 0.3 < 0.5 × 0.75
    assert names(TopicAnalyzer(taxonomy, model="stub", lexicon_factor=1.0)) == []
    proba = np.zeros((1, len(TOPICS)))
    proba[0, TOPICS.index("доставка")] = 0.3
    thr = np.full(len(TOPICS), 0.5)
    assert topics_rule(proba, thr, [{"доставка": 0.55}], TOPICS, mode="boost", lexicon_factor=0.5) == [["доставка"]]
    with pytest.raises(ValueError, match="lexicon_factor must be in"):
        TopicAnalyzer(taxonomy, model="lexicon", lexicon_factor=0.0)


# ---------------------------------------------------------------- training
def _frame(n: int = 70) -> pd.DataFrame:
    texts = ["Курьер опоздал на три часа", "Приложение вылетает при входе", "Оператор нагрубил и бросил трубку",
             "Спасибо, всё отлично", "Комиссия за перевод выросла", "Вклад закрыли без объяснений",
             "Мошенники списали деньги"]
    causes = ["ошибка процесса", "технический сбой", "человеческий фактор", "", "цена и условия", "ошибка процесса",
              "ошибка процесса"]
    stages = ["доставка", "обслуживание/поддержка", "обслуживание/поддержка", "", "оплата", "возврат",
              "обслуживание/поддержка"]
    topics = [["доставка"], ["приложение/сайт"], ["персонал"], [], ["цена и условия"], ["вклады и накопления"],
              ["безопасность/мошенничество"]]
    rows = [{"text": f"{texts[i % 7]} {i}", "source": "cxreal" if i % 4 else "inhouse",
             "group": "a" if i % 4 else "inhouse", "cause": causes[i % 7], "journey_stage": stages[i % 7],
             "topics": topics[i % 7] if i % 4 or i % 7 < 5 else []} for i in range(n)]
    return pd.DataFrame(rows)


@pytest.mark.slow
def test_train_writes_a_loadable_head_with_card_and_thresholds(tmp_path):
    result = train("topics", _frame(), 0, tmp_path / "topics-tfidf", n_folds=3)
    model = registry.load_model(tmp_path / "topics-tfidf")
    assert model.info.task == "topics" and model.labels == list(TOPICS) and set(model.info.thresholds) == set(TOPICS)
    assert result["cv"]["rows"] == len([i for i in range(70) if i % 4]) and result["bytes"] < MAX_MODEL_BYTES
    card = (tmp_path / "topics-tfidf" / "README.md").read_text(encoding="utf-8")
    assert "not used as negatives" in card and "cv:cxreal_train" in card
    data = head_data(_frame(), "topics")
    inhouse = data.sources.index("inhouse")
    assert "вклады и накопления" not in data.known[inhouse] and "вклады и накопления" in data.known[1]
    cause = train("cause", _frame(), 0, tmp_path / "cause-tfidf", n_folds=3)
    assert registry.load_model(tmp_path / "cause-tfidf").labels[-1] == NONE_LABEL and cause["cv"]["labelled_rows"] > 0


def test_training_refuses_bad_labels_clearly(tmp_path, cxreal_set):
    _, labels, _ = cxreal_set
    frame = pd.read_csv(labels, dtype=str, keep_default_na=False)
    frame.loc[1, "cause"] = "плохой курьер"
    bad = tmp_path / "bad.csv"
    frame.to_csv(bad, index=False)
    res = CliRunner().invoke(app, ["--labels", str(bad), "--out-dir", str(tmp_path / "out")])
    assert res.exit_code == 2
    assert f"{bad} line 3: field 'cause' has 'плохой курьер'" in res.output and "Traceback" not in res.output
    assert not (tmp_path / "out").exists()
    frame.drop(columns=["journey_stage"]).to_csv(bad, index=False)
    res = CliRunner().invoke(app, ["--labels", str(bad)])
    assert res.exit_code == 2 and "missing columns ['journey_stage']" in res.output
    res = CliRunner().invoke(app, ["--only", "sentiment"])
    assert res.exit_code == 2 and "expected one of cause, journey_stage, topics," in res.output
    assert "emotions" in res.output
    with pytest.raises(ValueError, match=r"field 'cause' has labels outside the vocabulary: \['погода'\]"):
        head_data(_frame().assign(cause="погода"), "cause")


def test_results_file_records_the_shipped_heads():
    results = json.loads((Path(__file__).resolve().parents[1] / "bench" / "results" / "cx_heads_train.json")
                         .read_text(encoding="utf-8"))
    for task in MODEL_NAMES:
        info = ModelInfo.read(registry.SHIPPED_DIR / MODEL_NAMES[task])
        assert results[task]["model"] == f"{info.name}@{info.version}"
        assert results[task]["cv"] == info.metrics["cv:cxreal_train"]


def test_a_head_retrained_the_same_day_gets_the_next_version(tmp_path):
    from voc_training.shipped import next_version, save_shipped

    assert next_version("2026.12.07-1", None) == "2026.12.07-1"
    assert next_version("2026.12.07-1", "2026.12.06-3") == "2026.12.07-1"
    assert next_version("2026.12.07-1", "2026.12.07-1") == "2026.12.07-2"
    assert next_version("2026.12.07-1", "2026.12.07-4") == "2026.12.07-5"
    assert next_version("2026.12.07-6", "2026.12.07-4") == "2026.12.07-6"
    texts = ["деньги списали дважды", "оператор нагрубил", "приложение не работает", "всё отлично"] * 5
    labels = ["ошибка процесса", "человеческий фактор", "технический сбой", NONE_LABEL] * 5
    versions = []
    for _ in range(2):
        from voc_models.tfidf import TfidfClassifier

        info = ModelInfo(name="cause-tfidf", version="2026.12.07-1", task="cause", kind="tfidf", labels=[])
        model = TfidfClassifier(info, min_df=1).fit(texts, labels, val_fraction=0.0)
        save_shipped(model, tmp_path / "cause-tfidf", "notes")
        versions.append(ModelInfo.read(tmp_path / "cause-tfidf").version)
    assert versions == ["2026.12.07-1", "2026.12.07-2"]
