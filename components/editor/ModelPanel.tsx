'use client';
/** Model totals, compile status for this adapter, and every issue in words (click to go to the node). */
import { memo } from 'react';
import { formatBytes, formatCount } from '@/engine/design/cost';
import { useAnalysis } from './analysisStore';
import { useEditor } from './store';

function selectNode(id: string) {
  const s = useEditor.getState();
  s.onNodesChange(s.nodes.map((n) => ({ type: 'select' as const, id: n.id, selected: n.id === id })));
  window.dispatchEvent(new CustomEvent('miras:focus-node', { detail: id }));
}

export const ModelPanel = memo(function ModelPanel() {
  const analysis = useAnalysis((s) => s.analysis);
  const costs = useAnalysis((s) => s.costs);
  const compile = useAnalysis((s) => s.compile);
  const nodeCount = useEditor((s) => s.nodes.length);
  const edgeCount = useEditor((s) => s.edges.length);
  const spec = analysis?.spec ?? null;
  const errors = analysis?.issues.filter((i) => i.severity === 'error') ?? [];
  const warnings = analysis?.issues.filter((i) => i.severity === 'warning') ?? [];
  return (
    <div className="model-panel" data-testid="model-panel">
      <section>
        <h3>Model</h3>
        <div className="muted graph-stats" data-testid="graph-stats" data-nodes={nodeCount} data-edges={edgeCount}>
          Graph: {nodeCount} nodes, {edgeCount} edges
        </div>
        {spec && costs ? (
          <dl className="kv" data-testid="model-totals">
            <dt>parameters</dt>
            <dd data-testid="total-params">{costs.total.params.toLocaleString('en-US')}</dd>
            <dt>FLOPs / token</dt>
            <dd>{formatCount(costs.total.flopsPerToken)} at T={costs.contextLength}</dd>
            <dt>state / sequence</dt>
            <dd title="recurrent state (Miras) plus KV cache (attention) at T, f32">{formatBytes(costs.total.stateFloats * 4)}</dd>
            <dt>layers</dt>
            <dd>{spec.layers.length}</dd>
            <dt>d_model · vocab</dt>
            <dd>
              {spec.dModel} · {spec.vocabSize}
            </dd>
          </dl>
        ) : spec ? (
          <p className="muted">Counting…</p>
        ) : (
          <p className="muted" data-testid="total-params-none">
            No totals until the design lowers to a model.
          </p>
        )}
      </section>
      <section>
        <h3>Compile</h3>
        <div className={`compile compile--${compile.state}`} data-testid="compile-status" data-state={spec ? compile.state : 'error'}>
          {spec ? compile.message : `${errors.length} error${errors.length === 1 ? '' : 's'} in the design.`}
        </div>
      </section>
      {(errors.length > 0 || warnings.length > 0) && (
        <section>
          <h3>Issues</h3>
          <ul className="issues" data-testid="issues">
            {[...errors, ...warnings].map((i, k) => (
              <li key={k} className={`issue issue--${i.severity}`}>
                {i.nodeId ? (
                  <button className="linklike" onClick={() => selectNode(i.nodeId!)}>
                    {i.message}
                  </button>
                ) : (
                  i.message
                )}
              </li>
            ))}
          </ul>
        </section>
      )}
    </div>
  );
});
