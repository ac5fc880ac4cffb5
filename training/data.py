"""Training and evaluation data: the shared Russian datasets, and a user's own labelled file.

Datasets are read in place from ``$VOC_DATASETS_DIR`` (default ``<repo>/../shared/datasets``); their text
never enters the repository. Train-side splits (``train``, ``all``) feed training; ``test``/``dev``/``val``/
``validation`` splits are for evaluation only.
"""

from __future__ import annotations

import json
import os
from dataclasses import dataclass, field
from pathlib import Path

import pandas as pd

from voc.vocab import EMOTIONS, SENTIMENTS
from voc_training.emotion_mapping import ANNOTATED, MAPPING, map_labels, silver_gratitude

REPO_ROOT = Path(__file__).resolve().parent.parent
TRAIN_SPLITS = ("train", "all")
SENTIMENT_EVAL_SETS = ("sentirueval2015_banks", "sentirueval2015_telecom", "rusentiment", "rusentitweet")
EMOTION_TRAIN_SETS = ("cedr", "semeval2025_ru", "ru_izard")
#: customer-experience train-side sources added to the shared sentiment sets (see load_cx_sentiment_train)
INHOUSE_SOURCE = "inhouse"
CLAUSES_SOURCE = "gazprombank_clauses"
RATED_SOURCE = "gazprombank_ipoteka_rated"
#: per-topic sentiment words of gazprombank_clauses → our labels
CLAUSE_SENTIMENTS = {"отрицательно": "negative", "нейтрально": "neutral", "положительно": "positive"}


class DataError(ValueError):
    """A training/evaluation file or dataset that cannot be used, with the reason."""


@dataclass
class LabelledTexts:
    """Texts with labels (one per text, or a list per text when multilabel) and where each row came from."""

    texts: list[str]
    labels: list  # list[str] | list[list[str]]
    multilabel: bool = False
    label_set: list[str] = field(default_factory=list)
    known: list[list[str]] | None = None  # multilabel: labels each row's source annotates
    sources: list[str] = field(default_factory=list)
    skipped: list[int] = field(default_factory=list)  # data rows (1-based) left out as unlabelled

    def __len__(self) -> int:
        return len(self.texts)

    def counts(self) -> dict[str, int]:
        """Rows per source."""
        return {s: self.sources.count(s) for s in dict.fromkeys(self.sources)}


def datasets_root() -> Path:
    """Root of the shared datasets (``$VOC_DATASETS_DIR`` or ``<repo>/../shared/datasets``)."""
    return Path(os.environ.get("VOC_DATASETS_DIR") or REPO_ROOT.parent / "shared" / "datasets")


def _read_csv(path: Path) -> pd.DataFrame:
    if not path.is_file():
        raise DataError(f"dataset file not found: {path} (set VOC_DATASETS_DIR to the datasets folder)")
    return pd.read_csv(path, dtype=str, keep_default_na=False)


def _split_labels(value: str) -> list[str]:
    return [p for p in (s.strip() for s in value.split("|")) if p]


# ---------------------------------------------------------------------------- sentiment
def load_sentiment_train(root: Path | None = None) -> LabelledTexts:
    """All train-side splits of ``sentiment/*``, 3-class rows only."""
    base = (root or datasets_root()) / "sentiment"
    if not base.is_dir():
        raise DataError(f"no sentiment datasets under {base}")
    texts: list[str] = []
    labels: list[str] = []
    sources: list[str] = []
    for ds in sorted(p for p in base.iterdir() if p.is_dir()):
        for split in TRAIN_SPLITS:
            path = ds / f"{split}.csv"
            if path.is_file():
                df = _read_csv(path)
                df = df[df["label"].isin(SENTIMENTS) & (df["text"].str.strip() != "")]
                texts += df["text"].tolist()
                labels += df["label"].tolist()
                sources += [ds.name] * len(df)
    return LabelledTexts(texts, labels, False, list(SENTIMENTS), None, sources)


