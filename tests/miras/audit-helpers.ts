/** Shared by the audit and property tests: the engine's registered scan kernel for a combination, on the device, vs float64. */
import { expect } from 'vitest';
import { testGpu } from '../helpers/gpu';
import { DEFAULT_CAPS, type DeviceCaps } from '@/engine/plan/kernel';
import { runScanKernels } from '@/engine/miras/recurrent/run';
import { resolveCombo, type ComboInput } from '@/engine/miras/catalog';
import { fusedProvider, runReference } from '@/engine/miras/cli/backends';
import { Rng, normal, randomScanInputs } from '@/engine/miras/reference/random';
import { relErr } from './kernel-helpers';

export interface Shape {
  batch: number;
  time: number;
  heads: number;
  dk: number;
  dv: number;
}

/**
 * The combination's fused kernel (fusedProvider: what the engine registers) at `caps` (DEFAULT_CAPS) against the
 * float64 oracle on seeded inputs in the ranges a block produces (randomScanInputs), with random upstream gradients
 * for o and the final state: o and final state within 1e-4, every input gradient within 1e-3 (relative to scale).
 */
export async function kernelVsOracle(tag: string, combo: ComboInput, s: Shape, opts: { kernel?: RegExp; seed?: number; caps?: DeviceCaps } = {}) {
  const { device } = await testGpu();
  const c = resolveCombo(combo);
  const rng = new Rng(opts.seed ?? 3);
  const x = randomScanInputs(c, s, rng);
  // The kernels take one (learned) initial state per head, shared by the batch: keep these cases to one batch row.
  if (x.initialState) expect(s.batch, 'a learned initial state is shared by the batch; use batch 1').toBe(1);
  const provider = fusedProvider(c, s);
  if (opts.kernel) expect(provider.id).toMatch(opts.kernel);
  const fresh = runReference(c, s, x);
  const dOut = { o: Float64Array.from(fresh.o, () => normal(rng)), finalState: Float64Array.from(fresh.finalState, () => normal(rng)) };
  const ref = runReference(c, s, x, dOut);
  const got = await runScanKernels(device, provider.kernels(opts.caps ?? DEFAULT_CAPS, s), { inputs: provider.inputs(s), outputs: provider.outputs(s) }, x, dOut);
  const errs: [string, number][] = [['o', relErr(got.o, ref.o)], ['finalState', relErr(got.finalState, ref.finalState)]];
  for (const n of Object.keys(x)) errs.push([`d${n}`, relErr(got.grads![n], ref.grads![n])]);
  console.log(`[kernel vs float64] ${tag} ${provider.id}: ${errs.map(([n, e]) => `${n} ${e.toExponential(1)}`).join(', ')}`);
  for (const [n, e] of errs) expect(e, n).toBeLessThan(n === 'o' || n === 'finalState' ? 1e-4 : 1e-3);
}

