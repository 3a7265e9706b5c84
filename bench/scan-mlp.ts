/**
 * GPU benchmark of the deep-MLP-memory scan kernel (engine/miras/mlp) for the five presets that use it
 * (ttt-linear, titans, moneta, yaad, memora), at B·H = 32 (B = 2, H = 16), T = 4096, d_k = d_v = 64 (the head
 * dimension the presets pick at d_model 1024; the hidden width is the preset's expansion · d_k).
 *
 * Reports, per preset: forward and backward GPU time (median of timestamped repetitions), per-kernel times,
 *   - the fraction of the 4.3 TB/s copy roofline reached by the bytes that must move (every input read once,
 *     every output written once; backward: inputs and upstream gradients read, input gradients written), and
 *   - the fraction of the 43 TFLOP/s f32 FMA roofline (what WGSL reaches on the H200) reached by the FLOPs of
 *     the MLP memory's token step, counted from the step program itself (engine/miras/mlp/program.ts): a
 *     matvec / vecmat is 2·rows·cols, an outer product rows·cols, an elementwise op 1 per element, a sum n, a
 *     slice softmax 3 per element; the reverse rules likewise (matvec 4·rows·cols, outer 4·rows·cols, a map 2 per
 *     element and non-zero partial). Forward FLOPs = T · step; backward FLOPs = T · (step + reverse step): the
 *     minimum with one recomputation of the activations (the kernel itself recomputes more; see the README).
 *
 * Flags: --only a,b (presets), --time N (tokens; times scale linearly in T, used to keep slow variants within
 * the device budget), --reps N (default 5), --check (after the timings: a tiny case per preset on the device against the
 * float64 mirror, engine/miras/mlp/f64.ts, outputs and every gradient), --smoke (tiny shape: tries the script on
 * SwiftShader). Writes JSON to $OUT/scan-mlp.json (or ./bench/results/). Run: npx tsx bench/scan-mlp.ts
 */
import { mkdirSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { createNodeGpu } from '../engine/gpu/node';
import { adapterSummary, capsFromDescription } from '../engine/gpu/describe';
import { getPreset } from '../engine/presets';
import type { MirasMixer } from '../engine/spec';
import type { ScanShape } from '../engine/ir/scan';
import { mlpProvider } from '../engine/miras/mlp/provider';
import { mlpScanF64 } from '../engine/miras/mlp/f64';
import { buildStep, variantAt, type MlpCombo, type Prog } from '../engine/miras/mlp/program';
import { prepare, uploadF32, zerosF32 } from '../engine/miras/chunk/exec';
import { runScanKernels } from '../engine/miras/recurrent/run';
import { median, timeForwardBackward } from './gpu/timing';
import { gauss, mlpInputs, relErr, rng } from '../tests/miras/mlp-helpers';

const BW = 4.3e12;
const FMA = 43e12;
export const MLP_PRESETS = ['ttt-linear', 'titans', 'moneta', 'yaad', 'memora'];

/** The preset's mixer at these heads and head dimension. */
export function presetMixer(name: string, heads: number, d: number): MirasMixer {
  const base = getPreset(name).build({ vocabSize: 256, dModel: 1024, nLayers: 1 }).layers[0].mixer as MirasMixer;
  return { ...base, heads, headDimK: d, headDimV: d } as MirasMixer;
}

/** FLOPs of one token step's forward program and of its reverse program (see the header). */
export function stepFlops(p: Prog): { fwd: number; rev: number } {
  let fwd = 0;
  let rev = 0;
  const n = (id: number) => p.arrs[id].size;
  for (const op of p.ops) {
    switch (op.kind) {
      case 'map':
        fwd += n(op.out);
        rev += 2 * n(op.out) * op.d.filter((d) => d !== '0.0').length;
        break;
      case 'matvec':
      case 'vecmat':
        fwd += (op.c === null ? 2 : 3) * n(op.W);
        rev += (op.c === null ? 4 : 6) * n(op.W);
        break;
      case 'outer':
        fwd += n(op.out);
        rev += 4 * n(op.out);
        break;
      case 'sum':
      case 'colmean':
        fwd += n(op.kind === 'sum' ? op.x : op.W);
        rev += n(op.kind === 'sum' ? op.x : op.W);
        break;
      case 'bias':
        fwd += n(op.e) * (1 + p.bias.fwdSums.length);
        rev += n(op.e) * (2 + p.bias.bwdSums.length);
        break;
      case 'softmax':
        fwd += 3 * n(op.z);
        rev += 4 * n(op.z);
        break;
    }
  }
  return { fwd, rev };
}

/** FLOPs of the whole scan (all batch·heads, T tokens): forward, and forward + reverse (the backward's minimum). */
export function scanFlops(m: MlpCombo, s: ScanShape): { fwd: number; bwd: number } {
  const per: Record<string, { fwd: number; rev: number }> = {};
  let fwd = 0;
  let bwd = 0;
  for (let t = 0; t < s.time; t++) {
    const v = variantAt(m, t);
    per[v] ??= stepFlops(buildStep(m, v).prog);
    fwd += per[v].fwd;
    bwd += per[v].fwd + per[v].rev;
  }
  return { fwd: fwd * s.batch * s.heads, bwd: bwd * s.batch * s.heads };
}

async function main() {
  const gpu = await createNodeGpu();
  const { device, description } = gpu;
  const caps = capsFromDescription(description);
  const arg = (name: string) => {
    const i = process.argv.indexOf(name);
    return i > 0 ? process.argv[i + 1] : undefined;
  };
  const smoke = process.argv.includes('--smoke');
  const out: { adapter: string; date: string; caps: unknown; argv: string[]; check: unknown[]; timings: unknown[]; skipped: unknown[] } = {
    adapter: adapterSummary(description),
    date: new Date().toISOString(),
    caps,
    argv: process.argv.slice(2),
    check: [],
    timings: [],
    skipped: [],
  };
  console.log(`adapter: ${out.adapter}`);
  const dir = process.env.OUT ?? join(process.cwd(), 'bench', 'results');
  mkdirSync(dir, { recursive: true });
  const tag = arg('--tag') ?? '';
  const save = () => writeFileSync(join(dir, `scan-mlp${tag ? `-${tag}` : ''}.json`), JSON.stringify(out, null, 1));
  const T = Number(arg('--time') ?? (smoke ? 8 : 4096));
  const shape: ScanShape = smoke ? { batch: 1, time: T, heads: 2, dk: 16, dv: 16 } : { batch: 2, time: T, heads: 16, dk: 64, dv: 64 };
  const reps = Number(arg('--reps') ?? (smoke ? 2 : 5));
  const list = arg('--only')?.split(',') ?? (smoke ? MLP_PRESETS.slice(0, 2) : MLP_PRESETS);

  for (const name of list) {
    try {
      const mixer = presetMixer(name, shape.heads, shape.dk);
      const p = mlpProvider(mixer);
      const ks = p.kernels(caps, shape);
      const x = mlpInputs(p.combo.catalog, p.combo, shape, 17);
      const bufs: Record<string, GPUBuffer> = {};
      let inBytes = 0;
      for (const d of p.inputs(shape)) {
        bufs[d.name] = uploadF32(device, Float32Array.from(x[d.name]));
        bufs[`grad.${d.name}`] = zerosF32(device, x[d.name].length);
        inBytes += 4 * x[d.name].length;
      }
      let outBytes = 0;
      const r = rng(23);
      for (const d of p.outputs(shape)) {
        const n = d.shape.reduce((a, b) => a * b, 1);
        bufs[d.name] = zerosF32(device, n);
        bufs[`grad.${d.name}`] = uploadF32(device, Float32Array.from({ length: n }, () => gauss(r)));
        outBytes += 4 * n;
      }
      let scratchBytes = 0;
      for (const sc of ks.scratch) {
        bufs[`scratch.${sc.name}`] = zerosF32(device, sc.bytes / 4);
        scratchBytes += sc.bytes;
      }
      const fw = prepare(device, ks.forward, bufs);
      const bw = prepare(device, ks.backward, bufs);
      const { fwd: fT, bwd: bT, perKernel } = await timeForwardBackward(device, fw, bw, reps, 1);
      for (const b of Object.values(bufs)) b.destroy();
      const f = median(fT);
      const b = median(bT);
      const fl = scanFlops(p.combo, shape);
      const fwdBytes = inBytes + outBytes;
      const bwdBytes = 2 * inBytes + outBytes;
      const per = Object.fromEntries(Object.entries(perKernel).map(([k, v]) => [k, median(v)]));
      const row = {
        preset: name,
        id: p.id,
        shape,
        shapes: p.combo.shapes,
        kernels: { forward: ks.forward.map((k) => k.name), backward: ks.backward.map((k) => k.name) },
        scratch_mib: scratchBytes / 2 ** 20,
        fwd_ms: f,
        bwd_ms: b,
        fwd_all_ms: fT,
        bwd_all_ms: bT,
        per_kernel_ms: per,
        fwd_bytes: fwdBytes,
        bwd_bytes: bwdBytes,
        fwd_flops: fl.fwd,
        bwd_flops: fl.bwd,
        fwd_bw_frac: fwdBytes / BW / (f / 1e3),
        bwd_bw_frac: bwdBytes / BW / (b / 1e3),
        fwd_fma_frac: fl.fwd / FMA / (f / 1e3),
        bwd_fma_frac: fl.bwd / FMA / (b / 1e3),
        // linear in T: what T = 4096 would take when a shorter run was timed
        fwd_ms_at_4096: (f * 4096) / shape.time,
        bwd_ms_at_4096: (b * 4096) / shape.time,
      };
      out.timings.push(row);
      const pc = (x: number) => `${(100 * x).toFixed(2)}%`;
      console.log(
        `time ${name.padEnd(11)} T=${shape.time} fwd ${f.toFixed(3)} ms (BW ${pc(row.fwd_bw_frac)}, FMA ${pc(row.fwd_fma_frac)})  bwd ${b.toFixed(3)} ms (BW ${pc(row.bwd_bw_frac)}, FMA ${pc(row.bwd_fma_frac)})` +
          `  flops/token fwd ${(fl.fwd / shape.time / shape.batch / shape.heads / 1e3).toFixed(1)}k`,
      );
      console.log(`  per kernel: ${Object.entries(per).map(([k, v]) => `${k} ${v.toFixed(3)}`).join(', ')}`);
      save();
    } catch (e) {
      out.skipped.push({ preset: name, why: (e as Error).message.slice(0, 400) });
      console.log(`fail ${name}: ${(e as Error).message.slice(0, 400)}`);
      save();
    }
  }
  if (process.argv.includes('--check')) {
    // After the timings (a run cut short keeps them): the kernels this sitting times, on this device and its limits,
    // against the float64 mirror (which the tests check against the tape oracle): B = 1, H = 2, d = 64, checkpoints
    // every 4 tokens, T = 6 (T = 18 for ttt-linear, past its first mini-batch of 16).
    for (const name of list) {
      const cs: ScanShape = smoke ? { batch: 1, time: 5, heads: 2, dk: 8, dv: 8 } : { batch: 1, time: name === 'ttt-linear' ? 18 : 6, heads: 2, dk: 64, dv: 64 };
      const mixer = presetMixer(name, cs.heads, cs.dk);
      const p = mlpProvider(mixer, { checkpoint: 4 });
      const x = mlpInputs(p.combo.catalog, p.combo, cs, 3);
      const want = mlpScanF64(p.combo, cs, x);
      const r = rng(5);
      const go = Float64Array.from(want.o, () => gauss(r));
      const gf = Float64Array.from(want.finalState, () => gauss(r));
      const wantG = mlpScanF64(p.combo, cs, x, { o: go, finalState: gf }).grads!;
      const ks = p.kernels(caps, cs);
      const got = await runScanKernels(device, ks, { inputs: p.inputs(cs), outputs: p.outputs(cs) }, x, { o: go, finalState: gf });
      const errs: Record<string, number> = { o: relErr(got.o, want.o), finalState: relErr(got.finalState, want.finalState) };
      for (const n of Object.keys(wantG)) errs[`d${n}`] = relErr(got.grads![n], wantG[n]);
      // Conditioning, as `miras check` measures it: the float64 mirror's own change when every input moves by one f32
      // ulp at random. A discontinuous bias (Yaad's ℓ2/ℓ1 switch) moves by far more than f32 rounding elsewhere; each
      // tensor's tolerance is max(1e-3, 10 × that change), and the output says which tensors were widened.
      const cr = rng(11);
      const xp = Object.fromEntries(Object.entries(x).map(([n, a]) => [n, Float64Array.from(a, (v) => v * (1 + (cr() < 0.5 ? -1 : 1) * 2 ** -23))]));
      const wantP = mlpScanF64(p.combo, cs, xp, { o: go, finalState: gf });
      const cond: Record<string, number> = { o: relErr(wantP.o, want.o), finalState: relErr(wantP.finalState, want.finalState) };
      for (const n of Object.keys(wantG)) cond[`d${n}`] = relErr(wantP.grads![n], wantG[n]);
      const tol = (n: string) => Math.max(1e-3, 10 * cond[n]);
      const pass = Object.entries(errs).every(([n, e]) => e <= tol(n));
      out.check.push({ preset: name, shape: cs, kernels: [...ks.forward, ...ks.backward].map((k) => k.name), errs, conditioning: cond, pass });
      console.log(`check ${name.padEnd(11)} ${pass ? 'ok ' : 'BAD'} ${Object.entries(errs).map(([n, e]) => `${n} ${e.toExponential(1)}${tol(n) > 1e-3 ? `* (tol ${tol(n).toExponential(1)})` : ''}`).join(' ')}`);
      save();
    }
  }

  save();
  gpu.destroy();
}

main().catch((e) => {
  console.error(e);
  process.exit(1);
});
