import type { z } from 'zod';
import type { Split } from './rng';

export type { Split } from './rng';

export const TASK_NAMES = ['text', 'mqar', 'selective-copy', 'induction', 'parity', 'mod-arith'] as const;
export type TaskName = (typeof TASK_NAMES)[number];

/** Target value for positions that carry no loss. */
export const IGNORE = -1;

export interface TaskBatch {
  /** Row-major [batch, seqLen] token ids. */
  inputs: Int32Array;
  /** Row-major [batch, seqLen] next-token targets; IGNORE (-1) = no loss at that position. */
  targets: Int32Array;
}

export interface Task<S = Record<string, unknown>> {
  name: TaskName;
  vocabSize: number;
  /** Fully-resolved settings (defaults applied). */
  settings: S;
  seed: number;
  /** Whether token accuracy at labelled positions is a meaningful metric (synthetic tasks). */
  hasAccuracy: boolean;
  /** Smallest sequence length this task's settings can fill. */
  minSeqLen: number;
  /** Deterministic in (seed, split, step). */
  batch(batchSize: number, seqLen: number, split: Split, step: number): TaskBatch;
  /** Token ids → human-readable text. */
  decode(ids: ArrayLike<number>): string;
  /** Text → token ids (tasks with a textual input format). Throws on unknown symbols. */
  encode?(text: string): number[];
}

export interface TaskInfo<Schema extends z.ZodType = z.ZodType> {
  name: TaskName;
  title: string;
  /** One paragraph: what the model must do and where the loss is. */
  description: string;
  /** Paper the task follows. */
  citation: string;
  /** Settings, with defaults and ranges; its `.describe()` texts are the field docs. */
  settings: Schema;
  hasAccuracy: boolean;
  /** Suggested training shape for a tiny in-browser run. */
  suggested: { seqLen: number; batch: number; steps: number; lr: number };
}

export function checkBatchArgs(task: string, batchSize: number, seqLen: number, minSeqLen: number, step: number) {
  if (!Number.isInteger(batchSize) || batchSize < 1) throw new Error(`task ${task}: batch size must be a positive integer, got ${batchSize}`);
  if (!Number.isInteger(seqLen) || seqLen < 1) throw new Error(`task ${task}: sequence length must be a positive integer, got ${seqLen}`);
  if (seqLen < minSeqLen) throw new Error(`task ${task}: sequence length ${seqLen} is too short for these settings (needs at least ${minSeqLen})`);
  if (!Number.isInteger(step) || step < 0) throw new Error(`task ${task}: step must be a non-negative integer, got ${step}`);
}
