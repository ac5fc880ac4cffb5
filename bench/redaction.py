"""PII redaction quality and speed: recall/precision per kind on the project's PII corpus, masks per 1,000 real
reviews with a precision estimate from judged keys, and milliseconds per row.

    python bench/redaction.py                       # → bench/results/redaction.json
    python bench/redaction.py --engine auto         # another name engine
    python bench/redaction.py --update-keys         # add newly masked real-review spans to the keys file

Corpus (``datasets/pii/corpus.jsonl``): a gold span counts as caught when masks cover it fully (any mask kind);
a mask is correct when it overlaps a gold span. Cases tagged ``value`` go through ``Redactor.redact_value``.
Real reviews: a seeded sample of rows from the shared sravni bank and wildberries review files, read in place;
every masked span is looked up in ``datasets/pii/real_review_masks.csv`` (file, row, start, end, kind, verdict
tp/fp — keys only, never text). Spans without a verdict are reported as unjudged.
"""

from __future__ import annotations

import argparse
import csv
import json
import random
import sys
import time
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from bench.machine import describe  # noqa: E402
from voc.pii import Span  # noqa: E402
from voc.redact import Redactor  # noqa: E402
from voc_datasets.pii import KINDS, REAL_MASKS, load_corpus  # noqa: E402

REAL_FILES: tuple[str, ...] = ("sentiment/sravni_bank_reviews/all.csv", "sentiment/wildberries_product_reviews/all.csv")
STRICT_KINDS: tuple[str, ...] = ("phone", "email", "card", "passport", "snils", "inn", "account")
TARGETS: dict[str, float] = {**{k: 0.98 for k in STRICT_KINDS}, "name": 0.90, "address": 0.90}
PRECISION_TARGET = 0.95
KEY_FIELDS = ("file", "row", "start", "end", "kind", "verdict")


def covered(gold: dict[str, Any], spans: list[Span]) -> bool:
    """True when the union of ``spans`` covers ``gold`` completely."""
    pos = gold["start"]
    for s in sorted(spans, key=lambda s: s.start):
        if s.start <= pos < s.end:
            pos = s.end
    return pos >= gold["end"]


def case_spans(red: Redactor, cases: list[dict[str, Any]]) -> list[list[Span]]:
    texts = [c["text"] for c in cases if c["tag"] != "value"]
    found = iter(red.find_batch(texts))
    return [red.find_value(c["text"]) if c["tag"] == "value" else next(found) for c in cases]


def evaluate_corpus(red: Redactor, cases: list[dict[str, Any]]) -> dict[str, Any]:
    """Recall and precision per kind, overall precision, masked hard negatives, and the misses."""
    spans_per_case = case_spans(red, cases)
    gold_n = {k: 0 for k in KINDS}
    gold_hit = {k: 0 for k in KINDS}
    pred_n = {k: 0 for k in KINDS}
    pred_ok = {k: 0 for k in KINDS}
    misses: list[dict[str, Any]] = []
    false_masks: list[dict[str, Any]] = []
    negatives_masked = 0
    for case, spans in zip(cases, spans_per_case, strict=True):
        for g in case["spans"]:
            gold_n[g["kind"]] += 1
            if covered(g, spans):
                gold_hit[g["kind"]] += 1
            else:
                misses.append({"id": case["id"], "kind": g["kind"], "span": g["text"]})
        for s in spans:
            pred_n[s.kind] += 1
            if any(s.start < g["end"] and g["start"] < s.end for g in case["spans"]):
                pred_ok[s.kind] += 1
            else:
                false_masks.append({"id": case["id"], "kind": s.kind, "span": case["text"][s.start : s.end]})
        negatives_masked += bool(case["negative"] and spans)
    per_kind = {
        k: {
            "gold": gold_n[k],
            "recall": round(gold_hit[k] / gold_n[k], 4) if gold_n[k] else None,
            "masks": pred_n[k],
            "precision": round(pred_ok[k] / pred_n[k], 4) if pred_n[k] else None,
            "recall_target": TARGETS[k],
        }
        for k in KINDS
    }
    total_pred = sum(pred_n.values())
    return {
        "cases": len(cases),
        "hard_negatives": sum(c["negative"] for c in cases),
        "hard_negatives_masked": negatives_masked,
        "gold_spans": sum(gold_n.values()),
        "recall_overall": round(sum(gold_hit.values()) / max(1, sum(gold_n.values())), 4),
        "precision_overall": round(sum(pred_ok.values()) / total_pred, 4) if total_pred else None,
        "per_kind": per_kind,
        "misses": misses,
        "false_masks": false_masks,
    }


# ---------------------------------------------------------------------------------------------- real reviews


