/**
 * One training step of a small model on WebGPU: tokens/s over timed steps, and GPU time per
 * kernel from timestamp queries (when the adapter offers them). Prints results; asserts nothing.
 * Steps are timed twice: waiting for each step's loss (msPerStep), then reading each loss one step late as the
 * Trainer does (msPerStepPipelined), so the read-back overlaps the next step's encoding.
 *
 *   npx tsx bench/train-step.ts [--preset transformer] [--d-model 256] [--layers 4] [--batch 16] [--seq 256] [--vocab 256] [--steps 10] [--json] [--check]
 *
 * --check first compares this GPU's loss and every gradient with the float64 reference backend on a small
 * model of the same preset (d 64, 1 layer, batch 2, seq 128: the tiled and split GEMM paths run), and prints the errors.
 *
 * Bundle for a GPU machine (imports only 'webgpu' and node builtins):
 *   npx esbuild bench/train-step.ts --bundle --platform=node --format=esm --external:webgpu --outfile=train-step.mjs
 */
import { createNodeGpu } from '../engine/gpu/node';
import { adapterSummary, capsFromDescription } from '../engine/gpu/describe';
import { getPreset } from '../engine/presets';
import { createBackend } from '../engine/train/backend';
import { Rng } from '../engine/tasks/rng';
import { relError } from '../engine/reference/compare';

function flag(name: string, def: number): number;
function flag(name: string, def: string): string;
function flag(name: string, def: number | string): number | string {
  const i = process.argv.indexOf(`--${name}`);
  if (i < 0) return def;
  const v = process.argv[i + 1];
  return typeof def === 'number' ? Number(v) : v;
}

const preset = flag('preset', 'transformer');
const dModel = flag('d-model', 256);
const nLayers = flag('layers', 4);
const batch = flag('batch', 16);
const seqLen = flag('seq', 256);
const vocab = flag('vocab', 256);
const steps = flag('steps', 10);
const json = process.argv.includes('--json');

const gpu = await createNodeGpu();
const caps = capsFromDescription(gpu.description);
let check: { loss: number; worstGrad: number; worstParam: string } | null = null;
if (process.argv.includes('--check')) {
  const small = { spec: getPreset(preset).build({ vocabSize: 64, dModel: 64, nLayers: 1 }), batch: 2, seqLen: 128, seed: 0 };
  const ref = await createBackend({ ...small, kind: 'reference' });
  const gb = await createBackend({ ...small, kind: 'webgpu', device: gpu.device, caps, tiled: !gpu.description.isFallback });
  const r0 = new Rng(2);
  const b = { inputs: Int32Array.from({ length: 256 }, () => r0.int(0, 64)), targets: Int32Array.from({ length: 256 }, () => r0.int(0, 64)) };
  const [rg, gg] = [await ref.gradients(b), await gb.gradients(b)];
  check = { loss: Math.abs(gg.loss - rg.loss) / Math.abs(rg.loss), worstGrad: 0, worstParam: '' };
  for (const k of Object.keys(rg.grads)) {
    const e = relError(gg.grads[k], rg.grads[k]);
    if (!(e <= check.worstGrad)) check = { ...check, worstGrad: e, worstParam: k };
  }
  gb.destroy();
}
const spec = getPreset(preset).build({ vocabSize: vocab, dModel, nLayers });
const backend = await createBackend({ spec, batch, seqLen, seed: 0, kind: 'webgpu', device: gpu.device, caps, tiled: !gpu.description.isFallback });
const rng = new Rng(1);
const mk = () => ({
  inputs: Int32Array.from({ length: batch * seqLen }, () => rng.int(0, vocab)),
  targets: Int32Array.from({ length: batch * seqLen }, () => rng.int(0, vocab)),
});
const hp = (t: number) => ({ lr: 1e-3, t, beta1: 0.9, beta2: 0.95, eps: 1e-8, weightDecay: 0.1, clip: 1 });
await backend.step(mk(), hp(1)); // warm-up: pipeline compilation and first upload
const batches = Array.from({ length: steps }, mk);
const t0 = performance.now();
let loss = 0;
let encodeMs = 0;
let waitMs = 0;
const exOf = (backend as unknown as { ex: import('../engine/runtime/executor').GpuExecutor }).ex;
for (let i = 0; i < steps; i++) {
  loss = (await backend.step(batches[i], hp(i + 2))).loss;
  encodeMs += exOf.lastEncodeMs;
  waitMs += exOf.lastWaitMs;
}
const ms = (performance.now() - t0) / steps;
encodeMs /= steps;
waitMs /= steps;

