"""Benchmark: quality of the shipped models against baselines on the shared test splits (read in place).

    nice -n 10 .venv/bin/python bench/quality.py --out bench/results/quality.json
    .venv/bin/python bench/quality.py --tasks topics                  # one part only
    .venv/bin/python bench/quality.py --sentiment-model runs/ft-x     # add a candidate (registry name or dir)

Parts (macro-F1 everywhere, numbers from ``voc_training.evaluate`` = scikit-learn's definitions):

* ``sentiment`` — every shipped sentiment model (and ``--sentiment-model`` candidates) on the test splits of
  sentirueval2015_banks/telecom, rusentiment, rusentitweet (3 classes), against the majority-class baseline.
* ``emotions`` — shipped emotion models (and ``--emotions-model``) on cedr test and semeval2025_ru dev, against
  the "always no emotion" baseline.
* ``topics`` — topic detection where the shared data has topic labels:
  - ``sentirueval2015_aspects`` categories, per sentence (restaurants, cars): a sentence is labelled with the
    categories of the aspect terms that start in it (none is a valid answer). Trained on the train files,
    scored on the test files. Models: the trainable topic model (``voc train topics --multilabel``: TF-IDF
    one-vs-rest LR with tuned thresholds), the classic term-lexicon baseline (aspect terms of the train
    split, matched on lemmas), and the majority baseline (the most frequent category on every sentence); for restaurants also the shipped CX taxonomy
    (keyword matching, zero-shot) on the categories it has a topic for (Service, Price).
  - ``gazprombank_products`` product category (single label): classes with >= 50 reviews, a seeded stratified
    80/20 split (the dataset has no official test split). The trainable model (``voc train topics``) against the
    majority baseline; plus a 4-way coarse grouping (cards / loans / remote banking / other) on which the
    shipped CX taxonomy is scored zero-shot against the same trained model and the majority baseline.
* ``cx`` — cause, journey stage, topics, emotions and sentiment on the real-text CX eval split
  (``datasets/cxreal``), overall / per source / per domain, for the production analyzers, the TF-IDF heads and
  ``--encoder-model`` / ``--cx-predictions`` candidates (``voc_training.cxlabels.evaluate``; docs/cx_quality.md).
  Not in the default set; ``python -m voc_training.cxlabels.evaluate --out bench/results/cx_quality.json`` runs it alone.
"""

from __future__ import annotations

import argparse
import json
import sys
import time
from collections import Counter
from pathlib import Path
from typing import Any

import numpy as np

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from bench.machine import describe  # noqa: E402
from voc_training.data import datasets_root  # noqa: E402

ASPECT_CATEGORIES = {
    "restaurants": ["Food", "Service", "Interior", "Price", "Whole"],
    "cars": ["Driveability", "Comfort", "Reliability", "Safety", "Appearance", "Costs", "Whole"],
}
#: sentirueval restaurant categories the shipped CX taxonomy covers → taxonomy topics that stand for them
RESTAURANT_TO_TAXONOMY = {"Service": {"персонал", "скорость/ожидание"}, "Price": {"цена и условия"}}
#: gazprombank products → coarse group; the shipped taxonomy topic that stands for each group
PRODUCT_GROUPS = {
    "Дебетовые карты": "карты и вклады", "Кредитные карты": "карты и вклады", "Вклады": "карты и вклады",
    "Кредиты наличными": "кредиты", "Ипотека": "кредиты", "Автокредиты": "кредиты",
    "Рефинансирование кредитов": "кредиты", "Дистанционное обслуживание": "дистанционное обслуживание",
    "Обслуживание": "другое", "Другие услуги": "другое",
}
GROUP_TO_TAXONOMY = {"карты и вклады": "карты и счета", "кредиты": "кредиты и ипотека",
                     "дистанционное обслуживание": "приложение/сайт"}
MIN_PRODUCT_ROWS = 50


def _headline(report: dict[str, Any]) -> dict[str, Any]:
    out = {k: report[k] for k in ("rows", "macro_f1", "accuracy", "micro_f1", "ece") if k in report}
    out["per_class_f1"] = {k: round(v["f1"], 4) for k, v in report.get("per_class", {}).items()}
    return out


def _shipped(task: str) -> list[Path]:
    """The default model of ``task`` (promoted or shipped), then every other shipped model of the task."""
    from voc_models.registry import default_model_path, list_models

    paths = [default_model_path(task)]
    for entry in list_models():
        path = Path(entry["path"])
        if entry["where"] == "shipped" and entry["task"] == task and path.resolve() != paths[0].resolve():
            paths.append(path)
    return paths


