/**
 * The shared experiment page /e/<slug>: public, server-rendered, read-only. Shows the design as a
 * graph, the configuration, the curves, the final metrics and the adapter; "Open a copy in the
 * editor" forks it into the visitor's own designs (app/e/[slug]/fork/route.ts).
 */
import Link from 'next/link';
import type { Metadata } from 'next';
import { notFound } from 'next/navigation';
import { cache } from 'react';
import { ApiError } from '@/server/errors';
import { getSharedExperiment } from '@/server/shares';
import { readRunSeries } from '@/server/metrics';
import { ExperimentView, adapterSummary } from '@/app/runs/_components/ExperimentView';
import { DesignGraph } from '@/app/runs/_components/DesignGraph';
import { fmtNumber } from '@/app/runs/_components/format';
import '@/app/runs/runs.css';

export const dynamic = 'force-dynamic';

type Props = { params: Promise<{ slug: string }> };

const load = cache(async (slug: string) => {
  try {
    return await getSharedExperiment(slug);
  } catch (err) {
    if (err instanceof ApiError && err.status === 404) notFound();
    throw err;
  }
});

export async function generateMetadata({ params }: Props): Promise<Metadata> {
  const { slug } = await params;
  const exp = await load(slug);
  let description: string;
  if (exp.kind === 'run') {
    const summary = (exp.run.summary ?? {}) as Record<string, number>;
    const metrics = Object.entries(summary)
      .slice(0, 3)
      .map(([k, v]) => `${k} ${fmtNumber(v)}`)
      .join(', ');
    const spec = exp.design.spec as { layers?: unknown[]; dModel?: number } | null;
    description = [
      `${exp.run.status} run on ${exp.run.task}`,
      spec ? `${spec.layers?.length ?? '?'}-layer model, d=${spec.dModel}` : null,
      metrics || null,
      `trained in the browser on ${adapterSummary(exp.run.adapter)}`,
    ]
      .filter(Boolean)
      .join(' · ');
  } else {
    description = `A model design shared from Miras Studio${exp.design.description ? `: ${exp.design.description}` : ''}`;
  }
  const title = exp.title;
  return {
    title,
    description,
    robots: { index: false },
    openGraph: { title, description, type: 'article', siteName: 'Miras Studio', url: `/e/${slug}` },
    twitter: { card: 'summary', title, description },
  };
}

export default async function SharedExperimentPage({ params }: Props) {
  const { slug } = await params;
  const exp = await load(slug);
  const fork = (
    <form method="post" action={`/e/${slug}/fork`}>
      <button type="submit" className="primary" data-testid="fork">
        Open a copy in the editor
      </button>
    </form>
  );
  const nav = (
    <nav className="topnav">
      <Link className="brand" href="/">
        Miras Studio
      </Link>
      <span className="muted">shared {exp.kind === 'run' ? 'experiment' : 'design'}</span>
    </nav>
  );
  if (exp.kind === 'design') {
    return (
      <div className="page-wrap">
        {nav}
        <main className="page">
          <header className="exp-head">
            <div>
              <h1>{exp.title}</h1>
              <p className="muted">{exp.design.description || `Design version ${exp.design.version}`}</p>
            </div>
            <div className="exp-actions">{fork}</div>
          </header>
          <h2>Model</h2>
          <div className="graph-box">
            <DesignGraph graph={exp.design.graph} spec={exp.design.spec} title={exp.title} />
          </div>
        </main>
      </div>
    );
  }
  const series = await readRunSeries(exp.run.id, exp.metricKeys.slice(0, 24), 500);
  return (
    <div className="page-wrap">
      {nav}
      <div className="page">
        <ExperimentView
          title={exp.title}
          run={exp.run}
          design={exp.design}
          series={series}
          checkpoints={exp.checkpoints}
          checkpointHref={(step) => `/api/shares/${slug}/checkpoints/${step}`}
          dataset={exp.dataset && { ...exp.dataset, href: `/api/shares/${slug}/dataset` }}
          actions={fork}
        />
      </div>
    </div>
  );
}
