"""voc_training.cxlabels evaluation: metrics equal scikit-learn's, per-source numbers add up, the loader and the
predictions files fail clearly, labels are validated, encoders (tiny real model and a mock) and the TF-IDF heads
produce vocabulary labels. Synthetic data only, except the last test (skipped without ../shared/datasets)."""

from __future__ import annotations

import gzip
import json
import random
from pathlib import Path
from types import SimpleNamespace

import numpy as np
import pandas as pd
import pytest
from helpers.cxreal import SOURCES
from sklearn.metrics import accuracy_score, confusion_matrix, f1_score
from sklearn.preprocessing import MultiLabelBinarizer

from voc.vocab import COMPLAINT_CAUSES, EMOTIONS, JOURNEY_STAGES, SENTIMENTS
from voc_training.cxlabels import evaluate as cx_eval
from voc_training.cxlabels.loader import TOPICS, load_cxreal, validate_labels
from voc_training.cxlabels.metrics import NONE, Predictions, score, score_all
from voc_training.cxlabels.predictions import read_predictions
from voc_training.cxlabels.report import END, START
from voc_training.data import DataError


def synthetic(n: int = 90, seed: int = 0) -> tuple[pd.DataFrame, Predictions]:
    """Gold rows over three sources/two domains and noisy predictions of every field."""
    rng = random.Random(seed)
    rows, pred = [], {k: [] for k in ("sentiment", "cause", "journey_stage", "topics", "emotions")}
    for i in range(n):
        cause = COMPLAINT_CAUSES[i % 7] if i % 3 else ""
        stage = JOURNEY_STAGES[i % 7] if i % 4 else ""
        g = {"text": f"текст {i}", "source": SOURCES[i % 3], "row": i, "domain": "bank" if i % 3 else "retail",
             "sentiment": SENTIMENTS[i % 3], "cause": cause, "journey_stage": stage,
             "topics": rng.sample(TOPICS, rng.randint(0, 3)), "emotions": rng.sample(EMOTIONS, rng.randint(0, 2))}
        rows.append(g)
        pred["sentiment"].append(g["sentiment"] if rng.random() < 0.7 else rng.choice(SENTIMENTS))
        pred["cause"].append(cause if rng.random() < 0.6 else rng.choice(["", *COMPLAINT_CAUSES]))
        pred["journey_stage"].append(stage if rng.random() < 0.6 else rng.choice(["", *JOURNEY_STAGES]))
        pred["topics"].append(g["topics"][:1] + ([rng.choice(TOPICS)] if rng.random() < 0.3 else []))
        pred["emotions"].append(g["emotions"] if rng.random() < 0.5 else rng.sample(EMOTIONS, 1))
    return pd.DataFrame(rows), Predictions("noisy", pred)


def test_metrics_equal_sklearn():
    gold, pred = synthetic()
    s = score(gold, pred)
    p = pred.fields
    assert s["sentiment"]["macro_f1"] == round(f1_score(gold["sentiment"], p["sentiment"], average="macro"), 4)
    assert s["sentiment"]["accuracy"] == round(accuracy_score(gold["sentiment"], p["sentiment"]), 4)
    for name, vocab in (("cause", COMPLAINT_CAUSES), ("journey_stage", JOURNEY_STAGES)):
        keep = gold[name] != ""
        g, q = list(gold[name][keep]), [x for x, k in zip(p[name], keep, strict=True) if k]
        labels = [v for v in vocab if v in set(g) | set(q)]
        assert s[name]["rows"] == len(g)
        assert s[name]["accuracy"] == round(accuracy_score(g, q), 4)
        assert s[name]["macro_f1"] == round(f1_score(g, q, labels=labels, average="macro", zero_division=0), 4)
        has_g, has_p = (gold[name] != "").to_numpy(), np.array([bool(x) for x in p[name]])
        assert s[name]["detection"]["f1"] == round(f1_score(has_g, has_p), 4)
        assert s[name]["accuracy_all_rows"] == round(accuracy_score(list(gold[name]), p[name]), 4)
    for name, vocab in (("topics", TOPICS), ("emotions", EMOTIONS)):
        mlb = MultiLabelBinarizer(classes=list(vocab))
        y, yp = mlb.fit_transform(gold[name]), mlb.transform(p[name])
        assert s[name]["micro_f1"] == round(f1_score(y, yp, average="micro", zero_division=0), 4)
        present = y.any(0) | yp.any(0)
        assert s[name]["macro_f1"] == round(f1_score(y[:, present], yp[:, present], average="macro",
                                                     zero_division=0), 4)
        assert s[name]["per_label_f1"] == {lab: round(v, 4) for lab, v, keep in zip(
            vocab, f1_score(y, yp, average=None, zero_division=0), present, strict=True) if keep}
    conf = score_all(gold, pred)["confusion"]["cause"]
    expected = confusion_matrix([c or NONE for c in gold["cause"]], [c or NONE for c in p["cause"]],
                                labels=[*COMPLAINT_CAUSES, NONE])
    assert conf["labels"][-1] == NONE and np.array_equal(np.array(conf["matrix"]), expected)


