/**
 * The engine's public API (plain TypeScript; runs in Node, a Web Worker and tests).
 *
 *   spec → buildModel (IR graph) → compilePlan (kernels + buffers) → GpuExecutor (WebGPU) | reference interpreter
 *   Trainer.create({ spec, task, config, backend, device }) → trainer.step() / trainer.run() → metric events
 *   exportCheckpoint / importCheckpoint ↔ safetensors bytes
 */
export type { ModelSpec, Preset, Mixer, Layer } from './spec';
export { ModelSpecSchema } from './spec';
export { PRESETS, getPreset } from './presets';
export { buildModel, type BuiltModel, type ModelShape } from './model/build';
export { registerMixerBuilder, type MixerBuilder, type MixerContext } from './model/mixers';
export { initParams } from './model/init';
export { Graph, Tensor, type Init } from './ir/graph';
export type { OpDef, GpuCtx, RefCtx, TensorType } from './ir/op';
export { registerScanProvider, findScanProvider, scan, type ScanProvider, type ScanShape } from './ir/scan';
export { compilePlan, gradName, type ExecutionPlan } from './runtime/plan';
export { GpuExecutor, type KernelTiming } from './runtime/executor';
export { referenceForward, referenceBackward } from './reference/interpreter';
export { relError } from './reference/compare';
export { finiteDifferenceCheck } from './reference/gradcheck';
export { createBackend, type TrainingBackend, type BackendKind, type Batch, type StepStats, type BatchStats, type TrainState } from './train/backend';
export { Trainer, TrainingDivergedError, DEFAULT_TRAINER_CONFIG, type TrainerConfig, type TrainEvent, type StepEvent, type EvalEvent } from './train/trainer';
export { learningRate, type ScheduleKind } from './train/schedule';
export { exportCheckpoint, importCheckpoint, encodeCheckpoint, decodeCheckpoint, CHECKPOINT_FORMAT } from './train/checkpoint';
