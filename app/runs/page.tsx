/**
 * /runs: the visitor's runs, newest first, filtered by status, task, preset or design;
 * tick two or more and "Compare" opens /runs/compare with overlaid curves and a configuration diff.
 */
import Link from 'next/link';
import type { Metadata } from 'next';
import { z } from 'zod';
import { pageViewer } from '@/server/page-viewer';
import { listRuns, runFacets, RUN_STATUSES } from '@/server/runs';
import { listDesigns } from '@/server/designs';
import { fmtDate, fmtNumber } from './_components/format';
import { TopNav } from './_components/TopNav';
import './runs.css';

export const dynamic = 'force-dynamic';
export const metadata: Metadata = { title: 'Runs' };

const Filters = z.object({
  status: z.enum(RUN_STATUSES).optional().catch(undefined),
  task: z.string().min(1).max(100).optional().catch(undefined),
  preset: z.string().min(1).max(100).optional().catch(undefined),
  designId: z.string().min(1).max(64).optional().catch(undefined),
  cursor: z.string().min(1).max(64).optional().catch(undefined),
});

type Props = { searchParams: Promise<Record<string, string | string[] | undefined>> };

function headline(summary: unknown): string {
  if (!summary || typeof summary !== 'object') return '—';
  const entries = Object.entries(summary as Record<string, number>);
  const pick = entries.find(([k]) => /eval.*loss/.test(k)) ?? entries.find(([k]) => /loss/.test(k)) ?? entries[0];
  return pick ? `${pick[0]} ${fmtNumber(pick[1])}` : '—';
}

/** One filter: "any" or one of `options` ([value, label]). */
function FilterSelect({ label, name, value, options }: { label: string; name: string; value?: string; options: [string, string][] }) {
  return (
    <label>
      {label}
      <select name={name} defaultValue={value ?? ''}>
        <option value="">any</option>
        {options.map(([v, text]) => (
          <option key={v} value={v}>
            {text}
          </option>
        ))}
      </select>
    </label>
  );
}

export default async function RunsPage({ searchParams }: Props) {
  const raw = await searchParams;
  const one = (v: string | string[] | undefined) => (Array.isArray(v) ? v[0] : v) || undefined;
  const f = Filters.parse({ status: one(raw.status), task: one(raw.task), preset: one(raw.preset), designId: one(raw.designId), cursor: one(raw.cursor) });
  const owner = await pageViewer();
  const [{ runs, nextCursor }, facets, designs] = await Promise.all([listRuns(owner, { ...f, limit: 50 }), runFacets(owner), listDesigns(owner)]);
  const filtered = Boolean(f.status || f.task || f.preset || f.designId);
  const qs = (extra: Record<string, string | undefined>) => {
    const p = new URLSearchParams();
    for (const [k, v] of Object.entries({ status: f.status, task: f.task, preset: f.preset, designId: f.designId, ...extra })) if (v) p.set(k, v);
    return `/runs?${p}`;
  };
  return (
    <div className="page-wrap">
      <TopNav here="your runs" />
      <main className="page">
        <h1>Runs</h1>
        <p className="muted">Runs you trained in this browser. Tick two or more to compare them; open one to share it.</p>
        <form className="filters" method="get" action="/runs" aria-label="Filter runs">
          <FilterSelect label="Status" name="status" value={f.status} options={RUN_STATUSES.map((v) => [v, v])} />
          <FilterSelect label="Task" name="task" value={f.task} options={facets.tasks.map((v) => [v, v])} />
          <FilterSelect label="Preset" name="preset" value={f.preset} options={facets.presets.map((v) => [v, v])} />
          <FilterSelect label="Design" name="designId" value={f.designId} options={designs.map((d) => [d.id, d.name])} />
          <button type="submit">Filter</button>
          {filtered ? <Link href="/runs">clear</Link> : null}
        </form>

        {runs.length === 0 ? (
          <div className="empty muted" data-testid="runs-empty">
            {filtered ? 'No runs match these filters.' : (
              <>
                No runs yet. Train a model from the <Link href="/">editor</Link>; its runs are recorded here.
              </>
            )}
          </div>
        ) : (
          <form method="get" action="/runs/compare">
            <table className="runs" data-testid="runs-table">
              <thead>
                <tr>
                  <th scope="col">
                    <span className="muted small">compare</span>
                  </th>
                  <th scope="col">Run</th>
                  <th scope="col">Status</th>
                  <th scope="col">Task</th>
                  <th scope="col">Preset</th>
                  <th scope="col">Seed</th>
                  <th scope="col">Result</th>
                  <th scope="col">Started</th>
                </tr>
              </thead>
              <tbody>
                {runs.map((r) => (
                  <tr key={r.id} data-testid="run-row">
                    <td>
                      <input type="checkbox" name="ids" value={r.id} aria-label={`Compare ${r.name}`} />
                    </td>
                    <td>
                      <Link href={`/runs/${r.id}`}>{r.name}</Link>
                    </td>
                    <td>
                      <span className={`status status-${r.status}`}>{r.status}</span>
                    </td>
                    <td>
                      <Link href={qs({ task: r.task })}>{r.task}</Link>
                    </td>
                    <td>{r.preset ? <Link href={qs({ preset: r.preset })}>{r.preset}</Link> : <span className="muted">custom</span>}</td>
                    <td>{r.seed}</td>
                    <td>{headline(r.summary)}</td>
                    <td className="muted">{fmtDate(r.startedAt ?? r.createdAt)}</td>
                  </tr>
                ))}
              </tbody>
            </table>
            <p>
              <button type="submit" className="primary" data-testid="compare">
                Compare selected
              </button>{' '}
              {nextCursor ? <Link href={qs({ cursor: nextCursor })}>older runs →</Link> : null}
            </p>
          </form>
        )}
      </main>
    </div>
  );
}
