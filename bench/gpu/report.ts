/**
 * Markdown tables for docs/benchmarks.md from one sitting's raw outputs (bench/gpu/sitting.sh):
 *   npx tsx bench/gpu/report.ts bench/results/<sitting-dir>
 * Every figure printed comes from those JSON files; ratios are computed here from them.
 */
import { existsSync, readFileSync } from 'node:fs';
import { join } from 'node:path';

const dir = process.argv[2] ?? 'bench/results';
const load = (f: string) => (existsSync(join(dir, f)) ? JSON.parse(readFileSync(join(dir, f), 'utf8')) : null);
const chunk = load('scan-chunk.json');
const torch = load('pytorch-chunk.json');
const rec = load('scan-recurrent.json');
const fmt = (x: number | undefined, d = 2) => (x === undefined || Number.isNaN(x) ? '–' : x.toFixed(d));
const pct = (x: number | undefined) => (x === undefined ? '–' : `${(100 * x).toFixed(1)}%`);

// fla on the same GPU model (shared notes/gpu.md, 2026-11-29), forward+backward ms at this shape
const FLA: Record<string, string> = { gla: '2.09 (fp32)', deltanet: '2.64 (bf16)' };
const FLA_MS: Record<string, number> = { gla: 2.09, deltanet: 2.64 };

if (chunk) {
  console.log(`adapter: ${chunk.adapter}; ${chunk.date}\n`);
  console.log('| preset | chunk | fwd ms | bwd ms | fwd+bwd ms | fwd TFLOP/s | bwd TFLOP/s | fwd roofline | bwd roofline | PyTorch eager fwd / fwd+bwd ms | speed-up vs eager (fwd+bwd) | fla fwd+bwd ms | ratio to fla |');
  console.log('|---|---|---|---|---|---|---|---|---|---|---|---|---|');
  for (const t of chunk.timings) {
    if (t.skipped) {
      console.log(`| ${t.preset} | ${t.chunk} | does not fit: ${String(t.skipped).slice(0, 90)} |||||||||||`);
      continue;
    }
    const p = torch?.timings.find((x: { preset: string }) => x.preset === t.preset);
    const fla = FLA_MS[t.preset];
    console.log(
      `| ${t.preset} | ${t.tiling.C} | ${fmt(t.fwd_ms)} | ${fmt(t.bwd_ms)} | ${fmt(t.fwdbwd_ms)}${t.sweeps?.length > 1 ? ` (sweeps ${t.sweeps.map((w: { fwdbwd_ms: number }) => fmt(w.fwdbwd_ms)).join(' / ')})` : ''} | ${fmt(t.fwd_tflops, 1)} | ${fmt(t.bwd_tflops, 1)} | ${pct(t.fwd_roofline)} | ${pct(t.bwd_roofline)} | ${p ? `${fmt(p.fwd_ms)} / ${fmt(p.fwdbwd_ms)}` : '–'} | ${p ? `${fmt(p.fwdbwd_ms / t.fwdbwd_ms, 1)}×` : '–'} | ${FLA[t.preset] ?? '–'} | ${fla ? `${fmt(t.fwdbwd_ms / fla, 1)}×` : '–'} |`,
    );
  }
  console.log('\nDevice check against the float64 token recurrence (max relative error over o, final state and every gradient):\n');
  console.log('| preset | C | max rel err | tiling |');
  console.log('|---|---|---|---|');
  for (const c of chunk.checks) {
    if (c.skipped) continue;
    const worst = Math.max(...(Object.values(c.errors) as number[]));
    console.log(`| ${c.preset} | ${c.chunk} | ${worst.toExponential(1)} | WG ${c.tiling.WG}, V-tile ${c.tiling.VT} |`);
  }
}
if (torch) {
  console.log(`\nPyTorch ${torch.torch} on ${torch.device}: chunked eager vs its own float64 token loop (max rel err): ${torch.checks.map((c: { preset: string; max_rel_err_fp64: number }) => `${c.preset} ${c.max_rel_err_fp64.toExponential(1)}`).join(', ')}`);
}
if (rec) {
  console.log(`\nFused recurrent kernels (B2), ${rec.adapter}:\n`);
  console.log('| preset | fwd ms | bwd ms | fwd % of 4.3 TB/s | bwd % of 4.3 TB/s |');
  console.log('|---|---|---|---|---|');
  for (const t of rec.timings) console.log(`| ${t.preset} | ${fmt(t.fwd_ms, 3)} | ${fmt(t.bwd_ms, 3)} | ${pct(t.fwd_bw_frac)} | ${pct(t.bwd_bw_frac)} |`);
  for (const s of rec.skipped) console.log(`| ${s.preset} | not run: ${s.why} ||||`);
}
