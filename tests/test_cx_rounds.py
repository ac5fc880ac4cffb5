"""A second labelling round: train rows drawn apart from the labelled ones, merged on top of the labels file."""

from __future__ import annotations

import csv
import json
from pathlib import Path

import pytest

from voc_training.cxlabels import merge as merge_mod
from voc_training.cxlabels import select


def _append(root: Path, texts: list[str]) -> None:
    """Add rows to the fixture's source file ``sentiment/alpha/all.csv`` (its rows 0–1 are labelled)."""
    with (root / "sentiment" / "alpha" / "all.csv").open("a", encoding="utf-8", newline="") as fh:
        csv.writer(fh).writerows([[t, "x"] for t in texts])


def _labelled(path: Path) -> list[dict]:
    with path.open(encoding="utf-8", newline="") as fh:
        return list(csv.DictReader(fh))


def test_round2_draws_train_rows_apart_from_labelled_rows_and_texts(cxreal_set, monkeypatch):
    root, labels, texts = cxreal_set
    more = ["Очень долго ждал ответа поддержки", texts[2], "Приложение вылетает при входе", "Ещё один отзыв тут"]
    _append(root, more)  # rows 2..5; row 3 repeats a labelled eval text
    monkeypatch.setattr(select, "QUOTAS_ROUND2", (("sentiment/alpha/all.csv", 10),))
    monkeypatch.setattr(select, "QUOTAS", (("sentiment/alpha/all.csv", 0, "bank", "review"),))
    rows = select.draw_round2(root, _labelled(labels))
    assert [r["row"] for r in rows] == [2, 4, 5]  # not rows 0-1 (labelled), not row 3 (a labelled text)
    assert {r["split"] for r in rows} == {"train"} and rows[0]["text_sha1"] == select.text_key(more[0])


def test_round5_is_a_random_draw_over_its_own_quotas_apart_from_labelled_rows(cxreal_set, monkeypatch):
    root, labels, texts = cxreal_set
    more = [f"Отзыв номер {i}: долго ждал ответа поддержки" for i in range(6)] + [texts[2]]
    _append(root, more)  # rows 2..8; row 8 repeats a labelled eval text
    monkeypatch.setattr(select, "QUOTAS_ROUND5", (("sentiment/alpha/all.csv", 4),))
    monkeypatch.setattr(select, "QUOTAS", (("sentiment/alpha/all.csv", 0, "bank", "review"),))
    rows = select.draw_round5(root, _labelled(labels))
    assert len(rows) == 4 and {r["split"] for r in rows} == {"train"}
    assert all(2 <= r["row"] <= 7 for r in rows)  # never a labelled row, never the repeated labelled text
    assert rows == select.draw_round5(root, _labelled(labels))  # fixed seed: the committed slices re-draw
    monkeypatch.setattr(select, "QUOTAS_ROUND7", (("sentiment/alpha/all.csv", 4),))
    later = select.draw_round7(root, _labelled(labels))  # round 7: the same draw with its own seed
    assert len(later) == 4 and all(2 <= r["row"] <= 7 for r in later)
    assert later == select.draw_round7(root, _labelled(labels))
    assert "topics/gazprombank_ipoteka_rated/all.csv" not in dict(select.QUOTAS_ROUND7)  # no fresh rows left


def _work(tmp_path: Path, rows: list[dict], labels: list[dict]) -> Path:
    work = tmp_path / "work"
    work.mkdir()
    (work / "slice_5.jsonl").write_text("".join(json.dumps(r, ensure_ascii=False) + "\n" for r in rows), "utf-8")
    (work / "labels_5.jsonl").write_text("".join(json.dumps(r, ensure_ascii=False) + "\n" for r in labels), "utf-8")
    return work


def test_merge_add_keeps_the_labelled_rows_and_leaves_out_unreached_ones(tmp_path, cxreal_set):
    root, labels, texts = cxreal_set
    rows = [{"uid": f"5-{i:04d}", "source": "sentiment/alpha/all.csv", "row": 10 + i, "text_sha1": "x" * 16,
             "domain": "bank", "channel": "review", "split": "train", "text": t}
            for i, t in enumerate(["Банкомат съел карту", "Всё хорошо"])]
    lab = {"uid": "5-0000", "sentiment": "negative", "cause": "технический сбой",
           "journey_stage": "обслуживание/поддержка", "topics": ["карты и счета"], "emotions": [],
           "evidence": "съел карту", "confidence": "high"}
    before = _labelled(labels)
    n = merge_mod.merge(_work(tmp_path, rows, [lab]), out=labels, add=True)
    after = _labelled(labels)
    assert n == len(before) + 1 == len(after)
    new = next(r for r in after if r["row"] == "10")
    assert (new["cause"], new["evidence_start"], new["evidence_end"], new["annotator"]) == (
        "технический сбой", "9", "19", "A5")
    key = lambda r: (r["source"], int(r["row"]))  # noqa: E731
    assert [r for r in after if r["row"] != "10"] == sorted(  # the first round untouched, marked as random draws
        [{**r, "draw": "random"} for r in before], key=key)
    assert new["draw"] == "random"
    assert after == sorted(after, key=key)


