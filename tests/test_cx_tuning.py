"""Cross-validated tuning of the shipped CX heads: label biases (the «none» gate), emotion thresholds and weights.

All texts below were written for this test (not taken from any dataset).
"""

from __future__ import annotations

import numpy as np
import pytest

from voc.vocab import EMOTIONS
from voc_models.base import NONE_LABEL, ModelInfo
from voc_models.tfidf import TfidfClassifier
from voc_training.cxlabels import tune_emotions
from voc_training.cxlabels.tune_bias import all_rows_accuracy, fit_bias, nested, shift
from voc_training.cxlabels.tune_emotions import (
    blend_logits,
    blended_head,
    cross_validate,
    decide,
    fit_offset_head,
    fit_shared,
    nested_predictions,
    offset_head,
    summary,
    summary_offset,
    tune_thresholds,
)
from voc_training.data import DataError, LabelledTexts
from voc_training.train_cx_defaults import apply_bias, label_bias

COMPLAINTS = ["приложение не работает второй день", "списали деньги дважды", "курьер опоздал на три часа",
              "нагрубили в отделении", "не пришло смс с кодом", "карта заблокирована без причины"]
PRAISE = ["спасибо за быструю доставку", "отличный банк всем советую", "всё понравилось, вежливый оператор",
          "удобное приложение", "благодарю за помощь", "хороший тариф"]


def _head() -> TfidfClassifier:
    texts = [f"{t} {i}" for i in range(4) for t in [*COMPLAINTS, *PRAISE]]
    labels = [lab for _ in range(4) for lab in ["технический сбой"] * 6 + [NONE_LABEL] * 6]
    info = ModelInfo(name="t", version="0", task="cause", kind="tfidf", labels=[])
    return TfidfClassifier(info, C=2.0, min_df=1).fit(texts, labels, val_fraction=0.0)


def test_bias_equals_a_shift_of_the_heads_intercepts():
    model = _head()
    before = model.predict_proba(COMPLAINTS + PRAISE)
    bias = label_bias(model.labels, {NONE_LABEL: 1.5})
    assert bias[model.labels.index(NONE_LABEL)] == 1.5 and bias.sum() == 1.5
    model.intercept_ = model.intercept_ + bias
    after = model.predict_proba(COMPLAINTS + PRAISE)
    assert np.allclose(apply_bias(before, bias), after, atol=1e-5)
    assert np.allclose(shift(before, bias), after, atol=1e-5)
    assert (after[:, model.labels.index(NONE_LABEL)] > before[:, model.labels.index(NONE_LABEL)]).all()
    assert apply_bias(before, np.zeros(2)) is before


def test_a_bias_for_an_unknown_label_is_refused():
    with pytest.raises(DataError, match=r"LABEL_BIAS names labels the head does not have: \['погода'\]"):
        label_bias(["технический сбой", NONE_LABEL], {"погода": 1.0})


def test_fit_bias_moves_the_none_gate_where_the_objective_is_best():
    # column 0 = a cause, column 1 = «—»; the head over-calls the cause: P(cause) 0.6 on the non-complaints
    proba = np.array([[0.9, 0.1]] * 10 + [[0.6, 0.4]] * 10)
    gold = ["c"] * 10 + [""] * 10

    def decide(p: np.ndarray, rows: np.ndarray) -> list[str]:
        return ["c" if r[0] >= r[1] else "" for r in p]

    assert all_rows_accuracy(gold, decide(proba, np.arange(20))) == 0.5
    bias = fit_bias(proba, lambda q: all_rows_accuracy(gold, decide(q, np.arange(20))))
    assert 0.4 < bias[1] - bias[0] < 2.0  # «—» now beats P(cause) 0.6 (log 1.5 = 0.41) but not 0.9 (log 9 = 2.2)
    assert all_rows_accuracy(gold, decide(shift(proba, bias), np.arange(20))) == 1.0
    fold_of = np.arange(20) % 2
    pred, biases = nested(proba, fold_of, lambda p, rows: fit_bias(
        p[rows], lambda q: all_rows_accuracy([gold[i] for i in rows], decide(q, rows))), decide)
    assert pred == gold and len(biases) == 2


def test_thresholds_and_the_emotion_cap():
    y = np.array([[1, 0], [1, 0], [0, 0], [0, 1]])
    proba = np.array([[0.7, 0.1], [0.4, 0.2], [0.2, 0.3], [0.1, 0.9]])
    thr = tune_thresholds(proba, y)
    assert 0.2 < thr[0] <= 0.4 and 0.3 < thr[1] <= 0.9
    assert tune_thresholds(proba, np.zeros_like(y)).tolist() == [0.5, 0.5]  # no positives: the default
    many = np.array([[0.9, 0.8, 0.7, 0.6]])
    assert decide(many, np.full(4, 0.5), max_labels=3).tolist() == [[1, 1, 1, 0]]
    assert decide(many, np.array([0.95, 0.5, 0.5, 0.5])).tolist() == [[0, 1, 1, 1]]
    # nested: each fold is decided with the other fold's threshold (the lowest best one: fold 0 → 0.325,
    # fold 1 → 0.125), so fold 0's negative at 0.3 fires although a threshold tuned on fold 0 would not fire it
    y2 = np.array([[1], [0], [1], [0]])
    p2 = np.array([[0.8], [0.3], [0.5], [0.1]])
    assert nested_predictions(p2, y2, np.array([0, 0, 1, 1]))[:, 0].tolist() == [1, 1, 1, 0]


