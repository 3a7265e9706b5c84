#!/usr/bin/env bash
# One GPU sitting (docs/benchmarks.md): the chunk scans (device check against float64, then timing),
# the PyTorch eager reference on the same GPU, B2's fused recurrent kernels for every Miras preset,
# and A's training step. Run on the GPU machine from the repo root with .device-kit carried:
#   bash bench/gpu/sitting.sh        (results under $OUT, or bench/results when OUT is unset)
# The kit: bash ../shared/gpu/prepare-kit.sh, then for b in scan-chunk scan-recurrent train-step:
#   npx esbuild bench/$b.ts --bundle --platform=node --format=esm --external:webgpu --outfile=.device-kit/$b.mjs
set -u
source .device-kit/setup.sh
OUT=${OUT:-bench/results}
mkdir -p "$OUT"
export OUT
LOG=$OUT/sitting.log
{
  date -u
  nvidia-smi --query-gpu=name,driver_version,clocks.sm,clocks.mem --format=csv,noheader
  python3 -c 'import torch; print("torch", torch.__version__, torch.cuda.get_device_name(0))'
} >> "$LOG" 2>&1
run() { local name=$1 limit=$2; shift 2; echo "=== $name: $*" >> "$LOG"; timeout "$limit" "$@" >> "$LOG" 2>&1; echo "=== $name rc=$?" >> "$LOG"; }
run scan-chunk 300 node .device-kit/scan-chunk.mjs --chunks=16,32,64 --passes=2
PYTHONUNBUFFERED=1 run pytorch-chunk 120 python3 bench/pytorch/chunk_eager.py --out "$OUT"
run scan-recurrent 150 node .device-kit/scan-recurrent.mjs
for p in gated-deltanet gla transformer; do
  echo "=== train-step $p" >> "$LOG"
  timeout 45 node .device-kit/train-step.mjs --preset "$p" --json > "$OUT/train-step-$p.txt" 2>&1
  echo "=== train-step $p rc=$?" >> "$LOG"
done
cat "$LOG"
