/**
 * GPU benchmark of the chunk-parallel scans (engine/miras/chunk), one preset mixer recurrence
 * at a time, at fla's benchmark shape (B·H = 32, T = 4096, d = 64).
 *  1. Checks each configuration on the device against the float64 token recurrence at a small
 *     shape (T not a multiple of the chunk), with the full-size workgroups the timing uses.
 *  2. Times forward and backward with GPU timestamps (median of reps; each kernel in its own pass).
 * Prints a table and writes JSON to $OUT/scan-chunk.json (or ./bench/results/ when OUT is unset).
 * Run:  npx tsx bench/scan-chunk.ts         (on the GPU machine via the device kit, see docs/benchmarks.md)
 * --variants=f32,f16,f32-nosg,f16-nosg  precision of the operand tiles ('f16' needs shader-f16; on NVIDIA under
 * Dawn that needs the instance toggle vulkan_enable_f16_on_nvidia, which this script then sets) and whether the
 * subgroup reductions are used when the device has subgroups (-nosg: the workgroup-memory path). Default f32.
 */
import { mkdirSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { createNodeGpu } from '../engine/gpu/node';
import { adapterSummary, capsFromDescription } from '../engine/gpu/describe';
import { F16_DAWN_FLAGS, planChunkScan, type ChunkPlanOptions } from '../engine/miras/chunk/chunk';
import { encode, GRAD_INPUT, prepare, readF32, scanBuffers } from '../engine/miras/chunk/exec';
import { recurrentBackward, recurrentForward } from '../engine/miras/chunk/naive';
import { gradNames, tensorSizes, type ChunkScanConfig, type ChunkScanInputs, type ChunkScanShape } from '../engine/miras/chunk/types';
import { CHUNK_PRESETS } from '../engine/miras/chunk/presets';
import { randomScanInputs } from '../engine/miras/chunk/random';
import { median, timeForwardBackward } from './gpu/timing';

const BW = 4.3e12; // measured copy bandwidth, bytes/s (shared notes/gpu.md)
const FMA = 43e12; // measured f32 WGSL matmul, FLOP/s

/** RetNet's γ_h = 1 − 2^{−5−h}, heads cycling over 8 values */
const retnetDecay = (H: number) => Array.from({ length: H }, (_, h) => Math.log(1 - 2 ** (-5 - (h % 8))));

/** Benchmark inputs: decays in (0.9, 1) per step, as long sequences use them. */
const inputs = (cfg: ChunkScanConfig, s: ChunkScanShape, seed: number) => randomScanInputs(cfg, s, seed, { scalar: 0.9, vector: 0.9 });

function relErr(a: ArrayLike<number>, b: ArrayLike<number>) {
  let num = 0, den = 0;
  for (let i = 0; i < a.length; i++) {
    const d = Math.abs(a[i] - b[i]);
    num = Number.isNaN(d) ? Infinity : Math.max(num, d);
    den = Math.max(den, Math.abs(b[i]));
  }
  return num / (den || 1);
}

/** FLOPs of the chunk algorithm per (token, head), causal triangles counted half. */
function flopsPerToken(cfg: ChunkScanConfig, K: number, V: number, C: number) {
  const fwd = 4 * K * V + C * (K + V) + (cfg.rule === 'delta' ? 2 * K * V + C * K + C * (K + V) + (C * C) / 3 : 0);
  const bwd = 10 * K * V + 3 * C * (K + V) + (cfg.rule === 'delta' ? 6 * K * V + 4 * C * (K + V) + C * C : 0);
  return { fwd, bwd };
}

interface Variant {
  name: string;
  opts: ChunkPlanOptions;
}

function parseVariants(list: string | undefined): Variant[] {
  return (list ?? 'f32').split(',').map((name) => {
    const m = /^(f32|f16)(-nosg)?$/.exec(name);
    if (!m) throw new Error(`--variants: "${name}" is not one of f32, f16, f32-nosg, f16-nosg`);
    return { name, opts: { precision: m[1] as 'f32' | 'f16', ...(m[2] ? { subgroups: false } : {}) } };
  });
}

async function main() {
  const arg0 = (name: string) => process.argv.find((a) => a.startsWith(`--${name}=`))?.slice(name.length + 3);
  const variants = parseVariants(arg0('variants'));
  const wantF16 = variants.some((v) => v.opts.precision === 'f16');
  const gpu = await createNodeGpu(wantF16 ? { dawnFlags: F16_DAWN_FLAGS } : {});
  const { device, description } = gpu;
  const caps = capsFromDescription(description);
  const out: Record<string, unknown> = {
    date: new Date().toISOString(),
    adapter: adapterSummary(description),
    adapterInfo: { vendor: description.vendor, architecture: description.architecture, device: description.device, description: description.description },
    features: description.features,
    dawnFlags: wantF16 ? F16_DAWN_FLAGS : [],
    variants: variants.map((v) => v.name),
    limits: { ws: caps.maxComputeWorkgroupStorageSize, inv: caps.maxComputeInvocationsPerWorkgroup, sb: caps.maxStorageBuffersPerShaderStage },
    checks: [] as unknown[],
    timings: [] as unknown[],
  };
  console.log(`adapter: ${out.adapter}`);
  // the JSON is rewritten after every check and timing, so a run cut off by a time limit keeps what it measured
  const dir = process.env.OUT ?? join(process.cwd(), 'bench', 'results');
  mkdirSync(dir, { recursive: true });
  const save = () => writeFileSync(join(dir, 'scan-chunk.json'), JSON.stringify(out, null, 1));
  if (!description.features.includes('timestamp-query')) throw new Error('timestamp-query is not available: cannot time on the GPU');
  // --smoke: tiny shapes and barrier-free kernels, to try the script on SwiftShader
  const smoke = process.argv.includes('--smoke');
  const wg = smoke ? { workgroupSize: 1 } : {};
  // --only=gla,deltanet  time (and check) only these presets; --chunks=16,32  chunk lengths to time
  const arg = arg0;
  const only = arg('only')?.split(',');
  const timeChunks = arg('chunks')?.split(',').map(Number) ?? [32, 64];
  // --vtiles=8,16  also time these V-tiles of the delta rule's sequential kernels (default: the planner's)
  const vTiles: (number | undefined)[] = arg('vtiles')?.split(',').map(Number) ?? [undefined];
  const presets = only ? CHUNK_PRESETS.filter((p) => only.includes(p.preset)) : CHUNK_PRESETS;
  if (only && presets.length !== only.length) throw new Error(`--only: unknown preset in ${only.join(',')}`);

  // 1. correctness on the device at a small shape, each chunk length
  for (const v of variants) for (const p of presets) {
    for (const chunk of [16, 32, 64]) {
      const s = smoke ? { B: 1, T: 37, H: 2, K: 16, V: 16 } : { B: 1, T: 77, H: 2, K: 64, V: 64 };
      const cfg = { ...p.config, scale: 1 / Math.sqrt(s.K), initialState: true, logDecay: retnetDecay(s.H) };
      let plan;
      try {
        plan = planChunkScan(cfg, s, caps, { chunk, ...wg, ...v.opts });
      } catch (e) {
        (out.checks as unknown[]).push({ variant: v.name, preset: p.preset, chunk, skipped: (e as Error).message });
        continue;
      }
      const { x, dO, dht } = inputs(cfg, s, 11);
      const bufs = scanBuffers(device, cfg, s, x, dO, dht, plan.scratch);
      device.pushErrorScope('validation');
      const enc = device.createCommandEncoder();
      encode(enc, prepare(device, [...plan.forward, ...plan.backward], bufs));
      device.queue.submit([enc.finish()]);
      const err = await device.popErrorScope();
      if (err) {
        // one failing variant (e.g. an f16 kernel a driver rejects) is recorded; the sweep goes on
        (out.checks as unknown[]).push({ variant: v.name, preset: p.preset, chunk, failed: err.message });
        console.log(`check ${v.name} ${p.preset} C=${chunk}: FAILED ${err.message}`);
        for (const b of Object.values(bufs)) b.destroy();
        continue;
      }
      const ref = recurrentForward(cfg, s, x as unknown as ChunkScanInputs<Float64Array>);
      const gref = recurrentBackward(cfg, s, x as unknown as ChunkScanInputs<Float64Array>, { do: dO, dht }) as unknown as Record<string, Float64Array>;
      const errs: Record<string, number> = {
        o: relErr(await readF32(device, bufs.o, ref.o.length), ref.o),
        ht: relErr(await readF32(device, bufs.finalState, ref.ht.length), ref.ht),
      };
      for (const g of gradNames(cfg)) errs[g] = relErr(await readF32(device, bufs[`grad.${GRAD_INPUT[g]}`], gref[g].length), gref[g]);
      for (const b of Object.values(bufs)) b.destroy();
      (out.checks as unknown[]).push({ variant: v.name, preset: p.preset, chunk, tiling: plan.tiling, errors: errs });
      save();
      console.log(`check ${v.name} ${p.preset} C=${chunk}: ${Object.entries(errs).map(([k, v]) => `${k} ${v.toExponential(1)}`).join(' ')}`);
    }
  }

  // 2. timing at B·H = 32, T = 4096, d = 64
  const reps = smoke ? 2 : 20;
  let firstTimed = true;
  // --passes=N: time every configuration N times, in N sweeps over all of them, and keep each one's fastest
  // sweep (all sweeps stay in the JSON). The H200's clocks dropped 3–4× for whole configurations at a time
  // in our sittings (unchanged kernels, e.g. the state scan, ran 3× slower), so one sweep can mislead.
  const passes = Number(arg('passes') ?? 1);
  for (let pass = 0; pass < passes; pass++)
  for (const v of variants) for (const p of presets) for (const chunk of smoke ? [undefined] : timeChunks) for (const vTile of p.config.rule === 'delta' ? vTiles : [undefined]) {
    const s = smoke ? { B: 1, T: 64, H: 2, K: 16, V: 16 } : { B: 2, T: 4096, H: 16, K: 64, V: 64 };
    const cfg = { ...p.config, scale: 1 / Math.sqrt(s.K), initialState: false, logDecay: retnetDecay(s.H) };
    let plan;
    try {
      plan = planChunkScan(cfg, s, caps, { ...wg, chunk, vTile, ...v.opts });
    } catch (e) {
      if (pass === 0) (out.timings as unknown[]).push({ variant: v.name, preset: p.preset, chunk, vTile, skipped: (e as Error).message });
      continue;
    }
    const { x, dO, dht } = inputs(cfg, s, 5);
    const bufs = scanBuffers(device, cfg, s, x, dO, dht, plan.scratch);
    device.pushErrorScope('validation');
    const fw = prepare(device, plan.forward, bufs);
    const bw = prepare(device, plan.backward, bufs);
    const perr = await device.popErrorScope();
    if (perr) {
      if (pass === 0) (out.timings as unknown[]).push({ variant: v.name, preset: p.preset, chunk, vTile, failed: perr.message });
      console.log(`time ${v.name} ${p.preset} C=${chunk}: FAILED ${perr.message}`);
      for (const buf of Object.values(bufs)) buf.destroy();
      continue;
    }
    // warm-ups: the first configuration also brings the GPU's clocks up from idle (an earlier sitting's
    // first timings ran up to 3.7× slow); later ones fill caches and settle
    const warm = smoke ? 1 : firstTimed ? 60 : 10;
    firstTimed = false;
    const { fwd: fwdT, bwd: bwdT, perKernel } = await timeForwardBackward(device, fw, bw, reps, warm);
    const f = median(fwdT), b = median(bwdT);
    const tok = s.B * s.H * s.T;
    const fl = flopsPerToken(cfg, s.K, s.V, plan.tiling.C);
    const sz = tensorSizes(cfg, s);
    const ioF = 4 * (sz.q + sz.k + sz.v + (sz.g ?? 0) + (sz.beta ?? 0) + sz.o + sz.ht);
    const ioB = 4 * (2 * (sz.q + sz.k + sz.v + (sz.g ?? 0) + (sz.beta ?? 0)) + sz.o + sz.ht);
    const floor = (flops: number, bytes: number) => Math.max(flops / FMA, bytes / BW) * 1e3;
    const row = {
      variant: v.name, preset: p.preset, config: p.config, tiling: plan.tiling, shape: s,
      fwd_ms: f, bwd_ms: b, fwdbwd_ms: f + b,
      fwd_gflop: (fl.fwd * tok) / 1e9, bwd_gflop: (fl.bwd * tok) / 1e9,
      fwd_tflops: (fl.fwd * tok) / (f * 1e9), bwd_tflops: (fl.bwd * tok) / (b * 1e9),
      fwd_roofline: floor(fl.fwd * tok, ioF) / f, bwd_roofline: floor(fl.bwd * tok, ioB) / b,
      per_kernel_ms: Object.fromEntries(Object.entries(perKernel).map(([k, v]) => [k, median(v)])),
    };
    const timings = out.timings as (typeof row & { sweeps?: unknown[] })[];
    const prev = timings.findIndex((t) => t.variant === row.variant && t.preset === row.preset && t.tiling?.C === row.tiling.C && t.tiling?.VT === row.tiling.VT);
    if (prev < 0) timings.push({ ...row, sweeps: [row] });
    else {
      const sweeps = [...(timings[prev].sweeps ?? []), row];
      timings[prev] = { ...(row.fwdbwd_ms < timings[prev].fwdbwd_ms ? row : timings[prev]), sweeps };
    }
    save();
    console.log(`time ${v.name.padEnd(8)} ${p.preset.padEnd(18)} C=${plan.tiling.C} VT=${plan.tiling.VT} fwd ${f.toFixed(3)} ms  bwd ${b.toFixed(3)} ms  (${row.fwd_tflops.toFixed(1)} / ${row.bwd_tflops.toFixed(1)} TFLOP/s; roofline ${(100 * row.fwd_roofline).toFixed(0)}% / ${(100 * row.bwd_roofline).toFixed(0)}%)`);
    console.log(`     ${Object.entries(row.per_kernel_ms).map(([k, v]) => `${k} ${v.toFixed(3)}`).join(', ')}`);
    for (const buf of Object.values(bufs)) buf.destroy();
  }
  save();
  gpu.destroy();
}

main().catch((e) => {
  console.error(e);
  process.exit(1);
});
