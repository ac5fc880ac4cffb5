"""Zero-shot + self-training on unlabelled feedback: does a TF-IDF head fitted on the zero-shot path's own
confident labels of a company's *unlabelled* texts beat the zero-shot path alone? (decision 87)

    VOC_DATASETS_DIR=../shared/datasets python bench/cx_zeroshot_selftrain.py --cache-dir /tmp/e5 [--pool 3000]
    ... --final   # after the choice: the eval split, once (writes bench/results/cx_zeroshot_selftrain.json)

No gold label trains anything. The pool is unlabelled train-side text of the cxreal sources (no row of
datasets/cxreal, no text equal to a labelled one), as a company's feedback history would be. The zero-shot
classifiers read only the YAML of ``bench/zeroshot/cx`` (as ``bench/cx_zeroshot.py``); every pool text gets the
zero-shot label (forced choice, whole text); per label the most confident share ``q`` of its rows trains a
``TfidfClassifier`` (the shipped recipe's features, C 4); the result is the self-trained head's log-probabilities
mixed with the zero-shot ones (weight ``alpha``). ``q`` and ``alpha`` are chosen on a random sample of the cxreal
**train** rows (their gold labels score the settings, never train); ``--final`` scores the eval split once.
"""

from __future__ import annotations

import argparse
import json
import random
import sys
import time
from datetime import UTC, datetime
from pathlib import Path

import numpy as np

ROOT = Path(__file__).resolve().parents[1]
if str(ROOT) not in sys.path:
    sys.path.insert(0, str(ROOT))

from bench.cx_zeroshot import DiskCachedEncoder, single_label_metrics  # noqa: E402
from bench.machine import describe  # noqa: E402

RESULTS = ROOT / "bench" / "results"
Q_GRID = (0.25, 0.5, 0.75, 1.0)
ALPHA_GRID = (0.0, 0.25, 0.5, 0.75, 1.0)
TASKS = {"cause": "causes.yaml", "journey_stage": "journey.yaml"}


def pool_texts(n: int, seed: int = 87) -> list[str]:
    """``n`` unlabelled train-side texts of the cxreal sources, in the eval split's source shares."""
    import csv

    from voc_training.cxlabels.loader import LABELS_FILE
    from voc_training.cxlabels.select import QUOTAS, fresh_pool
    from voc_training.data import datasets_root

    with LABELS_FILE.open(encoding="utf-8", newline="") as fh:
        labelled = list(csv.DictReader(fh))
    taken = {(r["source"], int(r["row"])) for r in labelled}
    seen = {r["text_sha1"] for r in labelled}
    total = sum(q for _, q, _, _ in QUOTAS)
    rng = random.Random(seed)
    out: list[str] = []
    for source, quota, _, _ in QUOTAS:
        if "test" in source:
            continue
        pool = fresh_pool(datasets_root(), source, taken, seen)
        k = min(len(pool), round(n * quota / total))
        for _, text, key in rng.sample(pool, k):
            if key not in seen:
                seen.add(key)
                out.append(text)
    return out


def negative(texts: list[str]) -> np.ndarray:
    """The shipped sentiment model's «negative» (the pipeline's complaint gate: a cause is given only there)."""
    from voc.analyzers.registry import create
    from voc.schema import Feedback, Findings

    records = [Feedback(id=str(i), text=t) for i, t in enumerate(texts)]
    findings = [Findings(feedback_id=r.id) for r in records]
    create("sentiment")(records, findings)
    return np.array([f.sentiment == "negative" for f in findings])


def zeroshot_proba(classifier, texts: list[str]) -> np.ndarray:  # noqa: ANN001
    """Forced-choice softmax of the zero-shot classifier over whole texts."""
    from voc.zeroshot import Unit

    scores, _ = classifier.score_units([[Unit(t, 0, len(t), whole=True)] for t in texts])
    return classifier.probabilities(scores)[0]


def self_train(pool: list[str], p_pool: np.ndarray, names: list[str], q: float):  # noqa: ANN201
    """A TfidfClassifier fitted on the most confident share ``q`` of each zero-shot label's pool rows."""
    from voc_models.base import ModelInfo
    from voc_models.tfidf import TfidfClassifier

    pred, conf = p_pool.argmax(axis=1), p_pool.max(axis=1)
    keep: list[int] = []
    for j in range(len(names)):
        rows = np.flatnonzero(pred == j)
        if len(rows) == 0:
            continue
        k = max(5, int(round(q * len(rows))))
        keep += rows[np.argsort(-conf[rows])[:k]].tolist()
    present = sorted({int(pred[i]) for i in keep})
    model = TfidfClassifier(ModelInfo(name="zeroshot-selftrained", version="0", task="custom", kind="tfidf",
                                      labels=[names[j] for j in present]), C=4.0)
    model.fit([pool[i] for i in keep], [names[int(pred[i])] for i in keep], label_set=[names[j] for j in present],
              val_fraction=0.0)
    return model, len(keep)


