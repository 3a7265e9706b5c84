/**
 * Deterministic parameter initialisation: each parameter draws from its own generator keyed by
 * (seed, parameter name), so adding a layer does not change the others' initial values.
 */
import type { Graph } from '../ir/graph';
import { hashInts, Rng } from '../tasks/rng';

export function nameHash(name: string): number {
  let h = 0x811c9dc5;
  for (let i = 0; i < name.length; i++) h = Math.imul(h ^ name.charCodeAt(i), 0x01000193);
  return h >>> 0;
}

/** Standard normal from two uniforms (Box–Muller). */
export function normal(rng: Rng): number {
  const u1 = Math.max(rng.next(), 1e-300);
  return Math.sqrt(-2 * Math.log(u1)) * Math.cos(2 * Math.PI * rng.next());
}

export function initParams(graph: Graph, seed: number): Map<string, Float64Array> {
  const out = new Map<string, Float64Array>();
  for (const p of graph.params) {
    const rng = new Rng(hashInts(seed, nameHash(p.tensor.id)));
    const x = new Float64Array(p.tensor.size);
    const init = p.init;
    for (let i = 0; i < x.length; i++) {
      // Values are rounded to f32 so both backends start from identical numbers.
      x[i] = Math.fround(
        init.kind === 'normal' ? init.std * normal(rng) : init.kind === 'uniform' ? init.lo + (init.hi - init.lo) * rng.next() : init.value,
      );
    }
    out.set(p.tensor.id, x);
  }
  return out;
}
