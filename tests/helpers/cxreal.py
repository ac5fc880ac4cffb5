"""A tiny cxreal labelled set on disk: a datasets root with a CSV and a .txt.gz source, and a labels.csv keyed
into them (voc_training.cxlabels loader tests). Reached through the ``cxreal_set`` fixture (tests/conftest.py)."""

from __future__ import annotations

import csv
import gzip
from pathlib import Path

from voc_training.cxlabels.select import text_key

LABEL_COLUMNS = ["source", "row", "text_sha1", "domain", "channel", "split", "sentiment", "cause", "journey_stage",
                 "topics", "emotions", "evidence_start", "evidence_end", "confidence", "annotator"]
SOURCES = ("sentiment/alpha/all.csv", "sentiment/beta/train.csv", "corpus/extra/gamma.txt.gz")


def write_cxreal_set(tmp_path: Path) -> tuple[Path, Path, list[str]]:
    """A datasets root with a CSV and a .txt.gz source, and a labels.csv keyed into them."""
    root = tmp_path / "datasets"
    texts = ["Курьер опоздал на три часа", "Карту заблокировали без объяснений", "Спасибо, всё быстро"]
    (root / "sentiment" / "alpha").mkdir(parents=True)
    with open(root / SOURCES[0], "w", encoding="utf-8", newline="") as fh:
        w = csv.writer(fh)
        w.writerow(["text", "label"])
        w.writerows([[t, "x"] for t in texts[:2]])
    (root / "corpus" / "extra").mkdir(parents=True)
    with gzip.open(root / SOURCES[2], "wt", encoding="utf-8") as fh:
        fh.write("первая строка\n" + texts[2] + "\n")
    keys = [(SOURCES[0], 0, texts[0]), (SOURCES[0], 1, texts[1]), (SOURCES[2], 1, texts[2])]
    labels = [
        ["negative", "ошибка процесса", "доставка", "доставка|скорость/ожидание", "раздражение/гнев", "0", "6"],
        ["negative", "ошибка процесса", "обслуживание/поддержка", "карты и счета", "", "", ""],
        ["positive", "", "", "", "благодарность", "0", "7"],
    ]
    path = tmp_path / "labels.csv"
    with open(path, "w", encoding="utf-8", newline="") as fh:
        w = csv.writer(fh)
        w.writerow(LABEL_COLUMNS)
        for (src, row, text), (sent, cause, stage, topics, emo, es, ee), split in zip(
                keys, labels, ("eval", "train", "eval"), strict=True):
            w.writerow([src, row, text_key(text), "bank", "review", split, sent, cause, stage, topics, emo, es, ee,
                        "high", "A1"])
    return root, path, texts
