"""Write the encoder + TF-IDF ensembles: 0.5 × a shipped e5 encoder's head + 0.5 × the shipped TF-IDF model.

    python -m voc_training.cxlabels.ensembles --tasks sentiment journey_stage          # student → models/shipped
    python -m voc_training.cxlabels.ensembles --encoder mt-teacher --tasks sentiment   # sentiment-teacher-ensemble
    python -m voc_training.cxlabels.ensembles --tasks cause --out "$VOC_MODELS_DIR"    # the unshipped candidate

Weights fixed a priori, evidence from the TF-IDF member; the sentiment encoder scores documents only (sentences
and turns come from TF-IDF: one encoder pass per record). Written into the shipped directory the members are
relative paths (``../mt-student``); anywhere else, registry names, so a candidate written into the user registry
(``$VOC_MODELS_DIR``) is found by name from a pipeline.yaml (``bench/configs/accurate_cx_ensembles.yaml``).
Measured: docs/encoder.md (sentiment), docs/cx_quality.md (cause, stage on the cxreal eval split).
"""

from __future__ import annotations

import argparse
from collections.abc import Sequence
from pathlib import Path

from voc_models.ensemble import write_ensemble
from voc_models.registry import SHIPPED_DIR

STUDENT = "mt-student"
#: the shipped encoders an ensemble may take its head from (the 4-layer student, the 12-layer teacher)
ENCODERS = (STUDENT, "mt-teacher")
#: task → (ensemble name with the student, TF-IDF member); with the teacher the name gets "-teacher"
ENSEMBLES = {"sentiment": ("sentiment-ensemble", "sentiment-tfidf"),
             "cause": ("cause-ensemble", "cause-tfidf"),
             "journey_stage": ("journey-stage-ensemble", "journey-stage-tfidf")}
#: tasks whose encoder member scores documents only (the analyzer also asks for sentences / turns)
DOCUMENTS_ONLY = ("sentiment",)
VERSION = "2026.12.07-3"
WEIGHTS = (0.5, 0.5)


def ensemble_name(task: str, encoder: str = STUDENT) -> str:
    base = ENSEMBLES[task][0]
    return base if encoder == STUDENT else base.replace("-ensemble", "-teacher-ensemble")


def card(task: str, name: str, tfidf: str, encoder: str = STUDENT) -> str:
    what = ("distilled 4-layer multilingual-e5-small student" if encoder == STUDENT
            else "12-layer multilingual-e5-small multi-task teacher")
    notes = (" It scores each record once (documents only); sentences and turns are labelled by the TF-IDF "
             "member, and a one-sentence record's sentence takes the record's label.") if task in DOCUMENTS_ONLY else ""
    if task in ("cause", "journey_stage"):
        notes += (" The head is refitted on the cxreal train rows with the encoder frozen "
                  "(`python -m voc_training.cxlabels.refit_head`) when the encoder's card lists it under "
                  "`training.refits`.")
    return (f"# {name} {VERSION} — ensemble ({task})\n\n"
            f"Kind `ensemble`: the equal-weight average of two shipped models' {task} probabilities "
            "(`voc_models.ensemble.EnsembleClassifier`; members in `voc_model.json`):\n\n"
            f"- `{encoder}` ({task} head of the {what}, int8 ONNX), weight 0.5.{notes}\n"
            f"- `{tfidf}` (the shipped TF-IDF model), weight 0.5 — also gives the evidence spans\n\n"
            "Both members have the same labels, matched by label. The weight was fixed a priori, not tuned. "
            "Written by `python -m voc_training.cxlabels.ensembles`; measured in docs/encoder.md (sentiment: "
            "`bench/results/distil_round2.json`, `teacher_round2.json`) and docs/cx_quality.md (cause, stage: "
            "`bench/results/cx_quality_profiles.json`).\n")


def write(task: str, out_root: str | Path = SHIPPED_DIR, encoder: str = STUDENT) -> Path:
    """Write the ``task`` ensemble of ``encoder`` under ``out_root``; members by relative path when shipped."""
    if task not in ENSEMBLES:
        raise ValueError(f"no ensemble for task {task!r}; expected one of {', '.join(ENSEMBLES)}")
    if encoder not in ENCODERS:
        raise ValueError(f"unknown encoder {encoder!r}; expected one of {', '.join(ENCODERS)}")
    name, tfidf = ensemble_name(task, encoder), ENSEMBLES[task][1]
    root = Path(out_root)
    shipped = root.resolve() == SHIPPED_DIR.resolve()
    refs = [f"../{m}" if shipped else m for m in (encoder, tfidf)]
    return write_ensemble(root / name, list(zip(refs, WEIGHTS, strict=True)), task=task, name=name,
                          version=VERSION, evidence=1, card=card(task, name, tfidf, encoder),
                          documents_only=[0] if task in DOCUMENTS_ONLY else [],
                          training={"weights": "0.5/0.5 fixed a priori (not tuned)", "evidence": tfidf,
                                    "encoder": encoder, "segments": "documents only" if task in DOCUMENTS_ONLY
                                    else "documents and segments",
                                    "written_by": "python -m voc_training.cxlabels.ensembles"})


def main(argv: Sequence[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--tasks", nargs="+", default=list(ENSEMBLES), choices=list(ENSEMBLES))
    parser.add_argument("--encoder", default=STUDENT, choices=list(ENCODERS))
    parser.add_argument("--out", type=Path, default=SHIPPED_DIR, help="registry root to write into")
    args = parser.parse_args(argv)
    for task in args.tasks:
        print(f"wrote {write(task, args.out, args.encoder)}")


if __name__ == "__main__":
    main()