def test_perfect_predictions_score_one():
    gold, _ = synthetic(40)
    perfect = Predictions("gold", {k: list(gold[k]) for k in ("sentiment", "cause", "journey_stage", "topics",
                                                              "emotions")})
    o = score_all(gold, perfect)["overall"]
    assert o["cause"]["accuracy"] == o["journey_stage"]["macro_f1"] == o["topics"]["micro_f1"] == 1.0
    assert o["journey_stage"]["empty_recall"] == 1.0 and o["cause"]["detection"]["fp"] == 0


def test_per_source_breakdown_sums_to_overall():
    gold, pred = synthetic(100, seed=3)
    result = score_all(gold, pred)
    overall = result["overall"]
    for by in ("by_source", "by_domain"):
        groups = result[by].values()
        assert sum(g["rows"] for g in groups) == overall["rows"] == len(gold)
        for fld in ("sentiment", "cause", "journey_stage", "topics", "emotions"):
            assert sum(g[fld]["rows"] for g in groups) == overall[fld]["rows"]
            assert sum(g[fld]["correct"] for g in groups) == overall[fld]["correct"]
        for fld in ("cause", "journey_stage"):
            for k in ("tp", "fp", "fn", "tn"):
                assert sum(g[fld]["detection"][k] for g in groups) == overall[fld]["detection"][k]
            assert sum(g[fld]["empty_rows"] for g in groups) == overall[fld]["empty_rows"]
    assert set(result["by_source"]) == set(SOURCES)
    assert result["targets"]["cause.accuracy"]["target"] == 0.75


def test_score_rejects_misaligned_predictions():
    gold, pred = synthetic(10)
    pred.fields["cause"] = pred.fields["cause"][:-1]
    with pytest.raises(ValueError, match="9 cause predictions for 10 gold rows"):
        score_all(gold, pred)


# ---------------------------------------------------------------- loader
def test_loader_joins_texts(tmp_path, cxreal_set):
    root, labels, texts = cxreal_set
    frame = load_cxreal("eval", root=root, labels_file=labels)
    assert list(frame["text"]) == [texts[0], texts[2]]
    assert frame["topics"][0] == ["доставка", "скорость/ожидание"] and frame["evidence"][0] == "Курьер"
    assert len(load_cxreal(root=root, labels_file=labels)) == 3


def test_loader_fails_on_changed_text(tmp_path, cxreal_set):
    root, labels, _ = cxreal_set
    with open(root / SOURCES[0], "w", encoding="utf-8", newline="") as fh:
        fh.write("text,label\nКурьер опоздал на ЧЕТЫРЕ часа,x\nКарту заблокировали без объяснений,x\n")
    with pytest.raises(DataError, match=r"alpha/all.csv row 0 changed \(hash"):
        load_cxreal("eval", root=root, labels_file=labels)


def test_loader_fails_on_missing_row_or_file(tmp_path, cxreal_set):
    root, labels, _ = cxreal_set
    with gzip.open(root / SOURCES[2], "wt", encoding="utf-8") as fh:
        fh.write("только одна строка\n")
    with pytest.raises(DataError, match=r"gamma.txt.gz has no row 1 \(labels line 4\)"):
        load_cxreal(root=root, labels_file=labels)
    (root / SOURCES[0]).unlink()
    with pytest.raises(DataError, match="alpha/all.csv is missing"):
        load_cxreal(root=tmp_path / "elsewhere", labels_file=labels)


@pytest.mark.parametrize(("field", "value", "message"), [
    ("cause", "плохой курьер", "field 'cause' has 'плохой курьер'"),
    ("journey_stage", "доставкa", "field 'journey_stage'"),
    ("sentiment", "mixed", "field 'sentiment'"),
    ("topics", "доставка|погода", r"field 'topics' has unknown \['погода'\]"),
    ("emotions", "скука", "field 'emotions' has unknown"),
])
def test_label_names_are_validated(tmp_path, field, value, message, cxreal_set):
    _, labels, _ = cxreal_set
    rows = pd.read_csv(labels, dtype=str, keep_default_na=False).to_dict("records")
    rows[1][field] = value
    with pytest.raises(DataError, match=f"line 3: {message}"):
        validate_labels(rows)


