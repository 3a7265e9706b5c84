/**
 * The unary op's extensible function table: the Miras gate activations (engine/miras/gates.ts) are entries
 * of the one elementwise op, each checked like the core entries (WebGPU f32 vs float64 forward and gradient,
 * float64 gradient vs finite differences), with the constants the block uses; and the table's errors.
 */
import { describe, expect, it } from 'vitest';
import { Graph } from '@/engine/ir/graph';
import { registerUnary, unary, UNARY } from '@/engine/ops/unary';
import { GATES } from '@/engine/miras/gates';
import { runOpCase } from './harness';

const N = { kind: 'normal', std: 1.5 } as const;

const cases: [string, number | undefined][] = [
  ['logsigmoid', undefined],
  ['logsigmoid', 16],
  ['hgrn2', 0],
  ['hgrn2', 0.3],
  ['hgrn2', 0.9],
  ['oneMinusExp', undefined],
  ['negExp', undefined],
  ['scale', 2],
  ['scale', 0],
  ['one', undefined],
  ['absMax1', undefined],
  ['relu', undefined],
];

describe('unary gate entries: WebGPU vs float64, float64 vs finite differences', () => {
  it('every gate activation is registered in the one unary table', () => {
    for (const name of Object.keys(GATES)) expect(UNARY[name], name).toBe(GATES[name as keyof typeof GATES]);
    expect(Object.keys(GATES).sort()).toEqual(['absMax1', 'hgrn2', 'logsigmoid', 'negExp', 'one', 'oneMinusExp', 'scale']);
  });
  for (const [fn, c] of cases) {
    it(`${fn}${c === undefined ? '' : ` c=${c}`} [3,7,5]`, async () => {
      const r = await runOpCase({ name: fn, build: (g) => [unary(fn, g.param('x', [3, 7, 5], N), fn, c)] });
      for (const [k, e] of Object.entries(r.forward)) expect(e, `forward ${k}`).toBeLessThan(1e-5);
      for (const [k, e] of Object.entries(r.grads)) expect(e, `grad ${k}`).toBeLessThan(1e-4);
      for (const [k, e] of Object.entries(r.fd)) expect(e, `finite differences ${k}`).toBeLessThan(1e-5);
    });
  }
  it('closed forms: hgrn2 is log(lb + (1 − lb)σ(x)), logsigmoid divides by τ', () => {
    const sig = (x: number) => 1 / (1 + Math.exp(-x));
    for (const x of [-3, -0.2, 0, 1.7]) {
      expect(GATES.hgrn2.f(x, 0.3)).toBeCloseTo(Math.log(0.3 + 0.7 * sig(x)), 12);
      expect(GATES.hgrn2.f(x, 0)).toBeCloseTo(Math.log(sig(x)), 12);
      expect(GATES.logsigmoid.f(x, 16)).toBeCloseTo(Math.log(sig(x)) / 16, 12);
    }
  });
  it('refuses unknown names, stray or bad constants, and a second meaning for a name', () => {
    const g = new Graph();
    const x = g.param('x', [4], N);
    expect(() => unary('nope', x)).toThrow(/unknown unary function "nope"/);
    expect(() => unary('negExp', x, 'a', 2)).toThrow(/takes no constant/);
    expect(() => unary('logsigmoid', x, 'b', 0)).toThrow(/temperature τ must be positive/);
    expect(() => unary('hgrn2', x, 'c', 1)).toThrow(/lower bound must be below 1/);
    expect(() => registerUnary('silu', { f: (v) => v, df: () => 1, wf: 'return x;', wdf: 'return 1.0;' })).toThrow(/already registered/);
    expect(() => registerUnary('bad name', { f: (v) => v, df: () => 1, wf: 'return x;', wdf: 'return 1.0;' })).toThrow(/identifier/);
  });
});
