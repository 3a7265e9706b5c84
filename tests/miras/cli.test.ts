/**
 * `miras scan` on explicit safetensors inputs (reference backend: outputs and gradients equal the
 * library call; bad inputs get specific errors) and `miras check --random` (WebGPU vs float64).
 */
import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { checkCommand, scanCommand } from '@/engine/miras/cli/commands';
import { readTensors, writeTensors } from '@/engine/miras/cli/files';
import { resolveCombo } from '@/engine/miras/catalog';
import { referenceScanGrad } from '@/engine/miras/reference';
import { Rng, normal, randomScanInputs } from '@/engine/miras/reference/random';

const dir = mkdtempSync(join(tmpdir(), 'miras-cli-'));
const comboJson = {
  memory: { kind: 'matrix' },
  bias: { kind: 'huber', params: { variant: 'norm', delta: 'data' } },
  retention: { kind: 'scalar' },
  learner: { kind: 'momentum' },
  block: { queryScale: 'inv-sqrt-dk' },
};

describe('miras scan', () => {
  it('writes o, finalState and d<input> equal to the reference library call', async () => {
    const c = resolveCombo(comboJson);
    const s = { batch: 2, time: 5, heads: 2, dk: 3, dv: 4 };
    const rng = new Rng(1);
    const x = randomScanInputs(c, s, rng);
    delete x.initialState;
    const dO = new Float64Array(s.batch * s.time * s.heads * s.dv).map(() => normal(rng));
    const shapes: Record<string, number[]> = { q: [2, 5, 2, 3], k: [2, 5, 2, 3], v: [2, 5, 2, 4], beta: [2, 5, 2], g: [2, 5, 2], eta: [2, 5, 2], delta: [2, 5, 2] };
    // round to f32 first: the file stores f32, and the comparison must see the same numbers
    const f32 = (a: Float64Array) => Float64Array.from(Float32Array.from(a));
    const tensors = Object.fromEntries(Object.entries(x).map(([n, d]) => [n, { shape: shapes[n], data: f32(d) }]));
    tensors.do = { shape: [2, 5, 2, 4], data: f32(dO) };
    await writeTensors(join(dir, 'in.safetensors'), tensors);
    writeFileSync(join(dir, 'combo.json'), JSON.stringify(comboJson));
    const lines: string[] = [];
    const code = await scanCommand.run(['--combo', join(dir, 'combo.json'), '--in', join(dir, 'in.safetensors'), '--out', join(dir, 'out.safetensors'), '--grad'], (l) => lines.push(l));
    expect(code).toBe(0);
    const out = await readTensors(join(dir, 'out.safetensors'));
    const inputs = Object.fromEntries(Object.entries(tensors).filter(([n]) => n !== 'do').map(([n, t]) => [n, t.data]));
    const want = referenceScanGrad(c, s, inputs, { o: tensors.do.data });
    expect(out.o.shape).toEqual([2, 5, 2, 4]);
    expect(out.finalState.shape).toEqual([2, 2, 2 * 3 * 4]); // memory then momentum
    const close = (a: Float64Array, b: Float64Array) => a.every((v, i) => Math.abs(v - Math.fround(b[i])) <= 1e-6 * Math.max(1, Math.abs(b[i])));
    expect(close(out.o.data, want.o)).toBe(true);
    expect(close(out.finalState.data, want.finalState)).toBe(true);
    for (const n of Object.keys(inputs)) expect(close(out[`d${n}`].data, want.grads[n]), n).toBe(true);
  });

  it('refuses bad inputs with one specific message and exit code 2', async () => {
    const run = async (args: string[]) => {
      const errs: string[] = [];
      const code = await scanCommand.run(args, () => {}, (l) => errs.push(l));
      return { code, msg: errs.join('\n') };
    };
    writeFileSync(join(dir, 'bad.json'), JSON.stringify({ ...comboJson, learner: { kind: 'implicit' } }));
    let r = await run(['--combo', join(dir, 'bad.json'), '--in', join(dir, 'in.safetensors'), '--out', join(dir, 'x.safetensors')]);
    expect(r.code).toBe(2);
    expect(r.msg).toMatch(/gradient-based learner.*Fix/s);
    await writeTensors(join(dir, 'missing.safetensors'), { q: { shape: [1, 2, 1, 3], data: new Float64Array(6) }, k: { shape: [1, 2, 1, 3], data: new Float64Array(6) }, v: { shape: [1, 2, 1, 4], data: new Float64Array(8) } });
    r = await run(['--combo', join(dir, 'combo.json'), '--in', join(dir, 'missing.safetensors'), '--out', join(dir, 'x.safetensors')]);
    expect(r.msg).toMatch(/missing tensor "g" \[1, 2, 1\]/);
    r = await run(['--combo', join(dir, 'combo.json'), '--in', join(dir, 'in.safetensors'), '--out', join(dir, 'x.safetensors'), '--backend', 'cuda']);
    expect(r.msg).toMatch(/--backend must be/);
    r = await run(['--combo', join(dir, 'combo.json'), '--in', join(dir, 'nope.safetensors'), '--out', join(dir, 'x.safetensors')]);
    expect(r.code).toBe(2);
    expect(r.msg).toMatch(/ENOENT|no such file/);
  });
});

describe('miras check', () => {
  it('--random compares WebGPU with the float64 reference', async () => {
    const lines: string[] = [];
    const code = await checkCommand.run(['--random', '3', '--seed', '5', '--dim', '8'], (l) => lines.push(l));
    expect(lines.join('\n')).toMatch(/3 passed, 0 failed/);
    expect(code).toBe(0);
  });
});
