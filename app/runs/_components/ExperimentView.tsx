/**
 * One experiment, read-only: curves, final metrics, configuration, the model graph, the adapter and
 * the checkpoints. Server-rendered; the public share page (/e/<slug>) and the owner's run page use it.
 */
import type { ReactNode } from 'react';
import type { Series } from '@/server/metrics';
import { DesignGraph } from './DesignGraph';
import { SeriesChart } from './SeriesChart';
import { LiveRefresh } from './LiveRefresh';
import { fmtDate, fmtNumber, fmtValue, flatten, RUN_COLORS } from './format';

export interface ExperimentRun {
  id: string;
  name: string;
  status: string;
  task: string;
  preset: string | null;
  seed: number;
  summary: unknown;
  adapter: unknown;
  error: string | null;
  config: unknown;
  createdAt: Date;
  startedAt: Date | null;
  finishedAt: Date | null;
}

export interface ExperimentCheckpoint {
  step: number;
  sizeBytes: number;
  sha256: string;
  tensors: unknown;
}

function describeAdapter(adapter: unknown): string {
  if (!adapter || typeof adapter !== 'object') return 'not recorded';
  const a = adapter as Record<string, unknown>;
  const parts = [a.vendor, a.architecture, a.device, a.description].filter((p) => typeof p === 'string' && p !== '');
  return parts.length ? [...new Set(parts)].join(' · ') : JSON.stringify(adapter).slice(0, 200);
}

export function adapterSummary(adapter: unknown): string {
  return describeAdapter(adapter);
}

function bytes(n: number): string {
  return n >= 1 << 20 ? `${(n / (1 << 20)).toFixed(1)} MiB` : n >= 1024 ? `${(n / 1024).toFixed(1)} KiB` : `${n} B`;
}

function KeyValueTable({ rows, testId }: { rows: [string, string][]; testId: string }) {
  return (
    <table className="kv" data-testid={testId}>
      <tbody>
        {rows.map(([k, v]) => (
          <tr key={k}>
            <th scope="row">{k}</th>
            <td>{v}</td>
          </tr>
        ))}
      </tbody>
    </table>
  );
}

export function ExperimentView(props: {
  title: string;
  run: ExperimentRun;
  design: { spec: unknown; graph: unknown };
  series: Series[];
  checkpoints: ExperimentCheckpoint[];
  checkpointHref: (step: number) => string;
  /** The uploaded training text stored with the run (task "text"), when there is one. */
  dataset?: { name: string; characters: number; sizeBytes: number; sha256: string; href: string } | null;
  actions: ReactNode;
}) {
  const { title, run, design, series, checkpoints, checkpointHref, dataset, actions } = props;
  const summary = (run.summary && typeof run.summary === 'object' ? run.summary : {}) as Record<string, unknown>;
  const finals = Object.keys(summary).length
    ? Object.entries(summary)
    : series.filter((s) => s.last !== null).map((s) => [s.key, s.last] as [string, unknown]);
  const config = flatten({ task: run.task, seed: run.seed, ...(run.preset ? { preset: run.preset } : {}), ...(run.config as object) });
  const spec = design.spec as { vocabSize?: number; dModel?: number; layers?: unknown[] } | null;
  return (
    <main className="exp">
      <header className="exp-head">
        <div>
          <h1>{title}</h1>
          <p className="muted">
            <span className={`status status-${run.status}`} data-testid="run-status">
              {run.status}
            </span>{' '}
            task <b>{run.task}</b>
            {run.preset ? (
              <>
                {' '}· preset <b>{run.preset}</b>
              </>
            ) : null}{' '}
            · seed {run.seed} · started {fmtDate(run.startedAt ?? run.createdAt)}
            {run.finishedAt ? ` · finished ${fmtDate(run.finishedAt)}` : ''}
          </p>
          {run.error ? <p className="err-text">Failed: {run.error}</p> : null}
          {run.status === 'running' || run.status === 'created' ? <LiveRefresh /> : null}
        </div>
        <div className="exp-actions">{actions}</div>
      </header>

      <section aria-labelledby="curves-h">
        <h2 id="curves-h">Curves</h2>
        {series.length === 0 ? (
          <p className="muted">No metrics recorded yet.</p>
        ) : (
          <div className="curves">
            {series.map((s, i) => (
              <SeriesChart
                key={s.key}
                title={s.key}
                lines={[{ label: run.name, color: RUN_COLORS[i % RUN_COLORS.length], steps: s.steps, values: s.values, min: s.min, max: s.max }]}
              />
            ))}
          </div>
        )}
        {series.some((s) => s.downsampled) ? (
          <p className="muted small">Long series are shown as at most 500 buckets: the line is each bucket&apos;s mean, the band its min–max.</p>
        ) : null}
      </section>

      <div className="exp-grid">
        <section aria-labelledby="final-h">
          <h2 id="final-h">Final metrics</h2>
          {finals.length ? (
<KeyValueTable testId="final-metrics" rows={finals.map(([k, v]) => [k, fmtNumber(v)])} />
          ) : (
            <p className="muted">None yet.</p>
          )}
          <h2>Adapter</h2>
          <p data-testid="adapter">{describeAdapter(run.adapter)}</p>
          <h2>Checkpoints</h2>
          {checkpoints.length ? (
            <ul className="checkpoints">
              {checkpoints.map((c) => (
                <li key={c.step}>
                  <a href={checkpointHref(c.step)} download>
                    step {c.step}
                  </a>{' '}
                  <span className="muted">
                    {bytes(c.sizeBytes)} · {Object.keys((c.tensors as object) ?? {}).filter((k) => k !== '__metadata__').length} tensors · sha256 {c.sha256.slice(0, 12)}
                  </span>
                </li>
              ))}
            </ul>
          ) : (
            <p className="muted">None saved.</p>
          )}
          {dataset ? (
            <>
              <h2>Training text</h2>
              <p data-testid="dataset">
                <a href={dataset.href} download>
                  {dataset.name}
                </a>{' '}
                <span className="muted">
                  {dataset.characters.toLocaleString('en-US')} characters · {bytes(dataset.sizeBytes)} · sha256 {dataset.sha256.slice(0, 12)}
                </span>
              </p>
            </>
          ) : null}
        </section>
        <section aria-labelledby="config-h">
          <h2 id="config-h">Configuration</h2>
          <KeyValueTable testId="configuration" rows={Object.entries(config).map(([k, v]) => [k, fmtValue(v)])} />
        </section>
      </div>

      <section aria-labelledby="model-h">
        <h2 id="model-h">Model</h2>
        {spec ? (
          <p className="muted">
            {spec.layers?.length ?? '?'} layers · d<sub>model</sub> {spec.dModel} · vocabulary {spec.vocabSize}
          </p>
        ) : null}
        <div className="graph-box">
          <DesignGraph graph={design.graph} spec={design.spec} title={title} />
        </div>
      </section>
    </main>
  );
}
