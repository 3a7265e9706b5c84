'use client';
/**
 * Recomputes the derived facts when the design's structure changes (never on moves): lowering
 * issues located on nodes and edges and inferred shapes at once; costs (which build the engine's
 * model for its exact parameter count) shortly after; and the compile status for this browser's
 * adapter once edits settle, in the background, abandoned as soon as the design changes again.
 */
import { useEffect } from 'react';
import { analyzeDesign, type DesignIssue } from '@/engine/design/lower';
import { designCosts } from '@/engine/design/cost';
import type { AdapterDescription } from '@/engine/gpu/describe';
import { flowToDesign, useEditor } from './store';
import { useAnalysis } from './analysisStore';
import { compileStatus } from './compileStatus';

const COST_DELAY_MS = 150;
const COMPILE_DELAY_MS = 700;

function group(issues: DesignIssue[], key: 'nodeId' | 'edgeId') {
  const out: Record<string, DesignIssue[]> = {};
  for (const i of issues) {
    const k = i[key];
    if (k) (out[k] ??= []).push(i);
  }
  return out;
}

export function useAnalysisDriver(adapter: AdapterDescription | null | undefined) {
  const version = useEditor((s) => s.structureVersion);
  const nodeCount = useEditor((s) => s.nodes.length);
  const analysis = useAnalysis((s) => s.analysis);
  const spec = analysis?.spec ?? null;

  useEffect(() => {
    const a = analyzeDesign(flowToDesign(useEditor.getState()));
    useAnalysis.setState({ analysis: a, issuesByNode: group(a.issues, 'nodeId'), issuesByEdge: group(a.issues, 'edgeId') });
  }, [version, nodeCount]);

  useEffect(() => {
    if (!analysis?.spec) {
      useAnalysis.setState({ costs: null });
      return;
    }
    const t = setTimeout(() => useAnalysis.setState({ costs: designCosts(analysis) }), COST_DELAY_MS);
    return () => clearTimeout(t);
  }, [analysis]);

  useEffect(() => {
    if (!spec) {
      useAnalysis.setState({ compile: { state: 'idle', message: 'Fix the design errors first.' } });
      return;
    }
    if (adapter === undefined) {
      useAnalysis.setState({ compile: { state: 'checking', message: 'Waiting for the WebGPU adapter…' } });
      return;
    }
    const abort = new AbortController();
    useAnalysis.setState({ compile: { state: 'checking', message: 'Checking the kernel plan against this adapter…' } });
    const t = setTimeout(() => {
      compileStatus(spec, adapter, {
        signal: abort.signal,
        onProgress: (done, total) => useAnalysis.setState({ compile: { state: 'checking', message: `Creating pipelines on this adapter: ${done} of ${total}…` } }),
      }).then((status) => {
        if (status && !abort.signal.aborted) useAnalysis.setState({ compile: status });
      });
    }, COMPILE_DELAY_MS);
    return () => {
      clearTimeout(t);
      abort.abort();
    };
  }, [spec, adapter]);
}