def test_emotion_training_rows_drop_texts_equal_to_cxreal_ones(monkeypatch):
    import voc_training.data as data_mod

    fake = LabelledTexts(["Спасибо  большое!", "Я зол", "Спасибо большое!"], [[EMOTIONS[1]], [EMOTIONS[2]], []],
                         True, list(EMOTIONS), [list(EMOTIONS)] * 3, ["cedr", "cedr", "inhouse"])
    monkeypatch.setattr(data_mod, "load_emotions_train", lambda inhouse=True: fake)
    data, dropped = tune_emotions.emotion_training_rows([" Спасибо большое! "])
    assert dropped == 1 and data.texts == ["Я зол", "Спасибо большое!"]  # the in-house row is kept
    assert data.sources == ["cedr", "inhouse"] and len(data.known) == 2
    assert data.inhouse_positives[EMOTIONS[1]] == 0


def _shared_head_and_cx_texts() -> tuple:
    """A shared emotion head fitted on complaints (anger) and praise (joy), and 36 cxreal-like texts of the same."""
    anger, joy = EMOTIONS[2], EMOTIONS[0]
    base_texts = [f"{t} {i}" for i in range(5) for t in [*COMPLAINTS, *PRAISE]]
    base_labels = [[anger] if k < 6 else [joy] for _ in range(5) for k in range(12)]
    data = LabelledTexts(base_texts, base_labels, True, list(EMOTIONS), [list(EMOTIONS)] * len(base_texts),
                         ["cedr"] * len(base_texts))
    return fit_shared(data, C=2.0), [f"{t} клиент {i}" for i in range(3) for t in [*COMPLAINTS, *PRAISE]]


def test_cross_validate_blends_a_cxreal_head_into_one_linear_head():
    rng = np.random.default_rng(0)
    anger, joy = EMOTIONS[2], EMOTIONS[0]
    base, cx_texts = _shared_head_and_cx_texts()
    cx_labels = [[anger] if k < 6 else [] for _ in range(3) for k in range(12)]  # here praise carries no joy
    groups = list(rng.choice(["a", "b"], size=len(cx_texts)))
    cv = cross_validate(base, cx_texts, cx_labels, groups, [1.0], n_folds=3)
    assert cv.z_cx[1.0].shape == (36, len(EMOTIONS)) and sorted(set(cv.fold_of)) == [0, 1, 2]
    assert cv.fitted[1.0].tolist() == [lab == anger for lab in EMOTIONS]  # joy has no cxreal positive: not fitted
    assert np.allclose(blend_logits(cv.z_base, cv.z_cx[1.0], cv.fitted[1.0], 0.0), cv.z_base)
    row = summary(cv, 0.5, 1.0)
    assert set(row["thresholds"]) == set(EMOTIONS) and 0.0 <= row["micro_f1_nested"] <= 1.0
    # the blended head is one linear head: its probabilities = sigmoid of the blended logits
    head = blended_head(cv, 0.5, 1.0)
    proba = head.predict_proba(cx_texts)
    assert proba.shape == (36, len(EMOTIONS))
    j = EMOTIONS.index(joy)
    assert np.allclose(proba[:, j], 1 / (1 + np.exp(-cv.z_base[:, j])), atol=1e-2)  # joy: the shared head alone
    a = EMOTIONS.index(anger)
    assert not np.allclose(proba[:, a], 1 / (1 + np.exp(-cv.z_base[:, a])), atol=1e-3)
    # targeted rows: trained on in every fold, never held out, never scored
    targeted = [i % 4 == 0 for i in range(len(cx_texts))]
    cv_t = cross_validate(base, cx_texts, cx_labels, groups, [1.0], n_folds=3, targeted=targeted)
    assert [f == -1 for f in cv_t.fold_of] == targeted and sorted(set(cv_t.fold_of) - {-1}) == [0, 1, 2]
    assert not cv_t.z_cx[1.0][np.array(targeted)].any()  # no out-of-fold logits for them
    assert 0.0 <= summary(cv_t, 0.5, 1.0)["micro_f1_nested"] <= 1.0


