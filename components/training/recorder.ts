/**
 * Records a browser training run through the runs API (app/api/runs/…):
 * creates the run, streams metric points in batches, uploads checkpoints, and finishes the run.
 *
 * Losing no metric point: every point goes into a pending queue that is mirrored to
 * localStorage; a batch leaves the queue only after the server acknowledged it. Failed
 * requests are retried with exponential backoff. Ingest is idempotent on (run, key, step),
 * so re-sending a batch whose answer was lost cannot duplicate points.
 */
import type { ModelSpec } from '@/engine/spec';
import type { MetricPoint, EvalPoint, TrainConfig } from '@/engine/worker/protocol';

export interface WirePoint {
  key: string;
  step: number;
  value: number;
  time?: number;
}

export interface CreateRunInput {
  name: string;
  task: string;
  preset: string | null;
  design: { spec: ModelSpec; graph?: unknown };
  config: TrainConfig;
  seed: number;
  adapter: Record<string, unknown> | null;
}

/**
 * The configuration as stored with the run: an uploaded text is summarised here; its bytes are stored next to
 * the run (PUT /api/runs/<id>/dataset, see RunRecorder.uploadDataset), not inside the JSON configuration.
 */
export function configForRecord(config: TrainConfig): Record<string, unknown> {
  const text = config.taskSettings.text;
  if (typeof text !== 'string') return config;
  return { ...config, taskSettings: { ...config.taskSettings, text: `(uploaded text, ${Array.from(text).length} characters)` } };
}

type Fetch = typeof fetch;

/** Expand a metric event into the scalar series the database stores. */
export function metricToPoints(p: MetricPoint): WirePoint[] {
  const out: WirePoint[] = [
    { key: 'train/loss', step: p.step, value: p.loss, time: p.time },
    { key: 'train/lr', step: p.step, value: p.lr, time: p.time },
    { key: 'train/tokens_per_sec', step: p.step, value: p.tokensPerSec, time: p.time },
  ];
  if (p.accuracy !== undefined) out.push({ key: 'train/accuracy', step: p.step, value: p.accuracy, time: p.time });
  if (p.gradNorm !== undefined) out.push({ key: 'train/grad_norm', step: p.step, value: p.gradNorm, time: p.time });
  return out.filter((q) => Number.isFinite(q.value));
}

export function evalToPoints(p: EvalPoint): WirePoint[] {
  const out: WirePoint[] = [{ key: 'eval/loss', step: p.step, value: p.loss, time: p.time }];
  if (p.accuracy !== undefined) out.push({ key: 'eval/accuracy', step: p.step, value: p.accuracy, time: p.time });
  return out.filter((q) => Number.isFinite(q.value));
}

async function check(res: Response, what: string) {
  if (res.ok) return res;
  let detail = '';
  try {
    detail = (await res.text()).slice(0, 300);
  } catch {
    // body unreadable
  }
  const err = new Error(`${what} failed: HTTP ${res.status}${detail ? ` — ${detail}` : ''}`) as Error & { status: number };
  err.status = res.status;
  throw err;
}

/** 4xx other than 408/429 will not get better by retrying. */
function retryable(e: unknown) {
  const s = (e as { status?: number }).status;
  return s === undefined || s === 408 || s === 429 || s >= 500;
}

const REQUEST_TIMEOUT_MS = 20_000;

export const API = {
  runs: '/api/runs',
  run: (id: string) => `/api/runs/${encodeURIComponent(id)}`,
  metrics: (id: string) => `/api/runs/${encodeURIComponent(id)}/metrics`,
  checkpoint: (id: string, step: number | 'latest') => `/api/runs/${encodeURIComponent(id)}/checkpoints/${step}`,
  dataset: (id: string) => `/api/runs/${encodeURIComponent(id)}/dataset`,
};

export class RunRecorder {
  readonly runId: string;
  private pending: WirePoint[] = [];
  private flushing: Promise<void> | null = null;
  private timer: ReturnType<typeof setTimeout> | null = null;
  private failures = 0;
  /** Points acknowledged by the server, for the UI ("n points saved"). */
  acked = 0;
  lastError: string | null = null;
  onChange: () => void = () => {};

  constructor(runId: string, private readonly fetchImpl: Fetch = fetch.bind(globalThis), private readonly maxBatch = 500, private readonly storage: Storage | null = typeof localStorage === 'undefined' ? null : localStorage) {
    this.runId = runId;
    const saved = this.storage?.getItem(this.storageKey());
    if (saved) {
      try {
        this.pending = JSON.parse(saved) as WirePoint[];
      } catch {
        this.pending = [];
      }
    }
  }

  static async create(input: CreateRunInput, fetchImpl: Fetch = fetch.bind(globalThis)): Promise<RunRecorder> {
    const body = {
      name: input.name,
      task: input.task,
      ...(input.preset ? { preset: input.preset } : {}),
      design: input.design,
      config: configForRecord(input.config),
      seed: input.seed,
      status: 'running',
      ...(input.adapter ? { adapter: input.adapter } : {}),
    };
    const res = await check(
      await fetchImpl(API.runs, { method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify(body) }),
      'creating the run',
    );
    const created = (await res.json()) as { id?: string; run?: { id: string } };
    const id = created.id ?? created.run?.id;
    if (!id) throw new Error('creating the run: the server answered without a run id');
    return new RunRecorder(id, fetchImpl);
  }

  private storageKey() {
    return `miras.pending.${this.runId}`;
  }