def real_sample(root: Path, per_file: int, seed: int = 0) -> list[tuple[str, int, str]]:
    """(file, row, text) for a seeded sample of non-empty ``text`` rows of each real review file."""
    import pandas as pd

    out: list[tuple[str, int, str]] = []
    for rel in REAL_FILES:
        if not (root / rel).is_file():
            raise SystemExit(f"{root / rel}: not found; set VOC_DATASETS_DIR to the shared datasets or pass --no-real")
        frame = pd.read_csv(root / rel, dtype=str, keep_default_na=False)
        rows = [i for i, t in enumerate(frame["text"].tolist()) if t.strip()]
        for i in sorted(random.Random(seed).sample(rows, min(per_file, len(rows)))):
            out.append((rel, i, frame["text"].iloc[i]))
    return out


def load_keys(path: Path = REAL_MASKS) -> dict[tuple[str, int, int, int, str], str]:
    if not path.is_file():
        return {}
    with path.open(encoding="utf-8", newline="") as fh:
        return {
            (r["file"], int(r["row"]), int(r["start"]), int(r["end"]), r["kind"]): r["verdict"]
            for r in csv.DictReader(fh)
        }


def write_keys(keys: dict[tuple[str, int, int, int, str], str], path: Path = REAL_MASKS) -> None:
    with path.open("w", encoding="utf-8", newline="") as fh:
        w = csv.writer(fh, lineterminator="\n")
        w.writerow(KEY_FIELDS)
        for key in sorted(keys):
            w.writerow([*key, keys[key]])


def evaluate_real(red: Redactor, sample: list[tuple[str, int, str]], update_keys: bool) -> dict[str, Any]:
    """Masks per 1,000 reviews and precision from the judged keys (tp/fp); unjudged masks are counted."""
    keys = load_keys()
    spans = red.find_batch([t for _, _, t in sample])
    found: dict[tuple[str, int, int, int, str], str] = {}
    for (rel, row, _), ss in zip(sample, spans, strict=True):
        for s in ss:
            found[(rel, row, s.start, s.end, s.kind)] = keys.get((rel, row, s.start, s.end, s.kind), "?")
    if update_keys:
        write_keys(found)
    verdicts = list(found.values())
    per_kind: dict[str, dict[str, int]] = {}
    for (_, _, _, _, kind), v in found.items():
        d = per_kind.setdefault(kind, {"masks": 0, "tp": 0, "fp": 0, "unjudged": 0})
        d["masks"] += 1
        d[v if v in ("tp", "fp") else "unjudged"] += 1
    tp, fp = verdicts.count("tp"), verdicts.count("fp")
    per_file = {
        rel: {
            "reviews": (n := sum(1 for r, _, _ in sample if r == rel)),
            "masks_per_1000_reviews": round(1000 * sum(1 for k in found if k[0] == rel) / max(1, n), 1),
        }
        for rel in REAL_FILES
    }
    return {
        "files": list(REAL_FILES),
        "reviews": len(sample),
        "masks": len(found),
        "masks_per_1000_reviews": round(1000 * len(found) / max(1, len(sample)), 1),
        "judged_tp": tp,
        "judged_fp": fp,
        "unjudged": len(verdicts) - tp - fp,
        "precision": round(tp / (tp + fp), 4) if tp + fp else None,
        "per_kind": per_kind,
        "per_file": per_file,
        "keys_file": str(REAL_MASKS.relative_to(ROOT)),
    }


# ------------------------------------------------------------------------------------ natasha AddrExtractor


def evaluate_natasha_addr(cases: list[dict[str, Any]]) -> dict[str, Any]:
    """Recall of natasha's AddrExtractor (yargy grammar) on the corpus addresses, false spans on the hard
    negatives, and ms per text. natasha's MorphVocab needs pymorphy2, whose dictionary lookup imports
    ``pkg_resources``; the dictionary path is given to it directly here."""
    import pymorphy2.analyzer
    import pymorphy2_dicts_ru

    pymorphy2.analyzer._lang_dict_paths = lambda: {"ru": pymorphy2_dicts_ru.get_path()}
    from natasha import AddrExtractor, MorphVocab

    extractor = AddrExtractor(MorphVocab())
    gold = hit = neg_masked = 0
    t0 = time.perf_counter()
    for case in cases:
        spans: list[Span] = []
        for m in extractor(case["text"]):  # it yields parts (street, house, flat): join those a «, » apart
            if spans and not case["text"][spans[-1].end : m.start].strip(" ,."):
                spans[-1] = Span(spans[-1].start, m.stop, "address")
            else:
                spans.append(Span(m.start, m.stop, "address"))
        for g in case["spans"]:
            if g["kind"] == "address":
                gold += 1
                hit += covered(g, spans)
        neg_masked += bool(case["negative"] and spans)
    return {
        "address_recall": round(hit / max(1, gold), 4),
        "address_gold": gold,
        "hard_negatives_with_a_span": neg_masked,
        "ms_per_text": round(1000 * (time.perf_counter() - t0) / len(cases), 2),
    }


# --------------------------------------------------------------------------------------------------- speed


