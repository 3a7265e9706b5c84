'use client';
/**
 * The training session: owns the worker, the run recorder and the live series the panel draws.
 * It survives reloads and device loss by restarting the worker from the newest checkpoint
 * (kept in memory and uploaded to the server); the run's identity lives in localStorage.
 */
import { useCallback, useEffect, useRef, useState } from 'react';
import type { ModelSpec } from '@/engine/spec';
import type { MainToWorker, MemoryView, RunState, TrainConfig, WorkerToMain } from '@/engine/worker/protocol';
import { adapterDescription } from '@/engine/gpu/describe';
import { RunRecorder, evalToPoints, metricToPoints } from './recorder';

const ACTIVE_RUN_KEY = 'miras.activeRun';

interface ActiveRun {
  runId: string | null;
  spec: ModelSpec;
  config: TrainConfig;
  preset: string | null;
  design?: unknown;
  /** The uploaded training text is stored with the run: localStorage keeps only this flag, not the text. */
  textStoredWithRun?: boolean;
}

export interface Series {
  /** Training steps with a metric point. */
  steps: number[];
  loss: (number | null)[];
  accuracy: (number | null)[];
  evalLoss: (number | null)[];
  evalAccuracy: (number | null)[];
}

export interface SessionView {
  state: RunState;
  step: number;
  totalSteps: number;
  tokensPerSec: number;
  etaSeconds: number | null;
  runId: string | null;
  message: { kind: 'info' | 'warn' | 'error'; text: string } | null;
  adapter: Record<string, unknown> | null;
  parameterCount: number | null;
  lastCheckpointStep: number | null;
  savedPoints: number;
  pendingPoints: number;
  recorderError: string | null;
  samples: { step: number; prompt: string; text: string }[];
  memory: MemoryView | null;
  lastEval: { step: number; loss: number; accuracy?: number } | null;
  tried: { text?: string; accuracy?: number; detail: string } | null;
  /** A worker holds a model that "try the model" can use. */
  hasModel: boolean;
}

const INITIAL: SessionView = {
  state: 'idle', step: 0, totalSteps: 0, tokensPerSec: 0, etaSeconds: null, runId: null, message: null,
  adapter: null, parameterCount: null, lastCheckpointStep: null, savedPoints: 0, pendingPoints: 0,
  recorderError: null, samples: [], memory: null, lastEval: null, tried: null, hasModel: false,
};

function emptySeries(): Series {
  return { steps: [], loss: [], accuracy: [], evalLoss: [], evalAccuracy: [] };
}

function readActiveRun(): ActiveRun | null {
  try {
    const raw = localStorage.getItem(ACTIVE_RUN_KEY);
    return raw ? (JSON.parse(raw) as ActiveRun) : null;
  } catch {
    return null;
  }
}

