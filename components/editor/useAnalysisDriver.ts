'use client';
/**
 * Recomputes the derived facts when the design's structure changes (not on moves): lowering
 * issues located on nodes and edges, inferred shapes, per-block costs, and the compile status
 * for this browser's adapter.
 */
import { useEffect } from 'react';
import { analyzeDesign, type DesignIssue } from '@/engine/design/lower';
import { designCosts } from '@/engine/design/cost';
import type { AdapterDescription } from '@/engine/gpu/describe';
import { flowToDesign, useEditor } from './store';
import { useAnalysis } from './analysisStore';
import { compileStatus } from './compileStatus';

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
  const spec = useAnalysis((s) => s.analysis?.spec ?? null);

  useEffect(() => {
    const analysis = analyzeDesign(flowToDesign(useEditor.getState()));
    useAnalysis.setState({
      analysis,
      costs: designCosts(analysis),
      issuesByNode: group(analysis.issues, 'nodeId'),
      issuesByEdge: group(analysis.issues, 'edgeId'),
    });
  }, [version, nodeCount]);

  useEffect(() => {
    let live = true;
    if (!spec) {
      useAnalysis.setState({ compile: { state: 'idle', message: 'Fix the design errors first.' } });
      return;
    }
    if (adapter === undefined) {
      useAnalysis.setState({ compile: { state: 'checking', message: 'Waiting for the WebGPU adapter…' } });
      return;
    }
    useAnalysis.setState({ compile: { state: 'checking', message: 'Checking the kernel plan against this adapter…' } });
    compileStatus(spec, adapter).then((status) => {
      if (live) useAnalysis.setState({ compile: status });
    });
    return () => {
      live = false;
    };
  }, [spec, adapter]);
}
