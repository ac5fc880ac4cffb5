"""Merge annotators' label files into ``datasets/cxreal/labels.csv`` (keys and labels only, no text).

    python -m voc_training.cxlabels.merge --work /path/to/labelwork [--corrections qc/corrections.jsonl]
    python -m voc_training.cxlabels.merge --work /path/to/labelwork2 --add   # a later round: keep the rows there
    python -m voc_training.cxlabels.merge --work /path/to/labelwork3 --add --draw targeted   # round 3

``--add`` keeps the rows already in the labels file and adds the new ones (a row labelled twice is an error);
rows of a slice that no annotator reached are left out of the set and counted in the message.

Evidence spans are stored as character offsets into the source text (``evidence_start``/``evidence_end``),
so the committed file holds no third-party text; the loader joins texts from ../shared at run time.
"""

from __future__ import annotations

import argparse
import csv
import json
from pathlib import Path

from voc_training.cxlabels.loader import LABELS_FILE, validate_labels

FIELDS = ("source", "row", "text_sha1", "domain", "channel", "split", "sentiment", "cause", "journey_stage",
          "topics", "emotions", "evidence_start", "evidence_end", "confidence", "annotator", "draw")


def merge(work: Path, corrections: Path | None = None, out: Path = LABELS_FILE, *, add: bool = False,
          draw: str = "random") -> int:
    """Write the merged labels file; returns its row count. ``add``: keep ``out``'s rows, allow unreached rows;
    ``draw``: how the new rows were drawn (``targeted``: round 3 — trained on, never scored in CV)."""
    rows: dict[str, dict] = {}
    labels: dict[str, dict] = {}
    for path in sorted(work.glob("slice_*.jsonl")):
        for line in path.open(encoding="utf-8"):
            r = json.loads(line)
            rows[r["uid"]] = r
    for path in sorted(work.glob("labels_*.jsonl")):
        for line in path.open(encoding="utf-8"):
            lab = json.loads(line)
            labels[lab["uid"]] = lab
    missing = sorted(set(rows) - set(labels))
    if missing and not add:
        raise SystemExit(f"{len(missing)} rows have no labels, e.g. {missing[:5]}")
    for uid in missing:  # a later round: rows no annotator reached are not part of the set
        del rows[uid]
    unknown = sorted(set(labels) - set(rows))
    if unknown:
        raise SystemExit(f"{len(unknown)} labels have no slice row, e.g. {unknown[:5]}")
    if corrections and corrections.is_file():
        for line in corrections.open(encoding="utf-8"):
            c = json.loads(line)
            labels[c["uid"]][c["field"]] = c["new"]
    out_rows = []
    for uid in sorted(rows, key=lambda u: (rows[u]["source"], rows[u]["row"])):
        r, lab = rows[uid], labels[uid]
        start = r["text"].find(lab["evidence"]) if lab.get("evidence") else -1
        out_rows.append({
            "source": r["source"], "row": r["row"], "text_sha1": r["text_sha1"], "domain": r["domain"],
            "channel": r["channel"], "split": r["split"], "sentiment": lab["sentiment"], "cause": lab["cause"],
            "journey_stage": lab["journey_stage"], "topics": "|".join(lab["topics"]),
            "emotions": "|".join(lab["emotions"]),
            "evidence_start": start if start >= 0 else "", "evidence_end": start + len(lab["evidence"]) if start >= 0 else "",
            "confidence": lab["confidence"], "annotator": f"A{uid.split('-')[0]}",
            "draw": r.get("draw", draw),
        })
    if add and out.is_file():
        with out.open(encoding="utf-8", newline="") as fh:
            kept = [{**r, "draw": r.get("draw") or "random"} for r in csv.DictReader(fh)]
        twice = {(r["source"], int(r["row"])) for r in kept} & {(r["source"], int(r["row"])) for r in out_rows}
        if twice:
            raise SystemExit(f"{len(twice)} rows are labelled already, e.g. {sorted(twice)[:3]}")
        out_rows = sorted(kept + out_rows, key=lambda r: (r["source"], int(r["row"])))
    validate_labels(out_rows)
    out.parent.mkdir(parents=True, exist_ok=True)
    with out.open("w", encoding="utf-8", newline="") as fh:
        writer = csv.DictWriter(fh, fieldnames=FIELDS)
        writer.writeheader()
        writer.writerows(out_rows)
    return len(out_rows)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--work", required=True)
    parser.add_argument("--corrections", default=None)
    parser.add_argument("--add", action="store_true", help="add to the rows already in the labels file")
    parser.add_argument("--draw", choices=("random", "targeted"), default="random",
                        help="how the new rows were drawn (round 3: targeted)")
    args = parser.parse_args()
    n = merge(Path(args.work), Path(args.corrections) if args.corrections else None, add=args.add, draw=args.draw)
    print(f"{n} rows → {LABELS_FILE}")


if __name__ == "__main__":
    main()
