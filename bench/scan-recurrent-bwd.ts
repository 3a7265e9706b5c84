/**
 * GPU benchmark of the fused recurrent BACKWARD kernels (engine/miras/recurrent/fast.ts, mlstm-fast.ts) under
 * launch-shape and design variants, at B·H = 32 (B = 2, H = 16), T = 4096, d_k = d_v = 64, fp32: GPU timestamps
 * per kernel (median of --reps repetitions after 2 warm-ups), backward span, and the fraction of the 4.3 TB/s
 * bandwidth roofline (inputs and upstream gradients read once, input gradients written once).
 *
 *   --check        first every (preset, variant) at B = 1, H = 2, T = 40, d = 64 with the device's limits against
 *                  the float64 oracle: outputs and every gradient (relative error; pass < 1e-3)
 *   --only a,b     presets (default: the ten recurrent presets incl. mLSTM)
 *   --variants a,b variant tags (default: all of the preset's family); see VARIANTS
 *   --reps N       timed repetitions (default 10)
 *   --smoke        tiny shape (tries the script on SwiftShader)
 * Writes $OUT/scan-recurrent-bwd.json (or ./bench/results/). Run: npx tsx bench/scan-recurrent-bwd.ts --check
 */
import { mkdirSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { createNodeGpu } from '../engine/gpu/node';
import { adapterSummary, capsFromDescription } from '../engine/gpu/describe';
import type { DeviceCaps, KernelSpec } from '../engine/plan/kernel';
import { getPreset } from '../engine/presets';
import type { MirasMixer } from '../engine/spec';
import { comboInputs, comboOutputs, resolveCombo, type Combo, type ScanDims } from '../engine/miras/math/combo';
import { layout, recurrentKernels, type RecurrentKernels } from '../engine/miras/recurrent/codegen';
import { fastBackwardConfig, fastBackwardKernel, type FastConfig } from '../engine/miras/recurrent/fast';
import { mlstmFastBackwardKernel, mlstmFastConfig, type MlstmFastConfig } from '../engine/miras/recurrent/mlstm-fast';
import { mlstmGeneralBackwardKernel } from '../engine/miras/recurrent/mlstm';
import { runScanKernels } from '../engine/miras/recurrent/run';
import { referenceProviderFor } from '../engine/miras/reference/provider';
import { prepare, uploadF32, zerosF32 } from '../engine/miras/chunk/exec';
import { median, timeForwardBackward } from './gpu/timing';
import { gauss, randomInputs, relErr, rng } from '../tests/miras/kernel-helpers';

const BW = 4.3e12;
const PRESETS = ['linear-attention', 'retnet', 'gla', 'mamba2', 'hgrn2', 'mlstm', 'deltanet', 'gated-deltanet', 'deltaproduct', 'longhorn'];

/** A variant of the backward: launch-shape / design overrides of the fast kernel's config, or the general kernel. */
interface Variant {
  tag: string;
  fast?: Partial<FastConfig>;
  mlstm?: Partial<MlstmFastConfig> | 'general';
}
const VARIANTS: Variant[] = [
  { tag: 'default' },
  { tag: 'P4', fast: { P: 4 } },
  { tag: 'P16', fast: { P: 16 } },
  { tag: 'LP8', fast: { LP: 8 } },
  { tag: 'LP32', fast: { LP: 32 } },
  { tag: 'noprefetch', fast: { prefetch: false } },
  { tag: 'mlstm-P4', mlstm: { P: 4 } },
  { tag: 'mlstm-noprefetch', mlstm: { prefetch: false } },
  { tag: 'mlstm-general', mlstm: 'general' },
];

/** The kernels of one (combination, shape, variant); null when the variant does not apply or fit. */
function kernelsFor(c: Combo, s: ScanDims, caps: DeviceCaps, v: Variant): RecurrentKernels | null {
  if (c.mlstm ? v.fast : v.mlstm) return null;
  const swap = (k: RecurrentKernels, kernel: KernelSpec, prefix: string) => ({ ...k, backward: k.backward.map((x) => (x.name.startsWith(prefix) ? kernel : x)) });
  if (c.mlstm) {
    const k = recurrentKernels(c, s, caps);
    if (!v.mlstm) return k;
    const L = layout(c, s, {});
    if (v.mlstm === 'general') return swap(k, mlstmGeneralBackwardKernel(c, s, L, caps), 'miras_recurrent_mlstm_bwd');
    const base = mlstmFastConfig(c, L, caps, { P: v.mlstm.P, LP: v.mlstm.LP });
    return base ? swap(k, mlstmFastBackwardKernel(c, s, L, caps, { ...base, ...v.mlstm }), 'miras_recurrent_mlstm_bwd') : null;
  }
  // launch shape through recurrentKernels' own planning (P and LP change the layout of the gate partials)
  const tune = { backward: { P: v.fast?.P, LP: v.fast?.LP } };
  const k = recurrentKernels(c, s, caps, { tune });
  const L0 = layout(c, s, { tune }, 16);
  const cfg = fastBackwardConfig(c, L0, caps, tune.backward);
  if (!cfg) return null;
  if (v.fast?.P !== undefined && cfg.P !== v.fast.P) return null;
  const L = layout(c, s, { tune }, 16, cfg.P);
  const mine = fastBackwardKernel(c, s, L, caps, cfg);
  const theirs = k.backward.find((x) => x.name === 'miras_recurrent_bwd_fast');
  if (!theirs || theirs.wgsl !== mine.wgsl) throw new Error(`${c.id}: the bench's plan of the fast backward differs from recurrentKernels'`);
  return swap(k, fastBackwardKernel(c, s, L, caps, { ...cfg, ...v.fast }), 'miras_recurrent_bwd_fast');
}

function mixerOf(name: string, s: ScanDims): MirasMixer {
  const base = getPreset(name).build({ vocabSize: 256, dModel: 1024, nLayers: 1 }).layers[0].mixer as MirasMixer;
  return { ...base, heads: s.heads, headDimK: s.dk, headDimV: s.dv } as MirasMixer;
}

const f32 = (x: Float64Array) => Float32Array.from(x);

async function main() {
  const argv = process.argv;
  const arg = (n: string) => (argv.indexOf(n) > 0 ? argv[argv.indexOf(n) + 1] : undefined);
  const gpu = await createNodeGpu();
  const { device, description } = gpu;
  const caps = capsFromDescription(description);
  const out = { adapter: adapterSummary(description), date: new Date().toISOString(), caps, check: [] as unknown[], timings: [] as unknown[], skipped: [] as unknown[] };
  console.log(`adapter: ${out.adapter}; subgroups ${caps.subgroups ? 'yes' : 'no'}`);
  const dir = process.env.OUT ?? join(process.cwd(), 'bench', 'results');
  mkdirSync(dir, { recursive: true });
  const save = () => writeFileSync(join(dir, 'scan-recurrent-bwd.json'), JSON.stringify(out, null, 1));
  const smoke = argv.includes('--smoke');
  const shape: ScanDims = smoke ? { batch: 1, time: 24, heads: 2, dk: 16, dv: 16 } : { batch: 2, time: 4096, heads: 16, dk: 64, dv: 64 };
  const list = arg('--only')?.split(',') ?? PRESETS;
  const tags = arg('--variants')?.split(',');
  const variants = tags ? VARIANTS.filter((v) => tags.includes(v.tag)) : VARIANTS;
  const reps = Number(arg('--reps') ?? 10);

  if (argv.includes('--check')) {
    const cs: ScanDims = smoke ? { batch: 1, time: 13, heads: 2, dk: 16, dv: 16 } : { batch: 1, time: 40, heads: 2, dk: 64, dv: 64 };
    for (const name of list) {
      const c = resolveCombo(mixerOf(name, cs));
      const x = randomInputs(c, cs, 3);
      const r = rng(5);
      const oracle = referenceProviderFor(c.catalog);
      const want = oracle.referenceForward(x, cs);
      const go = Float64Array.from(want.o, () => gauss(r));
      const gf = Float64Array.from(want.finalState, () => gauss(r));
      const wantG = oracle.referenceBackward(x, { o: go, finalState: gf }, cs);
      for (const v of variants) {
        const ks = kernelsFor(c, cs, caps, v);
        if (!ks) continue;
        const got = await runScanKernels(device, ks, { inputs: comboInputs(c, cs), outputs: comboOutputs(c, cs) }, x, { o: go, finalState: gf });
        const errs: Record<string, number> = { o: relErr(got.o, want.o), finalState: relErr(got.finalState, want.finalState) };
        for (const n of Object.keys(wantG)) errs[`d${n}`] = relErr(got.grads![n], wantG[n]);
        const worst = Math.max(...Object.values(errs));
        out.check.push({ preset: name, variant: v.tag, shape: cs, kernels: ks.backward.map((k) => k.name), errs, pass: worst < 1e-3 });
        console.log(`check ${name.padEnd(16)} ${v.tag.padEnd(14)} ${worst < 1e-3 ? 'ok ' : 'BAD'} worst ${worst.toExponential(1)}`);
      }
      save();
    }
  }

  for (const name of list) {
    const c = resolveCombo(mixerOf(name, shape));
    // realistic inputs (unit-norm keys, gates in range), f32 on the device
    const x = randomInputs(c, shape, 1);
    const gr = rng(2);
    for (const v of variants) {
      let ks: RecurrentKernels | null;
      try {
        ks = kernelsFor(c, shape, caps, v);
      } catch (e) {
        out.skipped.push({ preset: name, variant: v.tag, why: (e as Error).message.slice(0, 300) });
        console.log(`skip ${name} ${v.tag}: ${(e as Error).message.slice(0, 200)}`);
        continue;
      }
      if (!ks) continue;
      const bufs: Record<string, GPUBuffer> = {};
      let inBytes = 0;
      for (const d of comboInputs(c, shape)) {
        const n = d.shape.reduce((a, b) => a * b, 1);
        bufs[d.name] = uploadF32(device, f32(x[d.name]));
        bufs[`grad.${d.name}`] = zerosF32(device, n);
        inBytes += 4 * n;
      }
      let outBytes = 0;
      for (const d of comboOutputs(c, shape)) {
        const n = d.shape.reduce((a, b) => a * b, 1);
        bufs[d.name] = zerosF32(device, n);
        bufs[`grad.${d.name}`] = uploadF32(device, Float32Array.from({ length: n }, () => gauss(gr)));
        outBytes += 4 * n;
      }
      for (const sc of ks.scratch) bufs[`scratch.${sc.name}`] = zerosF32(device, sc.bytes / 4);
      const main = ks.backward.find((k) => /bwd/.test(k.name))!;
      const launch = main.wgsl.split('\n').find((l) => l.includes('(R ='))?.trim();
      try {
        const fw = prepare(device, ks.forward, bufs);
        const bw = prepare(device, ks.backward, bufs);
        const { bwd, perKernel } = await timeForwardBackward(device, fw, bw, reps, 2);
        const b = median(bwd);
        const per = Object.fromEntries(Object.entries(perKernel).map(([k, t]) => [k, median(t)]));
        const bytes = 2 * inBytes + outBytes;
        const row = { preset: name, variant: v.tag, id: c.id, kernel: main.name, launch, bwd_ms: b, bwd_kernel_ms: per[main.name], bwd_bw_frac: bytes / BW / (b / 1e3), bwd_bytes: bytes, per_kernel_ms: per };
        out.timings.push(row);
        console.log(`time ${name.padEnd(16)} ${v.tag.padEnd(14)} bwd ${b.toFixed(3)} ms (kernel ${per[main.name].toFixed(3)}; ${(100 * row.bwd_bw_frac).toFixed(2)}% of BW)  ${launch ?? ''}`);
      } catch (e) {
        out.skipped.push({ preset: name, variant: v.tag, why: (e as Error).message.slice(0, 300) });
        console.log(`fail ${name} ${v.tag}: ${(e as Error).message.slice(0, 200)}`);
      }
      for (const g of Object.values(bufs)) g.destroy();
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