def load_inhouse_sentiment(split: str = "train") -> LabelledTexts:
    """The in-house CX set (``datasets/inhouse``) with its ``sentiment`` column; ``eval`` is for scoring only."""
    from voc_datasets.inhouse import load_inhouse

    frame = load_inhouse(split)
    bad = [i + 2 for i, v in enumerate(frame["sentiment"]) if v not in SENTIMENTS]
    if bad:
        raise DataError(f"in-house {split}.csv: column 'sentiment' must be one of {list(SENTIMENTS)}; "
                        f"bad value in line(s) {_rows(bad)}")
    return LabelledTexts(frame["text"].tolist(), frame["sentiment"].tolist(), False, list(SENTIMENTS), None,
                         [INHOUSE_SOURCE] * len(frame))


def clause_label(sentiments: list[str]) -> str | None:
    """One label for a clause when all its per-topic sentiments agree; None when mixed, empty or unknown."""
    mapped = {CLAUSE_SENTIMENTS.get(s) for s in sentiments}
    if len(mapped) != 1 or None in mapped:
        return None
    return mapped.pop()


def load_gazprombank_clauses(root: Path | None = None) -> LabelledTexts:
    """``topics/gazprombank_clauses``: clauses whose per-topic sentiments all agree (LLM **silver** labels).

    Clauses without a topic (no sentiment given) and clauses with mixed sentiments are skipped.
    """
    path = (root or datasets_root()) / "topics" / CLAUSES_SOURCE / "all.jsonl"
    if not path.is_file():
        raise DataError(f"dataset file not found: {path} (set VOC_DATASETS_DIR to the datasets folder)")
    texts: list[str] = []
    labels: list[str] = []
    with path.open(encoding="utf-8") as fh:
        for n, line in enumerate(fh, start=1):
            if not line.strip():
                continue
            try:
                row = json.loads(line)
                text, sentiments = str(row["text"]), list(row["sentiments"])
            except (ValueError, KeyError, TypeError) as exc:
                raise DataError(f"{path}: line {n}: expected a JSON object with 'text' and a 'sentiments' list "
                                f"({exc})") from None
            label = clause_label(sentiments)
            if label is not None and text.strip():
                texts.append(text)
                labels.append(label)
    return LabelledTexts(texts, labels, False, list(SENTIMENTS), None, [CLAUSES_SOURCE] * len(texts))


def load_gazprombank_rated(root: Path | None = None) -> LabelledTexts:
    """``topics/gazprombank_ipoteka_rated``: reviews labelled from stars (1–2 negative, 3 neutral, 4–5 positive)."""
    df = _read_csv((root or datasets_root()) / "topics" / RATED_SOURCE / "all.csv")
    df = df[df["label"].isin(SENTIMENTS) & (df["text"].str.strip() != "")]
    return LabelledTexts(df["text"].tolist(), df["label"].tolist(), False, list(SENTIMENTS), None,
                         [RATED_SOURCE] * len(df))


def concat(parts: list[LabelledTexts]) -> LabelledTexts:
    """Single-label sets joined in order (label set of the first)."""
    out = LabelledTexts([], [], False, list(parts[0].label_set) if parts else [], None, [])
    for part in parts:
        out.texts += part.texts
        out.labels += part.labels
        out.sources += part.sources
    return out


def load_cx_sentiment_train(root: Path | None = None, inhouse: bool = True) -> LabelledTexts:
    """Everything the shipped sentiment model trains on: ``sentiment/*`` train-side rows, the Gazprombank
    clauses (silver) and rated reviews, and (``inhouse``) the in-house ``train.csv``. Never an eval split."""
    parts = [load_sentiment_train(root), load_gazprombank_clauses(root), load_gazprombank_rated(root)]
    if inhouse:
        parts.append(load_inhouse_sentiment("train"))
    return concat(parts)


def load_sentiment_eval(name: str, root: Path | None = None, split: str = "test") -> LabelledTexts:
    """The 3-class rows of one sentiment dataset's evaluation split."""
    df = _read_csv((root or datasets_root()) / "sentiment" / name / f"{split}.csv")
    df = df[df["label"].isin(SENTIMENTS)]
    return LabelledTexts(df["text"].tolist(), df["label"].tolist(), False, list(SENTIMENTS), None,
                         [name] * len(df))


# ---------------------------------------------------------------------------- emotions
def _emotion_rows(dataset: str, path: Path) -> tuple[list[str], list[list[str]]]:
    df = _read_csv(path)
    texts: list[str] = []
    labels: list[list[str]] = []
    for text, raw in zip(df["text"], df["labels"], strict=True):
        mapped = map_labels(dataset, _split_labels(raw))
        if mapped is not None and text.strip():
            texts.append(text)
            labels.append(mapped)
    return texts, labels