export function useTrainingSession() {
  const [view, setView] = useState<SessionView>(INITIAL);
  const [version, setVersion] = useState(0);
  // Points accumulate here; the charts get a copy at most ~8 times a second.
  const series = useRef<Series>(emptySeries());
  const [chart, setChart] = useState<Series>(emptySeries);
  const worker = useRef<Worker | null>(null);
  const recorder = useRef<RunRecorder | null>(null);
  const active = useRef<ActiveRun | null>(null);
  const checkpoint = useRef<{ step: number; bytes: ArrayBuffer } | null>(null);
  const lastMetric = useRef<{ loss: number; accuracy?: number } | null>(null);
  const lastEval = useRef<{ loss: number; accuracy?: number } | null>(null);
  const bump = useRef<number | null>(null);
  const restarts = useRef(0);
  // Set once startWorker exists; onMessage (defined first) restarts the worker after a device loss through it.
  const startWorkerRef = useRef<(resume: { step: number; bytes: ArrayBuffer } | null) => void>(() => {});

  const patch = useCallback((p: Partial<SessionView> | ((v: SessionView) => Partial<SessionView>)) => {
    setView((v) => ({ ...v, ...(typeof p === 'function' ? p(v) : p) }));
  }, []);

  /** Re-render the charts at most ~8 times a second. */
  const redraw = useCallback(() => {
    if (bump.current !== null) return;
    bump.current = window.setTimeout(() => {
      bump.current = null;
      const s = series.current;
      setChart({ steps: s.steps.slice(), loss: s.loss.slice(), accuracy: s.accuracy.slice(), evalLoss: s.evalLoss.slice(), evalAccuracy: s.evalAccuracy.slice() });
      setVersion((x) => x + 1);
    }, 120);
  }, []);

  const syncRecorder = useCallback(() => {
    const r = recorder.current;
    if (r) patch({ savedPoints: r.acked, pendingPoints: r.pendingCount, recorderError: r.lastError });
  }, [patch]);

  const post = (m: MainToWorker, transfer: Transferable[] = []) => worker.current?.postMessage(m, transfer);

  const finish = useCallback(
    async (status: 'completed' | 'stopped' | 'failed', error?: string) => {
      const r = recorder.current;
      if (r) {
        await r.drain();
        syncRecorder();
        const m = lastMetric.current;
        const e = lastEval.current;
        const summary: Record<string, number> = {};
        if (m) summary.loss = m.loss;
        if (m?.accuracy !== undefined) summary.accuracy = m.accuracy;
        if (e) summary.evalLoss = e.loss;
        if (e?.accuracy !== undefined) summary.evalAccuracy = e.accuracy;
        try {
          await r.setStatus(status, { summary, ...(error ? { error } : {}) });
        } catch (err) {
          patch({ recorderError: (err as Error).message });
        }
      }
      if (status !== 'failed') localStorage.removeItem(ACTIVE_RUN_KEY);
      else {
        // A failed run keeps its worker only until the message is read; "try the model" needs a healthy one.
        worker.current?.terminate();
        worker.current = null;
        patch({ hasModel: false });
      }
    },
    [patch, syncRecorder],
  );
  const finishRef = useRef(finish);
  useEffect(() => {
    finishRef.current = finish;
  }, [finish]);

  const onMessage = useCallback(
    (m: WorkerToMain) => {
      switch (m.type) {
        case 'ready':
          patch({ adapter: m.adapter, parameterCount: m.parameterCount, state: 'running', step: m.startStep, hasModel: true });
          break;
        case 'status':
          patch({ state: m.state, step: m.step });
          break;
        case 'metric': {
          const p = m.point;
          const s = series.current;
          // After a resume, steps at or before the checkpoint may come again: keep the first copy.
          if (s.steps.length && p.step <= s.steps[s.steps.length - 1]) {
            const at = s.steps.indexOf(p.step);
            if (at >= 0) {
              s.steps.length = at; s.loss.length = at; s.accuracy.length = at; s.evalLoss.length = at; s.evalAccuracy.length = at;
            }
          }
          s.steps.push(p.step);
          s.loss.push(p.loss);
          s.accuracy.push(p.accuracy ?? null);
          s.evalLoss.push(null);
          s.evalAccuracy.push(null);
          lastMetric.current = { loss: p.loss, accuracy: p.accuracy };
          recorder.current?.add(metricToPoints(p));
          patch((v) => {
            const remaining = v.totalSteps - p.step;
            const eta = p.tokensPerSec > 0 && active.current ? (remaining * active.current.config.batch * active.current.config.seqLen) / p.tokensPerSec : null;
            return { step: p.step, tokensPerSec: p.tokensPerSec, etaSeconds: eta, pendingPoints: recorder.current?.pendingCount ?? 0 };
          });
          redraw();
          break;
        }
        case 'eval': {
          const s = series.current;
          const at = s.steps.lastIndexOf(m.point.step);
          if (at >= 0) {
            s.evalLoss[at] = m.point.loss;
            s.evalAccuracy[at] = m.point.accuracy ?? null;
          }
          recorder.current?.add(evalToPoints(m.point));
          lastEval.current = { loss: m.point.loss, accuracy: m.point.accuracy };
          patch({ lastEval: { step: m.point.step, loss: m.point.loss, accuracy: m.point.accuracy } });
          redraw();
          break;
        }
        case 'sample':
          patch((v) => ({ samples: [{ step: m.step, prompt: m.prompt, text: m.text }, ...v.samples].slice(0, 8) }));
          break;
        case 'memory':
          patch({ memory: m.view });
          break;
        case 'checkpoint': {
          checkpoint.current = { step: m.step, bytes: m.bytes };
          patch({ lastCheckpointStep: m.step });
          const r = recorder.current;
          if (r) {
            r.uploadCheckpoint(m.step, m.bytes).catch((e) => patch({ recorderError: (e as Error).message }));
          }
          break;
        }
        case 'tried':
          patch({ tried: { text: m.text, accuracy: m.accuracy, detail: m.detail } });
          break;
        case 'notice':
          patch({ message: { kind: 'warn', text: m.message } });
          break;
        case 'error': {
          if (m.kind === 'device-lost' && checkpoint.current && restarts.current < 3) {
            restarts.current++;
            patch({ message: { kind: 'warn', text: `The GPU device was lost at step ${m.step} (${m.message}). Resuming from the checkpoint at step ${checkpoint.current.step}…` } });
            worker.current?.terminate();
            worker.current = null;
            startWorkerRef.current(checkpoint.current);
            break;
          }
          const kept = checkpoint.current ? ` The last good checkpoint (step ${checkpoint.current.step}) is kept.` : '';
          patch({ state: 'failed', message: { kind: 'error', text: `${m.message}${kept}` } });
          void finishRef.current('failed', m.message);
          break;
        }
        case 'done':
          patch({ state: m.reason, step: m.step, etaSeconds: 0 });
          void finishRef.current(m.reason === 'completed' ? 'completed' : 'stopped').then(syncRecorder);
          break;
      }
    },
    [patch, redraw, syncRecorder],
  );

  const startWorker = useCallback(
    (resume: { step: number; bytes: ArrayBuffer } | null) => {
      const run = active.current;
      if (!run) return;
      const w = new Worker(new URL('../../engine/worker/train.worker.ts', import.meta.url), { type: 'module', name: 'miras-training' });
      worker.current = w;
      w.onmessage = (e: MessageEvent<WorkerToMain>) => onMessage(e.data);
      w.onerror = (e) => {
        patch({ state: 'failed', message: { kind: 'error', text: `The training worker crashed: ${e.message || 'unknown error'}` } });
      };
      // Copy: the worker takes ownership of the buffer it receives.
      const bytes = resume ? resume.bytes.slice(0) : undefined;
      w.postMessage(
        { type: 'start', spec: run.spec, config: run.config, ...(resume && bytes ? { resume: { step: resume.step, bytes } } : {}) } satisfies MainToWorker,
        bytes ? [bytes] : [],
      );
      patch({ state: 'starting', totalSteps: run.config.steps });
    },
    [onMessage, patch],
  );
  useEffect(() => {
    startWorkerRef.current = startWorker;
  }, [startWorker]);

  const start = useCallback(
    async (spec: ModelSpec, config: TrainConfig, meta: { preset: string | null; name: string; design?: unknown; textName?: string }) => {
      worker.current?.terminate();
      series.current = emptySeries();
      setChart(emptySeries());
      checkpoint.current = null;
      lastMetric.current = null;
      lastEval.current = null;
      restarts.current = 0;
      setVersion((x) => x + 1);
      patch({ ...INITIAL, state: 'starting', totalSteps: config.steps });
      let adapter: Record<string, unknown> | null = null;
      try {
        adapter = await describeAdapter();
      } catch {
        adapter = null;
      }
      let runId: string | null = null;
      try {
        recorder.current = await RunRecorder.create({
          name: meta.name,
          task: config.task,
          preset: meta.preset,
          design: { spec, ...(meta.design ? { graph: meta.design } : {}) },
          config,
          seed: config.seed,
          adapter,
        });
        recorder.current.onChange = syncRecorder;
        runId = recorder.current.runId;
      } catch (e) {
        recorder.current = null;
        patch({ message: { kind: 'warn', text: `This run is not being recorded: ${(e as Error).message}` } });
      }
      // An uploaded text goes to the server with the run; the browser's storage (a few MB) keeps only a reference.
      const text = config.taskSettings.text;
      let textStoredWithRun = false;
      if (recorder.current && typeof text === 'string') {
        try {
          await recorder.current.uploadDataset(meta.textName ?? 'training-text.txt', text);
          textStoredWithRun = true;
        } catch (e) {
          patch({ message: { kind: 'warn', text: `The training text could not be stored with the run (${(e as Error).message}). The run trains on it, but cannot be resumed in another tab or downloaded from the run page.` } });
        }
      }
      active.current = { runId, spec, config, preset: meta.preset, design: meta.design };
      const persisted: ActiveRun = textStoredWithRun
        ? { ...active.current, config: { ...config, taskSettings: { ...config.taskSettings, text: null } }, textStoredWithRun }
        : active.current;
      try {
        localStorage.setItem(ACTIVE_RUN_KEY, JSON.stringify(persisted));
      } catch {
        patch({ message: { kind: 'warn', text: 'This run cannot be resumed after a reload: the browser storage is full.' } });
      }
      patch({ runId });
      startWorker(null);
    },
    [patch, startWorker, syncRecorder],
  );

  // After a reload: pick the unfinished run up from its newest checkpoint.
  useEffect(() => {
    const run = readActiveRun();
    if (!run || worker.current) return;
    active.current = run;
    // React may mount, unmount and mount again (strict mode): only the live mount starts the worker.
    let cancelled = false;
    void (async () => {
      let ckpt: { step: number; bytes: ArrayBuffer } | null = null;
      if (run.runId) {
        recorder.current = new RunRecorder(run.runId);
        recorder.current.onChange = syncRecorder;
        void recorder.current.flush();
        try {
          ckpt = await recorder.current.latestCheckpoint();
        } catch (e) {
          patch({ message: { kind: 'warn', text: `Could not load the run's checkpoint: ${(e as Error).message}` } });
        }
      }
      if (cancelled) return;
      if (ckpt && recorder.current) {
        // Redraw the curves up to the checkpoint from what the server stored; later steps are trained again.
        try {
          const r = recorder.current;
          const [loss, acc, evalLoss, evalAcc] = await Promise.all(['train/loss', 'train/accuracy', 'eval/loss', 'eval/accuracy'].map((k) => r.series(k)));
          const upTo = ckpt.step;
          const s = emptySeries();
          loss.steps.forEach((step, i) => {
            if (step > upTo) return;
            const at = (xs: { steps: number[]; values: number[] }) => {
              const j = xs.steps.indexOf(step);
              return j >= 0 ? xs.values[j] : null;
            };
            s.steps.push(step);
            s.loss.push(loss.values[i]);
            s.accuracy.push(at(acc));
            s.evalLoss.push(at(evalLoss));
            s.evalAccuracy.push(at(evalAcc));
          });
          series.current = s;
          redraw();
        } catch {
          // The curves then start at the checkpoint; training and recording are unaffected.
        }
      }
      if (run.textStoredWithRun) {
        // The uploaded text lives with the run on the server; without it the run cannot continue as it started.
        try {
          if (!recorder.current) throw new Error('the run is not recorded');
          const text = await recorder.current.dataset();
          run.config = { ...run.config, taskSettings: { ...run.config.taskSettings, text } };
        } catch (e) {
          if (cancelled) return;
          localStorage.removeItem(ACTIVE_RUN_KEY);
          patch({ state: 'failed', runId: run.runId, message: { kind: 'error', text: `Could not resume the run: its training text could not be downloaded (${(e as Error).message}).` } });
          return;
        }
      }
      if (cancelled) return;
      checkpoint.current = ckpt;
      patch({
        runId: run.runId,
        totalSteps: run.config.steps,
        lastCheckpointStep: ckpt?.step ?? null,
        message: { kind: 'info', text: ckpt ? `Resumed the unfinished run from its checkpoint at step ${ckpt.step}.` : 'Restarted the unfinished run from step 0 (it had no checkpoint yet).' },
      });
      startWorkerRef.current(ckpt);
    })();
    return () => {
      cancelled = true;
    };
    // Only on mount.
    // eslint-disable-next-line react-hooks/exhaustive-deps
  }, []);

  useEffect(() => () => worker.current?.terminate(), []);

  return {
    view,
    series: chart,
    version,
    start,
    pause: () => post({ type: 'pause' }),
    resume: () => post({ type: 'resume' }),
    stop: () => {
      if (worker.current) post({ type: 'stop' });
      else {
        localStorage.removeItem(ACTIVE_RUN_KEY);
        patch({ state: 'stopped' });
      }
    },
    tryModel: (prompt?: string) => post({ type: 'try', prompt, maxNewTokens: 120, id: Date.now() }),
  };
}

/** The WebGPU adapter's description and limits, for the run record (null without WebGPU). */
export async function describeAdapter(): Promise<Record<string, unknown> | null> {
  const gpu = typeof navigator !== 'undefined' ? (navigator.gpu as GPU | undefined) : undefined;
  if (!gpu) return null;
  const adapter = await gpu.requestAdapter();
  return adapter ? { ...adapterDescription(adapter) } : null;
}
