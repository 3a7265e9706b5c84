/**
 * The deep MLP memory scan as a ScanProvider (engine/ir/scan.ts), registered as `miras-mlp` for every mixer
 * whose memory is the MLP and whose learner/retention the kernel covers (mlpUnsupported). Inputs, outputs and
 * the float64 reference are the reference provider's (engine/miras/reference/provider.ts), so the kernel and
 * the oracle agree on names, shapes and semantics; kernels come from engine/miras/mlp/wgsl.ts.
 */
import { registerScanProvider, type ScanProvider, type ScanShape } from '../../ir/scan';
import type { DeviceCaps } from '../../plan/kernel';
import type { MirasMixer } from '../../spec';
import { resolveCombo as resolveCatalogCombo, type Combo } from '../catalog';
import { providerInputs, referenceProviderFor } from '../reference/provider';
import { mlpUnsupported, resolveMlpCombo, type MlpCombo } from './program';
import { mlpKernels } from './wgsl';

/** The kernel's view of a catalog combination at these head dimensions. */
export function mlpComboFor(cat: Combo, heads: number, dk: number, dv: number): MlpCombo {
  const names = providerInputs(cat, { batch: 1, time: 1, heads, dk, dv }).map((d) => d.name);
  return resolveMlpCombo(cat, heads, dk, dv, names);
}

export function mlpProvider(mixer: MirasMixer, opts: { checkpoint?: number } = {}): ScanProvider & { combo: MlpCombo } {
  const cat = resolveCatalogCombo(mixer);
  const combo = mlpComboFor(cat, mixer.heads, mixer.headDimK, mixer.headDimV);
  const oracle = referenceProviderFor(cat);
  /** The shape, once it is known to be the mixer's. */
  const at = (s: ScanShape): ScanShape => {
    if (s.dk === mixer.headDimK && s.dv === mixer.headDimV && s.heads === mixer.heads) return s;
    throw new Error(`${combo.id}: scan shape H=${s.heads} dk=${s.dk} dv=${s.dv} does not match the mixer (H=${mixer.heads} dk=${mixer.headDimK} dv=${mixer.headDimV})`);
  };
  return {
    id: combo.id,
    combo,
    inputs: (s) => oracle.inputs(s),
    outputs: (s) => oracle.outputs(s),
    referenceForward: (x, s) => oracle.referenceForward(x, at(s)),
    referenceBackward: (x, g, s) => oracle.referenceBackward(x, g, at(s)),
    kernels: (caps: DeviceCaps, s) => {
      const { forward, backward, scratch } = mlpKernels(combo, at(s), caps, opts);
      return { forward, backward, scratch };
    },
  };
}

/** Whether the MLP memory kernel covers this mixer. */
export function mlpSupports(mixer: MirasMixer): boolean {
  try {
    const c = resolveCatalogCombo(mixer);
    // d_k ≠ d_v is fine (the first layer reads d_k, the last writes d_v) unless the residual adds the key to the output.
    return mlpUnsupported(c) === null && (!c.memory.params.residual || mixer.headDimK === mixer.headDimV);
  } catch {
    return false;
  }
}

registerScanProvider('miras-mlp', mlpSupports, (m) => mlpProvider(m));