def _model_name(model: Any) -> str:
    return f"{model.info.name}@{model.info.version}"


# ---------------------------------------------------------------- sentiment / emotions
def sentiment_part(extra: list[str]) -> dict[str, Any]:
    from voc_models.registry import load_model
    from voc_training.data import SENTIMENT_EVAL_SETS, load_cx_sentiment_train, load_sentiment_eval
    from voc_training.evaluate import evaluate, single_label_report

    majority = Counter(load_cx_sentiment_train().labels).most_common(1)[0][0]
    models = [load_model(p, task="sentiment") for p in _shipped("sentiment")] + [load_model(m, task="sentiment") for m in extra]
    out: dict[str, Any] = {"baseline": f"majority class of the training rows ({majority!r})", "splits": {}}
    for name in SENTIMENT_EVAL_SETS:
        data = load_sentiment_eval(name)
        labels = sorted(set(data.labels))
        row: dict[str, Any] = {"rows": len(data), "majority": _headline(
            single_label_report(data.labels, [majority] * len(data), labels))["macro_f1"]}
        for model in models:
            started = time.perf_counter()
            report = evaluate(model, data)
            row[_model_name(model)] = {"macro_f1": round(report["macro_f1"], 4), "ece": round(report["ece"], 4),
                                       "seconds": round(time.perf_counter() - started, 1)}
        out["splits"][f"test:{name}"] = row
        print(f"sentiment {name}: {row}", flush=True)
    return out


def emotions_part(extra: list[str]) -> dict[str, Any]:
    from voc.vocab import NO_EMOTION
    from voc_models.registry import load_model
    from voc_training.data import load_emotion_eval
    from voc_training.evaluate import evaluate, multilabel_report

    models = [load_model(p, task="emotions") for p in _shipped("emotions")] + [load_model(m, task="emotions") for m in extra]
    out: dict[str, Any] = {"baseline": "always no emotion", "splits": {}}
    for dataset, split in (("cedr", "test"), ("semeval2025_ru", "dev")):
        data = load_emotion_eval(dataset, split)
        truth = _matrix(data.labels, data.label_set)
        none_true, none_pred = ~truth.any(axis=1), np.ones(len(data), dtype=bool)
        base = multilabel_report(np.c_[truth, none_true], np.c_[np.zeros_like(truth), none_pred],
                                 [*data.label_set, NO_EMOTION])
        row: dict[str, Any] = {"rows": len(data), "labels": data.label_set,
                               "always_no_emotion": {"macro_f1": 0.0, "macro_f1_with_none": round(base["macro_f1"], 4)}}
        for model in models:
            report = evaluate(model, data, none_label=NO_EMOTION)
            row[_model_name(model)] = {"macro_f1": round(report["macro_f1"], 4),
                                       "macro_f1_with_none": round(report["macro_f1_with_none"], 4)}
        out["splits"][f"{split}:{dataset}"] = row
        print(f"emotions {dataset}: {row}", flush=True)
    return out


# ---------------------------------------------------------------- topics
def aspect_sentences(path: Path, categories: list[str]) -> tuple[list[str], list[list[str]], list[list[str]]]:
    """Sentences of every review, the categories whose aspect terms start in each, and the terms per category."""
    from voc.text import sentences

    texts, labels, terms = [], [], []
    with path.open(encoding="utf-8") as fh:
        for line in fh:
            review = json.loads(line)
            for sent in sentences(review["text"]):
                inside = [a for a in review["aspects"] if sent.start <= a["from"] < sent.end
                          and a["category"] in categories]
                texts.append(sent.text)
                labels.append(sorted({a["category"] for a in inside}))
                terms.append([f'{a["category"]}\t{a["term"]}' for a in inside if a["type"] != "fct"])
    return texts, labels, terms


def _matrix(labels: list[list[str]], names: list[str]) -> np.ndarray:
    m = np.zeros((len(labels), len(names)), dtype=bool)
    for i, labs in enumerate(labels):
        for lab in labs:
            m[i, names.index(lab)] = True
    return m