// The same steps with each loss read one step late, as the Trainer now runs them: step N+1 is encoded and
// submitted while step N's read-back is pending (backend.submitStep). Same batches, continuing the optimizer.
const batches2 = Array.from({ length: steps }, mk);
const t1 = performance.now();
let pending: Promise<{ loss: number }> | null = null;
let lossPipelined = 0;
for (let i = 0; i < steps; i++) {
  const { stats } = await backend.submitStep(batches2[i], hp(steps + i + 2));
  if (pending) lossPipelined = (await pending).loss;
  pending = stats;
}
lossPipelined = (await pending!).loss;
const msPipelined = (performance.now() - t1) / steps;

// GPU time of whole steps (one pass each, timestamps at its ends; median of 5), then per-kernel GPU time:
// one extra step with a pass per kernel.
const ex = exOf;
const passMs: number[] = [];
for (let i = 0; i < 5; i++) {
  const t = await ex.timePass(['forward', 'backward', 'optimizer']);
  if (t !== null) passMs.push(t);
}
passMs.sort((a, b) => a - b);
const gpuMsPerStep = passMs.length ? passMs[passMs.length >> 1] : null;
const timings = await ex.profile(['forward', 'backward', 'optimizer']);
const byOp = new Map<string, { ms: number; n: number }>();
for (const t of timings ?? []) {
  const key = `${t.phase} ${t.name.replace(/\[.*?\]/g, '').replace(/:.*$/, (m) => m)}`;
  const e = byOp.get(key) ?? { ms: 0, n: 0 };
  e.ms += t.ms;
  e.n++;
  byOp.set(key, e);
}
const result = {
  date: new Date().toISOString(),
  device: adapterSummary(gpu.description),
  model: { preset, dModel, nLayers, vocab, parameters: backend.model.parameterCount },
  batch,
  seqLen,
  steps,
  check,
  msPerStep: ms,
  tokensPerSec: (batch * seqLen * 1000) / ms,
  lastLoss: loss,
  msPerStepPipelined: msPipelined,
  tokensPerSecPipelined: (batch * seqLen * 1000) / msPipelined,
  lastLossPipelined: lossPipelined,
  // chunk lengths of the chunk-form scans in the plan (kernel names carry [C=…])
  chunkSizes: [...new Set([...ex.plan.forward, ...ex.plan.backward].flatMap((k) => [...k.name.matchAll(/\[C=(\d+)\]/g)].map((m) => Number(m[1]))))],
  peakBytes: backend.peakBytes,
  kernels: ex.kernelCount(),
  gpuMsPerStep,
  encodeMsPerStep: encodeMs,
  waitMsPerStep: waitMs,
  gpuMsTotal: timings ? timings.reduce((a, t) => a + t.ms, 0) : null,
  byKernelKind: [...byOp].map(([k, v]) => ({ kernel: k, ms: v.ms, count: v.n })).sort((a, b) => b.ms - a.ms),
  slowest: (timings ?? []).slice().sort((a, b) => b.ms - a.ms).slice(0, 15),
};
if (json) console.log(JSON.stringify(result, null, 2));
else {
  console.log(`${result.device}`);
  console.log(`${preset} d=${dModel} L=${nLayers} V=${vocab} (${result.model.parameters.toLocaleString()} params), batch ${batch} × seq ${seqLen}`);
  if (check) console.log(`check vs float64 (d 64, 1 layer, 2×128): loss ${check.loss.toExponential(1)}, worst gradient ${check.worstGrad.toExponential(1)} (${check.worstParam})`);
  console.log(`loss read one step late: ${msPipelined.toFixed(1)} ms/step, ${Math.round(result.tokensPerSecPipelined)} tokens/s; chunk sizes ${JSON.stringify(result.chunkSizes)}`);
  console.log(`${ms.toFixed(1)} ms/step, ${Math.round(result.tokensPerSec)} tokens/s, peak ${(result.peakBytes! / 2 ** 20).toFixed(1)} MiB, kernels ${JSON.stringify(result.kernels)}`);
  if (gpuMsPerStep !== null) console.log(`GPU time of a step (one pass, median of 5): ${gpuMsPerStep.toFixed(2)} ms; CPU encoding and submits ${encodeMs.toFixed(2)} ms/step, then waiting for the read-back ${waitMs.toFixed(2)} ms`);
  if (timings) {
    console.log(`GPU time (timestamp queries, one pass per kernel): ${result.gpuMsTotal!.toFixed(2)} ms`);
    for (const k of result.byKernelKind.slice(0, 20)) console.log(`  ${k.kernel.padEnd(40)} ${k.ms.toFixed(3).padStart(9)} ms  ×${k.count}`);
  } else console.log('no timestamp-query feature: per-kernel times unavailable');
}
backend.destroy();
gpu.destroy();
