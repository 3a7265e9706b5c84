/**
 * The chunk-parallel scans as a ScanProvider (engine/ir/scan.ts), and the chooser between them and
 * B2's fused recurrent kernel (engine/miras/recurrent). Registered after the recurrent provider, so
 * it takes precedence for the combinations it covers; for each shape and device it picks:
 *   chunked    when the combination has an exact chunk form here, T ≥ max(256, 2·C) (enough chunks to pay
 *              for the intra-chunk matmuls; shorter sequences are a few steps of the fused scan) and a tiling fits;
 *   recurrent  otherwise (short sequences, or a plan that fits no tiling).
 * Names, shapes and semantics are B1's float64 oracle's (engine/miras/reference), which stays the reference.
 */
import { registerScanProvider, type ScanKernels, type ScanProvider, type ScanShape } from '../../ir/scan';
import type { DeviceCaps, KernelSpec } from '../../plan/kernel';
import type { MirasMixer } from '../../spec';
import { resolveCombo as resolveCatalogCombo, type Combo, type ComboInput } from '../catalog';
import { comboId, referenceProviderFor } from '../reference/provider';
import { recurrentProvider, recurrentSupports } from '../recurrent/provider';
import { planChunkScan, type ChunkPlanOptions } from './chunk';
import type { ChunkScanConfig, ChunkScanShape } from './types';

/** The chunk configuration of a catalog combination, or why there is none. */
export function chunkConfigFor(c: Combo, H: number, K: number): { config: ChunkScanConfig } | { why: string } {
  if (c.memory.kind !== 'matrix') return { why: `memory "${c.memory.kind}" (chunk forms cover the matrix memory)` };
  if (c.learner.kind !== 'gd') return { why: `learner "${c.learner.kind}" (chunk forms cover one gradient step per token)` };
  if (c.bias.kind !== 'dot' && c.bias.kind !== 'l2') return { why: `attentional bias "${c.bias.kind}" (chunk forms are linear: dot-product or ℓ2)` };
  if (c.block.mlstmNormalizer) return { why: 'the mLSTM normaliser' };
  if (c.block.betaPerChannel) return { why: 'β per value channel' };
  if (c.block.memoryInit !== 'zeros') return { why: `memory initialisation "${c.block.memoryInit}"` };
  const hasBeta = c.block.betaActivation !== 'constant' || c.block.valueTimesStep;
  if (c.bias.kind === 'l2' && !hasBeta) return { why: 'the delta rule without a β input' };
  const rule = c.bias.kind === 'dot' ? 'linear' : 'delta';
  const r = c.retention;
  const scale = c.block.queryScale === 'inv-sqrt-dk' ? 1 / Math.sqrt(K) : 1;
  const base = { rule, scale, initialState: false, beta: rule === 'linear' && hasBeta } as const;
  // the delta rule's chunk form is fla's order S = α(I − βkkᵀ)S + βkvᵀ: gradient at the decayed memory
  const decayedOk = rule === 'linear' || r.params.gradientAt === 'decayed';
  switch (r.kind) {
    case 'none':
      return { config: { ...base, gate: 'none' } };
    case 'constant': {
      if (!decayedOk) return { why: 'the delta rule with gradientAt = previous' };
      const logDecay = Array.from({ length: H }, (_, h) =>
        Math.log(r.params.schedule === 'retnet' ? 1 - Math.pow(2, -(r.params.base as number) - h) : (r.params.gamma as number)),
      );
      if (logDecay.some((x) => !Number.isFinite(x))) return { why: 'a zero decay' };
      return { config: { ...base, gate: 'const', logDecay } };
    }
    case 'scalar':
      if (!decayedOk) return { why: 'the delta rule with gradientAt = previous' };
      return { config: { ...base, gate: 'scalar' } };
    case 'channel':
      if (rule === 'delta') return { why: 'channel-wise decay with the delta rule' };
      return { config: { ...base, gate: 'vector' } };
    default:
      return { why: `retention "${r.kind}"` };
  }
}

/** Below this length the fused recurrent scan runs the mixer (see the file comment). */
export const MIN_CHUNKED_T = 256;

export interface ScanFormChoice {
  form: 'chunked' | 'recurrent';
  why: string;
  chunk?: number;
}

/** Picks chunked or fused recurrent for one combination, shape and device. */
export function chooseScanForm(c: Combo, s: ScanShape, caps: DeviceCaps, opts: ChunkPlanOptions = {}): ScanFormChoice {
  const cc = chunkConfigFor(c, s.heads, s.dk);
  if ('why' in cc) return { form: 'recurrent', why: `no chunk form for ${cc.why}` };
  try {
    const plan = planChunkScan(cc.config, toChunkShape(s), caps, opts);
    const minT = Math.max(MIN_CHUNKED_T, 2 * plan.tiling.C);
    if (s.time < minT) return { form: 'recurrent', why: `T = ${s.time} < ${minT}: too few chunks to pay for the chunk form` };
    return { form: 'chunked', why: `chunk form, C = ${plan.tiling.C}`, chunk: plan.tiling.C };
  } catch (e) {
    return { form: 'recurrent', why: (e as Error).message };
  }
}