def _tfidf_topics(texts: list[str], labels: list, multilabel: bool) -> Any:
    from voc_models.base import ModelInfo
    from voc_models.tfidf import TfidfClassifier

    info = ModelInfo(name="topics-tfidf", version="bench", task="topics", kind="tfidf", labels=[])
    names = sorted({lab for ls in labels for lab in ls}) if multilabel else sorted(set(labels))
    return TfidfClassifier(info).fit(texts, labels, label_set=names, multilabel=multilabel, val_fraction=0.15,
                                     seed=0)


def aspects_part() -> dict[str, Any]:
    from voc.analyzers.topics import PhraseIndex, TopicAnalyzer
    from voc_training.evaluate import multilabel_report

    base = datasets_root() / "topics" / "sentirueval2015_aspects"
    out: dict[str, Any] = {}
    taxonomy = TopicAnalyzer()
    for domain, cats in ASPECT_CATEGORIES.items():
        tr_texts, tr_labels, tr_terms = aspect_sentences(base / f"{domain}_train.jsonl", cats)
        te_texts, te_labels, _ = aspect_sentences(base / f"{domain}_test.jsonl", cats)
        truth = _matrix(te_labels, cats)
        row: dict[str, Any] = {"train_sentences": len(tr_texts), "test_sentences": len(te_texts),
                               "test_sentences_with_a_category": int(truth.any(axis=1).sum())}
        # majority: the most frequent train category on every sentence; the term lexicon: the most frequent
        # category of each train aspect term (sentiment facts excluded), matched on lemmas
        top = cats[int(_matrix(tr_labels, cats).sum(axis=0).argmax())]
        majority = np.tile(np.array([c == top for c in cats]), (len(te_texts), 1))
        row["majority"] = {"category": top, **_headline(multilabel_report(truth, majority, cats))}
        by_term: dict[str, Counter] = {}
        for ts in tr_terms:
            for t in ts:
                cat, term = t.split("\t")
                by_term.setdefault(term.lower(), Counter())[cat] += 1
        lexicon: dict[str, list[str]] = {c: [] for c in cats}
        for term, counts in by_term.items():
            lexicon[counts.most_common(1)[0][0]].append(term)
        index = PhraseIndex(lexicon)
        lex_pred = _matrix([sorted({m.label for m in index.match_text(t)}) for t in te_texts], cats)
        row["term_lexicon"] = _headline(multilabel_report(truth, lex_pred, cats))
        started = time.perf_counter()
        model = _tfidf_topics(tr_texts, tr_labels, multilabel=True)
        proba = model.predict_proba(te_texts)[:, [model.labels.index(c) for c in cats]]
        thr = np.array([model.info.thresholds.get(c, model.info.threshold) for c in cats])
        row["voc_train_topics_tfidf"] = {**_headline(multilabel_report(truth, proba >= thr, cats)),
                                         "train_seconds": round(time.perf_counter() - started, 1)}
        if domain == "restaurants":
            mapped = list(RESTAURANT_TO_TAXONOMY)
            cols = [cats.index(c) for c in mapped]
            detected = [set(taxonomy.detect(t)) for t in te_texts]
            tax_pred = np.array([[bool(d & RESTAURANT_TO_TAXONOMY[c]) for c in mapped] for d in detected])
            row["shipped_taxonomy_zero_shot"] = {
                "categories": {c: sorted(v) for c, v in RESTAURANT_TO_TAXONOMY.items()},
                **_headline(multilabel_report(truth[:, cols], tax_pred, mapped)),
                "same_categories": {name: round(float(np.mean([row[name]["per_class_f1"][c] for c in mapped])), 4)
                                    for name in ("term_lexicon", "voc_train_topics_tfidf")}}
        out[domain] = row
        print(f"aspects {domain}: " + ", ".join(f"{k} {v['macro_f1']:.3f}" for k, v in row.items()
                                                 if isinstance(v, dict) and "macro_f1" in v), flush=True)
    return out


