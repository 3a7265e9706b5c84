/**
 * A ScanProvider (engine/ir/scan.ts) for any valid Miras combination backed by the float64
 * reference: the engine's reference backend runs every preset through it, and the WebGPU kernel
 * providers (engine/miras/recurrent, engine/miras/chunk) reuse its input list and reference
 * functions so kernels and oracle agree on names, shapes and semantics.
 *
 * Inputs are the tensors the block produces, in this order: q, k, v, then those of
 * beta, g, eta, delta, i, initialState that the combination reads. A learned initial state is
 * one parameter per head shared across the batch: declared [H, stateSize] and tiled here.
 */
import type { ScanProvider, ScanShape, ScanTensorDecl } from '../../ir/scan';
import type { MirasMixer } from '../../spec';
import { checkedCombo } from '../validate';
import type { Combo, ComboInput } from '../catalog';
import { referenceScan, referenceScanGrad, scanInputDecls, scanOutputDecls, type ScanArrays } from './scan';

export function comboId(c: Combo): string {
  return `miras:${c.memory.kind}/${c.bias.kind}/${c.retention.kind}/${c.learner.kind}${c.block.mlstmNormalizer ? '+mlstm' : ''}`;
}

/** Which scan inputs a block built from this combination feeds (optional ones only when it produces them). */
export function providerInputs(c: Combo, s: ScanShape): ScanTensorDecl[] {
  return scanInputDecls(c, s)
    .filter((d) => {
      if (d.name === 'beta') return c.block.betaActivation !== 'constant' || c.block.valueTimesStep;
      if (d.name === 'initialState') return c.block.memoryInit === 'learned';
      return true;
    })
    .map((d) => ({ name: d.name, shape: d.name === 'initialState' ? d.shape.slice(1) : d.shape }));
}

function tileInitial(x: ScanArrays, s: ScanShape): ScanArrays {
  if (!x.initialState) return x;
  const per = x.initialState.length;
  const tiled = new Float64Array(per * s.batch);
  for (let b = 0; b < s.batch; b++) tiled.set(x.initialState, b * per);
  return { ...x, initialState: tiled };
}

/**
 * Why no WebGPU scan kernel takes this combination, in words a researcher can act on (null: no specific reason
 * known). Every valid matrix, vector and MLP combination has one at any head dimensions (tests/miras/no-kernel.test.ts
 * sweeps them); the softmax-attention memory has no recurrent state to scan: the block runs it as the attention op.
 */
function noKernelReason(c: Combo): string | null {
  if (c.memory.kind === 'attention') return 'the softmax-attention memory has no recurrent state to scan; a Miras block runs it as the fused attention op';
  return null;
}

export function referenceProviderFor(combo: Combo, dims: { headDimK?: number; headDimV?: number } = {}): ScanProvider {
  const reason = noKernelReason(combo);
  const at = dims.headDimK !== undefined && dims.headDimV !== undefined ? ` (d_k = ${dims.headDimK}, d_v = ${dims.headDimV})` : '';
  return {
    id: comboId(combo),
    inputs: (s) => providerInputs(combo, s),
    outputs: (s) => scanOutputDecls(combo, s).map((d) => ({ name: d.name, shape: d.shape })),
    referenceForward: (x, s) => referenceScan(combo, s, tileInitial(x, s)),
    referenceBackward(x, g, s) {
      const r = referenceScanGrad(combo, s, tileInitial(x, s), { o: g.o, finalState: g.finalState });
      const out: Record<string, Float64Array> = { ...r.grads };
      if (x.initialState) {
        // the shared initial state collects the gradient of every batch row
        const per = x.initialState.length;
        const summed = new Float64Array(per);
        for (let b = 0; b < s.batch; b++) for (let i = 0; i < per; i++) summed[i] += r.grads.initialState[b * per + i];
        out.initialState = summed;
      }
      return out;
    },
    kernels() {
      throw new Error(
        `${comboId(combo)}: no WebGPU scan kernel is registered for this combination${at} yet${reason ? `: ${reason}` : ''}. ` +
          'Until then it trains only on the float64 reference backend (tiny models).',
      );
    },
  };
}

/** The reference provider for a Miras mixer or a bare combo (validated: throws MirasValidationError). */
export function mirasReferenceProvider(mixer: MirasMixer | ComboInput): ScanProvider {
  const dims = 'headDimK' in mixer ? { headDimK: mixer.headDimK, headDimV: mixer.headDimV } : {};
  return referenceProviderFor(checkedCombo(mixer, dims), dims);
}