# ---------------------------------------------------------------- predictions files
def write_jsonl(path: Path, objs: list[dict]) -> Path:
    path.write_text("".join(json.dumps(o, ensure_ascii=False) + "\n" for o in objs), encoding="utf-8")
    return path


def test_predictions_file_round_trip(tmp_path, cxreal_set):
    root, labels, _ = cxreal_set
    gold = load_cxreal("eval", root=root, labels_file=labels)
    lines = [{"source": SOURCES[0], "row": 0, "text_sha1": gold["text_sha1"][0], "cause": "технический сбой",
              "journey_stage": None, "topics": "доставка|оплата", "emotions": ["нет эмоции"], "method": "zs"},
             {"source": SOURCES[0], "row": 1, "cause": "другое", "journey_stage": "", "topics": [], "emotions": []},
             {"index": 1, "cause": "—", "journey_stage": "оплата", "topics": [], "emotions": ["благодарность"]}]
    pred = read_predictions(write_jsonl(tmp_path / "p.jsonl", lines), gold, labels_file=labels)
    assert pred.method == "zs" and pred.notes["ignored_train_rows"] == 1
    assert pred.fields == {"cause": ["технический сбой", ""], "journey_stage": ["", "оплата"],
                           "topics": [["доставка", "оплата"], []], "emotions": [[], ["благодарность"]]}
    s = score_all(gold, pred)["overall"]
    assert "sentiment" not in s and s["cause"]["rows"] == 1 and s["cause"]["accuracy"] == 0.0


@pytest.mark.parametrize(("lines", "message"), [
    ([{"index": 0, "cause": "опечатка"}, {"index": 1, "cause": ""}], r"p.jsonl line 1: field 'cause' has 'опечатка'"),
    ([{"index": 0, "topics": ["погода"]}, {"index": 1, "topics": []}], r"line 1: field 'topics' has unknown"),
    ([{"index": 0, "cause": ""}], r"1 of 2 eval rows have no prediction \(first: index 1"),
    ([{"index": 0, "cause": ""}, {"index": 0, "cause": ""}], r"line 2: eval row 0 already given on line 1"),
    ([{"index": 0, "cause": ""}, {"index": 1}], r"line 2: field 'cause' missing"),
    ([{"source": "nope.csv", "row": 3, "cause": ""}], r"line 1: source 'nope.csv' row 3 is not a row"),
    ([{"source": SOURCES[0], "row": 0, "text_sha1": "0" * 16, "cause": ""}], r"line 1: text_sha1 '0+'"),
    ([{"index": 5, "cause": ""}], r"line 1: field 'index' must be an integer 0..1"),
    ([{"index": 0, "sentiment": None}, {"index": 1, "sentiment": "positive"}], r"line 1: field 'sentiment' is empty"),
])
def test_predictions_file_errors(tmp_path, lines, message, cxreal_set):
    root, labels, _ = cxreal_set
    gold = load_cxreal("eval", root=root, labels_file=labels)
    with pytest.raises(DataError, match=message):
        read_predictions(write_jsonl(tmp_path / "p.jsonl", lines), gold, labels_file=labels)


def test_predictions_file_bad_json(tmp_path, cxreal_set):
    root, labels, _ = cxreal_set
    gold = load_cxreal("eval", root=root, labels_file=labels)
    (tmp_path / "p.jsonl").write_text('{"index": 0}\n{oops\n', encoding="utf-8")
    with pytest.raises(DataError, match="p.jsonl line 2: not valid JSON"):
        read_predictions(tmp_path / "p.jsonl", gold, labels_file=labels)


