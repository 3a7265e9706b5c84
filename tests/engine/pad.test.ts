/** Zero padding on the last axis: WebGPU vs float64 forward and gradient, float64 vs finite differences. */
import { describe, expect, it } from 'vitest';
import { Graph } from '@/engine/ir/graph';
import { pad } from '@/engine/ops';
import { referenceForward } from '@/engine/reference/interpreter';
import { runOpCase } from './harness';

const N = { kind: 'normal', std: 1 } as const;

describe('pad (zeros appended to the last axis)', () => {
  for (const [shape, after] of [[[3, 5], 4], [[2, 3, 1], 6], [[7], 0]] as [number[], number][]) {
    it(`[${shape}] + ${after}`, async () => {
      const r = await runOpCase({ name: 'pad', build: (g) => [pad(g.param('x', shape, N), after)] });
      for (const [k, e] of Object.entries(r.forward)) expect(e, `forward ${k}`).toBeLessThan(1e-6);
      for (const [k, e] of Object.entries(r.grads)) expect(e, `grad ${k}`).toBeLessThan(1e-6);
      for (const [k, e] of Object.entries(r.fd)) expect(e, `finite differences ${k}`).toBeLessThan(1e-6);
    });
  }
  it('puts the zeros after each row', () => {
    const g = new Graph();
    const x = g.param('x', [2, 2], N);
    const y = pad(x, 1);
    expect(y.shape).toEqual([2, 3]);
    const v = referenceForward(g, new Map([[x.id, Float64Array.from([1, 2, 3, 4])]])).get(y.id)!;
    expect([...v]).toEqual([1, 2, 0, 3, 4, 0]);
    expect(() => pad(x, -1, 'bad')).toThrow(/non-negative integer/);
  });
});
