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
 * --fwd-only times only the forward list (gate packing + scan kernel), each kernel dispatched --inner N times
 * (default 10) inside one timestamped pass, so the 65.5 µs timestamp steps of this device resolve to 65.5/N µs;
 * a preset's variants are timed round-robin, --reps R rounds (default 8, after 2 warm-up rounds), best and median;
 * --fwd-sweep also times forward launch shapes (RecurrentOptions.tune.forward, and the subgroup path switched
 * off) for the representative presets. --label names the run in the JSON file (scan-recurrent-LABEL.json).
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
import { median, timeForwardBackward, timestampReader } from './gpu/timing';
import type { Dispatch } from '../engine/miras/chunk/exec';
import type { DeviceCaps } from '../engine/plan/kernel';
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

/** One timing pass set: each kernel of the list dispatched `inner` times in its own timestamped pass; ms per dispatch. */
async function timeOnce(device: GPUDevice, ds: Dispatch[], inner: number): Promise<Record<string, number>> {
  const stamps = timestampReader(device, 2 * ds.length);
  const enc = device.createCommandEncoder();
  ds.forEach((d, i) => {
    const pass = enc.beginComputePass({ timestampWrites: { querySet: stamps.set, beginningOfPassWriteIndex: 2 * i, endOfPassWriteIndex: 2 * i + 1 } });
    pass.setPipeline(d.pipeline);
    pass.setBindGroup(0, d.bind);
    for (let n = 0; n < inner; n++) pass.dispatchWorkgroups(...d.workgroups);
    pass.end();
  });
  const ts = await stamps.read(enc);
  stamps.destroy();
  return Object.fromEntries(ds.map((d, i) => [d.name, Number(ts[2 * i + 1] - ts[2 * i]) / 1e6 / inner]));
}