# ---------------------------------------------------------------- CLI and docs page
@pytest.mark.slow
def test_cli_scores_a_predictions_file_and_writes_json_and_doc(tmp_path, monkeypatch, capsys):
    gold, pred = synthetic(30)
    gold["text_sha1"] = [f"{i:016x}" for i in range(len(gold))]
    labels = tmp_path / "labels.csv"
    gold.assign(split="eval")[["source", "row", "split"]].to_csv(labels, index=False)
    monkeypatch.setattr(cx_eval, "load_eval_sets", lambda root=None, inhouse=True: {"cxreal": gold})
    monkeypatch.setattr("voc_training.cxlabels.predictions.LABELS_FILE", labels)
    lines = [{"index": i, **{k: v[i] for k, v in pred.fields.items()}} for i in range(len(gold))]
    path = write_jsonl(tmp_path / "zs.jsonl", lines)
    doc = tmp_path / "cx.md"
    doc.write_text(f"# Title\n\nhand-written intro\n\n{START}\nold\n{END}\n\nhand-written tail\n", encoding="utf-8")
    out = tmp_path / "r.json"
    cx_eval.main(["--methods", "--predictions", f"zeroshot={path}", "--no-inhouse", "--out", str(out),
                  "--doc", str(doc)])
    result = json.loads(out.read_text(encoding="utf-8"))
    assert result["methods"]["zeroshot"]["overall"] == json.loads(json.dumps(score(gold, pred)))
    assert {"command", "machine", "date"} <= set(result)
    text = doc.read_text(encoding="utf-8")
    assert "hand-written intro" in text and "hand-written tail" in text and "\nold\n" not in text
    assert "`zeroshot`" in text and "Cause confusion" in text and text.count(START) == 1
    assert "zeroshot: cause accuracy" in capsys.readouterr().out


def test_cli_reports_bad_input_without_traceback(tmp_path, monkeypatch, capsys):
    gold, _ = synthetic(5)
    monkeypatch.setattr(cx_eval, "load_eval_sets", lambda root=None, inhouse=True: {"cxreal": gold})
    with pytest.raises(SystemExit) as exc:
        cx_eval.main(["--methods", "--predictions", str(tmp_path / "absent.jsonl"), "--no-inhouse"])
    assert exc.value.code == 2 and "absent.jsonl: predictions file not found" in capsys.readouterr().err


def test_cli_scores_production_under_profiles_and_configs(tmp_path, monkeypatch, capsys):
    """``--profile PROFILE[:CONFIG.yaml]`` runs the production method once per entry, named by profile and config;
    a bad profile or a missing config fails before scoring, without a traceback."""
    from voc_training.cxlabels import methods

    gold, pred = synthetic(30)
    config = tmp_path / "ens.yaml"
    config.write_text("profile: accurate\n", encoding="utf-8")
    calls = []

    def fake_production(frame, profile=None, config=None):
        calls.append((profile, config))
        name = "production" + (f"@{profile}" if profile else "") + (f"+{Path(config).stem}" if config else "")
        return Predictions(name, pred.fields)

    monkeypatch.setattr(cx_eval, "load_eval_sets", lambda root=None, inhouse=True: {"cxreal": gold})
    monkeypatch.setattr(methods, "production", fake_production)
    out = tmp_path / "r.json"
    cx_eval.main(["--methods", "production", "--profile", "default", "--profile", f"accurate:{config}",
                  "--no-inhouse", "--out", str(out)])
    assert calls == [("default", None), ("accurate", config)]
    result = json.loads(out.read_text(encoding="utf-8"))
    assert list(result["methods"]) == ["production@default", "production@accurate+ens"]
    assert result["methods"]["production@default"]["overall"] == json.loads(json.dumps(score(gold, pred)))
    assert "--profile accurate:" in result["command"]
    calls.clear()
    cx_eval.main(["--methods", "production", "--no-inhouse"])  # no --profile: the defaults, once
    assert calls == [(None, None)]
    for bad, message in (("quick", "unknown profile 'quick'"), ("accurate:absent.yaml", "absent.yaml not found")):
        capsys.readouterr()
        with pytest.raises(SystemExit) as exc:
            cx_eval.main(["--methods", "production", "--profile", bad, "--no-inhouse"])
        assert exc.value.code == 2 and message in capsys.readouterr().err
    assert cx_eval.parse_production(f":{config}") == (None, config)


