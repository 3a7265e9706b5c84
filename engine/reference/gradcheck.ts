/**
 * Checks the reference's own gradients against central finite differences in float64:
 * for each parameter, a few coordinates (or all, for small tensors) are nudged by ±h.
 */
import type { Graph, Tensor } from '../ir/graph';
import { relError } from './compare';
import { referenceBackward, referenceForward, type Values } from './interpreter';

export interface GradCheckResult {
  param: string;
  /** max |analytic − numeric| / max(|numeric| over checked coordinates, 1e-6) */
  relError: number;
  checked: number;
}

export function finiteDifferenceCheck(graph: Graph, loss: Tensor, feeds: Values, opts: { h?: number; maxCoords?: number } = {}): GradCheckResult[] {
  const h = opts.h ?? 1e-6;
  const maxCoords = opts.maxCoords ?? 64;
  const lossAt = () => referenceForward(graph, feeds).get(loss.id)![0];
  const grads = referenceBackward(graph, referenceForward(graph, feeds), loss);
  return graph.params.map((p) => {
    const x = feeds.get(p.tensor.id)!;
    const g = grads.get(p.tensor.id)!;
    const n = x.length;
    const step = n <= maxCoords ? 1 : n / maxCoords;
    const idx: number[] = [];
    for (let k = 0; k < Math.min(n, maxCoords); k++) idx.push(Math.floor(k * step));
    const num: number[] = [];
    const ana: number[] = [];
    for (const i of idx) {
      const x0 = x[i];
      x[i] = x0 + h;
      const up = lossAt();
      x[i] = x0 - h;
      const down = lossAt();
      x[i] = x0;
      num.push((up - down) / (2 * h));
      ana.push(g[i]);
    }
    return { param: p.tensor.id, relError: relError(ana, num), checked: idx.length };
  });
}
