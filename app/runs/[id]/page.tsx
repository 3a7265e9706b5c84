/** /runs/<id>: the owner's view of one run, with a "Share link" button. Others get a 404 (they use share links). */
import type { Metadata } from 'next';
import { notFound } from 'next/navigation';
import { ApiError } from '@/server/errors';
import { pageViewer } from '@/server/page-viewer';
import { getRun } from '@/server/runs';
import { readRunSeries, metricKeys } from '@/server/metrics';
import { listCheckpoints } from '@/server/checkpoints';
import { runDatasetMeta } from '@/server/datasets';
import { ExperimentView } from '../_components/ExperimentView';
import { ShareButton } from '@/components/runs/ShareButton';
import { TopNav } from '../_components/TopNav';
import '../runs.css';

export const dynamic = 'force-dynamic';
export const metadata: Metadata = { title: 'Run' };

export default async function RunPage({ params }: { params: Promise<{ id: string }> }) {
  const { id } = await params;
  const owner = await pageViewer();
  let run;
  try {
    run = await getRun(owner, id);
  } catch (err) {
    if (err instanceof ApiError && (err.status === 404 || err.status === 403)) notFound();
    throw err;
  }
  const keys = await metricKeys(id);
  const [series, checkpoints, dataset] = await Promise.all([readRunSeries(id, keys.slice(0, 24), 500), listCheckpoints(id), runDatasetMeta(id)]);
  const snapshot = run.designSnapshot as { spec?: unknown; graph?: unknown };
  return (
    <div className="page-wrap">
      <TopNav here={run.name} />
      <div className="page">
        <ExperimentView
          title={run.name}
          run={run}
          design={{ spec: snapshot.spec ?? null, graph: snapshot.graph ?? null }}
          series={series}
          checkpoints={checkpoints}
          checkpointHref={(step) => `/api/runs/${id}/checkpoints/${step}`}
          dataset={dataset && { ...dataset, href: `/api/runs/${id}/dataset` }}
          actions={<ShareButton runId={id} />}
        />
      </div>
    </div>
  );
}
