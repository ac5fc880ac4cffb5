"""Score every CX method on the real-text eval split (``datasets/cxreal``), overall, per source and per domain.

    python -m voc_training.cxlabels.evaluate                                    # production, tfidf, tfidf+lexicon
    python -m voc_training.cxlabels.evaluate --encoder-model /work/main/runs/mt-student
    python -m voc_training.cxlabels.evaluate --predictions zeroshot=preds.jsonl --methods   # a file only
    python -m voc_training.cxlabels.evaluate --out bench/results/cx_quality.json --doc docs/cx_quality.md
    python -m voc_training.cxlabels.evaluate --methods production --profile accurate   # another profile / pipeline.yaml

Methods: ``voc_training.cxlabels.methods`` (production, tfidf, tfidf+lexicon, encoder) and predictions files
(format: ``voc_training.cxlabels.predictions``). Metrics: ``voc_training.cxlabels.metrics``. The in-house eval set
(``datasets/inhouse/eval.csv``) is scored alongside for comparison only — it is **not the measure**. The eval
split is never trained or tuned on; the TF-IDF heads learn from the cxreal train split + in-house train.
"""

from __future__ import annotations

import argparse
import json
import sys
import time
from collections.abc import Sequence
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import pandas as pd

from voc_training.cxlabels.metrics import BOOTSTRAP_SAMPLES, TARGETS, Predictions, score, score_all
from voc_training.data import DataError

REPO_ROOT = Path(__file__).resolve().parents[2]
METHODS = ("production", "tfidf", "tfidf+lexicon")
RESULTS_FILE = REPO_ROOT / "bench" / "results" / "cx_quality.json"
DOC_FILE = REPO_ROOT / "docs" / "cx_quality.md"
INHOUSE_KEY = "inhouse_eval_not_the_measure"


def load_eval_sets(root: Path | None = None, inhouse: bool = True) -> dict[str, pd.DataFrame]:
    """The cxreal eval split (texts joined from the shared datasets) and, if asked, the in-house eval set."""
    from voc_training.cxlabels.loader import load_cxreal

    sets = {"cxreal": load_cxreal("eval", root=root)}
    if inhouse:
        from voc_datasets.inhouse import load_inhouse

        sets["inhouse"] = load_inhouse("eval").assign(source="inhouse", domain="inhouse")
    return sets


def _parse_predictions(specs: Sequence[str]) -> list[tuple[str | None, Path]]:
    out = []
    for spec in specs:
        name, sep, path = spec.partition("=")
        out.append((name, Path(path)) if sep and name and not Path(spec).is_file() else (None, Path(spec)))
    return out


def _record(out: dict[str, Any], preds: dict[str, Predictions], seconds: float, sets: dict[str, pd.DataFrame]) -> None:
    main = preds["cxreal"]
    entry: dict[str, Any] = {"description": main.description, "seconds": round(seconds, 1),
                             "notes": main.notes, "fields": list(main.fields),
                             **score_all(sets["cxreal"], main, bootstrap=BOOTSTRAP_SAMPLES)}
    if "inhouse" in preds:
        entry[INHOUSE_KEY] = score(sets["inhouse"], preds["inhouse"])
    out[main.method] = entry
    o = entry["overall"]
    print(f"{main.method}: " + ", ".join(
        f"{f} {m} {o[f][m]}" for f, m in TARGETS if f in o and o[f].get(m) is not None) + f" ({seconds:.0f} s)",
        flush=True)


def parse_production(spec: str) -> tuple[str | None, Path | None]:
    """``PROFILE``, ``PROFILE:CONFIG.yaml`` or ``:CONFIG.yaml`` → (profile, pipeline config); checked here so a
    typo fails before any scoring."""
    from voc_models.registry import check_profile

    profile, sep, config = spec.partition(":")
    if profile:
        check_profile(profile)
    path = Path(config) if sep and config else None
    if path is not None and not path.is_file():
        raise FileNotFoundError(f"--profile {spec}: pipeline config {path} not found")
    if not profile and path is None:
        raise ValueError(f"--profile {spec!r}: expected PROFILE, PROFILE:CONFIG.yaml or :CONFIG.yaml")
    return profile or None, path


