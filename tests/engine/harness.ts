/**
 * Test harness for ops: wraps an op's outputs in a random linear probe loss
 * (loss = Σ y ⊙ r), so every output element gets a distinct gradient, then compares
 * WebGPU forward values and parameter gradients with the float64 reference, and the
 * reference's gradients with finite differences.
 */
import { Graph, type Tensor } from '@/engine/ir/graph';
import { mul, reshape, sum } from '@/engine/ops';
import { initParams } from '@/engine/model/init';
import { referenceBackward, referenceForward } from '@/engine/reference/interpreter';
import { relError } from '@/engine/reference/compare';
import { finiteDifferenceCheck } from '@/engine/reference/gradcheck';
import { compilePlan, gradName } from '@/engine/runtime/plan';
import { GpuExecutor } from '@/engine/runtime/executor';
import { capsFromDescription } from '@/engine/gpu/describe';
import { Rng } from '@/engine/tasks/rng';
import { testGpu } from '../helpers/gpu';

export interface OpCase {
  name: string;
  /** Build the op under test; params are the differentiable inputs. Returns the outputs to probe. */
  build(g: Graph): Tensor[];
  /** Values for i32 / fixed f32 inputs by input name. */
  feeds?(g: Graph): Record<string, ArrayLike<number>>;
  /** Init scale for params (default normal 1). */
  std?: number;
  /** Use the shared-memory tiled GEMM. */
  tiled?: boolean;
}

export interface OpCaseResult {
  forward: Record<string, number>;
  grads: Record<string, number>;
  fd: Record<string, number>;
}

export async function runOpCase(c: OpCase, opts: { tiled?: boolean } = {}): Promise<OpCaseResult> {
  const g = new Graph();
  const outs = c.build(g);
  if (outs.length !== 1) throw new Error('probe exactly one output per case');
  const y = outs[0];
  const probe = g.input('probe', y.shape, 'f32');
  const lossT = sum(reshape(mul(y, probe), [y.size]), 0);
  const rng = new Rng(1234);
  const feeds = new Map<string, Float64Array>();
  for (const [k, v] of initParams(g, 7)) feeds.set(k, v.map((x) => Math.fround(x * (c.std ?? 1))));
  const given = c.feeds?.(g) ?? {};
  for (const t of g.inputs) {
    if (given[t.id]) feeds.set(t.id, Float64Array.from(given[t.id]));
    else feeds.set(t.id, Float64Array.from({ length: t.size }, () => Math.fround(rng.next() * 2 - 1)));
  }
  const values = referenceForward(g, feeds);
  const grads = referenceBackward(g, values, lossT);
  const fd: Record<string, number> = {};
  for (const r of finiteDifferenceCheck(g, lossT, feeds, { maxCoords: 24 })) fd[r.param] = r.relError;

  const gpu = await testGpu();
  const plan = compilePlan(g, { caps: capsFromDescription(gpu.description), loss: lossT, keep: outs, tiled: opts.tiled });
  const ex = await GpuExecutor.create(gpu.device, plan);
  try {
    for (const t of [...g.inputs, ...g.params.map((p) => p.tensor)]) {
      const v = feeds.get(t.id)!;
      ex.write(t.id, t.dtype === 'i32' ? Int32Array.from(v) : Float32Array.from(v));
    }
    const read = [...outs.map((t) => t.id), ...g.params.map((p) => gradName(p.tensor.id))];
    const got = await ex.run(['forward', 'backward'], read);
    const forward: Record<string, number> = {};
    outs.forEach((t, i) => (forward[`out${i}`] = relError(got[t.id], values.get(t.id)!)));
    const gr: Record<string, number> = {};
    for (const p of g.params) gr[p.tensor.id] = relError(got[gradName(p.tensor.id)], grads.get(p.tensor.id)!);
    return { forward, grads: gr, fd };
  } finally {
    ex.destroy();
  }
}
