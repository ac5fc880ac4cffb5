"""Analysts' corrections as training data: ``voc train TASK --data FILE --with-corrections CORRECTIONS``.

CORRECTIONS is what ``voc corrections export`` writes — CSV (columns ``task``, ``text``, ``label``; lists
pipe-joined) or Label Studio JSON (tasks whose ``data`` has ``task`` and ``text``, labels in the last
annotation's ``choices``). Rows of other tasks are ignored. A corrected text that is also in the training
file takes the corrected label there (the analyst wins); other corrected texts are added.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from pathlib import Path

from voc_training.data import DataError, LabelledTexts, _is_missing, _split_labels, read_table


@dataclass
class Merged:
    rows: LabelledTexts
    replaced: int
    added: int


def _from_label_studio(path: Path, task: str) -> list[tuple[str, str]]:
    try:
        tasks = json.loads(path.read_text(encoding="utf-8"))
    except (OSError, ValueError) as exc:
        raise DataError(f"{path}: cannot read it as JSON ({exc})") from None
    if not isinstance(tasks, list):
        raise DataError(f"{path}: a Label Studio export is a JSON list of tasks")
    out = []
    for k, item in enumerate(tasks, start=1):
        data = item.get("data", {}) if isinstance(item, dict) else {}
        if data.get("task") != task:
            continue
        annotations = [a for a in item.get("annotations") or [] if not a.get("was_cancelled")]
        if not annotations:
            continue
        choices = [c for res in annotations[-1].get("result", []) for c in res.get("value", {}).get("choices", [])]
        if not str(data.get("text", "")).strip():
            raise DataError(f"{path}: task {k} has no text")
        out.append((str(data["text"]), "|".join(choices)))
    return out


def load_corrections(path: str | Path, task: str, multilabel: bool) -> LabelledTexts:
    """The corrections of ``task`` in an exported file, as labelled texts (the newest per text wins)."""
    p = Path(path)
    if p.suffix.lower() == ".json":
        pairs = _from_label_studio(p, task)
    else:
        df = read_table(p)
        for col in ("task", "text", "label"):
            if col not in df.columns:
                raise DataError(f"{p}: no column {col!r}; expected the CSV of `voc corrections export`")
        pairs = []
        for i, (t, text, label) in enumerate(zip(df["task"], df["text"], df["label"], strict=True), start=2):
            if t != task:
                continue
            if _is_missing(text) or not str(text).strip():
                raise DataError(f"{p}: row {i}: column 'text' is empty")
            label = "" if _is_missing(label) else str(label).strip()
            if not label and not multilabel:
                raise DataError(f"{p}: row {i}: column 'label' is empty")
            pairs.append((str(text), label))
    newest = dict(pairs)  # files list corrections oldest first
    texts = list(newest)
    labels: list = [_split_labels(v) if multilabel else v for v in newest.values()]
    names = sorted({lab for ls in labels for lab in ls}) if multilabel else sorted(set(labels))
    return LabelledTexts(texts, labels, multilabel, names, None, [str(p)] * len(texts))


#: An analyst's correction is gold and targeted: each corrected or added text enters training this many times,
#: so one correction moves the next model on that text (tests/test_corrections.py checks it flips).
CORRECTION_WEIGHT = 20


def merge_corrections(rows: LabelledTexts, fixes: LabelledTexts, weight: int = CORRECTION_WEIGHT) -> Merged:
    """Training rows with corrected labels applied (same text) and the remaining corrections appended; every
    corrected text is repeated ``weight`` times in all."""
    fixed = dict(zip(fixes.texts, fixes.labels, strict=True))
    texts, labels, sources = list(rows.texts), list(rows.labels), list(rows.sources or [""] * len(rows.texts))
    replaced = 0
    for i, text in enumerate(texts):
        if text in fixed and labels[i] != fixed[text]:
            labels[i] = fixed[text]
            sources[i] = fixes.sources[0] if fixes.sources else "corrections"
            replaced += 1
    present = set(texts)
    extra = [(t, lab) for t, lab in fixed.items() if t not in present]
    texts += [t for t, _ in extra]
    labels += [lab for _, lab in extra]
    sources += [fixes.sources[0] if fixes.sources else "corrections"] * len(extra)
    boost = [(t, lab) for t, lab in fixed.items()] * max(0, weight - 1)
    texts += [t for t, _ in boost]
    labels += [lab for _, lab in boost]
    sources += [fixes.sources[0] if fixes.sources else "corrections"] * len(boost)
    names = (sorted({lab for ls in labels for lab in ls}) if rows.multilabel else sorted(set(labels)))
    return Merged(LabelledTexts(texts, labels, rows.multilabel, names, None, sources), replaced, len(extra))
