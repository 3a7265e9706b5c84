/**
 * Checkpoints as safetensors bytes: parameters under their own names, AdamW moments under
 * "optimizer.m.<name>" / "optimizer.v.<name>", and metadata (format, step, spec JSON).
 * Readable by any safetensors tool; the same bytes resume training on either backend.
 */
import { decodeSafetensors, encodeSafetensors, type NamedTensor } from '../io/safetensors';
import type { ModelSpec } from '../spec';
import type { TrainState } from './backend';
import type { Trainer } from './trainer';

export const CHECKPOINT_FORMAT = 'miras-studio/checkpoint@1';

export interface Checkpoint {
  state: TrainState;
  step: number;
  spec: ModelSpec | null;
  metadata: Record<string, string>;
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

/** Load parameters, optimizer state and the step counter into a trainer of the same model. */
export async function importCheckpoint(trainer: Trainer, bytes: ArrayBuffer | Uint8Array): Promise<Checkpoint> {
  const ck = decodeCheckpoint(bytes);
  await trainer.backend.setState(ck.state);
  trainer.stepIndex = ck.step;
  return ck;
}
