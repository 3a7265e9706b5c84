/**
 * The one place the worker touches the engine's training API (engine/index.ts). Everything
 * else in engine/worker speaks TrainerHandle, so the loop and the protocol stay engine-agnostic.
 */
import type { ModelSpec } from '../spec';
import type { MemoryView, TrainConfig } from './protocol';
import type { NamedTensor } from './safetensors';

export interface StepResult {
  loss: number;
  /** Correct argmax predictions and labelled positions in the batch. */
  correct: number;
  count: number;
  gradNorm?: number;
  lr: number;
}

export interface TrainerHandle {
  parameterCount: number;
  /** One optimizer step on a batch ([batch, seqLen] row-major, target -1 = ignored); `step` is 0-based. */
  step(inputs: Int32Array, targets: Int32Array, step: number): Promise<StepResult>;
  evaluate(inputs: Int32Array, targets: Int32Array): Promise<{ loss: number; correct: number; count: number }>;
  /** Next-token logits after the last token of one sequence. */
  lastLogits(ids: Int32Array): Promise<Float32Array>;
  /** Parameters and optimizer state, by name. */
  saveState(): Promise<Record<string, NamedTensor>>;
  loadState(tensors: Record<string, NamedTensor>): Promise<void>;
  /** Per layer/head state norm and gate values over positions for one sequence; null when the engine has no hook. */
  memoryTrace(ids: Int32Array): Promise<Omit<MemoryView, 'step'> | null>;
  dispose(): void;
}

export interface TrainerOptions {
  spec: ModelSpec;
  config: TrainConfig;
  /** WebGPU device for backend 'webgpu'. */
  device?: GPUDevice;
}