def load_inhouse_emotions(split: str = "train") -> LabelledTexts:
    """The in-house CX set with its ``emotions`` column (CX labels already; every emotion is annotated)."""
    from voc_datasets.inhouse import load_inhouse

    frame = load_inhouse(split)
    for n, labels in enumerate(frame["emotions"], start=2):
        unknown = [lab for lab in labels if lab not in EMOTIONS]
        if unknown:
            raise DataError(f"in-house {split}.csv line {n}: column 'emotions' has {unknown}; "
                            f"expected pipe-joined names from {list(EMOTIONS)}")
    return LabelledTexts(frame["text"].tolist(), [sorted(ls) for ls in frame["emotions"]], True, list(EMOTIONS),
                         [list(EMOTIONS) for _ in range(len(frame))], [INHOUSE_SOURCE] * len(frame))


def load_emotions_train(root: Path | None = None, silver_gratitude_from_sentiment: bool = True,
                        inhouse: bool = False) -> LabelledTexts:
    """Train splits of cedr, semeval2025_ru and ru_izard mapped onto the CX emotions.

    Every row also gets a silver благодарность label (thanking words, see voc_training.emotion_mapping);
    with ``silver_gratitude_from_sentiment`` the train-side sentiment texts are added as rows that
    annotate благодарность only, so that head sees feedback-like text. With ``inhouse`` the in-house
    ``train.csv`` rows are added with their gold CX emotions (all six annotated).
    """
    root = root or datasets_root()
    out = LabelledTexts([], [], True, list(EMOTIONS), [], [])
    gratitude = EMOTIONS[1]
    for ds in EMOTION_TRAIN_SETS:
        texts, labels = _emotion_rows(ds, root / "emotion" / ds / "train.csv")
        for text, labs in zip(texts, labels, strict=True):
            if silver_gratitude(text):
                labs = sorted({*labs, gratitude})
            out.texts.append(text)
            out.labels.append(labs)
            out.known.append([*ANNOTATED[ds], gratitude])  # type: ignore[union-attr]
            out.sources.append(ds)
    if silver_gratitude_from_sentiment:
        sent = load_sentiment_train(root)
        for text in sent.texts:
            out.texts.append(text)
            out.labels.append([gratitude] if silver_gratitude(text) else [])
            out.known.append([gratitude])  # type: ignore[union-attr]
            out.sources.append("sentiment (silver благодарность)")
    if inhouse:
        own = load_inhouse_emotions("train")
        out.texts += own.texts
        out.labels += own.labels
        out.known += own.known  # type: ignore[operator]
        out.sources += own.sources
    return out


def drop_sparse_annotations(data: LabelledTexts, source: str, min_positives: int) -> dict[str, int]:
    """Mark ``source``'s rows as *not annotating* each label it has fewer than ``min_positives`` positives of.

    A small, heavily weighted source with (almost) no positives of a label teaches that label's head that the
    source's vocabulary means "not this label" (in-house CX text: 2 тревога/страх rows of 305 pushed words like
    «заказ», «деньги» towards no-fear, so fear never fired on CX text). Left out, the head learns the label from
    the sources that do annotate it. Changes ``data.known`` in place; returns the positives per label of
    ``source``.
    """
    if data.known is None:
        raise DataError("drop_sparse_annotations needs multilabel data with per-row 'known' labels")
    rows = [i for i, s in enumerate(data.sources) if s == source]
    positives = {lab: sum(lab in data.labels[i] for i in rows) for lab in data.label_set}
    sparse = {lab for lab, n in positives.items() if n < min_positives}
    for i in rows:
        data.known[i] = [lab for lab in data.known[i] if lab not in sparse]
    return positives


def load_emotion_eval(dataset: str, split: str, root: Path | None = None,
                      original_labels: bool = False) -> LabelledTexts:
    """An emotion evaluation split, mapped onto the CX emotions (or with the source labels as they are)."""
    path = (root or datasets_root()) / "emotion" / dataset / f"{split}.csv"
    if original_labels:
        df = _read_csv(path)
        labels = [_split_labels(v) for v in df["labels"]]
        names = sorted({lab for ls in labels for lab in ls})
        return LabelledTexts(df["text"].tolist(), labels, True, names, None, [dataset] * len(df))
    texts, mapped = _emotion_rows(dataset, path)
    annotated = [e for e in EMOTIONS if e in ANNOTATED[dataset]]
    return LabelledTexts(texts, mapped, True, annotated, [annotated] * len(texts), [dataset] * len(texts))


