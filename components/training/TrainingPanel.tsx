'use client';
/**
 * The training panel: pick a task and hyperparameters, train the current design in a Web Worker
 * on WebGPU, watch progress, curves, samples and the memory, and try the trained model.
 * Mount it beside the editor with the ModelSpec the design lowers to:
 *   <TrainingPanel spec={spec} design={designDoc} preset={presetName} name={designName} />
 */
import { ShareButton } from '@/components/runs/ShareButton';
import { useEffect, useMemo, useState } from 'react';
import type { ModelSpec } from '@/engine/spec';
import { TASKS, TASK_NAMES, createTask, defaultSettings, type TaskName } from '@/engine/tasks';
import { TrainConfigSchema, type TrainConfig } from '@/engine/worker/protocol';
import { LineChart } from './LineChart';
import { MemoryHeatmaps } from './MemoryHeatmap';
import { TaskSettingsForm } from './TaskSettingsForm';
import { useTrainingSession } from './session';
import './training.css';

export interface TrainingPanelProps {
  /** The design lowered to a ModelSpec; null while the design is invalid. */
  spec: ModelSpec | null;
  /** Why there is no spec (shown instead of the Start button). */
  specError?: string | null;
  /** The editor's design document, stored with the run as its snapshot. */
  design?: unknown;
  preset?: string | null;
  name?: string;
}

/** What the scan precision option does (its tooltip). */
const PRECISION_TIP =
  'f16 stages the chunk-parallel scans’ operand tiles (q, k, v and their gradients) as half precision and accumulates in f32: ' +
  'less workgroup memory and faster on GPUs with fast f16, errors near f16’s roundoff (≈5e-4 relative). ' +
  'Gates, states and the optimizer stay f32; scans that run the fused recurrent kernel (short sequences) stay f32.';
const F16_UNAVAILABLE = 'This browser’s GPU adapter has no shader-f16, so f16 scans cannot run here; use fp32.';

/** Reference backend (float64 on the CPU) is only offered for tiny models. */
const REFERENCE_MAX_PARAMS = 200_000;

function formatDuration(s: number | null) {
  if (s === null || !Number.isFinite(s)) return '—';
  if (s < 60) return `${Math.ceil(s)} s`;
  if (s < 3600) return `${Math.floor(s / 60)} min ${Math.ceil(s % 60)} s`;
  return `${Math.floor(s / 3600)} h ${Math.floor((s % 3600) / 60)} min`;
}

function initialConfig(task: TaskName): TrainConfig {
  const s = TASKS[task].suggested;
  return TrainConfigSchema.parse({ task, taskSettings: defaultSettings(task), steps: s.steps, batch: s.batch, seqLen: s.seqLen, lr: s.lr });
}

/** Rough parameter count of a ModelSpec (embedding, mixers' projections, MLPs, head). */
function approxParams(spec: ModelSpec, vocab: number) {
  const d = spec.dModel;
  let n = vocab * d * (spec.tieEmbeddings ? 1 : 2);
  for (const l of spec.layers) {
    const m = l.mixer;
    n += m.type === 'attention' ? 4 * d * m.heads * m.headDim : d * m.heads * (2 * m.headDimK + 2 * m.headDimV);
    if (l.mlp) n += 3 * d * l.mlp.hidden;
  }
  return n;
}

