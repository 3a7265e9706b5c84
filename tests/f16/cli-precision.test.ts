/**
 * `miras scan --backend webgpu --precision f16` on lavapipe (shader-f16): runs the chunk kernels with f16
 * operand tiles and writes outputs and gradients within f16 rounding of the float64 reference (bound as in
 * chunk-f16.test.ts: 10 unit roundoffs of f16); and the flag's user errors (exit 2, one line each).
 */
import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { scanCommand } from '@/engine/miras/cli/commands';
import { readTensors, writeTensors } from '@/engine/miras/cli/files';
import { resolveCombo } from '@/engine/miras/catalog';
import { referenceScanGrad, scanInputDecls } from '@/engine/miras/reference';
import { Rng, normal, randomScanInputs } from '@/engine/miras/reference/random';
import { getPreset } from '@/engine/presets';
import type { MirasMixer } from '@/engine/spec';
import { f16Gpu } from '../helpers/f16-gpu';

const dir = mkdtempSync(join(tmpdir(), 'miras-f16-cli-'));
const run = async (args: string[]) => {
  const out: string[] = [];
  const err: string[] = [];
  const code = await scanCommand.run(args, (l) => out.push(l), (l) => err.push(l));
  return { code, out, err };
};

describe('miras scan --precision f16', () => {
  it('Gated DeltaNet through the f16 chunk kernels matches the float64 reference within f16 rounding', async () => {
    await f16Gpu(); // points Dawn at lavapipe (the command creates its own device there) and checks shader-f16
    const m = getPreset('gated-deltanet').build({ vocabSize: 32, dModel: 64, nLayers: 1 }).layers[0].mixer as MirasMixer;
    const mixer = { ...m, heads: 1, headDimK: 16, headDimV: 16 };
    const c = resolveCombo(mixer);
    const s = { batch: 1, time: 21, heads: 1, dk: 16, dv: 16 };
    const rng = new Rng(3);
    const x = randomScanInputs(c, s, rng);
    delete x.initialState;
    const dO = new Float64Array(s.time * s.dv).map(() => normal(rng));
    const f32 = (a: Float64Array) => Float64Array.from(Float32Array.from(a));
    const decls = scanInputDecls(c, s);
    const tensors = Object.fromEntries(Object.entries(x).map(([n, d]) => [n, { shape: decls.find((dd) => dd.name === n)!.shape, data: f32(d) }]));
    tensors.do = { shape: [1, 21, 1, 16], data: f32(dO) };
    await writeTensors(join(dir, 'in.safetensors'), tensors);
    writeFileSync(join(dir, 'combo.json'), JSON.stringify(mixer));
    const r = await run(['--combo', join(dir, 'combo.json'), '--in', join(dir, 'in.safetensors'), '--out', join(dir, 'out.safetensors'), '--backend', 'webgpu', '--precision', 'f16', '--grad']);
    expect(r.err).toEqual([]);
    expect(r.code).toBe(0);
    expect(r.out.join('\n')).toMatch(/f16 chunk kernels/);
    const got = await readTensors(join(dir, 'out.safetensors'));
    const inputs = Object.fromEntries(Object.entries(tensors).filter(([n]) => n !== 'do').map(([n, t]) => [n, t.data]));
    const ref = referenceScanGrad(c, s, inputs, { o: tensors.do.data });
    const rel = (a: ArrayLike<number>, b: ArrayLike<number>) => {
      let num = 0;
      let den = 0;
      for (let i = 0; i < b.length; i++) {
        num = Math.max(num, Math.abs(a[i] - b[i]));
        den = Math.max(den, Math.abs(b[i]));
      }
      return num / (den || 1);
    };
    const errs: Record<string, number> = { o: rel(got.o.data, ref.o) };
    for (const n of Object.keys(inputs)) errs[`d${n}`] = rel(got[`d${n}`].data, ref.grads[n]);
    console.log(`[scan --precision f16] ${Object.entries(errs).map(([n, e]) => `${n} ${e.toExponential(1)}`).join(' ')}`);
    for (const e of Object.values(errs)) expect(e).toBeLessThan(10 * 2 ** -11);
    expect(errs.o).toBeGreaterThan(1e-5); // f16 rounding is visible: the f16 tiles ran
  }, 600_000);

  it('refuses the flag where it cannot apply, in one line with exit code 2', async () => {
    const base = ['--combo', join(dir, 'combo.json'), '--in', join(dir, 'in.safetensors'), '--out', join(dir, 'x.safetensors')];
    let r = await run([...base, '--precision', 'bf16', '--backend', 'webgpu']);
    expect(r.code).toBe(2);
    expect(r.err.join()).toMatch(/--precision must be f32 or f16/);
    r = await run([...base, '--precision', 'f16']);
    expect(r.code).toBe(2);
    expect(r.err.join()).toMatch(/--precision applies to --backend webgpu/);
    // a combination without a chunk form (momentum learner)
    const titans = { memory: { kind: 'matrix' }, bias: { kind: 'l2' }, retention: { kind: 'scalar' }, learner: { kind: 'momentum' }, block: {} };
    writeFileSync(join(dir, 'titans.json'), JSON.stringify(titans));
    const c = resolveCombo(titans as never);
    const s = { batch: 1, time: 5, heads: 1, dk: 4, dv: 4 };
    const x = randomScanInputs(c, s, new Rng(1));
    delete x.initialState;
    const decls = scanInputDecls(c, s);
    await writeTensors(join(dir, 'titans.safetensors'), Object.fromEntries(Object.entries(x).map(([n, d]) => [n, { shape: decls.find((dd) => dd.name === n)!.shape, data: d }])));
    r = await run(['--combo', join(dir, 'titans.json'), '--in', join(dir, 'titans.safetensors'), '--out', join(dir, 'x.safetensors'), '--backend', 'webgpu', '--precision', 'f16']);
    expect(r.code).toBe(2);
    expect(r.err.join()).toMatch(/--precision f16: .*no chunk form for learner "momentum"/);
  }, 600_000);
});
