/**
 * Checkpoints as safetensors bytes: parameters under their own names, AdamW moments under
 * "optimizer.m.<name>" / "optimizer.v.<name>", and metadata (format, step, spec JSON).
 * Readable by any safetensors tool; the same bytes resume training on either backend.
 */
import { decodeSafetensors, encodeSafetensors, type NamedTensor } from '../io/safetensors';
import type { BuiltModel } from '../model/build';
import { checkedCombo } from '../miras/validate';
import { learnedStateSize, stateLayout } from '../miras/cost';
import type { ModelSpec } from '../spec';
import type { TrainState } from './backend';
import type { Trainer } from './trainer';

export const CHECKPOINT_FORMAT = 'miras-studio/checkpoint@1';

export interface Checkpoint {
  state: TrainState;
  step: number;
  spec: ModelSpec | null;
  metadata: Record<string, string>;
  /** What loading had to change to fit the model (see upgradeCheckpointState), one sentence each. */
  notices?: string[];
}

export function encodeCheckpoint(state: TrainState, meta: { step: number; spec?: ModelSpec; extra?: Record<string, string> }): Uint8Array {
  const tensors: Record<string, NamedTensor> = {};
  for (const [name, p] of Object.entries(state.params)) {
    tensors[name] = p;
    if (state.m[name]) tensors[`optimizer.m.${name}`] = { shape: p.shape, data: state.m[name] };
    if (state.v[name]) tensors[`optimizer.v.${name}`] = { shape: p.shape, data: state.v[name] };
  }
  const metadata: Record<string, string> = { format: CHECKPOINT_FORMAT, step: String(meta.step), ...(meta.extra ?? {}) };
  if (meta.spec) metadata.spec = JSON.stringify(meta.spec);
  return new Uint8Array(encodeSafetensors(tensors, metadata));
}

export function decodeCheckpoint(bytes: ArrayBuffer | Uint8Array): Checkpoint {
  const buf = bytes instanceof Uint8Array ? bytes.slice().buffer : bytes;
  const { tensors, metadata } = decodeSafetensors(buf);
  const state: TrainState = { params: {}, m: {}, v: {} };
  for (const [name, t] of Object.entries(tensors)) {
    if (name.startsWith('optimizer.m.')) state.m[name.slice(12)] = t.data;
    else if (name.startsWith('optimizer.v.')) state.v[name.slice(12)] = t.data;
    else state.params[name] = { shape: t.shape, data: t.data };
  }
  const step = Number(metadata.step ?? 0);
  let spec: ModelSpec | null = null;
  if (metadata.spec) {
    try {
      spec = JSON.parse(metadata.spec) as ModelSpec;
    } catch {
      throw new Error('checkpoint metadata "spec" is not valid JSON');
    }
  }
  return { state, step: Number.isFinite(step) ? step : 0, spec, metadata };
}

/** Parameters + optimizer state + step of a trainer, as safetensors bytes. */
export async function exportCheckpoint(trainer: Trainer): Promise<Uint8Array> {
  return encodeCheckpoint(await trainer.backend.getState(), { step: trainer.stepIndex, spec: trainer.backend.model.spec });
}

/**
 * Fits a checkpoint's state to the model where the model's definition changed since it was saved, with a notice
 * for each change; anything else is left for validateState to refuse with its specific error.
 *
 * Before Titans' momentum fix (session 2, commit cc94364), a momentum learner's learned initial state covered the
 * momentum too: `state0` (or `state0_log`) was [H, memory + momentum], twice the memory for a matrix or MLP memory.
 * The momentum now starts at zero (Titans Eq. 13–14, S_0 = 0) and `state0` is the memory alone, which comes first
 * in the state layout. Such a checkpoint loads its memory part (and the AdamW moments of it); the learned initial
 * momentum is dropped, and the notice says how large it was, since the loaded model's first steps differ by it.
 */
export function upgradeCheckpointState(model: BuiltModel, s: TrainState): { state: TrainState; notices: string[] } {
  const notices: string[] = [];
  const state: TrainState = { params: { ...s.params }, m: { ...s.m }, v: { ...s.v } };
  model.spec.layers.forEach((layer, i) => {
    const mixer = layer.mixer;
    if (mixer.type !== 'miras') return;
    const c = checkedCombo(mixer, { headDimK: mixer.headDimK, headDimV: mixer.headDimV });
    if (c.learner.kind !== 'momentum' || c.block.memoryInit !== 'learned') return;
    const learned = learnedStateSize(c, mixer.headDimK, mixer.headDimV);
    const full = stateLayout(c, mixer.headDimK, mixer.headDimV).size;
    for (const name of [`layers.${i}.mixer.state0`, `layers.${i}.mixer.state0_log`]) {
      const p = model.graph.params.find((q) => q.tensor.id === name);
      const saved = state.params[name];
      if (!p || !saved || saved.data.length !== mixer.heads * full || p.tensor.size !== mixer.heads * learned) continue;
      const memoryOf = (x: Float32Array) => {
        const out = new Float32Array(mixer.heads * learned);
        for (let h = 0; h < mixer.heads; h++) out.set(x.subarray(h * full, h * full + learned), h * learned);
        return out;
      };
      let dropped = 0;
      for (let h = 0; h < mixer.heads; h++) for (let j = h * full + learned; j < (h + 1) * full; j++) dropped = Math.max(dropped, Math.abs(saved.data[j]));
      state.params[name] = { shape: p.tensor.shape, data: memoryOf(saved.data) };
      if (state.m[name]?.length === saved.data.length) state.m[name] = memoryOf(state.m[name]);
      if (state.v[name]?.length === saved.data.length) state.v[name] = memoryOf(state.v[name]);
      notices.push(
        `${name}: this checkpoint was saved before the Titans momentum fix, when a learned initial state held the momentum too ` +
          `([${mixer.heads}, ${full}] = memory + momentum). Loaded its memory part ([${mixer.heads}, ${learned}]); the learned initial ` +
          `momentum (largest |value| ${dropped.toPrecision(3)}) is dropped: the momentum now starts at zero (Titans Eq. 13–14).`,
      );
    }
  });
  return { state, notices };
}

/** Load parameters, optimizer state and the step counter into a trainer of the same model. */
export async function importCheckpoint(trainer: Trainer, bytes: ArrayBuffer | Uint8Array): Promise<Checkpoint> {
  const ck = decodeCheckpoint(bytes);
  const { state, notices } = upgradeCheckpointState(trainer.backend.model, ck.state);
  await trainer.backend.setState(state);
  trainer.stepIndex = ck.step;
  return { ...ck, state, notices };
}
