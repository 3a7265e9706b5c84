/**
 * What the worker's loop needs from a trainer. engine-trainer.ts implements it on the engine's
 * Trainer (engine/train/trainer.ts, through engine/index.ts); tests can script it.
 */
import type { MemoryView, TrainConfig } from './protocol';
import type { ModelSpec } from '../spec';
import type { Task } from '../tasks/types';

export interface StepResult {
  loss: number;
  accuracy?: number;
  gradNorm: number;
  lr: number;
}

export interface TrainerHandle {
  parameterCount: number;
  /** Steps taken so far (the next step's 0-based index). */
  readonly stepIndex: number;
  /** One optimizer step on the task's next training batch. Throws the engine's TrainingDivergedError on NaN/Inf. */
  step(): Promise<StepResult>;
  /**
   * Optional pipelined form: submit the next step and return the previous one's result (its 0-based `step`), read
   * one step late so the read-back overlaps the next step; null when none was in flight. Throws TrainingDivergedError
   * for the step that diverged. The loop calls `flush` for the step still in flight before anything else touches
   * the trainer (eval, checkpoint, pause, stop). Handles without it are stepped one at a time.
   */
  advance?(): Promise<(StepResult & { step: number }) | null>;
  flush?(): Promise<(StepResult & { step: number }) | null>;
  /** Held-out loss and accuracy over the configured eval batches. */
  evaluate(): Promise<{ loss: number; accuracy?: number }>;
  /** Next-token logits after the last token of one sequence. */
  lastLogits(ids: Int32Array): Promise<Float32Array>;
  /** Parameters, optimizer state and step as safetensors bytes. */
  exportCheckpoint(): Promise<ArrayBuffer>;
  /** Load a checkpoint; returns the step it was taken at and what loading had to change to fit the model. */
  importCheckpoint(bytes: ArrayBuffer): Promise<{ step: number; notices: string[] }>;
  /** Per layer/head state norm and gate values over positions for one sequence; null when the model has no recurrent memory. */
  memoryTrace(ids: Int32Array): Promise<Omit<MemoryView, 'step'> | null>;
  dispose(): void;
}

export interface TrainerOptions {
  spec: ModelSpec;
  task: Task;
  config: TrainConfig;
  /** WebGPU device for backend 'webgpu'. */
  device?: GPUDevice;
}
