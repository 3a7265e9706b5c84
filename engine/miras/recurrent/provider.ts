/**
 * The fused recurrent kernels as a ScanProvider (engine/ir/scan.ts) for every matrix/vector-memory
 * Miras combination the math module covers. Registered for mixers whose memory is matrix or vector;
 * the chunk-parallel providers (engine/miras/chunk/) may register later and take precedence.
 */
import { registerScanProvider, type ScanProvider, type ScanShape } from '../../ir/scan';
import type { DeviceCaps } from '../../plan/kernel';
import type { MirasMixer } from '../../spec';
import { comboInputs, comboOutputs, recurrentUnsupported, resolveCombo, type Combo, type ComboOptions } from '../math/combo';
import { resolveCombo as resolveCatalogCombo } from '../catalog';
import { recurrentKernels, type RecurrentOptions } from './codegen';
import { referenceProviderFor } from '../reference/provider';

export function recurrentProvider(mixer: MirasMixer, opts: RecurrentOptions & ComboOptions = {}): ScanProvider & { combo: Combo } {
  const combo = resolveCombo(mixer, opts);
  const oracle = referenceProviderFor(combo.catalog);
  const check = (s: ScanShape) => {
    if (s.dk !== mixer.headDimK || s.dv !== mixer.headDimV || s.heads !== mixer.heads) {
      throw new Error(`${combo.id}: scan shape H=${s.heads} dk=${s.dk} dv=${s.dv} does not match the mixer (H=${mixer.heads} dk=${mixer.headDimK} dv=${mixer.headDimV})`);
    }
  };
  return {
    id: combo.id,
    combo,
    inputs: (s) => comboInputs(combo, s),
    outputs: (s) => comboOutputs(combo, s),
    // The float64 oracle (B1, engine/miras/reference) defines the semantics the kernels are tested against.
    referenceForward: (x, s) => {
      check(s);
      return oracle.referenceForward(x, s);
    },
    referenceBackward: (x, g, s) => {
      check(s);
      return oracle.referenceBackward(x, g, s);
    },
    kernels: (caps: DeviceCaps, s) => {
      check(s);
      const k = recurrentKernels(combo, s, caps, opts);
      return { forward: k.forward, backward: k.backward, scratch: k.scratch };
    },
  };
}

/** Whether the fused recurrent kernel supports this mixer (resolves without error). */
export function recurrentSupports(mixer: MirasMixer): boolean {
  try {
    return recurrentUnsupported(resolveCatalogCombo(mixer)) === null;
  } catch {
    return false;
  }
}

registerScanProvider('miras-recurrent', recurrentSupports, (m) => recurrentProvider(m));
