#!/usr/bin/env bash
# Re-fits everything around a transformer already in place, from ../shared/datasets:
#   n-gram TF-IDF + LR (training/train-ngram.ts) -> dev window logits of the transformer
#   (cached by the ONNX file's hash) -> fusion, per-language calibration, thresholds, manifest,
#   model card (training/fit-fusion.ts).
# Usage: training/refit.sh <modelDir>      e.g. training/refit.sh models/slopguard-detector
#   <modelDir> holds config.json, tokenizer.json, tokenizer_config.json and
#   onnx/model_quantized.onnx (the GPU kit's import and train.sh put them there).
#   NGRAM_CS=2,4,8 (regularisation grid of the n-gram LR, chosen on dev); KEEP_NGRAM=1 keeps the n-gram files.
# Needs Debian's /usr/bin/python3 with scikit-learn (the n-gram fit) and the project's npm install.
set -euo pipefail
[[ $# -eq 1 && -f "$1/onnx/model_quantized.onnx" ]] || { echo "usage: training/refit.sh <modelDir> (with onnx/model_quantized.onnx in place)" >&2; exit 2; }
DIR=$(cd "$1" && pwd)
cd "$(dirname "$0")/.."
export OPENBLAS_NUM_THREADS=1 OMP_WAIT_POLICY=PASSIVE
mkdir -p training/work
[[ -f training/work/train.jsonl && -f training/work/dev.jsonl ]] || npx tsx scripts/prepare-data.ts
if [[ -z "${KEEP_NGRAM:-}" || ! -f "$DIR/ngram.bin" ]]; then
  npx tsx training/train-ngram.ts "$DIR" --cs "${NGRAM_CS:-2,4,8}"
fi
npx tsx training/fit-fusion.ts --model-dir "$(dirname "$DIR")" --model-id "$(basename "$DIR")"
echo "refit done: $DIR (ngram.*, manifest.json, MODEL_CARD.md)"
