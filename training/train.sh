#!/usr/bin/env bash
# Rebuilds the shipped detector (models/slopguard-detector) from ../shared/datasets:
#   normalised data (TS, modelText) -> vocab -> token ids (transformers.js) -> transformer
#   (resumes from training/work/ckpt.pt, else warm-starts from the shipped int8 model) -> ONNX fp32 + int8, then
#   training/refit.sh: n-gram model -> fusion, thresholds, manifest, model card.
# Usage: training/train.sh [--clean]      TRAIN_MINUTES=80 (wall-clock budget of the transformer),
#        TRAIN_LR=1e-3 (peak learning rate; lower it when continuing a trained model)
# Work files (data, checkpoints, fp32 ONNX) stay in training/work/, which git ignores.
set -euo pipefail
cd "$(dirname "$0")/.."
PY=/usr/bin/python3            # Debian's python with torch 1.13 + onnx 1.12
W=training/work
OUT=models/slopguard-detector
EXP=$W/export/slopguard-detector
export OPENBLAS_NUM_THREADS=1
# one thread and passive OpenMP waits: on a shared, oversubscribed CPU two spinning OpenMP
# threads made each step about 14x slower than one thread (measured here)
export OMP_WAIT_POLICY=PASSIVE

if [[ "${1:-}" == "--clean" ]]; then rm -rf "$W" "$OUT"/ngram.* "$OUT"/onnx/model_quantized.onnx; fi
mkdir -p "$W" "$OUT/onnx"

[[ -f $W/train.jsonl ]] || npx tsx scripts/prepare-data.ts
[[ -f $W/tokenizer/tokenizer.json ]] || $PY training/build_vocab.py $W/tokenizer --size 16000
[[ -f $W/train.ids.bin ]] || npx tsx scripts/prepare-data.ts --tokenize $W/tokenizer

# no checkpoint here but a shipped model: continue from its weights (only int8 is committed)
[[ -f $W/ckpt.pt || ! -f $OUT/onnx/model_quantized.onnx ]] || $PY training/warm_start.py $OUT $W/ckpt.pt
nice -n 5 $PY training/train.py --minutes "${TRAIN_MINUTES:-80}" --lr "${TRAIN_LR:-1e-3}" --layers 2 --batch 32 2>&1 | tee -a $W/train.log

$PY training/export_onnx.py $W/ckpt.pt $W/tokenizer $EXP
$PY training/quantize.py $EXP/onnx/model.onnx $EXP/onnx/model_quantized.onnx
cp $EXP/config.json $EXP/tokenizer.json $EXP/tokenizer_config.json $EXP/reference.json $OUT/
cp $EXP/onnx/model_quantized.onnx $OUT/onnx/
[[ -f models/matmul-peak/matmul_fp32.onnx ]] || $PY training/make_matmul_onnx.py models/matmul-peak

# n-gram TF-IDF + LR, fusion, thresholds, manifest and model card around the new transformer
training/refit.sh $OUT
cp $OUT/ngram.json $OUT/ngram.bin $EXP/   # lets bench/model.ts run the fp32 export as a whole detector
echo "done: $OUT (manifest.json, MODEL_CARD.md)"
