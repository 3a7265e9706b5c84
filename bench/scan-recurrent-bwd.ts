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
 *   --check-variants a,b  the variants --check runs (default: --variants)
 *   --no-time      only the check
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
import { prepare, uploadF32, zerosF32, type Dispatch } from '../engine/miras/chunk/exec';
import { median, timeForwardBackward } from './gpu/timing';
import { gauss, oracleCase, randomInputs, relErr, rng } from '../tests/miras/kernel-helpers';

const BW = 4.3e12;
const PRESETS = ['linear-attention', 'retnet', 'gla', 'mamba2', 'hgrn2', 'mlstm', 'deltanet', 'gated-deltanet', 'deltaproduct', 'longhorn'];

/**
 * A variant of the backward: overrides of the fast kernel's config (fast.ts) or of the mLSTM one (mlstm-fast.ts, or
 * its general kernel); `ckLP`: the forward checkpoints every LP sub-steps (the default launch's sub-segment), so the
 * backward's segments are single sub-segments and it recomputes each state once instead of twice.
 */
interface Variant {
  tag: string;
  fast?: Partial<FastConfig>;
  mlstm?: Partial<MlstmFastConfig> | 'general';
  ckLP?: boolean;
}
const VARIANTS: Variant[] = [
  { tag: 'default' },
  { tag: 'nosg', fast: { sg: false }, mlstm: { sgLanes: 0 } },
  { tag: 'ckLP', ckLP: true },
  { tag: 'noprefetch', fast: { prefetch: false }, mlstm: { prefetch: false } },
  { tag: 'P4', fast: { P: 4 } },
  { tag: 'P16', fast: { P: 16 } },
  { tag: 'LP8', fast: { LP: 8 } },
  { tag: 'LP32', fast: { LP: 32 } },
  { tag: 'mlstm-P4', mlstm: { P: 4 } },
  { tag: 'mlstm-general', mlstm: 'general' },
];

const omit = <T extends object>(o: T, keys: string[]): Partial<T> => Object.fromEntries(Object.entries(o).filter(([k]) => !keys.includes(k))) as Partial<T>;