function toChunkShape(s: ScanShape): ChunkScanShape {
  return { B: s.batch, T: s.time, H: s.heads, K: s.dk, V: s.dv };
}

/** Whether some shape of this mixer runs chunked (the registry match). */
export function chunkSupports(mixer: MirasMixer | ComboInput): boolean {
  try {
    const c = resolveCatalogCombo(mixer);
    const H = 'heads' in mixer ? (mixer as MirasMixer).heads : 1;
    const K = 'headDimK' in mixer ? (mixer as MirasMixer).headDimK : 64;
    return !('why' in chunkConfigFor(c, H, K));
  } catch {
    return false;
  }
}

/** Chunk kernels with this provider's buffer names (the chunk kernels already use the scan.ts convention). */
function chunkKernels(cfg: ChunkScanConfig, s: ScanShape, caps: DeviceCaps, opts: ChunkPlanOptions): ScanKernels {
  const plan = planChunkScan(cfg, toChunkShape(s), caps, opts);
  const tag = (k: KernelSpec): KernelSpec => ({ ...k, name: `${k.name}[C=${plan.tiling.C}]` });
  return { forward: plan.forward.map(tag), backward: plan.backward.map(tag), scratch: plan.scratch };
}

/**
 * The provider: float64 semantics from B1's oracle; kernels chunked or recurrent per chooseScanForm.
 * `opts.form` forces one form (tests, benchmarks). `opts.precision: 'f16'` (chunk kernels only, device feature
 * shader-f16) is never dropped silently: where the chunk form cannot run in f16, kernels() throws and says why.
 */
export function chunkProvider(mixer: MirasMixer, opts: ChunkPlanOptions & { form?: 'chunked' | 'recurrent' } = {}): ScanProvider {
  const combo = resolveCatalogCombo(mixer);
  const oracle = referenceProviderFor(combo);
  const cc = chunkConfigFor(combo, mixer.heads, mixer.headDimK);
  if ('why' in cc) throw new Error(`${comboId(combo)}: no chunk form for ${cc.why}`);
  return {
    // the combination's id (kernel names carry [C=…] when the chunk form runs)
    id: comboId(combo),
    inputs: (s) => oracle.inputs(s),
    outputs: (s) => oracle.outputs(s),
    referenceForward: (x, s) => oracle.referenceForward(x, s),
    referenceBackward: (x, g, s) => oracle.referenceBackward(x, g, s),
    kernels(caps, s) {
      if (s.heads !== mixer.heads || s.dk !== mixer.headDimK || s.dv !== mixer.headDimV) {
        throw new Error(`${comboId(combo)}: scan shape H=${s.heads} dk=${s.dk} dv=${s.dv} does not match the mixer (H=${mixer.heads} dk=${mixer.headDimK} dv=${mixer.headDimV})`);
      }
      const choice: ScanFormChoice = opts.form ? { form: opts.form, why: 'forced' } : chooseScanForm(combo, s, caps, opts);
      if (choice.form === 'chunked') return chunkKernels(cc.config, s, caps, opts);
      if (opts.precision === 'f16') {
        throw new Error(`${comboId(combo)}: precision 'f16' is implemented by the chunk kernels only, and this scan runs the fused recurrent kernel (${choice.why})`);
      }
      if (!recurrentSupports(mixer)) throw new Error(`${comboId(combo)}: the fused recurrent kernel does not cover this combination`);
      return recurrentProvider(mixer).kernels(caps, s);
    },
  };
}

/**
 * The registered provider also takes the precision from the device caps (`caps.scanPrecision`, set by the trainer
 * from the training config): an explicit `opts.precision` wins; a caps 'f16' is a preference for the chunk
 * kernels, so scans that run the fused recurrent kernel run it in f32. Caps asking for 'f16' on a device without
 * shader-f16 are an error naming the feature.
 */
export function capsPrecisionProvider(mixer: MirasMixer, opts: ChunkPlanOptions & { form?: 'chunked' | 'recurrent' } = {}): ScanProvider {
  const base = chunkProvider(mixer, opts);
  return {
    ...base,
    kernels(caps, s) {
      if (opts.precision !== undefined || caps.scanPrecision === undefined || caps.scanPrecision === 'f32') return base.kernels(caps, s);
      if (caps.scanPrecision !== 'f16') throw new Error(`${base.id}: scan precision must be 'f32' or 'f16', got '${String(caps.scanPrecision)}'`);
      if (!caps.shaderF16) {
        throw new Error(`${base.id}: scan precision 'f16' needs the WebGPU feature 'shader-f16', which this device does not have; choose precision 'f32' (fp32)`);
      }
      const choice: ScanFormChoice = opts.form ? { form: opts.form, why: 'forced' } : chooseScanForm(resolveCatalogCombo(mixer), s, caps, { ...opts, precision: 'f16' });
      return chunkProvider(mixer, { ...opts, form: choice.form, precision: choice.form === 'chunked' ? 'f16' : undefined }).kernels(caps, s);
    },
  };
}

registerScanProvider('miras-chunk', chunkSupports, (m) => capsPrecisionProvider(m));
