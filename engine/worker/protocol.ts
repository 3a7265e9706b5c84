/**
 * The typed message protocol between the training panel (main thread) and the training
 * worker. Plain structured-clone data only; checkpoints travel as transferable ArrayBuffers.
 *
 *   main → worker: start | pause | resume | stop | try
 *   worker → main: ready | status | metric | eval | sample | memory | checkpoint | tried | error | done
 */
import { z } from 'zod';
import type { ModelSpec } from '../spec';
import { TASK_NAMES } from '../tasks/types';

export const TrainConfigSchema = z.object({
  task: z.enum(TASK_NAMES),
  /** Task settings (validated by the task's own zod schema when the task is created). */
  taskSettings: z.record(z.string(), z.unknown()).default({}),
  steps: z.number().int().min(1).max(10_000_000),
  batch: z.number().int().min(1).max(4096),
  seqLen: z.number().int().min(2).max(65_536),
  lr: z.number().gt(0).max(1),
  schedule: z.enum(['constant', 'cosine', 'linear']).default('cosine'),
  warmupSteps: z.number().int().min(0).default(10),
  weightDecay: z.number().min(0).max(10).default(0.1),
  gradClip: z.number().min(0).default(1),
  seed: z.number().int().min(0).max(2 ** 31 - 1).default(0),
  /** Held-out eval every N steps (and at the end). */
  evalEvery: z.number().int().min(1).default(50),
  evalBatches: z.number().int().min(1).max(64).default(2),
  /** Checkpoint every N steps (and at the end). */
  checkpointEvery: z.number().int().min(1).default(50),
  backend: z.enum(['webgpu', 'reference']).default('webgpu'),
  /**
   * Precision of the chunk-parallel scans on WebGPU: 'f16' stages their operand tiles as f16 (f32 accumulation;
   * needs the adapter feature shader-f16, refused without it before training starts), 'f32' is exact fp32.
   */
  precision: z.enum(['f32', 'f16']).default('f32'),
});
export type TrainConfig = z.infer<typeof TrainConfigSchema>;
export type Backend = TrainConfig['backend'];
export type Schedule = TrainConfig['schedule'];
export type ScanPrecision = TrainConfig['precision'];

export interface StartMessage {
  type: 'start';
  spec: ModelSpec;
  config: TrainConfig;
  /** Resume: the checkpoint bytes (engine format) and the step they were taken at. */
  resume?: { step: number; bytes: ArrayBuffer };
}

export type MainToWorker =
  | StartMessage
  | { type: 'pause' }
  | { type: 'resume' }
  | { type: 'stop' }
  /** Try the model: greedy completion of a prompt (text), or recall accuracy on a fresh eval batch (synthetic tasks). */
  | { type: 'try'; prompt?: string; maxNewTokens?: number; id: number };

export interface MetricPoint {
  step: number;
  loss: number;
  accuracy?: number;
  gradNorm?: number;
  lr: number;
  tokensPerSec: number;
  /** Wall-clock ms since the epoch when the step finished. */
  time: number;
}

export interface EvalPoint {
  step: number;
  loss: number;
  accuracy?: number;
  time: number;
}

/** Per layer (and head) heatmaps over sequence position for one eval example. */
export interface MemoryView {
  step: number;
  seqLen: number;
  /** One entry per (layer, head, quantity): values has length seqLen. */
  series: { layer: number; head: number; quantity: string; values: number[] }[];
}

export type RunState = 'idle' | 'starting' | 'running' | 'paused' | 'stopping' | 'stopped' | 'completed' | 'failed';

export type WorkerToMain =
  | { type: 'ready'; adapter: Record<string, unknown> | null; backend: Backend; parameterCount: number; vocabSize: number; startStep: number }
  | { type: 'status'; state: RunState; step: number }
  | { type: 'metric'; point: MetricPoint }
  | { type: 'eval'; point: EvalPoint }
  | { type: 'sample'; step: number; prompt: string; text: string }
  | { type: 'memory'; view: MemoryView }
  | { type: 'checkpoint'; step: number; bytes: ArrayBuffer }
  | { type: 'tried'; id: number; text?: string; accuracy?: number; detail: string }
  /** Something the researcher should know that does not stop the run (e.g. how an old checkpoint was loaded). */
  | { type: 'notice'; step: number; message: string }
  /** `kind` lets the UI tell numeric blow-ups and device loss (resumable) from other failures. */
  | { type: 'error'; kind: 'nan' | 'device-lost' | 'no-webgpu' | 'invalid' | 'internal'; message: string; step: number }
  | { type: 'done'; step: number; reason: 'completed' | 'stopped' };