# ---------------------------------------------------------------- methods
def test_encoder_method_with_a_mocked_runner(monkeypatch):
    from voc_training.cxlabels import methods

    heads = {"sentiment": {"labels": list(SENTIMENTS), "multilabel": False},
             "cause": {"labels": [*COMPLAINT_CAUSES, NONE], "multilabel": False},
             "emotions": {"labels": list(EMOTIONS), "multilabel": True, "threshold": 0.5,
                          "thresholds": {"благодарность": 0.9}}}

    class Runner:
        info = SimpleNamespace(heads=heads, name="mock", version="1")
        backend = "mock"

        def proba(self, texts):
            n = len(texts)
            cause = np.zeros((n, 8))
            cause[0, 3], cause[1, 7] = 1.0, 1.0
            emo = np.full((n, 6), 0.1)
            emo[:, 1] = 0.8  # благодарность: under its own threshold 0.9
            emo[0, 2] = 0.6
            return {"sentiment": np.tile([0.1, 0.2, 0.7], (n, 1)), "cause": cause, "emotions": emo}

    monkeypatch.setattr("voc_models.multitask.runner_for", lambda d: Runner())
    pred = methods.encoder("runs/mt", pd.DataFrame({"text": ["а", "б"]}))
    assert pred.method == "encoder:mt" and set(pred.fields) == {"sentiment", "cause", "emotions"}
    assert pred.fields["cause"] == ["технический сбой", ""]
    assert pred.fields["emotions"] == [["раздражение/гнев"], []] and pred.fields["sentiment"] == ["positive"] * 2
    heads["cause"]["labels"][0] = "непонятно"
    with pytest.raises(ValueError, match=r"head 'cause' has labels outside voc's vocabulary: \['непонятно'\]"):
        methods.encoder("runs/mt", pd.DataFrame({"text": ["а"]}))


def test_encoder_method_with_a_tiny_trained_model(tmp_path, tiny_e5):
    pytest.importorskip("torch")
    pytest.importorskip("transformers")
    from voc_training.cxlabels import methods
    from voc_training.import_e5 import import_e5, write_e5_file
    from voc_training.multitask import train
    from voc_training.multitask_data import full_label_row

    write_e5_file(tmp_path / "tiny.bin", tiny_e5())
    enc = import_e5(tmp_path / "enc", model_file=tmp_path / "tiny.bin").out_dir
    rows = [full_label_row("курьер опоздал на три часа", "t", "negative", ["раздражение/гнев"], ["доставка"],
                           "ошибка процесса", "доставка"),
            full_label_row("спасибо курьер", "t", "positive", ["благодарность"], [], "", "")] * 4
    model = train(enc, tmp_path / "mt", rows=rows, epochs=1, batch_size=4, threads=1, log_every=1000)
    gold, _ = synthetic(12)
    pred = methods.encoder(model, gold)
    assert set(pred.fields) == {"sentiment", "emotions", "topics", "cause", "journey_stage"}
    assert all(len(v) == 12 for v in pred.fields.values())
    assert set(pred.fields["cause"]) <= {"", *COMPLAINT_CAUSES}
    assert all(set(t) <= set(TOPICS) for t in pred.fields["topics"])
    assert score_all(gold, pred)["overall"]["rows"] == 12


def cx_rows(n: int) -> pd.DataFrame:
    texts = ["Курьер опоздал на три часа, заказ привезли мятым", "Приложение банка вылетает при входе",
             "Оператор нагрубил и бросил трубку", "Спасибо за быструю доставку!", "Комиссия за перевод выросла",
             "Не сказали, что карта платная", "Вернули деньги за возврат через месяц"]
    causes = ["ошибка процесса", "технический сбой", "человеческий фактор", "", "цена и условия",
              "информационный разрыв", "ошибка процесса"]
    stages = ["доставка", "обслуживание/поддержка", "обслуживание/поддержка", "доставка", "оплата",
              "покупка/оформление", "возврат"]
    topics = [["доставка"], ["приложение/сайт"], ["персонал"], ["доставка"], ["цена и условия"], ["карты и счета"],
              ["возврат"]]
    emotions = [["раздражение/гнев"], ["раздражение/гнев"], ["раздражение/гнев"], ["благодарность"], [], [], []]
    sents = ["negative", "negative", "negative", "positive", "negative", "negative", "neutral"]
    return pd.DataFrame([{"text": f"{texts[i % 7]} ({i})", "sentiment": sents[i % 7], "cause": causes[i % 7],
                          "journey_stage": stages[i % 7] if i % 5 else "", "topics": topics[i % 7],
                          "emotions": emotions[i % 7]} for i in range(n)])


