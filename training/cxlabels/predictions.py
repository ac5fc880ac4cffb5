"""Predictions files: how any method outside voc (e.g. a zero-shot LLM run) is scored on the cxreal eval split.

A JSONL file, one object per eval row, UTF-8::

    {"source": "sentiment/sravni_bank_reviews/all.csv", "row": 1234, "text_sha1": "921be25e99a3d944",
     "sentiment": "negative", "cause": "ошибка процесса", "journey_stage": "",
     "topics": ["карты и счета"], "emotions": ["раздражение/гнев"]}

* **key** — ``source`` + ``row`` as in ``datasets/cxreal/labels.csv`` (``text_sha1`` optional; checked when
  given), or ``index``: the 0-based position of the row in ``load_cxreal("eval")`` (labels.csv order).
* **fields** — any of ``sentiment``, ``cause``, ``journey_stage``, ``topics``, ``emotions``; a field given on
  one line must be given on every line (fields left out everywhere are not scored). ``cause`` /
  ``journey_stage``: a label, or ``""`` / ``null`` / ``"—"`` for none. ``topics`` / ``emotions``: a list or a
  ``|``-joined string; ``[]`` (or ``"нет эмоции"``) for none. Labels must come from the vocabularies
  (``voc.vocab``, ``voc_training.cxlabels.loader.TOPICS``).
* every eval row exactly once; lines keyed to a **train** row are skipped and counted (``ignored_train_rows``);
  any other key, a duplicate, a bad label or bad JSON fails with the file, line and field.
* optional ``method`` (same on every line) names the method; otherwise the file name does.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pandas as pd

from voc.vocab import NO_EMOTION
from voc_training.cxlabels.loader import LABELS_FILE
from voc_training.cxlabels.metrics import FIELDS, MULTI_FIELDS, NONE, SINGLE_FIELDS, Predictions
from voc_training.data import DataError


def _value(name: str, value: Any, where: str) -> Any:
    if name in MULTI_FIELDS:
        if isinstance(value, str):
            value = [v for v in value.split("|") if v.strip()]
        if not isinstance(value, list) or not all(isinstance(v, str) for v in value):
            raise DataError(f"{where}: field '{name}' must be a list of labels or a '|'-joined string, got {value!r}")
        labels = [v.strip() for v in value if v.strip() != NO_EMOTION]
        bad = [v for v in labels if v not in MULTI_FIELDS[name]]
        if bad:
            raise DataError(f"{where}: field '{name}' has unknown {bad}; expected labels from "
                            f"{list(MULTI_FIELDS[name])}")
        return sorted(set(labels), key=labels.index)
    if value is None or (name != "sentiment" and value in ("", NONE)):
        if name == "sentiment":
            raise DataError(f"{where}: field 'sentiment' is empty")
        return ""
    allowed = SINGLE_FIELDS[name]
    if not isinstance(value, str) or value.strip() not in allowed:
        extra = ["", NONE] if name != "sentiment" else []
        raise DataError(f"{where}: field '{name}' has {value!r}; expected one of {[*allowed, *extra]}")
    return value.strip()


def read_predictions(path: str | Path, gold: pd.DataFrame, labels_file: Path | None = None,
                     method: str | None = None) -> Predictions:
    """Read a predictions file (format above) into row-aligned Predictions for the ``gold`` eval frame
    (``labels_file``: the cxreal labels, default ``datasets/cxreal/labels.csv``, to recognise train rows)."""
    path = Path(path)
    labels_file = labels_file or LABELS_FILE
    if not path.is_file():
        raise DataError(f"{path}: predictions file not found")
    by_key = {(s, int(r)): i for i, (s, r) in enumerate(zip(gold["source"], gold["row"], strict=True))}
    labels = pd.read_csv(labels_file, dtype=str, keep_default_na=False)
    train_keys = {(s, int(r)) for s, r, sp in zip(labels["source"], labels["row"], labels["split"], strict=True)
                  if sp == "train"}
    found: dict[int, tuple[int, dict[str, Any]]] = {}
    names: set[str] = set()
    ignored = 0
    with path.open(encoding="utf-8") as fh:
        for n, line in enumerate(fh, start=1):
            if not line.strip():
                continue
            where = f"{path} line {n}"
            try:
                obj = json.loads(line)
            except json.JSONDecodeError as exc:
                raise DataError(f"{where}: not valid JSON ({exc.msg})") from None
            if not isinstance(obj, dict):
                raise DataError(f"{where}: expected a JSON object")
            idx = _row_index(obj, by_key, train_keys, gold, where)
            if idx is None:
                ignored += 1
                continue
            if idx in found:
                raise DataError(f"{where}: eval row {idx} already given on line {found[idx][0]}")
            if "method" in obj:
                names.add(str(obj["method"]))
            found[idx] = (n, {k: _value(k, obj[k], where) for k in FIELDS if k in obj})
    missing = [i for i in range(len(gold)) if i not in found]
    if missing:
        first = gold.iloc[missing[0]]
        raise DataError(f"{path}: {len(missing)} of {len(gold)} eval rows have no prediction (first: index "
                        f"{missing[0]}, source {first['source']}, row {first['row']})")
    fields_given = sorted({k for _, vals in found.values() for k in vals}, key=FIELDS.index)
    if not fields_given:
        raise DataError(f"{path}: no field to score (expected any of {list(FIELDS)})")
    fields: dict[str, list] = {}
    for k in fields_given:
        lacking = [found[i][0] for i in range(len(gold)) if k not in found[i][1]]
        if lacking:
            raise DataError(f"{path} line {lacking[0]}: field '{k}' missing ({len(lacking)} lines lack it; a field "
                            "given on one line must be given on every line)")
        fields[k] = [found[i][1][k] for i in range(len(gold))]
    if len(names) > 1:
        raise DataError(f"{path}: several method names {sorted(names)}")
    name = method or (names.pop() if names else path.stem)
    return Predictions(name, fields, f"predictions file {path.name}", {"file": str(path), "ignored_train_rows": ignored})


def _row_index(obj: dict[str, Any], by_key: dict[tuple[str, int], int], train_keys: set[tuple[str, int]],
               gold: pd.DataFrame, where: str) -> int | None:
    """Position of the line's row in ``gold``; None for a train-split row; DataError for anything else."""
    if "index" in obj:
        idx = obj["index"]
        if not isinstance(idx, int) or isinstance(idx, bool) or not 0 <= idx < len(gold):
            raise DataError(f"{where}: field 'index' must be an integer 0..{len(gold) - 1}, got {idx!r}")
        return idx
    if "source" not in obj or "row" not in obj:
        raise DataError(f"{where}: needs a key: 'source' and 'row', or 'index'")
    try:
        key = (str(obj["source"]), int(obj["row"]))
    except (TypeError, ValueError):
        raise DataError(f"{where}: field 'row' must be an integer, got {obj['row']!r}") from None
    if key in train_keys:
        return None
    if key not in by_key:
        raise DataError(f"{where}: source {key[0]!r} row {key[1]} is not a row of the cxreal labels")
    idx = by_key[key]
    sha = obj.get("text_sha1")
    if sha is not None and sha != gold["text_sha1"].iloc[idx]:
        raise DataError(f"{where}: text_sha1 {sha!r} does not match the labelled row ({gold['text_sha1'].iloc[idx]})")
    return idx
