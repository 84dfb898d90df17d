#!/usr/bin/env bash
# edges2cats on one CUDA GPU (H200-class) in about 8 minutes, from the packed cut-out photos.
#
#   python -m train.data.pack runs/data/cats-v7 packed/cats-v7 --budget-mb 24   # here, once
#   bash train/gpu_edges2cats.sh                                             # on the GPU machine
#
# It recomputes the edge maps from the packed photos with the app's extractor (the same variants
# as the CPU dataset), fine-tunes the shipped weights/edges2cats architecture (the app's speed
# depends on it) with AMP bf16, channels_last and a large batch, and exports the model to
# $OUT/edges2cats-gpu (config.json + model.safetensors), with the training log and sample grids
# in $OUT/runs. Back on the CPU machine, compare it with `python -m train.eval.pix2pix` before shipping.
# Environment: PACK, OUT, MINUTES (training budget), BATCH, WORKERS, DEVICE, INIT (a model folder,
# or "none" to train from scratch), STEPS (a step limit instead, for smoke tests), LAMBDA_L1, COAT (1: the
# model takes a coat colour like the shipped one, recolouring the cut-outs: pix2pix_demo.coat; 0: plain),
# RECOLOUR (the share of targets recoloured; the real photos already hold grey, black, white and ginger cats).
set -euo pipefail
cd "$(dirname "$0")/.."
PACK=${PACK:-packed/cats-v7}
OUT=${OUT:-runs/gpu}
MINUTES=${MINUTES:-8}
BATCH=${BATCH:-32}
CORES=$(nproc)
WORKERS=${WORKERS:-$(( CORES > 2 ? CORES - 2 : 0 ))}
DEVICE=${DEVICE:-cuda}
INIT=${INIT:-weights/edges2cats}
DATA=${DATA:-/tmp/edges2cats-gpu-data}
LAMBDA_L1=${LAMBDA_L1:-50}
COAT_ARGS=()
if [ "${COAT:-1}" = "1" ]; then COAT_ARGS=(--coat --coat-recolour "${RECOLOUR:-0.35}"); fi
VARIANTS=$(python -c "import json,sys; print(json.load(open(sys.argv[1]))['variants'])" "$PACK/pack.json")
METHOD=$(python -c "import json,sys; print(json.load(open(sys.argv[1]))['edge_method'] or 'hed-like')" "$PACK/pack.json")

python -m train.data.edges "$PACK" "$DATA" --method "$METHOD" --variants "$VARIANTS" --size 256 \
    --workers "$CORES"
LIMIT=(--time-budget "$MINUTES")
if [ -n "${STEPS:-}" ]; then LIMIT=(--steps "$STEPS"); fi
INIT_ARGS=()
if [ "$INIT" != "none" ]; then INIT_ARGS=(--init-from "$INIT"); fi
python -m train.pix2pix --data "$DATA" --name edges2cats-gpu --out "$OUT" --runs "$OUT/runs" --device "$DEVICE" \
    --preset unet-256-ngf16 --num-downsamplings 7 --max-channels 256 --norm instance --dropout 0.3 \
    --upsampling resize --d-layers 3 --d-channels 64 --d-norm none --spectral-norm --gan-loss hinge \
    --lambda-l1 "$LAMBDA_L1" --ema 0.999 --augment-edges "${COAT_ARGS[@]}" --batch-size "$BATCH" --workers "$WORKERS" \
    --lr 2e-4 --decay-start 0.5 "${LIMIT[@]}" "${INIT_ARGS[@]}" \
    --log-every 50 --sample-every 500 --checkpoint-every 500 --export-dtype int8
echo "Exported $OUT/edges2cats-gpu"
