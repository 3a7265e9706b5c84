/**
 * One case of the eager scripts' self-check files (recurrent_case.json, mlp_case.json): the float64 oracle's outputs
 * for the inputs x, seeded upstream gradients (rng 9) and the oracle's input gradients, as plain arrays.
 */
import type { ScanShape } from '../../engine/ir/scan';
import type { Combo as CatalogCombo } from '../../engine/miras/catalog';
import { referenceProviderFor } from '../../engine/miras/reference/provider';
import { gauss, rng } from '../../tests/miras/kernel-helpers';

export function oracleRecord(catalog: CatalogCombo, x: Record<string, Float64Array>, s: ScanShape, decls?: { name: string; shape: number[] }[]) {
  const oracle = referenceProviderFor(catalog);
  const want = oracle.referenceForward(x, s);
  const r = rng(9);
  const go = Float64Array.from(want.o, () => gauss(r));
  const gf = Float64Array.from(want.finalState, () => gauss(r));
  const grads = oracle.referenceBackward(x, { o: go, finalState: gf }, s);
  const arr = (a: Float64Array) => Array.from(a);
  return {
    inputs: Object.fromEntries((decls ?? oracle.inputs(s)).map((d) => [d.name, { shape: d.shape, data: arr(x[d.name]) }])),
    grad_o: arr(go),
    grad_final: arr(gf),
    o: arr(want.o),
    finalState: arr(want.finalState),
    grads: Object.fromEntries(Object.entries(grads).map(([n, g]) => [n, arr(g)])),
  };
}
