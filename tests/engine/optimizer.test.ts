/**
 * The optimizer kernels (two-pass global gradient norm, grouped AdamW with clipping) against AdamW in
 * float64, on parameters larger than one norm workgroup's span and more than one dispatch group.
 */
import { describe, expect, it } from 'vitest';
import { Graph } from '@/engine/ir/graph';
import { add, mul, reshape, sum } from '@/engine/ops';
import { adamM, adamV, compilePlan, GRAD_NORM, HPARAM_FIELDS, HPARAMS } from '@/engine/runtime/plan';
import { GpuExecutor } from '@/engine/runtime/executor';
import { capsFromDescription } from '@/engine/gpu/describe';
import { DEFAULT_CAPS } from '@/engine/plan/kernel';
import { relError } from '@/engine/reference/compare';
import { Rng } from '@/engine/tasks/rng';
import { testGpu } from '../helpers/gpu';

describe('optimizer kernels vs float64 AdamW', () => {
  for (const [label, capsOf] of [
    ['device limits', (c: typeof DEFAULT_CAPS) => c],
    ['WebGPU default limits (8 storage buffers)', () => DEFAULT_CAPS],
  ] as const) {
    it(`one clipped step over 9 parameters (up to 9000 elements), ${label}`, async () => {
      const gpu = await testGpu();
      const sizes = [5000, 3, 9000, 7, 1, 4100, 12, 4096, 33];
      const g = new Graph();
      const rng = new Rng(11);
      const ps = sizes.map((n, k) => g.param(`p${k}`, [n], { kind: 'normal', std: 1 }, { decay: k % 3 !== 1 }));
      const probes = sizes.map((n, k) => g.input(`r${k}`, [n], 'f32'));
      const loss = ps.map((p, k) => sum(reshape(mul(p, probes[k]), [p.size]), 0)).reduce((a, b) => add(a, b));
      const plan = compilePlan(g, { caps: capsOf(capsFromDescription(gpu.description)), loss, optimizer: true });
      // The norm's first pass covers up to 7 gradients per dispatch (8 storage buffers): 2 dispatches here.
      expect(plan.optimizer.filter((k) => k.name.startsWith('sumsq')).length).toBeLessThanOrEqual(2);
      const u = (n: number, lo: number, hi: number) => Float64Array.from({ length: n }, () => Math.fround(lo + (hi - lo) * rng.next()));
      const p0 = sizes.map((n) => u(n, -1, 1));
      const grad = sizes.map((n) => u(n, -0.5, 0.5));
      const m0 = sizes.map((n) => u(n, -0.1, 0.1));
      const v0 = sizes.map((n) => u(n, 0, 0.05));
      const hp = { lr: 0.01, beta1: 0.9, beta2: 0.95, eps: 1e-8, weightDecay: 0.1, bc1: 1 - 0.9 ** 3, bc2: 1 - 0.95 ** 3, clip: 1 };

      // float64: grad of Σ p·r is r.
      let sq = 0;
      for (const gr of grad) for (const x of gr) sq += x * x;
      const normRef = Math.sqrt(sq);
      const s = normRef > hp.clip ? hp.clip / normRef : 1;
      const want = sizes.map((n, k) => {
        const p = Float64Array.from(p0[k]);
        const m = Float64Array.from(m0[k]);
        const v = Float64Array.from(v0[k]);
        for (let i = 0; i < n; i++) {
          const gi = grad[k][i] * s;
          m[i] = hp.beta1 * m[i] + (1 - hp.beta1) * gi;
          v[i] = hp.beta2 * v[i] + (1 - hp.beta2) * gi * gi;
          p[i] -= hp.lr * ((g.params[k].decay ? hp.weightDecay * p[i] : 0) + m[i] / hp.bc1 / (Math.sqrt(v[i] / hp.bc2) + hp.eps));
        }
        return { p, m, v };
      });

      const ex = await GpuExecutor.create(gpu.device, plan);
      try {
        sizes.forEach((_, k) => {
          ex.write(ps[k].id, Float32Array.from(p0[k]));
          ex.write(probes[k].id, Float32Array.from(grad[k]));
          ex.write(adamM(ps[k].id), Float32Array.from(m0[k]));
          ex.write(adamV(ps[k].id), Float32Array.from(v0[k]));
        });
        ex.write(HPARAMS, Float32Array.from(HPARAM_FIELDS.map((f) => hp[f])));
        const names = ps.flatMap((p) => [p.id, adamM(p.id), adamV(p.id)]);
        const got = await ex.run(['forward', 'backward', 'optimizer'], [GRAD_NORM, ...names]);
        expect(Math.abs(got[GRAD_NORM][0] - normRef) / normRef).toBeLessThan(1e-5);
        sizes.forEach((_, k) => {
          expect(relError(got[ps[k].id], want[k].p), `p${k}`).toBeLessThan(1e-5);
          expect(relError(got[adamM(ps[k].id)], want[k].m), `m${k}`).toBeLessThan(1e-5);
          expect(relError(got[adamV(ps[k].id)], want[k].v), `v${k}`).toBeLessThan(1e-5);
        });
      } finally {
        ex.destroy();
      }
    });
  }
});