  private persist() {
    try {
      if (this.pending.length) this.storage?.setItem(this.storageKey(), JSON.stringify(this.pending));
      else this.storage?.removeItem(this.storageKey());
    } catch {
      // storage full or unavailable: the in-memory queue still holds the points
    }
  }

  get pendingCount() {
    return this.pending.length;
  }

  add(points: WirePoint[]) {
    this.pending.push(...points);
    this.persist();
    this.schedule(250);
  }

  private schedule(ms: number) {
    if (this.timer) return;
    this.timer = setTimeout(() => {
      this.timer = null;
      void this.flush();
    }, ms);
  }

  /** Send everything pending; resolves when the queue is empty or a request failed (a retry is then scheduled). */
  flush(): Promise<void> {
    if (this.flushing) return this.flushing;
    if (!this.pending.length) return Promise.resolve();
    const send = async () => {
      try {
        while (this.pending.length) {
          const batch = this.pending.slice(0, this.maxBatch);
          await check(
            await this.fetchImpl(API.metrics(this.runId), {
              method: 'POST',
              // A request the server never answers must not hold the queue: time out and retry (ingest is idempotent).
              signal: AbortSignal.timeout(REQUEST_TIMEOUT_MS),
              headers: { 'content-type': 'application/json' },
              body: JSON.stringify({ points: batch }),
            }),
            'sending metrics',
          );
          this.pending.splice(0, batch.length);
          this.acked += batch.length;
          this.failures = 0;
          this.lastError = null;
          this.persist();
          this.onChange();
        }
      } catch (e) {
        this.failures++;
        this.lastError = (e as Error).message;
        this.onChange();
        if (retryable(e)) this.schedule(Math.min(30_000, 500 * 2 ** Math.min(this.failures, 6)));
      }
    };
    // Reset in a continuation, never synchronously: a send that finishes at once must not leave a settled promise behind.
    this.flushing = send().finally(() => {
      this.flushing = null;
    });
    return this.flushing;
  }

  /** Flush until the queue is empty or `timeoutMs` passes. */
  async drain(timeoutMs = 30_000) {
    const deadline = Date.now() + timeoutMs;
    while (this.pending.length && Date.now() < deadline) {
      await this.flush();
      if (this.pending.length) await new Promise((r) => setTimeout(r, Math.min(2000, 250 * 2 ** this.failures)));
    }
    return this.pending.length === 0;
  }

  /** One request, retried with exponential backoff (0.5 s, 1 s, 2 s, …) while the failure is retryable, `retries` times at most. */
  private async request(url: string, init: RequestInit, what: string, retries: number) {
    for (let attempt = 0; ; attempt++) {
      try {
        await check(await this.fetchImpl(url, init), what);
        return;
      } catch (e) {
        if (!retryable(e) || attempt >= retries) throw e;
        await new Promise((r) => setTimeout(r, 500 * 2 ** attempt));
      }
    }
  }

  async setStatus(status: 'running' | 'completed' | 'failed' | 'stopped', extra: { summary?: Record<string, number>; error?: string } = {}) {
    const summary = extra.summary && Object.fromEntries(Object.entries(extra.summary).filter(([, v]) => Number.isFinite(v)));
    await this.request(
      API.run(this.runId),
      {
        method: 'PATCH',
        headers: { 'content-type': 'application/json' },
        body: JSON.stringify({ status, ...(summary && Object.keys(summary).length ? { summary } : {}), ...(extra.error ? { error: extra.error.slice(0, 10_000) } : {}) }),
      },
      `marking the run ${status}`,
      4,
    );
  }

  async uploadCheckpoint(step: number, bytes: ArrayBuffer) {
    await this.request(
      API.checkpoint(this.runId, step),
      { method: 'PUT', headers: { 'content-type': 'application/octet-stream' }, body: bytes },
      `uploading the checkpoint at step ${step}`,
      3,
    );
  }

  /** Store the uploaded training text with the run (so a reload, another browser or a reader can get it back). */
  async uploadDataset(name: string, text: string) {
    await this.request(
      `${API.dataset(this.runId)}?name=${encodeURIComponent(name)}`,
      { method: 'PUT', headers: { 'content-type': 'text/plain; charset=utf-8' }, body: new TextEncoder().encode(text) },
      'storing the training text',
      3,
    );
  }

  /** The training text stored with the run. */
  async dataset(): Promise<string> {
    const res = await this.fetchImpl(API.dataset(this.runId));
    await check(res, 'downloading the training text');
    return new TextDecoder('utf-8').decode(await res.arrayBuffer());
  }

  /** Stored points of one series (after a reload, to redraw the curves up to the checkpoint). */
  async series(key: string): Promise<{ steps: number[]; values: number[] }> {
    const res = await this.fetchImpl(`${API.metrics(this.runId)}?key=${encodeURIComponent(key)}&limit=10000`);
    await check(res, `reading ${key}`);
    return (await res.json()) as { steps: number[]; values: number[] };
  }

  /** The newest checkpoint of the run, or null when it has none. */
  async latestCheckpoint(): Promise<{ step: number; bytes: ArrayBuffer } | null> {
    const res = await this.fetchImpl(API.checkpoint(this.runId, 'latest'));
    if (res.status === 404) return null;
    await check(res, 'downloading the latest checkpoint');
    const step = Number(res.headers.get('x-checkpoint-step'));
    return { step: Number.isFinite(step) ? step : 0, bytes: await res.arrayBuffer() };
  }
}
