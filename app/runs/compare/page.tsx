/** /runs/compare?ids=a&ids=b: two or more of the visitor's runs, curves overlaid per metric, and a configuration diff. */
import Link from 'next/link';
import type { Metadata } from 'next';
import { pageViewer } from '@/server/page-viewer';
import { getRun } from '@/server/runs';
import { readRunSeries, metricKeys, type Series } from '@/server/metrics';
import { ApiError } from '@/server/errors';
import { SeriesChart } from '../_components/SeriesChart';
import { TopNav } from '../_components/TopNav';
import { comparableConfig, configDiff, RUN_COLORS } from '../_components/format';
import '../runs.css';

export const dynamic = 'force-dynamic';
export const metadata: Metadata = { title: 'Compare runs' };

type Props = { searchParams: Promise<Record<string, string | string[] | undefined>> };

export default async function ComparePage({ searchParams }: Props) {
  const raw = (await searchParams).ids;
  const ids = [...new Set((Array.isArray(raw) ? raw : raw ? [raw] : []).flatMap((s) => s.split(',')).map((s) => s.trim()).filter(Boolean))].slice(0, 8);
  const owner = await pageViewer();
  const runs: Awaited<ReturnType<typeof getRun>>[] = [];
  const missing: string[] = [];
  for (const id of ids) {
    try {
      runs.push(await getRun(owner, id));
    } catch (err) {
      if (err instanceof ApiError) missing.push(id);
      else throw err;
    }
  }
  if (runs.length < 2) {
    return (
      <div className="page-wrap">
        <TopNav here="compare" />
        <main className="page">
          <h1>Compare runs</h1>
          <p className="empty muted" data-testid="compare-empty">
            Pick at least two of your runs on the <Link href="/runs">runs page</Link> to compare them
            {missing.length ? ` (${missing.length} of the requested runs are not yours or no longer exist)` : ''}.
          </p>
        </main>
      </div>
    );
  }
  const keysPerRun = await Promise.all(runs.map((r) => metricKeys(r.id)));
  const keys = [...new Set(keysPerRun.flat())].sort().slice(0, 24);
  const seriesPerRun: Series[][] = await Promise.all(runs.map((r, i) => readRunSeries(r.id, keys.filter((k) => keysPerRun[i].includes(k)), 400)));
  const diff = configDiff(runs.map(comparableConfig));
  const differing = diff.filter((d) => d.differs).length;
  return (
    <div className="page-wrap">
      <TopNav here={`comparing ${runs.length} runs`} />
      <main className="page">
        <h1>Compare {runs.length} runs</h1>
        <p className="muted">
          {runs.map((r, i) => (
            <span key={r.id} style={{ color: RUN_COLORS[i % RUN_COLORS.length], marginRight: 12 }}>
              ■ <Link href={`/runs/${r.id}`}>{r.name}</Link>
            </span>
          ))}
        </p>
        <h2>Curves</h2>
        <div className="curves" data-testid="compare-curves">
          {keys.map((key) => (
            <SeriesChart
              key={key}
              title={key}
              lines={runs.flatMap((r, i) => {
                const s = seriesPerRun[i].find((x) => x.key === key);
                return s ? [{ label: r.name, color: RUN_COLORS[i % RUN_COLORS.length], steps: s.steps, values: s.values, min: s.min, max: s.max }] : [];
              })}
            />
          ))}
        </div>
        <h2>Configuration ({differing} of {diff.length} settings differ)</h2>
        <table className="diff" data-testid="config-diff">
          <thead>
            <tr>
              <th scope="col">setting</th>
              {runs.map((r, i) => (
                <th scope="col" key={r.id} style={{ color: RUN_COLORS[i % RUN_COLORS.length] }}>
                  {r.name}
                </th>
              ))}
            </tr>
          </thead>
          <tbody>
            {[...diff.filter((d) => d.differs), ...diff.filter((d) => !d.differs)].map((d) => (
              <tr key={d.key} className={d.differs ? 'differs' : 'same'}>
                <th scope="row">{d.key}</th>
                {d.values.map((v, i) => (
                  <td key={i}>{v}</td>
                ))}
              </tr>
            ))}
          </tbody>
        </table>
      </main>
    </div>
  );
}
