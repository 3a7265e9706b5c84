/**
 * `miras train`: train a preset or design on a task with either backend. With --json, one JSON
 * object per logged step (and per eval), then a summary with the final eval metrics. On a TTY
 * without --json, a progress bar with ETA on stderr.
 */
import { readFileSync, writeFileSync } from 'node:fs';
import { createTask } from '../../engine/tasks';
import { Trainer, type TrainEvent } from '../../engine/train/trainer';
import { exportCheckpoint, importCheckpoint } from '../../engine/train/checkpoint';
import { CliError, parseArgs, type Command } from './args';
import { cliGpu } from './gpu';
import { F16_DAWN_FLAGS } from '../../engine/miras/chunk/chunk';
import { MODEL_FLAGS, modelFrom } from './model-source';

const flags = {
  ...MODEL_FLAGS,
  task: { type: 'string', help: 'text | mqar | selective-copy | induction | parity | mod-arith', default: 'text' },
  'task-settings': { type: 'string', help: 'task settings as JSON' },
  steps: { type: 'int', help: 'optimizer steps', default: 50 },
  batch: { type: 'int', help: 'sequences per batch', default: 8 },
  seq: { type: 'int', help: 'sequence length', default: 64 },
  lr: { type: 'number', help: 'peak learning rate', default: 3e-3 },
  schedule: { type: 'string', help: 'cosine | constant | linear', default: 'cosine' },
  warmup: { type: 'int', help: 'warmup steps', default: 5 },
  'weight-decay': { type: 'number', help: 'AdamW decoupled weight decay', default: 0.1 },
  clip: { type: 'number', help: 'global gradient-norm clip (0 = off)', default: 1 },
  seed: { type: 'int', help: 'seed for init and data', default: 0 },
  backend: { type: 'string', help: 'webgpu | reference', default: 'webgpu' },
  precision: { type: 'string', help: "chunk-scan precision on webgpu: f32 | f16 (f16 operand tiles, f32 accumulation; needs the adapter feature shader-f16)", default: 'f32' },
  'eval-every': { type: 'int', help: 'held-out eval every N steps (0 = only at the end)', default: 0 },
  'eval-batches': { type: 'int', help: 'batches per eval', default: 2 },
  'log-every': { type: 'int', help: 'log every N steps', default: 1 },
  save: { type: 'string', help: 'write a safetensors checkpoint here at the end' },
  resume: { type: 'string', help: 'resume from a safetensors checkpoint' },
  json: { type: 'boolean', help: 'JSON lines on stdout' },
} as const;