def test_round3_draws_rows_in_proportion_to_the_minority_cause_probability(cxreal_set, monkeypatch):
    root, labels, _ = cxreal_set
    more = ["Оператор нагрубил мне", "Всё списали правильно", "Приложение вылетает", "Спасибо за вклад"]
    _append(root, more)  # rows 2..5

    class Head:  # P(человеческий фактор / технический сбой) high for the two complaints, ~0 for the others
        labels = ["ошибка процесса", "человеческий фактор", "технический сбой", "—"]

        def predict_proba(self, texts):
            import numpy as np

            minority = {"Оператор нагрубил мне": [0, 1, 0], "Приложение вылетает": [0, 0, 1]}
            return np.array([[0, *minority[t][1:], 0] if t in minority else [0.5, 0, 0, 0.5] for t in texts],
                            dtype=float)

    monkeypatch.setattr(select, "QUOTAS_ROUND3", (("sentiment/alpha/all.csv", 2),))
    monkeypatch.setattr(select, "QUOTAS", (("sentiment/alpha/all.csv", 0, "bank", "review"),))
    rows = select.draw_round3(root, _labelled(labels), Head())
    assert [r["row"] for r in rows] == [2, 4] and {r["split"] for r in rows} == {"train"}
    assert select.minority_weight(Head().predict_proba(more), Head.labels).tolist() == [1.0, 0.0, 1.0, 0.0]
    monkeypatch.setattr(select, "QUOTAS_ROUND4", (("sentiment/alpha/all.csv", 4),))
    softer = select.draw_round4(root, _labelled(labels), Head())  # the floor: rows without a minority cause too
    assert [r["row"] for r in softer] == [2, 3, 4, 5]


def test_round6_weighs_the_aimed_at_causes_and_the_stage_heads_doubt(cxreal_set, monkeypatch):
    import numpy as np

    root, labels, _ = cxreal_set
    more = ["Мне не сказали про комиссию", "Всё отлично", "Оператор нагрубил", "Не знаю, где я: оплата или сервис"]
    _append(root, more)  # rows 2..5

    class Cause:
        labels = ["ошибка процесса", "информационный разрыв", "человеческий фактор", "—"]

        def predict_proba(self, texts):
            aimed = {more[0]: [0, 1, 0, 0], more[2]: [0, 0, 1, 0]}
            return np.array([aimed.get(t, [0.5, 0, 0, 0.5]) for t in texts], dtype=float)

    class Stage:  # sure of every stage but the last text's, where two stages tie
        def predict_proba(self, texts):
            return np.array([[0.5, 0.5, 0.0] if t == more[3] else [1.0, 0.0, 0.0] for t in texts])

    weights = select.round6_weight(Cause().predict_proba(more), Cause.labels, Stage().predict_proba(more))
    assert weights.tolist() == [1.0, 0.0, 1.0, 0.5]
    monkeypatch.setattr(select, "QUOTAS_ROUND6", (("sentiment/alpha/all.csv", 3),))
    monkeypatch.setattr(select, "QUOTAS", (("sentiment/alpha/all.csv", 0, "bank", "review"),))
    monkeypatch.setattr(select, "ROUND6_FLOOR", 0.0)  # without the floor the sure, complaint-free text is never drawn
    rows = select.draw_round6(root, _labelled(labels), Cause(), Stage())
    assert [r["row"] for r in rows] == [2, 4, 5] and {r["split"] for r in rows} == {"train"}


def test_merge_marks_a_targeted_round_and_the_loader_checks_the_draw(tmp_path, cxreal_set):
    from voc_training.cxlabels.loader import load_cxreal
    from voc_training.data import DataError

    root, labels, _ = cxreal_set
    rows = [{"uid": "9-0000", "source": "sentiment/alpha/all.csv", "row": 10, "text_sha1": "x" * 16,
             "domain": "bank", "channel": "review", "split": "train", "text": "Банкомат съел карту"}]
    lab = {"uid": "9-0000", "sentiment": "negative", "cause": "технический сбой", "journey_stage": "оплата",
           "topics": [], "emotions": [], "evidence": "", "confidence": "high"}
    merge_mod.merge(_work(tmp_path, rows, [lab]), out=labels, add=True, draw="targeted")
    after = _labelled(labels)
    assert [r["draw"] for r in after if r["row"] == "10"] == ["targeted"]
    assert {r["draw"] for r in after if r["row"] != "10"} == {"random"}
    text = labels.read_text(encoding="utf-8").replace(",targeted", ",guessed")
    labels.write_text(text, encoding="utf-8")
    with pytest.raises(DataError, match="'draw'"):
        load_cxreal(root=root, labels_file=labels)


