"""Inter-annotator agreement of a blind re-label: agreement and Cohen's kappa per field (scikit-learn).

    python -m voc_training.cxlabels.agreement --first /path/labels_{5,6,7,8}.jsonl --second /path/qc/labels_qc.jsonl \\
        --out datasets/cxreal/agreement_round2.json

Single-label fields (sentiment, cause, journey stage): raw agreement, Cohen's kappa and the most frequent
disagreements. Multi-label fields (topics, emotions): exact-set agreement, micro-F1 of the second annotator
against the first, and the mean per-label kappa over labels either annotator used.
"""

from __future__ import annotations

import argparse
import json
from collections import Counter
from collections.abc import Sequence
from pathlib import Path
from typing import Any

from sklearn.metrics import cohen_kappa_score, f1_score
from sklearn.preprocessing import MultiLabelBinarizer

SINGLE = ("sentiment", "cause", "journey_stage")
MULTI = ("topics", "emotions")


def read_labels(paths: Sequence[Path]) -> dict[str, dict[str, Any]]:
    out: dict[str, dict[str, Any]] = {}
    for path in paths:
        for n, line in enumerate(path.open(encoding="utf-8"), start=1):
            if line.strip():
                row = json.loads(line)
                if "uid" not in row:
                    raise SystemExit(f"{path} line {n}: no 'uid'")
                out[row["uid"]] = row
    return out


def agreement(first: dict[str, dict[str, Any]], second: dict[str, dict[str, Any]]) -> dict[str, Any]:
    """Scores over the uids both annotators labelled."""
    uids = sorted(set(first) & set(second))
    if not uids:
        raise SystemExit("no uid is labelled by both annotators")
    fields: dict[str, Any] = {}
    for f in SINGLE:
        a = [first[u][f] or "<empty>" for u in uids]
        b = [second[u][f] or "<empty>" for u in uids]
        diff = Counter(f"{x} -> {y}" for x, y in zip(a, b, strict=True) if x != y)
        fields[f] = {"agreement": round(sum(x == y for x, y in zip(a, b, strict=True)) / len(uids), 4),
                     "kappa": round(float(cohen_kappa_score(a, b)), 4) if a != b else 1.0, "n": len(uids),
                     "confusion_top": [f"{k}: {v}" for k, v in diff.most_common(6)]}
    for f in MULTI:
        a_sets = [set(first[u][f]) for u in uids]
        b_sets = [set(second[u][f]) for u in uids]
        exact = round(sum(x == y for x, y in zip(a_sets, b_sets, strict=True)) / len(uids), 4)
        if not any(a_sets + b_sets):  # neither annotator used a label
            fields[f] = {"exact_set_agreement": exact, "micro_f1_second_vs_first": None,
                         "mean_per_label_kappa": None, "per_label_kappa": {}}
            continue
        mlb = MultiLabelBinarizer().fit(a_sets + b_sets)
        ya, yb = mlb.transform(a_sets), mlb.transform(b_sets)
        kappas = {lab: round(float(cohen_kappa_score(ya[:, j], yb[:, j])), 4) if (ya[:, j] != yb[:, j]).any()
                  else 1.0 for j, lab in enumerate(mlb.classes_)}
        fields[f] = {"exact_set_agreement": exact,
                     "micro_f1_second_vs_first": round(float(f1_score(ya, yb, average="micro", zero_division=0)), 4),
                     "mean_per_label_kappa": round(sum(kappas.values()) / max(1, len(kappas)), 4),
                     "per_label_kappa": kappas}
    return {"n": len(uids), "fields": fields}


def main(argv: list[str] | None = None) -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--first", nargs="+", type=Path, required=True, help="the first labels (JSON lines with uid)")
    ap.add_argument("--second", nargs="+", type=Path, required=True, help="the blind re-label")
    ap.add_argument("--out", type=Path, default=None)
    args = ap.parse_args(argv)
    result = agreement(read_labels(args.first), read_labels(args.second))
    result["first_source"] = [p.name for p in args.first]
    result["second"] = [p.name for p in args.second]
    text = json.dumps(result, ensure_ascii=False, indent=1)
    if args.out:
        args.out.write_text(text + "\n", encoding="utf-8")
    print(json.dumps({f: {k: v for k, v in s.items() if k in ("agreement", "kappa", "exact_set_agreement",
                                                                "micro_f1_second_vs_first", "mean_per_label_kappa")}
                      for f, s in result["fields"].items()}, ensure_ascii=False))


if __name__ == "__main__":
    main()
