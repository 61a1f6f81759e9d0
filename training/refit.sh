#!/usr/bin/env bash
# Re-fits the fast parts of the detector for a model folder whose transformer changed
# (training/gpu/import.ts calls it): the stages of training/train.sh after the transformer.
#   n-gram model (only when missing or RETRAIN_NGRAM is set; it does not depend on the
#   transformer) -> fusion, per-language calibration, thresholds, manifest, model card.
# Usage: training/refit.sh MODEL_DIR      (e.g. models/slopguard-detector)
# Needs training/work/{train,dev}.jsonl for the n-gram model (npx tsx scripts/prepare-data.ts).
set -euo pipefail
[[ $# -eq 1 && -d "$1" ]] || { echo "usage: training/refit.sh MODEL_DIR" >&2; exit 2; }
dir=$(cd "$1" && pwd)
cd "$(dirname "$0")/.."
mkdir -p training/work
if [[ ! -f $dir/ngram.bin || -n "${RETRAIN_NGRAM:-}" ]]; then
  [[ -f training/work/train.jsonl ]] || npx tsx scripts/prepare-data.ts
  # the shipped recipe (train.sh): AdaGrad, natural weighting
  npx tsx training/train-ngram.ts "$dir" --epochs 3 --lr 0.2 --weighting natural --optimizers adagrad
fi
npx tsx training/fit-fusion.ts --model-dir "$(dirname "$dir")" --model-id "$(basename "$dir")"
echo "refit done: $dir (manifest.json, MODEL_CARD.md)"