export function TrainingPanel({ spec, specError, design, preset = null, name }: TrainingPanelProps) {
  const session = useTrainingSession();
  const { view } = session;
  const [config, setConfig] = useState<TrainConfig>(() => initialConfig('mqar'));
  const [fileName, setFileName] = useState<string | null>(null);
  const [textName, setTextName] = useState<string | undefined>(undefined);
  const [prompt, setPrompt] = useState('Shall I compare thee');
  const [webgpu, setWebgpu] = useState<'checking' | 'yes' | 'no'>('checking');
  // Whether this browser's adapter offers shader-f16 (null until known): the f16 scan option needs it.
  const [shaderF16, setShaderF16] = useState<boolean | null>(null);
  const running = view.state === 'running' || view.state === 'starting' || view.state === 'paused' || view.state === 'stopping';

  useEffect(() => {
    let live = true;
    void (async () => {
      const gpu = typeof navigator !== 'undefined' ? (navigator.gpu as GPU | undefined) : undefined;
      const adapter = gpu ? await gpu.requestAdapter().catch(() => null) : null;
      const ok = adapter !== null;
      if (!live) return;
      setWebgpu(ok ? 'yes' : 'no');
      setShaderF16(adapter ? adapter.features.has('shader-f16') : false);
      if (!ok) setConfig((c) => ({ ...c, backend: 'reference', precision: 'f32' }));
    })();
    return () => {
      live = false;
    };
  }, []);

  // Validate the whole configuration as the user types: task settings, shapes against the task, the spec's vocab.
  const problem = useMemo(() => {
    if (!spec) return specError ?? 'The design does not compile to a model yet.';
    const parsed = TrainConfigSchema.safeParse(config);
    if (!parsed.success) return parsed.error.issues.map((i) => `${i.path.join('.')}: ${i.message}`).join('; ');
    try {
      const task = createTask(config.task, config.taskSettings, config.seed);
      if (config.seqLen < task.minSeqLen) return `sequence length ${config.seqLen} is too short for this task (needs ≥ ${task.minSeqLen})`;
      if (config.backend === 'webgpu' && config.precision === 'f16' && shaderF16 === false) return F16_UNAVAILABLE;
      if (config.backend === 'reference' && approxParams(spec, task.vocabSize) > REFERENCE_MAX_PARAMS) {
        return `the reference backend is for tiny models (≤ ${REFERENCE_MAX_PARAMS.toLocaleString()} parameters); reduce dModel or layers`;
      }
    } catch (e) {
      return (e as Error).message;
    }
    return null;
  }, [spec, specError, config, shaderF16]);

  const set = <K extends keyof TrainConfig>(k: K, v: TrainConfig[K]) => setConfig((c) => ({ ...c, [k]: v }));
  const num = (k: keyof TrainConfig, label: string, opts: { step?: number | 'any'; min?: number; max?: number } = {}) => (
    <label htmlFor={`train-${k}`}>
      <span>{label}</span>
      <input id={`train-${k}`} name={k} type="number" step={opts.step ?? 1} min={opts.min} max={opts.max} value={String(config[k])} disabled={running}
        onChange={(e) => set(k, Number(e.target.value) as never)} />
    </label>
  );

  const info = TASKS[config.task];
  const s = session.series;
  const progressText = `Step ${view.step} of ${view.totalSteps || config.steps} · ETA ${formatDuration(view.etaSeconds)} · ${Math.round(view.tokensPerSec).toLocaleString()} tokens/s`;
  const chartSteps = s.steps as (number | null)[]; // uPlot's aligned-data type

  const onFile = async (file: File | undefined) => {
    if (!file) return;
    const text = await file.text();
    setFileName(`${file.name} (${text.length.toLocaleString()} characters)`);
    setTextName(file.name);
    setConfig((c) => ({ ...c, taskSettings: { ...c.taskSettings, text } }));
  };

  return (
    <section className="training-panel" aria-label="Training">
      <h2>Train</h2>
      {webgpu === 'no' && (
        <p role="alert" className="train-msg warn" data-testid="no-webgpu">
          This browser has no WebGPU, so models cannot train on the GPU here. Tiny models (≤ {REFERENCE_MAX_PARAMS.toLocaleString()} parameters)
          can train on the reference backend (float64 on the CPU, much slower). For anything larger, use a browser with WebGPU
          (Chrome or Edge 113+, Safari 26+, or Firefox 141+ on Windows).
        </p>
      )}
      <fieldset disabled={running} className="train-fieldset">
        <legend>Task and data</legend>
        <label htmlFor="train-task">
          <span>Task</span>
          <select id="train-task" value={config.task} onChange={(e) => setConfig(initialConfig(e.target.value as TaskName))}>
            {TASK_NAMES.map((t) => <option key={t} value={t}>{TASKS[t].title}</option>)}
          </select>
        </label>
        <p className="muted train-desc">{info.description} <cite>{info.citation}</cite></p>
        {config.task === 'text' && (
          <label htmlFor="train-file">
            <span>Text</span>
            <input id="train-file" type="file" accept=".txt,text/plain" onChange={(e) => void onFile(e.target.files?.[0])} />
            <span className="muted">{fileName ?? 'bundled public-domain corpus'}</span>
            {fileName && <button type="button" onClick={() => { setFileName(null); setConfig((c) => ({ ...c, taskSettings: { ...c.taskSettings, text: null } })); }}>Use the bundled corpus</button>}
          </label>
        )}
        <TaskSettingsForm task={config.task} values={config.taskSettings} onChange={(v) => set('taskSettings', v)} disabled={running} />
      </fieldset>
      <fieldset disabled={running} className="train-fieldset">
        <legend>Hyperparameters</legend>
        <div className="train-grid">
          {num('steps', 'Steps', { min: 1 })}
          {num('batch', 'Batch', { min: 1 })}
          {num('seqLen', 'Sequence length', { min: 2 })}
          {num('lr', 'Learning rate', { step: 'any', min: 0 })}
          <label htmlFor="train-schedule">
            <span>Schedule</span>
            <select id="train-schedule" value={config.schedule} onChange={(e) => set('schedule', e.target.value as TrainConfig['schedule'])}>
              <option value="cosine">warmup + cosine</option>
              <option value="linear">warmup + linear decay</option>
              <option value="constant">warmup + constant</option>
            </select>
          </label>
          {num('warmupSteps', 'Warmup steps', { min: 0 })}
          {num('weightDecay', 'Weight decay', { step: 'any', min: 0 })}
          {num('gradClip', 'Gradient clip', { step: 'any', min: 0 })}
          {num('seed', 'Seed', { min: 0 })}
          {num('evalEvery', 'Eval every', { min: 1 })}
          {num('checkpointEvery', 'Checkpoint every', { min: 1 })}
          <label htmlFor="train-backend">
            <span>Backend</span>
            <select id="train-backend" value={config.backend} onChange={(e) => {
              const backend = e.target.value as TrainConfig['backend'];
              // the reference backend is float64 throughout: the run's stored config should not claim f16 scans
              setConfig((c) => ({ ...c, backend, ...(backend === 'reference' ? { precision: 'f32' as const } : {}) }));
            }}>
              <option value="webgpu" disabled={webgpu === 'no'}>WebGPU</option>
              <option value="reference">reference (CPU, tiny models)</option>
            </select>
          </label>
          <label htmlFor="train-precision" title={PRECISION_TIP}>
            <span>Scan precision</span>
            <select id="train-precision" value={config.precision} aria-describedby="train-precision-note"
              disabled={config.backend !== 'webgpu'}
              onChange={(e) => set('precision', e.target.value as TrainConfig['precision'])}>
              <option value="f32">fp32</option>
              <option value="f16" disabled={shaderF16 === false}>f16 operands (needs shader-f16)</option>
            </select>
            <span className="muted" id="train-precision-note" data-testid="train-precision-note">
              {config.backend !== 'webgpu' ? 'WebGPU backend only' : shaderF16 === false ? F16_UNAVAILABLE : 'of the chunk-parallel scans; f16 accumulates in f32 (hover for details)'}
            </span>
          </label>
        </div>
      </fieldset>
      <div className="train-controls">
        {!running ? (
          <button type="button" data-testid="train-start" disabled={!!problem} onClick={() => spec && void session.start(spec, config, { preset, name: name ?? `${preset ?? 'design'} · ${config.task}`, design, textName })}>
            Start
          </button>
        ) : view.state === 'paused' ? (
          <button type="button" data-testid="train-resume" onClick={session.resume}>Resume</button>
        ) : (
          <button type="button" data-testid="train-pause" onClick={session.pause} disabled={view.state !== 'running'}>Pause</button>
        )}
        <button type="button" data-testid="train-stop" onClick={session.stop} disabled={!running}>Stop</button>
        {problem && !running && <span className="train-msg error" role="status">{problem}</span>}
      </div>
      {view.message && <p className={`train-msg ${view.message.kind}`} role={view.message.kind === 'error' ? 'alert' : 'status'} data-testid="train-message">{view.message.text}</p>}

      <div className="train-progress">
        <progress aria-label="Training progress" max={view.totalSteps || config.steps} value={view.step} data-testid="train-progress" />
        <span aria-live="polite">{progressText}</span>
        <span className="muted" data-testid="train-status" data-state={view.state} data-run-id={view.runId ?? ""} data-step={view.step} data-checkpoint={view.lastCheckpointStep ?? ""}>
          {view.state}
          {view.runId ? ` · run ${view.runId.slice(0, 8)} · ${view.savedPoints} points saved${view.pendingPoints ? `, ${view.pendingPoints} waiting` : ''}` : ''}
          {view.lastCheckpointStep !== null ? ` · checkpoint at step ${view.lastCheckpointStep}` : ''}
          {view.parameterCount ? ` · ${view.parameterCount.toLocaleString()} parameters` : ''}
        </span>
        {view.recorderError && <span className="train-msg warn">Saving paused, retrying: {view.recorderError}</span>}
        {view.runId && <a href={`/runs/${view.runId}`}>Open run</a>}
        {view.runId && <ShareButton runId={view.runId} />}
      </div>

      <LineChart title="Loss" yLabel="cross-entropy" testId="loss-chart" version={session.version}
        series={[{ label: 'train', color: '#4f8cff' }, { label: 'held-out', color: '#ff8c42', pointsOnly: true }]}
        data={[chartSteps, s.loss, s.evalLoss]} />
      {info.hasAccuracy && (
        <LineChart title="Accuracy" yLabel="accuracy at labelled positions" testId="accuracy-chart" version={session.version}
          series={[{ label: 'train', color: '#3fb950' }, { label: 'held-out', color: '#d2a8ff', pointsOnly: true }]}
          data={[chartSteps, s.accuracy, s.evalAccuracy]} />
      )}
      {view.lastEval && (
        <p data-testid="eval-summary">
          Held-out at step {view.lastEval.step}: loss {view.lastEval.loss.toFixed(4)}
          {view.lastEval.accuracy !== undefined ? `, accuracy ${(100 * view.lastEval.accuracy).toFixed(1)}%` : ''}
        </p>
      )}

      {config.task === 'text' && view.samples.length > 0 && (
        <section aria-label="Samples">
          <h3>Samples</h3>
          {view.samples.map((x) => (
            <pre key={`${x.step}-${x.prompt}`} className="train-sample"><span className="muted">step {x.step}: </span><b>{x.prompt}</b>{x.text}</pre>
          ))}
        </section>
      )}

      <section aria-label="Memory">
        <h3>Memory</h3>
        <MemoryHeatmaps view={view.memory} />
      </section>

      <section aria-label="Try the model">
        <h3>Try the model</h3>
        {config.task === 'text' ? (
          <form onSubmit={(e) => { e.preventDefault(); session.tryModel(prompt); }}>
            <input aria-label="Prompt" value={prompt} onChange={(e) => setPrompt(e.target.value)} />
            <button type="submit" disabled={!view.hasModel}>Complete</button>
          </form>
        ) : (
          <button type="button" disabled={!view.hasModel} onClick={() => session.tryModel()}>Measure recall on held-out examples</button>
        )}
        {view.tried && (
          <div data-testid="try-result">
            {view.tried.text !== undefined && <pre className="train-sample"><b>{prompt}</b>{view.tried.text}</pre>}
            {view.tried.accuracy !== undefined && <p>Accuracy {(100 * view.tried.accuracy).toFixed(1)}%</p>}
            <p className="muted">{view.tried.detail}</p>
          </div>
        )}
      </section>
    </section>
  );
}