def test_offset_head_corrects_the_shared_logits_where_the_cxreal_rows_disagree():
    anger, joy = EMOTIONS[2], EMOTIONS[0]
    base, cx_texts = _shared_head_and_cx_texts()
    # here most praise carries no joy
    cx_labels = [[anger] if k < 6 else [joy] if k < 8 else [] for _ in range(3) for k in range(12)]
    cv = cross_validate(base, cx_texts, cx_labels, ["a", "b"] * 18, [], n_folds=3, offset_c=[4.0])
    assert cv.z_cx == {} and cv.z_off[4.0].shape == (36, len(EMOTIONS))
    j = EMOTIONS.index(joy)
    no_joy = np.array([k >= 8 for _ in range(3) for k in range(12)])
    assert cv.z_off[4.0][no_joy, j].mean() < cv.z_base[no_joy, j].mean() - 0.5  # pushed down where the rows say so
    surprise = EMOTIONS.index("удивление")
    assert np.allclose(cv.z_off[4.0][:, surprise], cv.z_base[:, surprise])  # no positives: no correction
    row = summary_offset(cv, 4.0)
    assert row["method"] == "offset" and 0.0 <= row["micro_f1_nested"] <= 1.0
    coef, intercept = fit_offset_head(cv.x_cx, cv.z_base, cv.y, 4.0)
    expected = 1 / (1 + np.exp(-(cv.z_base + np.asarray(cv.x_cx @ coef.T) + intercept)))
    head = offset_head(cv, 4.0)  # one linear head: the shared coefficients + the correction
    assert np.allclose(head.predict_proba(cx_texts), expected, atol=1e-2)


def test_shipped_emotion_head_records_its_method_and_cv_thresholds():
    from voc_models.registry import SHIPPED_DIR, load_model
    from voc_training.train_cx_defaults import EMOTION_METHOD, EMOTION_OFFSET_C, LABEL_BIAS

    model = load_model(SHIPPED_DIR / "emotions-tfidf")
    info = model.info
    assert info.multilabel and model.labels == list(EMOTIONS) and set(info.thresholds) == set(EMOTIONS)
    assert info.training["method"] == EMOTION_METHOD == "offset" and info.training["offset_C"] == EMOTION_OFFSET_C
    cv = info.metrics["cv:cxreal_train"]
    assert cv["method"] == "offset" and cv["micro_f1_nested"] > 0.65 and cv["rows"] > 1000
    assert info.training["data"]["cxreal"] == cv["rows"]
    # the shipped cause / stage heads carry no bias unless LABEL_BIAS names one
    for task, name in (("cause", "cause-tfidf"), ("journey_stage", "journey-stage-tfidf")):
        head = load_model(SHIPPED_DIR / name)
        assert head.info.training.get("label_bias", {}) == {k: v for k, v in LABEL_BIAS[task].items() if v}


def test_stacking_check_scores_both_fields_on_held_out_folds():
    from voc_training.cxlabels.tune_bias import stacking
    from voc_training.cxlabels.tune_heads import CAUSE_LABELS, STAGE_LABELS

    rng = np.random.default_rng(1)
    n = 60
    gold_cause = ["технический сбой" if i % 3 == 0 else "" for i in range(n)]
    gold_stage = ["оплата" if i % 2 else "" for i in range(n)]
    p_cause = rng.dirichlet(np.ones(len(CAUSE_LABELS)), size=n)
    p_stage = rng.dirichlet(np.ones(len(STAGE_LABELS)), size=n)
    sent = np.array(["negative" if c else "positive" for c in gold_cause])
    lex = np.array(["технический сбой"] * n)
    ctx = {"stage_cues": rng.random((n, len(STAGE_LABELS) - 1))}
    out = stacking(p_cause, p_stage, ctx, sent, lex, gold_cause, gold_stage, np.arange(n) % 4)
    assert {"cause C=0.1", "cause C=1.0", "journey_stage C=0.1", "journey_stage C=1.0"} <= set(out)
    # the sentiment tells complaints apart here (the head probabilities are noise): the stacked gate learns it
    assert out["cause C=1.0"]["detection_f1"] >= 0.8 and out["cause C=1.0"]["accuracy_all_rows"] >= 0.8


def test_forced_cause_scores_skip_none_and_equal_sklearn():
    from sklearn.metrics import f1_score

    from voc_training.train_cx_defaults import forced_cause_scores

    label_set = ["технический сбой", "цена и условия", NONE_LABEL]
    proba = np.array([[0.2, 0.1, 0.7], [0.1, 0.3, 0.6], [0.5, 0.4, 0.1], [0.3, 0.6, 0.1]])
    gold = np.array(["технический сбой", "технический сбой", NONE_LABEL, "цена и условия"])
    pred = ["технический сбой", "цена и условия", "цена и условия"]  # «—» never predicted; the «—» row not scored
    out = forced_cause_scores(proba, gold, label_set)
    assert out["accuracy"] == round(2 / 3, 4)
    assert out["macro_f1"] == round(float(f1_score(gold[[0, 1, 3]], pred, average="macro")), 4)