def speed(red: Redactor, texts: list[str], label: str) -> dict[str, Any]:
    """Mean ms per row through ``redact_batch`` in chunks of 500, cold word caches then warm: CPU time of this
    process (the number to compare; the machine is shared) and wall time with the load average."""
    import os

    from voc.pii import address, names

    for cache in (names.name_scores, names.is_trigger, names._interesting, names._not_name, address.is_place):
        cache.cache_clear()
    out: dict[str, Any] = {"texts": label, "rows": len(texts), "mean_chars": round(sum(map(len, texts)) / len(texts))}
    for run in ("cold", "warm"):
        w0, c0 = time.perf_counter(), time.process_time()
        for i in range(0, len(texts), 500):
            red.redact_batch(texts[i : i + 500])
        out[f"cpu_ms_per_row_{run}"] = round(1000 * (time.process_time() - c0) / len(texts), 3)
        out[f"wall_ms_per_row_{run}"] = round(1000 * (time.perf_counter() - w0) / len(texts), 3)
    out["load_average_1min"] = round(os.getloadavg()[0], 2)
    return out


def main(argv: list[str] | None = None) -> int:
    from voc_training.data import datasets_root

    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--engine", default="morph", choices=("morph", "auto", "natasha"))
    parser.add_argument("--per-file", type=int, default=300, help="real reviews sampled per file")
    parser.add_argument("--update-keys", action="store_true", help="add new real-review masks (verdict '?')")
    parser.add_argument("--no-real", action="store_true", help="skip the real reviews (no shared datasets)")
    parser.add_argument("--natasha-addr", action="store_true", help="also measure natasha's AddrExtractor")
    parser.add_argument("--out", type=Path, default=ROOT / "bench/results/redaction.json")
    args = parser.parse_args(argv)

    red = Redactor(name_engine=args.engine)
    cases = load_corpus()
    corpus = evaluate_corpus(red, cases)
    corpus["holdout"] = evaluate_corpus(red, [c for c in cases if c.get("holdout")])
    for key in ("misses", "false_masks"):
        corpus["holdout"].pop(key)
    result: dict[str, Any] = {
        "benchmark": "PII redaction: corpus recall/precision per kind, real-review masks, speed",
        "command": "python bench/redaction.py " + " ".join(argv if argv is not None else sys.argv[1:]),
        "date": datetime.now(UTC).strftime("%Y-%m-%d %H:%M UTC"),
        "machine": describe(),
        "engine": red.name_engine,
        "redactor_version": red.version,
        "corpus": corpus,
    }
    if args.natasha_addr:
        result["natasha_addr_extractor"] = evaluate_natasha_addr(cases)
        print("natasha AddrExtractor:", result["natasha_addr_extractor"])
    import pandas as pd

    sample_feedback = pd.read_csv(ROOT / "datasets/sample/feedback.csv", dtype=str, keep_default_na=False)
    col = "текст" if "текст" in sample_feedback.columns else "text"
    speeds = [speed(red, [t for t in sample_feedback[col].tolist() if t.strip()], "datasets/sample/feedback.csv")]
    if not args.no_real:
        sample = real_sample(datasets_root(), args.per_file)
        result["real_reviews"] = evaluate_real(red, sample, args.update_keys)
        speeds.append(speed(red, [t for _, _, t in sample], "real review sample (sravni + wildberries)"))
    result["speed"] = speeds
    args.out.parent.mkdir(parents=True, exist_ok=True)
    args.out.write_text(json.dumps(result, ensure_ascii=False, indent=2) + "\n", encoding="utf-8")

    print(f"{'kind':9s} {'gold':>5s} {'recall':>7s} {'masks':>6s} {'prec':>6s}")
    for k, d in corpus["per_kind"].items():
        print(f"{k:9s} {d['gold']:5d} {d['recall']!s:>7s} {d['masks']:6d} {d['precision']!s:>6s}")
    print(f"overall recall {corpus['recall_overall']}, precision {corpus['precision_overall']}, "
          f"hard negatives masked {corpus['hard_negatives_masked']}/{corpus['hard_negatives']}")
    ho = corpus["holdout"]
    print(f"holdout ({ho['cases']} cases written after the rules were frozen): recall "
          + ", ".join(f"{k} {d['recall']}" for k, d in ho["per_kind"].items())
          + f"; precision {ho['precision_overall']}, hard negatives masked {ho['hard_negatives_masked']}/"
          f"{ho['hard_negatives']}")
    if "real_reviews" in result:
        r = result["real_reviews"]
        print(f"real reviews: {r['masks']} masks in {r['reviews']} ({r['masks_per_1000_reviews']}/1000), "
              f"precision {r['precision']} (tp {r['judged_tp']}, fp {r['judged_fp']}, unjudged {r['unjudged']})")
    for s in speeds:
        print(f"speed {s['texts']}: CPU {s['cpu_ms_per_row_cold']} ms/row cold, {s['cpu_ms_per_row_warm']} warm "
              f"(wall {s['wall_ms_per_row_cold']} / {s['wall_ms_per_row_warm']}, load {s['load_average_1min']})")
    print(f"wrote {args.out}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
