/**
 * GPU benchmark of the softmax-attention presets' mixers (transformer: causal; sliding-window-attention: window
 * 64; gated-deltanet-swa-hybrid's attention layers: window 256), through the engine's attention op
 * (engine/ops/attention.ts → the blocked kernels of engine/ops/attention-flash.ts), at issue #4's shape:
 * B·H = 32 (B = 2, H = 16), T = 4096, head dim 64, fp32.
 *  1. --check (default on): each window on the device against the op's float64 reference at a small shape
 *     (T not a multiple of the 32-row block), outputs, lse and every input gradient, with the caps and tiling
 *     the timing uses.
 *  2. Forward and backward times from GPU timestamps (each kernel in its own pass; median of reps), the useful
 *     FLOPs of the causal/windowed work and the % of the 43 TFLOP/s f32 WGSL ceiling (and of 4.3 TB/s).
 * Prints a table and writes $OUT/scan-attention.json (or bench/results/ when OUT is unset).
 *
 *   npx tsx bench/scan-attention.ts [--check-only] [--no-check] [--reps=20] [--smoke]
 * --smoke runs tiny shapes (tries the script on SwiftShader); timings there say nothing about GPUs.
 */
import { mkdirSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { createNodeGpu } from '../engine/gpu/node';
import { adapterSummary, capsFromDescription } from '../engine/gpu/describe';
import { median, timeForwardBackward } from './gpu/timing';
import { attentionCost, attentionDispatches, attentionPresetWindows, checkAttention, type AttentionShape } from './gpu/attention';

const FMA = 43e12; // f32 FLOP/s, measured in WGSL on the H200 (../shared/notes/gpu.md)
const BW = 4.3e12; // bytes/s, measured copy bandwidth

async function main() {
  const arg = (name: string) => process.argv.find((a) => a.startsWith(`--${name}=`))?.slice(name.length + 3);
  const has = (name: string) => process.argv.includes(`--${name}`);
  const smoke = has('smoke');
  const gpu = await createNodeGpu();
  const { device, description } = gpu;
  const caps = capsFromDescription(description);
  const tiled = !description.isFallback || smoke;
  const out: Record<string, unknown> = {
    date: new Date().toISOString(),
    adapter: adapterSummary(description),
    features: description.features,
    limits: { ws: caps.maxComputeWorkgroupStorageSize, inv: caps.maxComputeInvocationsPerWorkgroup, sb: caps.maxStorageBuffersPerShaderStage },
    tiled,
    ceilings: { fma_flops: FMA, bandwidth_bytes: BW },
    checks: [] as unknown[],
    timings: [] as unknown[],
  };
  console.log(`adapter: ${out.adapter}${tiled ? '' : ' (CPU emulation: per-row kernels)'}`);
  const mixers = attentionPresetWindows();
  const windows = [...new Map(mixers.map((m) => [m.window, m])).values()];

  // 1. float64 check at a small shape: T = 77 (not a multiple of the 32-row block), windows of the presets plus one
  //    shorter than a block, head dim 64 (the timed one) and an unequal Dv.
  if (!has('no-check')) {
    const T = smoke ? 37 : 77;
    const cases: AttentionShape[] = [
      ...windows.map((w) => ({ B: 1, T, H: 2, D: w.headDim, Dv: w.headDim, window: w.window })),
      { B: 1, T, H: 2, D: 64, Dv: 64, window: 19 },
      { B: 1, T, H: 2, D: 32, Dv: 16, window: null },
    ];
    let worst = 0;
    for (const s of cases) {
      const errs = await checkAttention(device, s, caps, tiled);
      const w = Math.max(...Object.values(errs));
      worst = Math.max(worst, w);
      (out.checks as unknown[]).push({ shape: s, errors: errs });
      console.log(`check W=${String(s.window).padEnd(4)} T=${s.T} D=${s.D} Dv=${s.Dv}: ${Object.entries(errs).map(([k, v]) => `${k} ${v.toExponential(1)}`).join(' ')}`);
    }
    out.checkWorst = worst;
    // f32 accumulation over ≤ 77 keys: errors of 1e-6 are expected; 1e-4 would mean a wrong kernel.
    if (!(worst < 1e-4)) {
      save(out);
      throw new Error(`device check against float64 failed: worst relative error ${worst}`);
    }
  }

  // 2. timing at B·H = 32, T = 4096, head dim 64
  if (!has('check-only')) {
    const reps = Number(arg('reps') ?? (smoke ? 2 : 20));
    let first = true;
    for (const m of windows) {
      const s: AttentionShape = smoke ? { B: 1, T: 64, H: 2, D: 32, Dv: 32, window: m.window } : { B: 2, T: 4096, H: 16, D: m.headDim, Dv: m.headDim, window: m.window };
      const d = attentionDispatches(device, s, caps, tiled);
      // the first shape also brings the clocks up from idle
      const warm = smoke ? 1 : first ? 30 : 10;
      first = false;
      const t = await timeForwardBackward(device, d.forward, d.backward, reps, warm);
      d.destroy();
      const f = median(t.fwd);
      const b = median(t.bwd);
      const c = attentionCost(s);
      const row = {
        presets: mixers.filter((x) => x.window === m.window).map((x) => x.preset),
        window: m.window,
        shape: s,
        fwd_ms: f,
        bwd_ms: b,
        fwdbwd_ms: f + b,
        fwd_gflop: c.fwdFlops / 1e9,
        bwd_gflop: c.bwdFlops / 1e9,
        bwd_gflop_executed: c.bwdExecuted / 1e9,
        fwd_tflops: c.fwdFlops / (f * 1e9),
        bwd_tflops: c.bwdFlops / (b * 1e9),
        fwd_fma_roofline: c.fwdFlops / FMA / (f * 1e-3),
        bwd_fma_roofline: c.bwdFlops / FMA / (b * 1e-3),
        fwd_bw_roofline: c.fwdBytes / BW / (f * 1e-3),
        bwd_bw_roofline: c.bwdBytes / BW / (b * 1e-3),
        fwd_all: t.fwd,
        bwd_all: t.bwd,
        per_kernel_ms: Object.fromEntries(Object.entries(t.perKernel).map(([k, v]) => [k, median(v)])),
      };
      (out.timings as unknown[]).push(row);
      console.log(
        `time W=${String(m.window).padEnd(4)} (${row.presets.join(', ')}): fwd ${f.toFixed(3)} ms  bwd ${b.toFixed(3)} ms  ` +
          `(${row.fwd_tflops.toFixed(1)} / ${row.bwd_tflops.toFixed(1)} TFLOP/s; FMA roofline ${(100 * row.fwd_fma_roofline).toFixed(0)}% / ${(100 * row.bwd_fma_roofline).toFixed(0)}%)`,
      );
      console.log(`     ${Object.entries(row.per_kernel_ms).map(([k, v]) => `${k} ${v.toFixed(3)}`).join(', ')}`);
    }
  }
  save(out);
  gpu.destroy();
}

function save(out: Record<string, unknown>) {
  const dir = process.env.OUT ?? join(process.cwd(), 'bench', 'results');
  mkdirSync(dir, { recursive: true });
  writeFileSync(join(dir, 'scan-attention.json'), JSON.stringify(out, null, 1));
}

main().catch((e) => {
  console.error(e);
  process.exit(1);
});
