/**
 * GPU benchmark of B2's fused recurrent scan kernels (engine/miras/recurrent) for every Miras preset's
 * mixer, at B·H = 32 (B = 2, H = 16), T = 4096, d_k = d_v = 64: forward and backward GPU time
 * (median of timestamped reps) and the fraction of the 4.3 TB/s copy roofline reached by the
 * bytes that must move (every input read once, every output written once). Writes JSON to
 * $OUT/scan-recurrent.json (or ./bench/results/). Run: npx tsx bench/scan-recurrent.ts
 */
import { mkdirSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { createNodeGpu } from '../engine/gpu/node';
import { adapterSummary, capsFromDescription } from '../engine/gpu/describe';
import { getPreset } from '../engine/presets';
import type { MirasMixer } from '../engine/spec';
import { recurrentProvider, recurrentSupports } from '../engine/miras/recurrent/provider';
import { prepare, uploadF32, zerosF32 } from '../engine/miras/chunk/exec';
import { median, timeForwardBackward } from './gpu/timing';

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
  const out: { adapter: string; date: string; timings: unknown[]; skipped: unknown[] } = { adapter: adapterSummary(description), date: new Date().toISOString(), timings: [], skipped: [] };
  console.log(`adapter: ${out.adapter}`);
  const smoke = process.argv.includes('--smoke'); // tiny shape, two presets: tries the script on SwiftShader
  const dir = process.env.OUT ?? join(process.cwd(), 'bench', 'results');
  mkdirSync(dir, { recursive: true });
  const save = () => writeFileSync(join(dir, 'scan-recurrent.json'), JSON.stringify(out, null, 1));
  const shape = smoke ? { batch: 1, time: 16, heads: 2, dk: 16, dv: 16 } : { batch: 2, time: 4096, heads: 16, dk: 64, dv: 64 };
  for (const name of smoke ? PRESETS.slice(0, 2) : PRESETS) {
    const base = getPreset(name).build({ vocabSize: 256, dModel: 1024, nLayers: 1 }).layers[0].mixer as MirasMixer;
    const mixer = { ...base, heads: shape.heads, headDimK: shape.dk, headDimV: shape.dv } as MirasMixer;
    if (!recurrentSupports(mixer)) {
      out.skipped.push({ preset: name, why: 'not covered by the fused recurrent kernel' });
      console.log(`skip ${name}: not covered by the fused recurrent kernel`);
      continue;
    }
    try {
      const p = recurrentProvider(mixer);
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
      const { fwd: fT, bwd: bT } = await timeForwardBackward(device, fw, bw, 10, 3);
      const f = median(fT), b = median(bT);
      const fwdBytes = inBytes + outBytes, bwdBytes = 2 * inBytes + outBytes;
      const row = { preset: name, id: p.id, kernels: { forward: ks.forward.map((k) => k.name), backward: ks.backward.map((k) => k.name) }, fwd_ms: f, bwd_ms: b, fwd_bw_frac: fwdBytes / BW / (f / 1e3), bwd_bw_frac: bwdBytes / BW / (b / 1e3), fwd_bytes: fwdBytes, bwd_bytes: bwdBytes };
      out.timings.push(row);
      console.log(`time ${name.padEnd(16)} fwd ${f.toFixed(3)} ms (${(100 * row.fwd_bw_frac).toFixed(1)}% of BW roofline)  bwd ${b.toFixed(3)} ms (${(100 * row.bwd_bw_frac).toFixed(1)}%)`);
      for (const x of Object.values(bufs)) x.destroy();
      save();
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