def mixed(model, p_zero: np.ndarray, texts: list[str], names: list[str], alpha: float) -> np.ndarray:  # noqa: ANN001
    """alpha · log P(self-trained) + (1 − alpha) · log P(zero-shot), over the zero-shot label order."""
    p_self = np.full_like(p_zero, 1e-6)
    proba = model.predict_proba(texts)
    for k, lab in enumerate(model.labels):
        p_self[:, names.index(lab)] = proba[:, k]
    return alpha * np.log(p_self + 1e-9) + (1 - alpha) * np.log(p_zero + 1e-9)


def main(argv: list[str] | None = None) -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--cache-dir", type=Path, default=None)
    ap.add_argument("--configs", type=Path, default=ROOT / "bench" / "zeroshot" / "cx")
    ap.add_argument("--pool", type=int, default=3000)
    ap.add_argument("--design", type=int, default=1000, help="random cxreal train rows that score the settings")
    ap.add_argument("--final", action="store_true", help="score the eval split with the chosen settings")
    ap.add_argument("--q", type=float, default=None)
    ap.add_argument("--alpha", type=float, default=None)
    ap.add_argument("--out", type=Path, default=RESULTS / "cx_zeroshot_selftrain.json")
    args = ap.parse_args(argv)

    from voc.analyzers.zeroshot import ZeroShotCauseAnalyzer, ZeroShotJourneyStageAnalyzer
    from voc.zeroshot import E5Encoder
    from voc_training.cxlabels.loader import load_cxreal

    encoder = DiskCachedEncoder(args.cache_dir) if args.cache_dir else E5Encoder()
    classifiers = {"cause": ZeroShotCauseAnalyzer(args.configs / "causes.yaml", encoder=encoder).classifier,
                   "journey_stage": ZeroShotJourneyStageAnalyzer(args.configs / "journey.yaml",
                                                                 encoder=encoder).classifier}
    t0 = time.perf_counter()
    pool = pool_texts(args.pool)
    if args.final:
        frame = load_cxreal("eval")
    else:
        train = load_cxreal("train")
        train = train[train["draw"] == "random"].reset_index(drop=True)
        frame = train.sample(n=min(args.design, len(train)), random_state=87).reset_index(drop=True)
    texts = frame["text"].tolist()
    print(f"pool {len(pool)} texts, scored rows {len(frame)}", file=sys.stderr, flush=True)
    result: dict = {"command": "python bench/cx_zeroshot_selftrain.py " + " ".join(argv or sys.argv[1:]),
                    "date": datetime.now(UTC).isoformat(timespec="seconds"), "machine": describe(),
                    "split": "eval" if args.final else f"train (random rows, sample of {len(frame)})",
                    "pool_texts": len(pool), "tasks": {}}
    pool_negative = negative(pool)
    result["pool_negative"] = int(pool_negative.sum())
    for task, clf in classifiers.items():
        names = clf.names
        # the cause is learnt from the texts the pipeline would give a cause to (negative ones)
        task_pool = [t for t, neg in zip(pool, pool_negative, strict=True) if neg] if task == "cause" else pool
        p_pool = zeroshot_proba(clf, task_pool)
        p_rows = zeroshot_proba(clf, texts)
        gold = frame[task].tolist()
        keep_rows = [i for i, g in enumerate(gold) if g]
        g = [gold[i] for i in keep_rows]
        base = single_label_metrics(g, [names[int(j)] for j in p_rows[keep_rows].argmax(axis=1)])
        entry: dict = {"rows": len(keep_rows), "zeroshot": {k: base[k] for k in ("accuracy", "macro_f1")},
                       "pool_label_counts": {names[j]: int((p_pool.argmax(axis=1) == j).sum())
                                             for j in range(len(names))}, "grid": {}}
        qs = (args.q,) if args.q is not None else Q_GRID
        alphas = (args.alpha,) if args.alpha is not None else ALPHA_GRID
        for q in qs:
            model, n_fit = self_train(task_pool, p_pool, names, q)
            for alpha in alphas:
                z = mixed(model, p_rows[keep_rows], [texts[i] for i in keep_rows], names, alpha)
                m = single_label_metrics(g, [names[int(j)] for j in z.argmax(axis=1)])
                entry["grid"][f"q{q}_a{alpha}"] = {"accuracy": m["accuracy"], "macro_f1": m["macro_f1"],
                                                   "fit_rows": n_fit}
                print(f"{task} q {q} alpha {alpha}: acc {m['accuracy']:.3f} macro-F1 {m['macro_f1']:.3f} "
                      f"(zero-shot {base['accuracy']:.3f} / {base['macro_f1']:.3f})", file=sys.stderr, flush=True)
        result["tasks"][task] = entry
    result["seconds"] = round(time.perf_counter() - t0, 1)
    args.out.write_text(json.dumps(result, ensure_ascii=False, indent=1), encoding="utf-8")
    print(f"wrote {args.out}")


if __name__ == "__main__":
    main()