/** FMAs per forward (the docs' throughput bound): per state element and sub-step, the update and the read-out, plus the row decay when it is per channel, plus the chain's Sᵀk for a non-Hebbian bias. */
function fwdFmas(name: string, B: number, H: number, T: number, dk: number, dv: number): number {
  const per: Record<string, number> = { 'linear-attention': 2, retnet: 2, mamba2: 2, gla: 3, hgrn2: 3, mlstm: 3, deltanet: 3, 'gated-deltanet': 3, deltaproduct: 3, longhorn: 4 };
  const steps = name === 'deltaproduct' ? 2 : 1;
  return (per[name] ?? 2) * B * H * T * steps * dk * dv;
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
  const save = () => writeFileSync(join(dir, `scan-recurrent${label ? `-${label}` : ''}.json`), JSON.stringify(out, null, 1));
  const shape = smoke ? { batch: 1, time: 16, heads: 2, dk: 16, dv: 16 } : { batch: 2, time: 4096, heads: 16, dk: 64, dv: 64 };
  const oi = process.argv.indexOf('--only');
  const only = oi > 0 ? process.argv[oi + 1].split(',') : null;
  const list = only ?? (smoke ? PRESETS.slice(0, 2) : PRESETS);
  const sweep = process.argv.includes('--sweep');
  const fwdOnly = process.argv.includes('--fwd-only');
  const fwdSweep = process.argv.includes('--fwd-sweep');
  const ii = process.argv.indexOf('--inner');
  const inner = ii > 0 ? Number(process.argv[ii + 1]) : 10;
  const ri = process.argv.indexOf('--reps');
  const reps = ri > 0 ? Number(process.argv[ri + 1]) : 8;
  const warm = 2;
  const li = process.argv.indexOf('--label');
  const label = li > 0 ? process.argv[li + 1] : '';
  if (process.argv.includes('--check')) {
    // the kernels this sitting times, on this device, against the float64 oracle (B=1, H=2, T=40, d=64)
    const cs = { batch: 1, time: 40, heads: 2, dk: 64, dv: 64 };
    // --check-tunes: also check these forward launch shapes (JSON list of RecurrentOptions.tune.forward)
    const ct = process.argv.indexOf('--check-tunes');
    const checkTunes: (RecurrentOptions['tune'] | undefined)[] = [undefined, ...(ct > 0 ? (JSON.parse(process.argv[ct + 1]) as object[]).map((f) => ({ forward: f })) : [])];
    for (const tune of checkTunes)
    for (const name of list) {
      const base = getPreset(name).build({ vocabSize: 256, dModel: 1024, nLayers: 1 }).layers[0].mixer as MirasMixer;
      const mixer = { ...base, heads: cs.heads, headDimK: cs.dk, headDimV: cs.dv } as MirasMixer;
      if (!recurrentSupports(mixer)) continue;
      const p = recurrentProvider(mixer, { tune });
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
      out.check.push({ preset: name, shape: cs, tune: tune ?? null, kernels: ks.backward.map((k) => k.name), errs, pass: worst < 1e-3 });
      console.log(`check ${name.padEnd(16)} ${tune ? `${JSON.stringify(tune.forward)} ` : ''}${worst < 1e-3 ? 'ok ' : 'BAD'} ${Object.entries(errs).map(([n, e]) => `${n} ${e.toExponential(1)}`).join(' ')}`);
      save();
    }
  }
  if (fwdOnly) {
    const fwdRows: unknown[] = [];
    (out as unknown as { forward: unknown[] }).forward = fwdRows;
    for (const name of list) {
      const base = getPreset(name).build({ vocabSize: 256, dModel: 1024, nLayers: 1 }).layers[0].mixer as MirasMixer;
      const mixer = { ...base, heads: shape.heads, headDimK: shape.dk, headDimV: shape.dv } as MirasMixer;
      if (!recurrentSupports(mixer)) continue;
      const variants: { tag: string; tune?: RecurrentOptions['tune']; caps?: DeviceCaps }[] = [{ tag: 'default' }];
      if (fwdSweep) {
        // launch shapes around the defaults; the delta rule also with the subgroup butterfly on the chain
        const delta = ['deltanet', 'gated-deltanet', 'deltaproduct', 'longhorn'].includes(name);
        type F = { P?: number; TV?: number; LP?: number; vec4?: boolean; CW?: number };
        const shapes: F[] =
          name === 'mlstm'
            ? [{ P: 16, TV: 8 }, { P: 16, TV: 16 }, { P: 8, TV: 8 }, { P: 8, TV: 4 }]
            : delta
              ? [{ P: 16, TV: 8 }, { P: 8, TV: 8 }, { P: 8, TV: 4 }, { P: 4, TV: 8 }, { P: 8, TV: 16, vec4: true }]
              : [{ P: 8, TV: 16 }, { P: 16, TV: 16 }, { P: 16, TV: 4 }, { P: 16, TV: 2 }, { P: 16, TV: 8, LP: 8 }, { P: 16, TV: 8, vec4: true }, { CW: 2 }, { CW: 2, TV: 8 }, { CW: 4, TV: 16 }, { CW: 4, vec4: true }];
        const tag = (f: F) => [f.CW ? `CW${f.CW}` : '', f.P ? `P${f.P}` : '', f.TV ? `TV${f.TV}` : '', f.LP ? `LP${f.LP}` : '', f.vec4 ? 'vec4' : ''].filter(Boolean).join(' ');
        for (const f of shapes) variants.push({ tag: tag(f), tune: { forward: f } });
        if (delta && caps.subgroups) for (const f of [{ P: 8, TV: 16 }, { P: 16, TV: 8 }]) variants.push({ tag: `P${f.P} TV${f.TV} subgroups`, tune: { forward: { ...f, subgroups: true } } });
      }
      // inputs and outputs once per preset (the launch shape does not change them); scratch per variant
      const io: Record<string, GPUBuffer> = {};
      let bytes = 0;
      const p0 = recurrentProvider(mixer);
      for (const d of [...p0.inputs(shape), ...p0.outputs(shape)]) {
        const n = d.shape.reduce((a, b) => a * b, 1);
        io[d.name] = uploadF32(device, fill(d.name, n, n + d.name.length));
        bytes += 4 * n;
      }
      // Every variant compiled first, then timed round-robin (A B C … A B C …) and the best rep kept: the device's
      // speed drifts by 2–3× within a sitting (clocks after idle gaps), so sequential medians compared variants
      // timed in different device states. The median is kept too.
      const ready: { vr: (typeof variants)[number]; ds: Dispatch[]; ks: ReturnType<typeof p0.kernels>; scratch: GPUBuffer[]; per: Record<string, number[]> }[] = [];
      for (const vr of variants) {
        try {
          const p = recurrentProvider(mixer, { tune: vr.tune });
          const ks = p.kernels(vr.caps ?? caps, shape);
          const bufs: Record<string, GPUBuffer> = { ...io };
          const scratch = ks.scratch.map((sc) => (bufs[`scratch.${sc.name}`] = zerosF32(device, sc.bytes / 4)));
          // a shader the driver rejects gives an invalid pipeline, not an exception: catch it, never time it
          device.pushErrorScope('validation');
          device.pushErrorScope('internal');
          const ds = prepare(device, ks.forward, bufs);
          const ie = await device.popErrorScope();
          const ve = await device.popErrorScope();
          if (ie || ve) throw new Error(`pipeline: ${(ie ?? ve)!.message}`);
          ready.push({ vr, ds, ks, scratch, per: {} });
        } catch (e) {
          fwdRows.push({ preset: name, variant: vr.tag, error: (e as Error).message.slice(0, 300) });
          console.log(`fwd ${name.padEnd(16)} ${vr.tag.padEnd(34)} FAIL ${(e as Error).message.slice(0, 200)}`);
        }
      }
      for (let r = 0; r < warm + reps; r++) {
        for (const x of ready) {
          const t = await timeOnce(device, x.ds, inner);
          if (r >= warm) for (const [k, v] of Object.entries(t)) (x.per[k] ??= []).push(v);
        }
      }
      for (const { vr, ks, scratch, per: all } of ready) {
        for (const x of scratch) x.destroy();
        const per = Object.fromEntries(Object.entries(all).map(([k, v]) => [k, Math.min(...v)]));
        const perMedian = Object.fromEntries(Object.entries(all).map(([k, v]) => [k, median(v)]));
        const ms = Object.values(per).reduce((a, b) => a + b, 0);
        const msMedian = Object.values(perMedian).reduce((a, b) => a + b, 0);
        const scan = Object.entries(per).find(([k]) => /fwd/.test(k))?.[1] ?? ms;
        const fmas = fwdFmas(name, shape.batch, shape.heads, shape.time, shape.dk, shape.dv);
        // FMA bound as docs/benchmarks.md: 2 flops per FMA at the 43 TFLOP/s WGSL reaches on this GPU
        const launch = ks.forward.find((k) => /fwd/.test(k.name))?.wgsl.split('\n').find((l) => l.includes('per column (R ='))?.replace(/^\/\/\s*/, '').trim();
        const row = { preset: name, variant: vr.tag, tune: vr.tune ?? null, subgroups: (vr.caps ?? caps).subgroups, fwd_ms: ms, fwd_median_ms: msMedian, per_kernel_ms: per, per_kernel_median_ms: perMedian, scan_ms: scan, bytes, bw_frac: bytes / BW / (ms / 1e3), fma_frac: (2 * fmas) / 43e12 / (ms / 1e3), launch };
        fwdRows.push(row);
        console.log(`fwd ${name.padEnd(16)} ${vr.tag.padEnd(34)} ${ms.toFixed(4)} ms (median ${msMedian.toFixed(4)}, scan ${scan.toFixed(4)})  ${(100 * row.bw_frac).toFixed(1)}% BW  ${(100 * row.fma_frac).toFixed(1)}% FMA  | ${launch ?? ''}`);
      }
      save();
      for (const x of Object.values(io)) x.destroy();
    }
    save();
    gpu.destroy();
    return;
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