export const trainCommand: Command = {
  name: 'train',
  summary: 'train a preset or design on a task (WebGPU or float64 reference)',
  flags,
  async run(argv) {
    const f = parseArgs(argv, this.flags, 'train');
    const backend = String(f.backend);
    if (backend !== 'webgpu' && backend !== 'reference') throw new CliError(`--backend must be webgpu or reference, got "${backend}"`);
    const precision = String(f.precision);
    if (precision !== 'f32' && precision !== 'f16') throw new CliError(`--precision must be f32 or f16, got "${precision}"`);
    const schedule = String(f.schedule);
    if (!['cosine', 'constant', 'linear'].includes(schedule)) throw new CliError(`--schedule must be cosine, constant or linear, got "${schedule}"`);
    let settings = {};
    if (f['task-settings']) {
      try {
        settings = JSON.parse(String(f['task-settings']));
      } catch {
        throw new CliError('--task-settings must be JSON');
      }
    }
    let task;
    try {
      task = createTask(String(f.task), settings, f.seed as number);
    } catch (e) {
      throw new CliError((e as Error).message);
    }
    const { spec, source } = modelFrom(f, task.vocabSize, { dModel: 64, layers: 2 });
    const json = Boolean(f.json);
    const out = (o: object) => console.log(JSON.stringify(o));
    // f16: the Dawn toggles under which NVIDIA's driver reports shader-f16 (ignored elsewhere); never assumed.
    const g = backend === 'webgpu' ? await cliGpu(precision === 'f16' ? { dawnFlags: F16_DAWN_FLAGS } : {}) : null;
    if (g && precision === 'f16' && !g.caps.shaderF16) {
      g.gpu.destroy();
      throw new CliError(`--precision f16 needs the WebGPU feature 'shader-f16', which this adapter does not offer (${g.summary}); use --precision f32`);
    }
    try {
      const trainer = await Trainer.create({
        spec,
        task,
        backend,
        device: g?.gpu.device,
        caps: g ? { ...g.caps, scanPrecision: precision } : undefined,
        tiled: g?.tiled,
        config: {
          steps: f.steps as number,
          batch: f.batch as number,
          seqLen: f.seq as number,
          lr: f.lr as number,
          schedule: schedule as 'cosine',
          warmupSteps: f.warmup as number,
          weightDecay: f['weight-decay'] as number,
          clip: f.clip as number,
          seed: f.seed as number,
          evalEvery: f['eval-every'] as number,
          evalBatches: f['eval-batches'] as number,
        },
      });
      // How an older checkpoint was fitted to the model (e.g. Titans' dropped initial momentum) goes to stderr.
      if (f.resume) for (const n of (await importCheckpoint(trainer, readFileSync(String(f.resume)))).notices ?? []) console.error(`notice: ${n}`);
      const header = {
        type: 'start',
        model: source,
        task: task.name,
        backend,
        ...(g ? { precision } : {}),
        device: g?.summary ?? 'cpu float64',
        parameters: trainer.parameterCount,
        peakBytes: trainer.backend.peakBytes,
        config: trainer.config,
      };
      if (json) out(header);
      else console.log(`${source} · ${trainer.parameterCount.toLocaleString()} parameters · task ${task.name} · ${backend} (${header.device})`);
      const bar = !json && process.stderr.isTTY;
      const t0 = performance.now();
      let last: TrainEvent | null = null;
      let evalEv: TrainEvent | null = null;
      const losses: number[] = [];
      for await (const ev of trainer.run()) {
        if (ev.type === 'eval') {
          evalEv = ev;
          if (json) out(ev);
          else console.log(`${bar ? '\r\x1b[K' : ''}eval @${ev.step}: loss ${ev.loss.toFixed(4)}${ev.accuracy !== undefined ? ` acc ${(ev.accuracy * 100).toFixed(1)}%` : ''}`);
          continue;
        }
        last = ev;
        losses.push(ev.loss);
        const logEvery = f['log-every'] as number;
        const logged = (ev.step + 1) % logEvery === 0 || ev.step === 0 || ev.step + 1 === trainer.config.steps;
        if (json) {
          if (logged) out(ev);
        } else if (bar) {
          const done = ev.step + 1;
          const n = trainer.config.steps;
          const el = (performance.now() - t0) / 1000;
          const eta = (el / done) * (n - done);
          const w = 24;
          const fill = Math.round((done / n) * w);
          process.stderr.write(
            `\r\x1b[K[${'#'.repeat(fill)}${'.'.repeat(w - fill)}] ${done}/${n} loss ${ev.loss.toFixed(4)} lr ${ev.lr.toExponential(2)} ${Math.round(ev.tokensPerSec)} tok/s ETA ${eta.toFixed(0)}s`,
          );
        } else if (logged) {
          console.log(
            `step ${String(ev.step).padStart(5)}  loss ${ev.loss.toFixed(4)}${ev.accuracy !== undefined ? `  acc ${(ev.accuracy * 100).toFixed(1)}%` : ''}  |g| ${ev.gradNorm.toFixed(3)}  lr ${ev.lr.toExponential(2)}  ${Math.round(ev.tokensPerSec)} tok/s`,
          );
        }
      }
      if (bar) process.stderr.write('\n');
      if (f.save) writeFileSync(String(f.save), await exportCheckpoint(trainer));
      const k = Math.max(1, Math.min(5, Math.floor(losses.length / 2)));
      const mean = (xs: number[]) => xs.reduce((a, b) => a + b, 0) / xs.length;
      const summary = {
        type: 'summary',
        steps: trainer.stepIndex,
        firstLoss: losses[0],
        lastLoss: last?.type === 'step' ? last.loss : undefined,
        meanFirstLosses: mean(losses.slice(0, k)),
        meanLastLosses: mean(losses.slice(-k)),
        eval: evalEv,
        seconds: (performance.now() - t0) / 1000,
        checkpoint: f.save ?? null,
      };
      if (json) out(summary);
      else
        console.log(
          `done: ${summary.steps} steps in ${summary.seconds.toFixed(1)} s; train loss ${summary.meanFirstLosses.toFixed(4)} (first ${k}) → ${summary.meanLastLosses.toFixed(4)} (last ${k})` +
            (evalEv && evalEv.type === 'eval' ? `; eval loss ${evalEv.loss.toFixed(4)}${evalEv.accuracy !== undefined ? `, accuracy ${(evalEv.accuracy * 100).toFixed(1)}%` : ''}` : ''),
        );
      trainer.destroy();
      return 0;
    } finally {
      g?.gpu.destroy();
    }
  },
};
