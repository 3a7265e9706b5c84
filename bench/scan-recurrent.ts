/**
 * GPU benchmark of B2's fused recurrent scan kernels (engine/miras/recurrent) for every Miras preset's
 * mixer, at B·H = 32 (B = 2, H = 16), T = 4096, d_k = d_v = 64: forward and backward GPU time
 * (median of timestamped reps) and the fraction of the 4.3 TB/s copy roofline reached by the
 * bytes that must move (every input read once, every output written once). Writes JSON to
 * $OUT/scan-recurrent.json (or ./bench/results/). Run: npx tsx bench/scan-recurrent.ts
 * Also per kernel times, the general backward of the same combination (`general_bwd_ms`, the kernel
 * before the fast one), and with --sweep a few launch shapes (engine/miras/recurrent RecurrentOptions.tune)
 * for three representative presets. --only a,b limits the presets; --no-general skips the general backward;
 * --check first runs every preset's kernels at a small shape (d = 64, the device's limits) against the float64
 * oracle on this device, outputs and every gradient.
 */
import { mkdirSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { createNodeGpu } from '../engine/gpu/node';
import { adapterSummary, capsFromDescription } from '../engine/gpu/describe';
import { getPreset } from '../engine/presets';
import type { MirasMixer } from '../engine/spec';
import { recurrentProvider, recurrentSupports } from '../engine/miras/recurrent/provider';
import type { RecurrentOptions } from '../engine/miras/recurrent/codegen';
import { prepare, uploadF32, zerosF32 } from '../engine/miras/chunk/exec';
import { median, timeForwardBackward } from './gpu/timing';
import { comboInputs, comboOutputs } from '../engine/miras/math/combo';
import { runScanKernels } from '../engine/miras/recurrent/run';
import { referenceProviderFor } from '../engine/miras/reference/provider';
import { gauss, randomInputs, relErr, rng } from '../tests/miras/kernel-helpers';

const BW = 4.3e12;
const PRESETS = ['linear-attention', 'retnet', 'gla', 'mamba2', 'hgrn2', 'mlstm', 'deltanet', 'gated-deltanet', 'deltaproduct', 'longhorn', 'ttt-linear', 'titans', 'moneta', 'yaad', 'memora'];

/** Plausible values per tensor: unit-ish q/k/v, rates in (0,1), log decays near 0, thresholds near 1. */
function fill(name: string, n: number, seed: number): Float32Array {
  let s = seed >>> 0 || 1;
  const r = () => ((s = (Math.imul(s, 1664525) + 1013904223) >>> 0) / 4294967296);
  const a = new Float32Array(n);
  for (let i = 0; i < n; i++) {
    const x = r();
    a[i] = name === 'beta' ? 0.05 + 0.9 * x : name === 'g' ? Math.log(0.9 + 0.1 * x) : name === 'eta' ? 0.8 + 0.19 * x : name === 'delta' ? 0.5 + x : name === 'i' ? -x : (2 * x - 1) * (name === 'k' || name === 'q' ? 0.125 : 1);
  }
  return a;
}

async function main() {
  const gpu = await createNodeGpu();
  const { device, description } = gpu;
  const caps = capsFromDescription(description);
  const out: { adapter: string; date: string; caps: unknown; check: unknown[]; timings: unknown[]; sweep: unknown[]; skipped: unknown[] } = { adapter: adapterSummary(description), date: new Date().toISOString(), caps, check: [], timings: [], sweep: [], skipped: [] };
  console.log(`adapter: ${out.adapter}`);
  const smoke = process.argv.includes('--smoke'); // tiny shape, two presets: tries the script on SwiftShader
  const dir = process.env.OUT ?? join(process.cwd(), 'bench', 'results');
  mkdirSync(dir, { recursive: true });
  const save = () => writeFileSync(join(dir, 'scan-recurrent.json'), JSON.stringify(out, null, 1));
  const shape = smoke ? { batch: 1, time: 16, heads: 2, dk: 16, dv: 16 } : { batch: 2, time: 4096, heads: 16, dk: 64, dv: 64 };
  const oi = process.argv.indexOf('--only');
  const only = oi > 0 ? process.argv[oi + 1].split(',') : null;
  const list = only ?? (smoke ? PRESETS.slice(0, 2) : PRESETS);
  const sweep = process.argv.includes('--sweep');
  if (process.argv.includes('--check')) {
    // the kernels this sitting times, on this device, against the float64 oracle (B=1, H=2, T=40, d=64)
    const cs = { batch: 1, time: 40, heads: 2, dk: 64, dv: 64 };
    for (const name of list) {
      const base = getPreset(name).build({ vocabSize: 256, dModel: 1024, nLayers: 1 }).layers[0].mixer as MirasMixer;
      const mixer = { ...base, heads: cs.heads, headDimK: cs.dk, headDimV: cs.dv } as MirasMixer;
      if (!recurrentSupports(mixer)) continue;
      const p = recurrentProvider(mixer);
      const x = randomInputs(p.combo, cs, 3);
      const r = rng(5);
      const oracle = referenceProviderFor(p.combo.catalog);
      const want = oracle.referenceForward(x, cs);
      const go = Float64Array.from(want.o, () => gauss(r));
      const gf = Float64Array.from(want.finalState, () => gauss(r));
      const wantG = oracle.referenceBackward(x, { o: go, finalState: gf }, cs);
      const ks = p.kernels(caps, cs);
      const got = await runScanKernels(device, ks, { inputs: comboInputs(p.combo, cs), outputs: comboOutputs(p.combo, cs) }, x, { o: go, finalState: gf });
      const errs: Record<string, number> = { o: relErr(got.o, want.o), finalState: relErr(got.finalState, want.finalState) };
      for (const n of Object.keys(wantG)) errs[`d${n}`] = relErr(got.grads![n], wantG[n]);
      const worst = Math.max(...Object.values(errs));
      out.check.push({ preset: name, shape: cs, kernels: ks.backward.map((k) => k.name), errs, pass: worst < 1e-3 });
      console.log(`check ${name.padEnd(16)} ${worst < 1e-3 ? 'ok ' : 'BAD'} ${Object.entries(errs).map(([n, e]) => `${n} ${e.toExponential(1)}`).join(' ')}`);
      save();
    }
  }
  for (const name of list) {
    const base = getPreset(name).build({ vocabSize: 256, dModel: 1024, nLayers: 1 }).layers[0].mixer as MirasMixer;
    const mixer = { ...base, heads: shape.heads, headDimK: shape.dk, headDimV: shape.dv } as MirasMixer;
    if (!recurrentSupports(mixer)) {
      out.skipped.push({ preset: name, why: 'not covered by the fused recurrent kernel' });
      console.log(`skip ${name}: not covered by the fused recurrent kernel`);
      continue;
    }
    const measure = async (tune?: RecurrentOptions['tune'], reps = 10) => {
      const p = recurrentProvider(mixer, { tune });
      const ks = p.kernels(caps, shape);
      const bufs: Record<string, GPUBuffer> = {};
      let inBytes = 0;
      for (const d of p.inputs(shape)) {
        const n = d.shape.reduce((a, b) => a * b, 1);
        bufs[d.name] = uploadF32(device, fill(d.name, n, n + d.name.length));
        bufs[`grad.${d.name}`] = zerosF32(device, n);
        inBytes += 4 * n;
      }
      let outBytes = 0;
      for (const d of p.outputs(shape)) {
        const n = d.shape.reduce((a, b) => a * b, 1);
        bufs[d.name] = zerosF32(device, n);
        bufs[`grad.${d.name}`] = uploadF32(device, fill('v', n, 7));
        outBytes += 4 * n;
      }
      for (const sc of ks.scratch) bufs[`scratch.${sc.name}`] = zerosF32(device, sc.bytes / 4);
      const fw = prepare(device, ks.forward, bufs);
      const bw = prepare(device, ks.backward, bufs);
      const { fwd: fT, bwd: bT, perKernel } = await timeForwardBackward(device, fw, bw, reps, 2);
      for (const x of Object.values(bufs)) x.destroy();
      const per = Object.fromEntries(Object.entries(perKernel).map(([k, v]) => [k, median(v)]));
      const head = (n: string) => ks[n === 'fwd' ? 'forward' : 'backward'].find((k) => /miras_recurrent_(fwd|bwd)/.test(k.name))?.wgsl.split('\n').find((l) => l.includes('per column (R ='))?.trim();
      return { p, ks, f: median(fT), b: median(bT), inBytes, outBytes, per, launch: { fwd: head('fwd'), bwd: head('bwd') } };
    };
    try {
      const m = await measure();
      const { p, ks, f, b, inBytes, outBytes } = m;
      const fwdBytes = inBytes + outBytes, bwdBytes = 2 * inBytes + outBytes;
      // the general backward of the same combination, for before/after in one sitting
      const g = !smoke && !process.argv.includes('--no-general') && ks.backward.some((k) => k.name === 'miras_recurrent_bwd_fast') ? await measure({ backward: { general: true } }, 3) : null;
      const row = { preset: name, id: p.id, kernels: { forward: ks.forward.map((k) => k.name), backward: ks.backward.map((k) => k.name) }, launch: m.launch, fwd_ms: f, bwd_ms: b, general_bwd_ms: g?.b ?? null, per_kernel_ms: m.per, fwd_bw_frac: fwdBytes / BW / (f / 1e3), bwd_bw_frac: bwdBytes / BW / (b / 1e3), fwd_bytes: fwdBytes, bwd_bytes: bwdBytes };
      out.timings.push(row);
      console.log(`time ${name.padEnd(16)} fwd ${f.toFixed(3)} ms (${(100 * row.fwd_bw_frac).toFixed(1)}% of BW roofline)  bwd ${b.toFixed(3)} ms (${(100 * row.bwd_bw_frac).toFixed(1)}%)${g ? `  general bwd ${g.b.toFixed(3)} ms` : ''}`);
      console.log(`  per kernel: ${Object.entries(m.per).map(([k, v]) => `${k} ${v.toFixed(3)}`).join(', ')}`);
      save();
      if (sweep && ['linear-attention', 'gla', 'gated-deltanet', 'deltaproduct'].includes(name)) {
        const tunes: RecurrentOptions['tune'][] = [
          { forward: { P: 1, TV: 32 }, backward: { P: 2 } },
          { forward: { P: 2, TV: 16 }, backward: { P: 4 } },
          { forward: { P: 4, TV: 16 }, backward: { P: 8, LP: 8 } },
          { forward: { P: 8, TV: 8 }, backward: { P: 8, LP: 32 } },
          { forward: { P: 4, TV: 32, LP: 32 }, backward: { P: 8, LP: 16 } },
          { forward: { P: 8, TV: 16, LP: 32 }, backward: { P: 4, LP: 8 } },
        ];
        for (const tune of tunes) {
          const x = await measure(tune, 5);
          out.sweep.push({ preset: name, tune, fwd_ms: x.f, bwd_ms: x.b, launch: x.launch, per_kernel_ms: x.per });
          console.log(`  sweep ${JSON.stringify(tune)}: fwd ${x.f.toFixed(3)} bwd ${x.b.toFixed(3)}`);
          save();
        }
      }
    } catch (e) {
      out.skipped.push({ preset: name, why: (e as Error).message.slice(0, 300) });
      console.log(`fail ${name}: ${(e as Error).message.slice(0, 300)}`);
    }
  }
  save();
  gpu.destroy();
}

main().catch((e) => {
  console.error(e);
  process.exit(1);
});
