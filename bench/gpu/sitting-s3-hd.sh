#!/usr/bin/env bash
# One GPU sitting (session 3, helper HD): the softmax-attention presets' mixers against PyTorch eager and SDPA, then
# the training step re-timed (chunk chooser at C = 32, loss read one step late) beside bench/pytorch/train_step.py
# (masked Gated DeltaNet). Run on the GPU machine from the repo root with .device-kit carried:
#   bash bench/gpu/sitting-s3-hd.sh      (results under $OUT/attention and $OUT/train-step; OUT defaults to bench/results)
# The bundles: npx esbuild bench/scan-attention.ts (and bench/train-step.ts) --bundle --platform=node --format=esm
#   --external:webgpu --outfile=.device-kit/hd-scan-attention.mjs (hd-train-step.mjs)
# BUDGET (seconds, default 105) bounds the whole sitting: torch.compile runs last, only if 45 s are left.
set -u
source .device-kit/setup.sh
OUT=${OUT:-bench/results}
A=$OUT/attention
S=$OUT/train-step
mkdir -p "$A" "$S"
LOG=$OUT/sitting.log
END=$(( $(date +%s) + ${BUDGET:-105} ))
left() { echo $(( END - $(date +%s) )); }
{
  date -u
  nvidia-smi --query-gpu=name,driver_version,clocks.sm,clocks.mem --format=csv,noheader
  python3 -c 'import torch; print("torch", torch.__version__, torch.cuda.get_device_name(0))'
} >> "$LOG" 2>&1
# run NAME LIMIT FILE COMMAND...: stdout+stderr into FILE, start/end/rc into the log
run() {
  local name=$1 limit=$2 file=$3; shift 3
  [ "$limit" -gt "$(left)" ] && limit=$(left)
  if [ "$limit" -le 5 ]; then echo "=== $name skipped: sitting budget spent" >> "$LOG"; return; fi
  echo "=== $name $(date -u +%T) (limit ${limit}s): $*" >> "$LOG"
  timeout "$limit" "$@" > "$file" 2>&1
  echo "=== $name rc=$? $(date -u +%T)" >> "$LOG"
}
export PYTHONUNBUFFERED=1
run scan-attention 40 "$A/scan-attention.txt" env OUT="$A" node .device-kit/hd-scan-attention.mjs
run pytorch-attention 40 "$A/pytorch-attention.txt" python3 bench/pytorch/attention_eager.py --out "$A"
for p in gated-deltanet gla transformer; do
  run "train-step $p" 30 "$S/train-step-$p.json" node .device-kit/hd-train-step.mjs --preset "$p" --json --check
done
run pytorch-train-eager 35 "$S/pytorch-eager.txt" python3 bench/pytorch/train_step.py --tf32 --out "$S/pytorch-eager.json"
[ "$(left)" -ge 45 ] && run pytorch-train-compile 60 "$S/pytorch-compile.txt" python3 bench/pytorch/train_step.py --compile --out "$S/pytorch-compile.json"
cat "$LOG"