def products_part() -> dict[str, Any]:
    import pandas as pd
    from sklearn.model_selection import train_test_split

    from voc.analyzers.topics import TopicAnalyzer
    from voc_training.evaluate import single_label_report

    df = pd.read_csv(datasets_root() / "topics/gazprombank_products/all.csv", dtype=str, keep_default_na=False)
    counts = df["product"].value_counts()
    kept = counts[counts >= MIN_PRODUCT_ROWS].index
    df = df[df["product"].isin(kept)].reset_index(drop=True)
    train, test = train_test_split(df, test_size=0.2, random_state=0, stratify=df["product"])
    labels = sorted(kept)
    majority = train["product"].value_counts().index[0]
    out: dict[str, Any] = {"classes": len(labels), "dropped_classes": {k: int(v) for k, v in counts.items()
                                                                          if v < MIN_PRODUCT_ROWS},
                           "train_rows": len(train), "test_rows": len(test),
                           "majority": _headline(single_label_report(test["product"].tolist(),
                                                                     [majority] * len(test), labels))}
    started = time.perf_counter()
    model = _tfidf_topics(train["text"].tolist(), train["product"].tolist(), multilabel=False)
    proba = model.predict_proba(test["text"].tolist())
    pred = [model.labels[i] for i in proba.argmax(axis=1)]
    out["voc_train_topics_tfidf"] = {**_headline(single_label_report(test["product"].tolist(), pred, labels, proba)),
                                     "train_seconds": round(time.perf_counter() - started, 1)}
    # coarse groups: the zero-shot shipped taxonomy against the same trained model and the majority baseline
    groups = sorted(set(PRODUCT_GROUPS.values()))
    truth = [PRODUCT_GROUPS[p] for p in test["product"]]
    taxonomy, to_group = TopicAnalyzer(), {v: k for k, v in GROUP_TO_TAXONOMY.items()}
    tax_pred = []
    for text in test["text"]:
        strengths = {to_group[t]: taxonomy._strength(ms) for t, ms in taxonomy.detect(text).items() if t in to_group}
        tax_pred.append(max(strengths, key=strengths.get) if strengths else "другое")
    group_majority = Counter(PRODUCT_GROUPS[p] for p in train["product"]).most_common(1)[0][0]
    out["coarse_groups"] = {
        "groups": {g: sorted(p for p, gg in PRODUCT_GROUPS.items() if gg == g) for g in groups},
        "taxonomy_topic_of_group": GROUP_TO_TAXONOMY,
        "majority": _headline(single_label_report(truth, [group_majority] * len(truth), groups)),
        "shipped_taxonomy_zero_shot": _headline(single_label_report(truth, tax_pred, groups)),
        "voc_train_topics_tfidf": _headline(single_label_report(truth, [PRODUCT_GROUPS[p] for p in pred], groups)),
    }
    print(f"products: majority {out['majority']['macro_f1']:.3f}, tfidf "
          f"{out['voc_train_topics_tfidf']['macro_f1']:.3f}; coarse: " + ", ".join(
              f"{k} {v['macro_f1']:.3f}" for k, v in out["coarse_groups"].items() if "macro_f1" in v), flush=True)
    return out


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--tasks", nargs="+", default=["sentiment", "emotions", "topics"],
                        choices=["sentiment", "emotions", "topics", "cx"])
    parser.add_argument("--sentiment-model", action="append", default=[], help="extra candidate (name or dir)")
    parser.add_argument("--emotions-model", action="append", default=[], help="extra candidate (name or dir)")
    parser.add_argument("--encoder-model", action="append", default=[],
                        help="cx: a multi-task encoder directory to score")
    parser.add_argument("--cx-predictions", action="append", default=[],
                        help="cx: [NAME=]FILE predictions JSONL (format: training/cxlabels/predictions.py)")
    parser.add_argument("--out", type=Path, default=None, help="write the results JSON here")
    args = parser.parse_args()
    started = time.perf_counter()
    result: dict[str, Any] = {"command": "python " + " ".join(sys.argv), "machine": describe()}
    if "sentiment" in args.tasks:
        result["sentiment"] = sentiment_part(args.sentiment_model)
    if "emotions" in args.tasks:
        result["emotions"] = emotions_part(args.emotions_model)
    if "topics" in args.tasks:
        result["topics"] = {"sentirueval2015_aspects_sentence_categories": aspects_part(),
                            "gazprombank_products": products_part()}
    if "cx" in args.tasks:
        from voc_training.cxlabels.evaluate import run as cx_run

        result["cx"] = cx_run(encoder_models=args.encoder_model, predictions=args.cx_predictions)
    result["seconds"] = round(time.perf_counter() - started, 1)
    text = json.dumps(result, ensure_ascii=False, indent=2)
    if args.out:
        args.out.parent.mkdir(parents=True, exist_ok=True)
        args.out.write_text(text + "\n", encoding="utf-8")
    print(f"done in {result['seconds']} s" + (f"; wrote {args.out}" if args.out else ""))


if __name__ == "__main__":
    main()
