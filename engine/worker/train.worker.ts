/// <reference lib="webworker" />
/**
 * The training Web Worker: runs the engine's training loop on WebGPU (or the float64 reference
 * backend) off the main thread. Protocol: ./protocol.ts. Loop: ./loop.ts.
 */
import { adapterDescription } from '../gpu/describe';
import { createTask } from '../tasks';
import { createTrainer, SHADER_F16_MISSING } from './engine-trainer';
import { complete, runLoop } from './loop';
import { TrainConfigSchema, type MainToWorker, type StartMessage, type WorkerToMain } from './protocol';
import type { TrainerHandle } from './engine-adapter';

declare const self: DedicatedWorkerGlobalScope;

const emit = (m: WorkerToMain, transfer: Transferable[] = []) => self.postMessage(m, transfer);

let trainer: TrainerHandle | null = null;
let started: StartMessage | null = null;
let paused = false;
let stopping = false;
let wake: (() => void) | null = null;
let currentStep = 0;
let deviceLost = false;

async function gate(beforeBlocking?: () => Promise<void>): Promise<'go' | 'stop'> {
  if (stopping) return 'stop';
  if (!paused) await new Promise((r) => setTimeout(r, 0)); // let messages in between steps
  if (stopping) return 'stop';
  if (!paused) return 'go';
  // The step still in flight reports its metric before the run sits paused.
  await beforeBlocking?.();
  emit({ type: 'status', state: 'paused', step: currentStep });
  return new Promise((r) => {
    wake = () => {
      wake = null;
      r(stopping ? 'stop' : 'go');
    };
  });
}

async function start(msg: StartMessage) {
  started = msg;
  const parsed = TrainConfigSchema.safeParse(msg.config);
  if (!parsed.success) {
    emit({ type: 'error', kind: 'invalid', step: 0, message: `Invalid training configuration: ${parsed.error.issues.map((i) => `${i.path.join('.')}: ${i.message}`).join('; ')}` });
    return;
  }
  const config = parsed.data;
  let task;
  try {
    task = createTask(config.task, config.taskSettings, config.seed);
  } catch (e) {
    emit({ type: 'error', kind: 'invalid', step: 0, message: (e as Error).message });
    return;
  }
  // The model's vocabulary is the task's: the design fixes the architecture, the task its token set.
  const spec = { ...msg.spec, vocabSize: task.vocabSize };
  let device: GPUDevice | undefined;
  let adapterInfo: Record<string, unknown> | null = null;
  if (config.backend === 'webgpu') {
    const adapter = self.navigator.gpu ? await self.navigator.gpu.requestAdapter() : null;
    if (!adapter) {
      emit({ type: 'error', kind: 'no-webgpu', step: 0, message: 'WebGPU is not available in this browser; choose the reference backend for a tiny model.' });
      return;
    }
    const limits: Record<string, number> = {};
    for (const k of ['maxComputeWorkgroupStorageSize', 'maxComputeInvocationsPerWorkgroup', 'maxStorageBuffersPerShaderStage', 'maxStorageBufferBindingSize', 'maxBufferSize'] as const) {
      limits[k] = adapter.limits[k];
    }
    // f16 scans need shader-f16: refuse before anything is built or trained, so nothing is lost.
    if (config.precision === 'f16' && !adapter.features.has('shader-f16')) {
      emit({ type: 'error', kind: 'invalid', step: 0, message: SHADER_F16_MISSING });
      return;
    }
    // Optional features the kernels use when present (caps come from the device's features, so never assumed).
    const requiredFeatures = (['subgroups', 'shader-f16'] as GPUFeatureName[]).filter((f) => adapter.features.has(f));
    device = await adapter.requestDevice({ requiredLimits: limits, requiredFeatures });
    adapterInfo = { ...adapterDescription(adapter, device) };
    void device.lost.then((info) => {
      if (info.reason === 'destroyed') return;
      deviceLost = true;
      stopping = true;
      wake?.();
      emit({ type: 'error', kind: 'device-lost', step: currentStep, message: `GPU device lost: ${info.message || info.reason}` });
    });
  }
  try {
    const t = await createTrainer({ spec, task, config, device });
    trainer = t;
    const loaded = msg.resume ? await t.importCheckpoint(msg.resume.bytes) : { step: 0, notices: [] };
    const startStep = loaded.step;
    currentStep = startStep;
    emit({ type: 'ready', adapter: adapterInfo, backend: config.backend, parameterCount: t.parameterCount, vocabSize: task.vocabSize, startStep });
    for (const message of loaded.notices) emit({ type: 'notice', step: startStep, message });
    const result = await runLoop({
      trainer: t,
      task,
      config,
      hooks: {
        emit: (m, t) => {
          if (m.type === 'metric') currentStep = m.point.step;
          emit(m, t);
        },
        gate,
        now: () => Date.now(),
      },
    });
    if (deviceLost) return;
    if (result.reason !== 'failed') emit({ type: 'done', step: result.step, reason: result.reason });
  } catch (e) {
    if (deviceLost) return;
    emit({ type: 'error', kind: 'internal', step: currentStep, message: (e as Error).message || String(e) });
  }
}

async function tryModel(msg: Extract<MainToWorker, { type: 'try' }>) {
  if (!trainer || !started) {
    emit({ type: 'tried', id: msg.id, detail: 'Train the model first.' });
    return;
  }
  const cfg = TrainConfigSchema.parse(started.config);
  const task = createTask(cfg.task, cfg.taskSettings, cfg.seed);
  try {
    if (cfg.task === 'text') {
      const text = await complete(trainer, task, msg.prompt ?? '', msg.maxNewTokens ?? 120, cfg.seqLen);
      emit({ type: 'tried', id: msg.id, text, detail: `Greedy completion, ${msg.maxNewTokens ?? 120} characters.` });
    } else {
      // Held-out examples (the eval split, never trained on).
      const e = await trainer.evaluate();
      emit({ type: 'tried', id: msg.id, accuracy: e.accuracy, detail: `${cfg.evalBatches}×${cfg.batch} held-out ${task.name} sequences of length ${cfg.seqLen}: loss ${e.loss.toFixed(4)}.` });
    }
  } catch (e) {
    emit({ type: 'tried', id: msg.id, detail: `Could not run the model: ${(e as Error).message}` });
  }
}

self.onmessage = (e: MessageEvent<MainToWorker>) => {
  const m = e.data;
  switch (m.type) {
    case 'start':
      void start(m);
      break;
    case 'pause':
      paused = true;
      break;
    case 'resume':
      paused = false;
      emit({ type: 'status', state: 'running', step: currentStep });
      wake?.();
      break;
    case 'stop':
      stopping = true;
      emit({ type: 'status', state: 'stopping', step: currentStep });
      wake?.();
      break;
    case 'try':
      void tryModel(m);
      break;
  }
};