def emotion_source_labels(dataset: str) -> list[str]:
    """Source labels of a dataset that map onto a CX emotion."""
    return [k for k, v in MAPPING[dataset].items() if v is not None]


# ---------------------------------------------------------------------------- user files
def read_table(path: str | Path) -> pd.DataFrame:
    """A CSV, JSONL or Parquet file as a string frame; a clear DataError when it cannot be read."""
    p = Path(path)
    if not p.is_file():
        raise DataError(f"{p}: file not found")
    suffix = p.suffix.lower()
    try:
        if suffix in (".csv", ".tsv", ".txt"):
            df = pd.read_csv(p, dtype=str, keep_default_na=False, sep="\t" if suffix == ".tsv" else ",")
        elif suffix in (".jsonl", ".ndjson", ".json"):
            df = pd.read_json(p, lines=suffix != ".json", dtype=False)
        elif suffix in (".parquet", ".pq"):
            df = pd.read_parquet(p)
        else:
            raise DataError(f"{p}: unsupported file type {suffix!r}; expected .csv, .tsv, .jsonl or .parquet")
    except DataError:
        raise
    except Exception as exc:  # parser errors of pandas/pyarrow: report, no traceback
        raise DataError(f"{p}: cannot read as {suffix.lstrip('.')}: {exc}") from exc
    return df


def load_labelled_file(path: str | Path, text_col: str = "text", label_col: str = "label",
                       multilabel: bool = False, require_two_classes: bool = True,
                       skip_unlabelled: bool = False) -> LabelledTexts:
    """A user's labelled file. Multilabel labels are pipe-joined (``a|b``; empty = none).

    Errors name the column and the offending rows: missing column, empty texts, empty labels
    (single-label, unless ``skip_unlabelled``: those rows are left out and listed in ``skipped``), fewer than
    two classes.
    """
    df = read_table(path)
    for col in (text_col, label_col):
        if col not in df.columns:
            raise DataError(f"{path}: no column {col!r}; columns are: {', '.join(map(str, df.columns))}")
    if df.empty:
        raise DataError(f"{path}: no data rows")
    texts = [("" if _is_missing(v) else str(v)) for v in df[text_col]]
    empty = [i + 1 for i, t in enumerate(texts) if not t.strip()]
    if empty:
        raise DataError(f"{path}: column {text_col!r} is empty in {len(empty)} row(s): {_rows(empty)}")
    raw = [("" if _is_missing(v) else str(v).strip()) for v in df[label_col]]
    if multilabel:
        labels: list = [_split_labels(v) for v in raw]
        names = sorted({lab for ls in labels for lab in ls})
        if not names:
            raise DataError(f"{path}: column {label_col!r} has no labels at all")
    else:
        missing = [i + 1 for i, v in enumerate(raw) if not v]
        if missing and skip_unlabelled:
            keep = [i for i, v in enumerate(raw) if v]
            if not keep:
                raise DataError(f"{path}: column {label_col!r} is empty in every row; nothing to use")
            texts, raw = [texts[i] for i in keep], [raw[i] for i in keep]
        elif missing:
            raise DataError(f"{path}: column {label_col!r} is empty in {len(missing)} row(s): {_rows(missing)} "
                            "(voc evaluate --skip-unlabelled scores the labelled rows only)")
        labels = raw
        names = sorted(set(raw))
        if require_two_classes and len(names) < 2:
            raise DataError(f"{path}: column {label_col!r} has only one class ({names[0]!r}); "
                            "training needs at least two")
    return LabelledTexts(texts, labels, multilabel, names, None, [str(path)] * len(texts),
                         missing if not multilabel and skip_unlabelled else [])


def _is_missing(value: object) -> bool:
    return value is None or (isinstance(value, float) and value != value)


def _rows(rows: list[int], limit: int = 10) -> str:
    shown = ", ".join(map(str, rows[:limit]))
    return shown + (f" … (+{len(rows) - limit} more)" if len(rows) > limit else "")
