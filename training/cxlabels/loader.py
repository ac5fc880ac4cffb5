"""Load the real-text CX labelled set: labels from ``datasets/cxreal/labels.csv`` joined with their texts in
../shared/datasets by key (source file, row, SHA-1 of the normalised text).

    frame = load_cxreal("eval")   # text, sentiment, cause, journey_stage, topics, emotions, evidence, …

A missing source file or a row whose text no longer matches its hash fails with a clear DataError.
"""

from __future__ import annotations

from collections.abc import Iterable
from functools import lru_cache
from pathlib import Path

import pandas as pd

from voc.vocab import COMPLAINT_CAUSES, EMOTIONS, JOURNEY_STAGES, SENTIMENTS
from voc_training.cxlabels.select import read_source, text_key
from voc_training.data import DataError, datasets_root

LABELS_FILE = Path(__file__).resolve().parents[2] / "datasets" / "cxreal" / "labels.csv"
SPLITS = ("train", "eval")
#: the columns a labels file must have
LABEL_COLUMNS = ("source", "row", "text_sha1", "split", "sentiment", "cause", "journey_stage", "topics", "emotions",
                 "confidence", "evidence_start", "evidence_end")
CONFIDENCES = ("high", "medium", "low")
#: how a row was drawn (optional column ``draw``, default ``random``): ``targeted`` rows (round 3) were drawn in
#: proportion to a model's scores, so they are trained on but never scored in cross-validation (decision 74)
DRAWS = ("random", "targeted")
#: the topic vocabulary of the labelling brief (taxonomy + banking topics)
TOPICS: tuple[str, ...] = (
    "доставка", "оплата", "возврат", "качество товара", "цена и условия", "персонал", "приложение/сайт",
    "скорость/ожидание", "коммуникация/уведомления", "ассортимент/наличие", "бонусы и лояльность",
    "связь и интернет", "карты и счета", "кредиты и ипотека", "оформление заказа", "вклады и накопления",
    "безопасность/мошенничество",
)


def _split(value: str) -> list[str]:
    return [v for v in str(value).split("|") if v]


def validate_labels(rows: Iterable[dict], file_name: str = LABELS_FILE.name) -> None:
    """Every label name must come from the configured vocabularies (DataError naming the file, line and field)."""
    allowed = {"sentiment": set(SENTIMENTS), "cause": {"", *COMPLAINT_CAUSES},
               "journey_stage": {"", *JOURNEY_STAGES}, "confidence": set(CONFIDENCES), "split": set(SPLITS),
               "draw": set(DRAWS)}
    for n, row in enumerate(rows, start=2):
        for fld, ok in allowed.items():
            if str(row.get(fld, "random") if fld == "draw" else row[fld]) not in ok:
                raise DataError(f"{file_name} line {n}: field '{fld}' has {row[fld]!r}; expected one of "
                                f"{sorted(ok)}")
        for fld, vocab in (("topics", TOPICS), ("emotions", EMOTIONS)):
            bad = [v for v in _split(row[fld]) if v not in vocab]
            if bad:
                raise DataError(f"{file_name} line {n}: field '{fld}' has unknown {bad}")


@lru_cache(maxsize=32)
def _source_texts(root: str, source: str) -> dict[int, str]:
    path = Path(root) / source
    if not path.is_file():
        raise DataError(f"cxreal: source file {path} is missing (set VOC_DATASETS_DIR to the datasets folder)")
    return dict(read_source(Path(root), source))


def load_cxreal(split: str | None = None, root: Path | None = None, labels_file: Path = LABELS_FILE) -> pd.DataFrame:
    """The labelled rows (one split or all) with their texts joined from the shared datasets."""
    if split is not None and split not in SPLITS:
        raise ValueError(f"unknown split {split!r}; expected one of {SPLITS}")
    if not labels_file.is_file():
        raise DataError(f"{labels_file}: not found")
    frame = pd.read_csv(labels_file, dtype=str, keep_default_na=False)
    missing = [c for c in LABEL_COLUMNS if c not in frame.columns]
    if missing:
        raise DataError(f"{labels_file}: missing columns {missing}")
    if "draw" not in frame.columns:
        frame["draw"] = "random"
    validate_labels(frame.to_dict("records"), str(labels_file))
    if split:
        frame = frame[frame["split"] == split].reset_index(drop=True)
    root_s = str(root or datasets_root())
    texts, evidence = [], []
    for n, r in enumerate(frame.itertuples(index=False), start=2):
        source_rows = _source_texts(root_s, r.source)
        text = source_rows.get(int(r.row))
        if text is None:
            raise DataError(f"cxreal: {r.source} has no row {r.row} (labels line {n})")
        if text_key(text) != r.text_sha1:
            raise DataError(f"cxreal: {r.source} row {r.row} changed (hash {text_key(text)} ≠ {r.text_sha1}); "
                            "the shared datasets differ from the ones labelled")
        texts.append(text)
        evidence.append(text[int(r.evidence_start):int(r.evidence_end)] if r.evidence_start != "" else "")
    frame.insert(0, "text", texts)
    frame["evidence"] = evidence
    frame["row"] = frame["row"].astype(int)
    for col in ("topics", "emotions"):
        frame[col] = frame[col].map(_split)
    return frame