def test_targeted_rows_are_trained_on_in_every_fold_and_never_held_out():
    import numpy as np
    import pandas as pd
    from sklearn.model_selection import StratifiedKFold

    from voc_training.train_cx_defaults import SEED, folds, scored_rows

    groups = ["a", "b"] * 10 + ["inhouse"] * 4
    plain = pd.DataFrame({"group": groups, "source": ["cxreal"] * 20 + ["inhouse"] * 4})
    expected = list(StratifiedKFold(n_splits=3, shuffle=True, random_state=SEED).split(plain, plain["group"]))
    for (fit, held), (fit0, held0) in zip(folds(plain, 3), expected, strict=True):  # no targeted rows: unchanged
        assert fit.tolist() == fit0.tolist() and held.tolist() == held0.tolist()
    frame = plain.assign(targeted=[i in (1, 6, 7) for i in range(len(plain))])
    splits = folds(frame, 3)
    held_all = np.sort(np.concatenate([h for _, h in splits]))
    assert held_all.tolist() == [i for i in range(24) if i not in (1, 6, 7)]
    assert all({1, 6, 7} <= set(fit.tolist()) and not set(fit) & set(held) for fit, held in splits)
    assert scored_rows(frame).tolist() == [i for i in range(20) if i not in (1, 6, 7)]


def test_merge_add_refuses_a_row_labelled_twice(tmp_path, cxreal_set):
    root, labels, texts = cxreal_set
    rows = [{"uid": "5-0000", "source": "sentiment/alpha/all.csv", "row": 0, "text_sha1": select.text_key(texts[0]),
             "domain": "bank", "channel": "review", "split": "train", "text": texts[0]}]
    lab = {"uid": "5-0000", "sentiment": "negative", "cause": "", "journey_stage": "", "topics": [], "emotions": [],
           "evidence": "", "confidence": "low"}
    with pytest.raises(SystemExit, match="labelled already"):
        merge_mod.merge(_work(tmp_path, rows, [lab]), out=labels, add=True)


def test_merge_without_add_still_needs_every_row(tmp_path, cxreal_set):
    _, labels, _ = cxreal_set
    rows = [{"uid": "5-0000", "source": "s.csv", "row": 0, "text_sha1": "x", "domain": "bank", "channel": "review",
             "split": "train", "text": "t"}]
    with pytest.raises(SystemExit, match="no labels"):
        merge_mod.merge(_work(tmp_path, rows, []), out=tmp_path / "out.csv")


def test_agreement_scores_equal_sklearn_and_count_disagreements():
    from sklearn.metrics import cohen_kappa_score

    from voc_training.cxlabels.agreement import agreement

    def lab(s, c, topics):
        return {"sentiment": s, "cause": c, "journey_stage": "", "topics": topics, "emotions": []}

    first = {"a": lab("negative", "ошибка процесса", ["оплата"]), "b": lab("positive", "", []),
             "c": lab("negative", "технический сбой", ["оплата", "персонал"]), "only": lab("neutral", "", [])}
    second = {"a": lab("negative", "человеческий фактор", ["оплата"]), "b": lab("positive", "", []),
              "c": lab("negative", "технический сбой", ["оплата"])}
    out = agreement(first, second)
    cause = out["fields"]["cause"]
    assert out["n"] == 3 and cause["agreement"] == round(2 / 3, 4)
    assert cause["kappa"] == round(cohen_kappa_score(["ошибка процесса", "<empty>", "технический сбой"],
                                                     ["человеческий фактор", "<empty>", "технический сбой"]), 4)
    assert cause["confusion_top"] == ["ошибка процесса -> человеческий фактор: 1"]
    topics = out["fields"]["topics"]
    assert topics["exact_set_agreement"] == round(2 / 3, 4) and topics["micro_f1_second_vs_first"] == 0.8


def test_refit_head_folds_a_standardised_regression_into_a_linear_layer():
    import numpy as np
    from sklearn.linear_model import LogisticRegression

    from voc_training.cxlabels.refit_head import _softmax, fit_linear, scores

    rng = np.random.default_rng(0)
    x = rng.normal(3.0, 2.0, size=(120, 6)).astype(np.float32)
    y = np.array(["a", "b", "—"])[(x[:, 0] > 3).astype(int) + (x[:, 1] > 4).astype(int)]
    labels = ["b", "a", "—"]  # the head's own order, not sklearn's
    w, b = fit_linear(x, y, labels, C=0.5)
    mu, sd = x.mean(0), x.std(0) + 1e-6
    lr = LogisticRegression(C=0.5, max_iter=3000).fit((x - mu) / sd, y)
    want = lr.predict_proba((x - mu) / sd)[:, [list(lr.classes_).index(lab) for lab in labels]]
    np.testing.assert_allclose(_softmax(x @ w.T + b), want, atol=1e-4)
    s = scores(want, y, labels, "—")
    assert s["labelled_rows"] == int((y != "—").sum()) and 0.8 < s["accuracy_all_rows"] <= 1.0
    with pytest.raises(ValueError, match="no training row has"):
        fit_linear(x, y, [*labels, "c"], C=0.5)