@pytest.mark.slow
def test_tfidf_heads_with_and_without_lexicon():
    from voc_training.cxlabels import methods

    train, dropped = methods.training_frame(cx_rows(50), cx_rows(14).iloc[7:], exclude_texts=["Курьер  опоздал на "
                                                                                              "три часа, заказ "
                                                                                              "привезли мятым (0)"])
    assert dropped == 1 and len(train) == 56 and set(train["source"]) == {"cxreal", "inhouse"}
    test = cx_rows(7).assign(source="s", domain="d")
    out = methods.tfidf_methods(train, {"cxreal": test}, lexicon=True)
    for name in ("tfidf", "tfidf+lexicon"):
        pred = out[name]["cxreal"]
        assert set(pred.fields) == {"sentiment", "cause", "journey_stage", "topics", "emotions"}
        assert set(pred.fields["cause"]) <= {"", *COMPLAINT_CAUSES}
        assert set(pred.fields["journey_stage"]) <= {"", *JOURNEY_STAGES}
        assert score_all(test, pred)["overall"]["cause"]["rows"] == 6
    with pytest.raises(ValueError, match=r"field 'topics' has labels outside the vocabulary: \['погода'\]"):
        methods.training_frame(cx_rows(3).assign(topics=[["погода"]] * 3), cx_rows(3).iloc[:0])


@pytest.mark.slow
def test_production_method_maps_findings_to_label_names():
    from voc_training.cxlabels import methods

    frame = cx_rows(7).assign(channel=["review", "app_review", "social", "review", "chat", "review", "review"],
                              source="sentiment/sravni_bank_reviews/all.csv")
    pred = methods.production(frame)
    assert set(pred.fields) == {"sentiment", "cause", "journey_stage", "topics", "emotions"}
    assert all(s in SENTIMENTS for s in pred.fields["sentiment"])
    assert set(pred.fields["journey_stage"]) <= {"", *JOURNEY_STAGES}
    for s, c in zip(pred.fields["sentiment"], pred.fields["cause"], strict=True):
        assert (c in COMPLAINT_CAUSES) if s == "negative" else c in ("", *COMPLAINT_CAUSES)
    assert pred.notes["labels_not_in_taxonomy"] == []  # the default taxonomy has all 17 label topics
    assert pred.notes["cause_rule"].startswith("head cause-tfidf@") and "topics" in pred.description
    assert "доставка" in pred.fields["topics"][0]
    assert pred.notes["rows_from_model_training_sources"].get("sentiment") == {"sravni_bank_reviews": 7}


def shared_root() -> Path | None:
    """The shared datasets: $VOC_DATASETS_DIR, ../shared/datasets next to the checkout, or /work/shared."""
    from voc_training.data import datasets_root

    for root in (datasets_root(), Path("/work/shared/datasets")):
        if (root / SOURCE_CHECK).is_file():
            return root
    return None


SOURCE_CHECK = "sentiment/sravni_bank_reviews/all.csv"


@pytest.mark.skipif(shared_root() is None, reason="the shared datasets are not here")
def test_real_eval_split_loads_and_scores():
    gold = load_cxreal("eval", root=shared_root())
    assert len(gold) == 600 and gold["source"].nunique() == 11
    perfect = Predictions("gold", {k: list(gold[k]) for k in ("cause", "journey_stage")})
    result = score_all(gold, perfect)
    assert result["overall"]["cause"]["accuracy"] == 1.0
    assert sum(g["cause"]["rows"] for g in result["by_source"].values()) == result["overall"]["cause"]["rows"]


def test_bench_quality_runs_the_cx_task(tmp_path, monkeypatch):
    import sys

    from bench import quality

    seen = {}

    def fake_run(encoder_models=(), predictions=()):
        seen.update(encoder_models=encoder_models, predictions=predictions)
        return {"methods": {}}

    monkeypatch.setattr(cx_eval, "run", fake_run)
    out = tmp_path / "q.json"
    monkeypatch.setattr(sys, "argv", ["bench/quality.py", "--tasks", "cx", "--encoder-model", "runs/mt",
                                      "--cx-predictions", "zs=p.jsonl", "--out", str(out)])
    quality.main()
    assert json.loads(out.read_text(encoding="utf-8"))["cx"] == {"methods": {}}
    assert seen == {"encoder_models": ["runs/mt"], "predictions": ["zs=p.jsonl"]}


def test_bootstrap_intervals_hold_the_point_value():
    gold, pred = synthetic(60, seed=5)
    targets = score_all(gold, pred, bootstrap=30)["targets"]
    for t in targets.values():
        lo, hi = t["ci95"]
        assert lo <= hi and lo - 0.05 <= t["value"] <= hi + 0.05
    perfect = Predictions("gold", {"cause": list(gold["cause"])})
    assert score_all(gold, perfect, bootstrap=10)["targets"]["cause.accuracy"]["ci95"] == [1.0, 1.0]
    assert score_all(gold, perfect, bootstrap=10)["targets"]["topics.micro_f1"]["ci95"] is None
