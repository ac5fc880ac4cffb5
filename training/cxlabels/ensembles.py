"""Write the cause / journey-stage ensembles: 0.5 × the distilled e5 student's head + 0.5 × the shipped TF-IDF head.

    python -m voc_training.cxlabels.ensembles --tasks journey_stage            # → models/shipped/journey-stage-ensemble
    python -m voc_training.cxlabels.ensembles --tasks cause --out "$VOC_MODELS_DIR"   # the unshipped candidate

The recipe of ``sentiment-ensemble`` (weights fixed a priori, evidence from the TF-IDF member). Written into the
shipped directory the members are relative paths (``../mt-student``); anywhere else, registry names, so a
candidate written into the user registry (``$VOC_MODELS_DIR``) is found by name from a pipeline.yaml
(``bench/configs/accurate_cx_ensembles.yaml``). Measured on the cxreal eval split: docs/cx_quality.md.
"""

from __future__ import annotations

import argparse
from collections.abc import Sequence
from pathlib import Path

from voc_models.ensemble import write_ensemble
from voc_models.registry import SHIPPED_DIR

STUDENT = "mt-student"
#: task → (ensemble name, TF-IDF member)
ENSEMBLES = {"cause": ("cause-ensemble", "cause-tfidf"),
             "journey_stage": ("journey-stage-ensemble", "journey-stage-tfidf")}
VERSION = "2026.12.07-1"
WEIGHTS = (0.5, 0.5)


def card(task: str, name: str, tfidf: str) -> str:
    return (f"# {name} {VERSION} — ensemble ({task}) for the `accurate` profile\n\n"
            f"Kind `ensemble`: the equal-weight average of two shipped models' {task} probabilities "
            "(`voc_models.ensemble.EnsembleClassifier`; members in `voc_model.json`):\n\n"
            f"- `{STUDENT}` ({task} head of the distilled 4-layer multilingual-e5-small student, int8 ONNX), "
            "weight 0.5\n"
            f"- `{tfidf}` (word + char TF-IDF on cxreal train + in-house train), weight 0.5 — also gives the "
            "evidence spans\n\n"
            "Both members have the same 7 labels + «—» (none), matched by label. The weight was fixed a priori "
            "(the recipe of `sentiment-ensemble`), not tuned. Written by `python -m voc_training.cxlabels.ensembles`; "
            "measured once on the cxreal eval split: docs/cx_quality.md (\"The accurate profile\"), "
            "`bench/results/cx_quality_accurate.json`.\n")


def write(task: str, out_root: str | Path = SHIPPED_DIR) -> Path:
    """Write the ``task`` ensemble under ``out_root``; members by relative path in the shipped directory."""
    if task not in ENSEMBLES:
        raise ValueError(f"no ensemble for task {task!r}; expected one of {', '.join(ENSEMBLES)}")
    name, tfidf = ENSEMBLES[task]
    root = Path(out_root)
    shipped = root.resolve() == SHIPPED_DIR.resolve()
    refs = [f"../{m}" if shipped else m for m in (STUDENT, tfidf)]
    return write_ensemble(root / name, list(zip(refs, WEIGHTS, strict=True)), task=task, name=name,
                          version=VERSION, evidence=1, card=card(task, name, tfidf))


def main(argv: Sequence[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--tasks", nargs="+", default=list(ENSEMBLES), choices=list(ENSEMBLES))
    parser.add_argument("--out", type=Path, default=SHIPPED_DIR, help="registry root to write into")
    args = parser.parse_args(argv)
    for task in args.tasks:
        print(f"wrote {write(task, args.out)}")


if __name__ == "__main__":
    main()
