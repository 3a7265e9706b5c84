/**
 * Audit of issue #4's scan command, as documented: `scan --combo FILE.json --in FILE.safetensors --out FILE.safetensors
 * --backend webgpu|reference --grad`, on inputs in flash-linear-attention's [batch, time, heads, dim] layout.
 *  - The fla layout end to end: a gated delta rule written here the way fla's naive_recurrent_gated_delta_rule reads
 *    its [B, T, H, D] tensors (S ∈ R^{dk×dv}, o_t = S_tᵀ q_t · d_k^{-1/2}) equals both backends' `o` and `finalState`.
 *  - `--backend webgpu` writes the same o, final state (all of it: memory and momentum) and input gradients d<name>
 *    for a given upstream gradient `do` as `--backend reference`, for B = 2, T not a multiple of any chunk.
 * (tests/miras/cli.test.ts covers the reference backend and the error messages.)
 */
import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { scanCommand } from '@/engine/miras/cli/commands';
import { readTensors, writeTensors, type NamedTensor } from '@/engine/miras/cli/files';
import { resolveCombo, type ComboInput } from '@/engine/miras/catalog';
import { scanInputDecls } from '@/engine/miras/reference';
import { Rng, normal, randomScanInputs } from '@/engine/miras/reference/random';
import { relError } from '@/engine/reference/compare';

const dir = mkdtempSync(join(tmpdir(), 'miras-audit-scan-'));
const f32 = (a: Float64Array) => Float64Array.from(Float32Array.from(a));

/** Write combo + inputs (+ do), run `scan` with the documented flags, read the output file. */
async function scan(tag: string, combo: ComboInput, inputs: Record<string, NamedTensor>, backend: 'webgpu' | 'reference', grad: boolean) {
  const comboFile = join(dir, `${tag}.json`);
  const inFile = join(dir, `${tag}.in.safetensors`);
  const outFile = join(dir, `${tag}.${backend}.safetensors`);
  writeFileSync(comboFile, JSON.stringify(combo));
  await writeTensors(inFile, inputs);
  const errs: string[] = [];
  const code = await scanCommand.run(['--combo', comboFile, '--in', inFile, '--out', outFile, '--backend', backend, ...(grad ? ['--grad'] : [])], () => {}, (l) => errs.push(l));
  expect(errs.join('\n'), `${tag} ${backend}`).toBe('');
  expect(code).toBe(0);
  return readTensors(outFile);
}

/** Random inputs with the shapes the combination declares, rounded to f32 (the file stores f32), plus `do`. */
function inputsFor(combo: ComboInput, s: { batch: number; time: number; heads: number; dk: number; dv: number }, seed: number) {
  const c = resolveCombo(combo);
  const rng = new Rng(seed);
  const x = randomScanInputs(c, s, rng);
  delete x.initialState;
  const decls = scanInputDecls(c, s);
  const t: Record<string, NamedTensor> = {};
  for (const [n, d] of Object.entries(x)) t[n] = { shape: decls.find((dd) => dd.name === n)!.shape, data: f32(d) };
  t.do = { shape: [s.batch, s.time, s.heads, s.dv], data: f32(Float64Array.from({ length: s.batch * s.time * s.heads * s.dv }, () => normal(rng))) };
  return t;
}

