/**
 * Bridge from the worker's TrainerHandle to the engine's training API (engine/index.ts,
 * helper A's engine/train). Until that API lands, starting a run reports it plainly.
 */
import type { TrainerHandle, TrainerOptions } from './engine-adapter';

export async function createTrainer(opts: TrainerOptions): Promise<TrainerHandle> {
  void opts;
  throw new Error('The engine training loop (engine/train) is not available in this build yet, so runs cannot start.');
}