def run(methods: Sequence[str] = METHODS, encoder_models: Sequence[str | Path] = (),
        predictions: Sequence[str] = (), inhouse: bool = True, root: Path | None = None,
        profiles: Sequence[str] = ()) -> dict[str, Any]:
    """Score the methods; the result dict that goes into ``bench/results/cx_quality.json``. ``production`` runs
    the default pipeline, or once per ``profiles`` entry (``PROFILE[:CONFIG.yaml]``, :func:`parse_production`)."""
    unknown = [m for m in methods if m not in METHODS]
    if unknown:
        raise ValueError(f"unknown methods {unknown}; expected any of {list(METHODS)}")
    from voc_training.cxlabels import methods as mth

    variants = [parse_production(p) for p in profiles] or [(None, None)]
    sets = load_eval_sets(root, inhouse)
    gold = sets["cxreal"]
    out: dict[str, Any] = {}
    for profile, config in variants if "production" in methods else []:
        t0 = time.perf_counter()
        preds = {k: mth.production(v, profile=profile, config=config) for k, v in sets.items()}
        _record(out, preds, time.perf_counter() - t0, sets)
    wanted = [m for m in ("tfidf", "tfidf+lexicon") if m in methods]
    if wanted:
        from voc_datasets.inhouse import load_inhouse
        from voc_training.cxlabels.loader import load_cxreal

        t0 = time.perf_counter()
        excluded = [t for s in sets.values() for t in s["text"]]
        train, dropped = mth.training_frame(load_cxreal("train", root=root), load_inhouse("train"), excluded)
        by_method = mth.tfidf_methods(train, sets, lexicon="tfidf+lexicon" in wanted, dropped=dropped)
        for m in wanted:
            _record(out, by_method[m], time.perf_counter() - t0, sets)
    for model_dir in encoder_models:
        t0 = time.perf_counter()
        preds = {k: mth.encoder(model_dir, v) for k, v in sets.items()}
        _record(out, preds, time.perf_counter() - t0, sets)
    from voc_training.cxlabels.predictions import read_predictions

    for name, path in _parse_predictions(predictions):
        t0 = time.perf_counter()
        _record(out, {"cxreal": read_predictions(path, gold, method=name)}, time.perf_counter() - t0, sets)
    return {
        "eval_set": {"name": "datasets/cxreal eval split", "rows": len(gold),
                     "complaints": int((gold["cause"] != "").sum()),
                     "with_stage": int((gold["journey_stage"] != "").sum()),
                     "by_source": {k: int(v) for k, v in gold["source"].value_counts().sort_index().items()},
                     "by_domain": {k: int(v) for k, v in gold["domain"].value_counts().sort_index().items()}},
        "inhouse_eval_rows": len(sets["inhouse"]) if "inhouse" in sets else None,
        "targets": {f"{f}.{m}": v for (f, m), v in TARGETS.items()},
        "methods": out,
    }


def main(argv: Sequence[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--methods", nargs="*", default=list(METHODS), choices=list(METHODS),
                        help="built-in methods to score (none: only encoders / predictions files)")
    parser.add_argument("--encoder-model", action="append", default=[], help="multi-task encoder directory")
    parser.add_argument("--predictions", action="append", default=[],
                        help="[NAME=]FILE: a predictions JSONL (see training/cxlabels/predictions.py)")
    parser.add_argument("--profile", action="append", default=[], metavar="PROFILE[:CONFIG.yaml]",
                        help="score the production method under this model profile (default, fast, accurate) "
                             "and/or pipeline.yaml; repeat for several (default: the defaults, once)")
    parser.add_argument("--no-inhouse", action="store_true", help="do not score the in-house eval set alongside")
    parser.add_argument("--out", type=Path, default=None, help=f"write the results JSON (e.g. {RESULTS_FILE})")
    parser.add_argument("--doc", type=Path, default=None, help=f"update the generated tables of a docs page "
                                                               f"(e.g. {DOC_FILE})")
    args = parser.parse_args(argv)
    from bench.machine import describe
    from voc_training.cxlabels.report import update_doc

    started = time.perf_counter()
    try:
        body = run(args.methods, args.encoder_model, args.predictions, inhouse=not args.no_inhouse,
                   profiles=args.profile)
    except (DataError, ValueError, FileNotFoundError) as exc:
        print(f"error: {exc}", file=sys.stderr)
        raise SystemExit(2) from None
    result = {"command": "python -m voc_training.cxlabels.evaluate " + " ".join(sys.argv[1:] if argv is None else argv),
              "machine": describe(), "date": datetime.now(UTC).isoformat(timespec="seconds"), **body,
              "seconds": round(time.perf_counter() - started, 1)}
    if args.out:
        args.out.parent.mkdir(parents=True, exist_ok=True)
        args.out.write_text(json.dumps(result, ensure_ascii=False, indent=2) + "\n", encoding="utf-8")
        print(f"wrote {args.out}")
    if args.doc:
        update_doc(args.doc, result)
        print(f"updated {args.doc}")


if __name__ == "__main__":
    main()