describe('scan with the documented flags', () => {
  const gdn: ComboInput = { memory: { kind: 'matrix' }, bias: { kind: 'l2' }, retention: { kind: 'scalar' }, learner: { kind: 'gd' }, block: { queryScale: 'inv-sqrt-dk' } };

  it('reads and writes fla layout [B, T, H, D]: gated delta rule as fla\'s naive recurrence computes it', async () => {
    const s = { batch: 2, time: 5, heads: 3, dk: 4, dv: 2 };
    const t = inputsFor(gdn, s, 4);
    const { q, k, v, beta, g } = Object.fromEntries(Object.entries(t).map(([n, x]) => [n, x.data]));
    const { batch: B, time: T, heads: H, dk, dv } = s;
    const o = new Float64Array(B * T * H * dv);
    const S = new Float64Array(B * H * dk * dv);
    for (let b = 0; b < B; b++)
      for (let h = 0; h < H; h++) {
        const st = S.subarray((b * H + h) * dk * dv, (b * H + h + 1) * dk * dv); // S[i, j], i over dk, j over dv
        for (let tt = 0; tt < T; tt++) {
          const row = (b * T + tt) * H + h; // [B, T, H] index
          const a = Math.exp(g[row]);
          for (let i = 0; i < dk * dv; i++) st[i] *= a;
          for (let j = 0; j < dv; j++) {
            let pred = 0;
            for (let i = 0; i < dk; i++) pred += st[i * dv + j] * k[row * dk + i];
            const u = beta[row] * (v[row * dv + j] - pred);
            for (let i = 0; i < dk; i++) st[i * dv + j] += k[row * dk + i] * u;
          }
          for (let j = 0; j < dv; j++) {
            let acc = 0;
            for (let i = 0; i < dk; i++) acc += st[i * dv + j] * q[row * dk + i];
            o[row * dv + j] = acc / Math.sqrt(dk);
          }
        }
      }
    for (const backend of ['reference', 'webgpu'] as const) {
      const out = await scan('fla', gdn, t, backend, false);
      expect(out.o.shape).toEqual([B, T, H, dv]);
      expect(out.finalState.shape).toEqual([B, H, dk, dv]);
      expect(relError(out.o.data, o), `${backend} o`).toBeLessThan(backend === 'reference' ? 1e-6 : 1e-5);
      expect(relError(out.finalState.data, S), `${backend} finalState`).toBeLessThan(backend === 'reference' ? 1e-6 : 1e-5);
    }
  });

  const cases: [string, ComboInput][] = [
    ['Gated DeltaNet', gdn],
    ['Titans-style: Huber (data δ) + ℓ2 retention + momentum, state = memory then momentum', { memory: { kind: 'matrix' }, bias: { kind: 'huber', params: { variant: 'norm' } }, retention: { kind: 'l2' }, learner: { kind: 'momentum' } }],
    ['mLSTM (state = C, n, m)', { memory: { kind: 'matrix' }, bias: { kind: 'dot' }, retention: { kind: 'scalar', params: { parametrization: 'sigmoid' } }, learner: { kind: 'gd' }, block: { betaActivation: 'exp', mlstmNormalizer: true, queryScale: 'inv-sqrt-dk' } }],
  ];
  for (const [label, combo] of cases) {
    it(`--backend webgpu --grad writes what --backend reference --grad writes: ${label}`, async () => {
      const s = { batch: 2, time: 7, heads: 2, dk: 4, dv: 4 };
      const t = inputsFor(combo, s, 9);
      const tag = label.split(/[ :]/)[0];
      const ref = await scan(tag, combo, t, 'reference', true);
      const gpu = await scan(tag, combo, t, 'webgpu', true);
      const names = Object.keys(ref).sort();
      expect(Object.keys(gpu).sort()).toEqual(names);
      expect(names).toEqual(expect.arrayContaining(['o', 'finalState', ...Object.keys(t).filter((n) => n !== 'do').map((n) => `d${n}`)]));
      const errs = names.map((n) => [n, relError(gpu[n].data, ref[n].data)] as const);
      console.log(`[audit scan] ${label}: ${errs.map(([n, e]) => `${n} ${e.toExponential(1)}`).join(', ')}`);
      for (const n of names) expect(gpu[n].shape, n).toEqual(ref[n].shape);
      for (const [n, e] of errs) expect(e, n).toBeLessThan(1e-4);
    });
  }

  it('refuses an input outside its domain on both backends instead of writing NaN (KL retention, non-positive initial memory)', async () => {
    const kl: ComboInput = { memory: { kind: 'matrix' }, bias: { kind: 'l2' }, retention: { kind: 'kl', params: { decay: false } }, learner: { kind: 'gd' }, block: { memoryInit: 'learned' } };
    const s = { batch: 1, time: 3, heads: 1, dk: 2, dv: 2 };
    const t = inputsFor(kl, s, 2);
    t.initialState = { shape: [1, 1, 4], data: Float64Array.from([0.5, -0.125, 0.25, 0.25]) };
    for (const backend of ['reference', 'webgpu'] as const) {
      await expect(scan('kl-bad', kl, t, backend, false), backend).rejects.toThrow(/KL retention takes log W_\{t−1\}.*entry ≤ 0 \(first: -0.125 in segment S, entry 1.*Fix:/s);
    }
  });
});