/** The kernels of one (combination, shape, variant); null when the variant does not apply or fit. */
function kernelsFor(c: Combo, s: ScanDims, caps: DeviceCaps, v: Variant): RecurrentKernels | null {
  if (c.mlstm ? v.fast && !v.mlstm : v.mlstm && !v.fast) return null;
  const swap = (k: RecurrentKernels, kernel: KernelSpec, prefix: string) => ({ ...k, backward: k.backward.map((x) => (x.name.startsWith(prefix) ? kernel : x)) });
  if (c.mlstm) {
    const ck = v.ckLP ? mlstmFastConfig(c, layout(c, s, {}), caps)?.LP : undefined;
    const k = recurrentKernels(c, s, caps, { checkpoint: ck });
    if (!v.mlstm) return k;
    const L = layout(c, s, { checkpoint: ck });
    if (v.mlstm === 'general') return swap(k, mlstmGeneralBackwardKernel(c, s, L, caps), 'miras_recurrent_mlstm_bwd');
    const base = mlstmFastConfig(c, L, caps, { P: v.mlstm.P, LP: v.mlstm.LP });
    const design = omit(v.mlstm, ['P', 'LP', 'NCH']);
    return base ? swap(k, mlstmFastBackwardKernel(c, s, L, caps, { ...base, ...design }), 'miras_recurrent_mlstm_bwd') : null;
  }
  // launch shape through recurrentKernels' own planning (P and LP change the layout of the gate partials)
  const tune = { backward: { P: v.fast?.P, LP: v.fast?.LP } };
  const checkpoint = v.ckLP ? fastBackwardConfig(c, layout(c, s, { tune }, 16), caps, tune.backward)?.LP : undefined;
  const opts = { tune, checkpoint };
  const k = recurrentKernels(c, s, caps, opts);
  const L0 = layout(c, s, opts, 16);
  const cfg = fastBackwardConfig(c, L0, caps, tune.backward);
  if (!cfg) return null;
  if (v.fast?.P !== undefined && cfg.P !== v.fast.P) return null;
  const L = layout(c, s, opts, 16, cfg.P);
  const mine = fastBackwardKernel(c, s, L, caps, cfg);
  const theirs = k.backward.find((x) => x.name === 'miras_recurrent_bwd_fast');
  if (!theirs || theirs.wgsl !== mine.wgsl) throw new Error(`${c.id}: the bench's plan of the fast backward differs from recurrentKernels'`);
  // P and LP went through the planning above (clamped to what fits); the rest are design switches
  const design = omit(v.fast ?? {}, ['P', 'LP']);
  return swap(k, fastBackwardKernel(c, s, L, caps, { ...cfg, ...design }), 'miras_recurrent_bwd_fast');
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
  const ctags = arg('--check-variants')?.split(',');
  const checkVariants = ctags ? VARIANTS.filter((v) => ctags.includes(v.tag)) : variants;

  if (argv.includes('--check')) {
    const cs: ScanDims = smoke ? { batch: 1, time: 13, heads: 2, dk: 16, dv: 16 } : { batch: 1, time: 40, heads: 2, dk: 64, dv: 64 };
    for (const name of list) {
      const c = resolveCombo(mixerOf(name, cs));
      const { x, want, up, wantG } = oracleCase(c, cs, 3, 5);
      for (const v of checkVariants) {
        const ks = kernelsFor(c, cs, caps, v);
        if (!ks) continue;
        const got = await runScanKernels(device, ks, { inputs: comboInputs(c, cs), outputs: comboOutputs(c, cs) }, x, up);
        const errs: Record<string, number> = { o: relErr(got.o, want.o), finalState: relErr(got.finalState, want.finalState) };
        for (const n of Object.keys(wantG)) errs[`d${n}`] = relErr(got.grads![n], wantG[n]);
        const worst = Math.max(...Object.values(errs));
        out.check.push({ preset: name, variant: v.tag, shape: cs, kernels: ks.backward.map((k) => k.name), errs, pass: worst < 1e-3 });
        console.log(`check ${name.padEnd(16)} ${v.tag.padEnd(14)} ${worst < 1e-3 ? 'ok ' : 'BAD'} worst ${worst.toExponential(1)}`);
      }
      save();
    }
  }

  for (const name of argv.includes('--no-time') ? [] : list) {
    const c = resolveCombo(mixerOf(name, shape));
    // realistic inputs (unit-norm keys, gates in range), f32 on the device; shared by the variants
    const x = randomInputs(c, shape, 1);
    const gr = rng(2);
    const common: Record<string, GPUBuffer> = {};
    let inBytes = 0;
    for (const d of comboInputs(c, shape)) {
      const n = d.shape.reduce((a, b) => a * b, 1);
      common[d.name] = uploadF32(device, f32(x[d.name]));
      common[`grad.${d.name}`] = zerosF32(device, n);
      inBytes += 4 * n;
    }
    let outBytes = 0;
    for (const d of comboOutputs(c, shape)) {
      const n = d.shape.reduce((a, b) => a * b, 1);
      common[d.name] = zerosF32(device, n);
      common[`grad.${d.name}`] = uploadF32(device, Float32Array.from({ length: n }, () => gauss(gr)));
      outBytes += 4 * n;
    }
    // every variant of the preset is prepared first and the repetitions go round-robin over them, so a change of
    // the device's speed during the preset (seen in sitting 1) affects all variants alike
    const runs: { v: Variant; main: string; launch?: string; fw: Dispatch[]; bw: Dispatch[]; own: GPUBuffer[]; bwd: number[]; per: Record<string, number[]> }[] = [];
    for (const v of variants) {
      try {
        const ks = kernelsFor(c, shape, caps, v);
        if (!ks) continue;
        const own = ks.scratch.map((sc) => zerosF32(device, sc.bytes / 4));
        const bufs = { ...common, ...Object.fromEntries(ks.scratch.map((sc, i) => [`scratch.${sc.name}`, own[i]])) };
        const main = ks.backward.find((k) => /bwd/.test(k.name))!;
        const launch = main.wgsl.split('\n').find((l) => l.includes('(R ='))?.trim();
        runs.push({ v, main: main.name, launch, fw: prepare(device, ks.forward, bufs), bw: prepare(device, ks.backward, bufs), own, bwd: [], per: {} });
      } catch (e) {
        out.skipped.push({ preset: name, variant: v.tag, why: (e as Error).message.slice(0, 300) });
        console.log(`skip ${name} ${v.tag}: ${(e as Error).message.slice(0, 200)}`);
      }
    }
    try {
      for (let rep = -2; rep < reps; rep++)
        for (const r of runs) {
          const { bwd, perKernel } = await timeForwardBackward(device, r.fw, r.bw, 1, 0);
          if (rep < 0) continue; // warm-up
          r.bwd.push(bwd[0]);
          for (const [k, t] of Object.entries(perKernel)) (r.per[k] ??= []).push(t[0]);
        }
      for (const r of runs) {
        const b = median(r.bwd);
        const per = Object.fromEntries(Object.entries(r.per).map(([k, t]) => [k, median(t)]));
        const bytes = 2 * inBytes + outBytes;
        const row = { preset: name, variant: r.v.tag, id: c.id, kernel: r.main, launch: r.launch, bwd_ms: b, bwd_min_ms: Math.min(...r.bwd), bwd_kernel_ms: per[r.main], bwd_bw_frac: bytes / BW / (b / 1e3), bwd_bytes: bytes, per_kernel_ms: per, reps: r.bwd };
        out.timings.push(row);
        console.log(`time ${name.padEnd(16)} ${r.v.tag.padEnd(14)} bwd ${b.toFixed(3)} ms (min ${row.bwd_min_ms.toFixed(3)}, kernel ${per[r.main].toFixed(3)}; ${(100 * row.bwd_bw_frac).toFixed(2)}% of BW; fwd ${(per[Object.keys(per).find((k) => /fwd/.test(k))!] ?? 0).toFixed(3)})  ${r.launch ?? ''}`);
      }
    } catch (e) {
      out.skipped.push({ preset: name, why: (e as Error).message.slice(0, 300) });
      console.log(`fail ${name}: ${(e as Error).message.slice(0, 200)}`);
    }
    for (const g of [...Object.values(common), ...runs.flatMap((r) => r.own)]) g.destroy();
    save();
  }
  save();
  gpu.destroy();
}

main().catch((e) => {
  console.error(e);
  process.exit(1);
});
