'use client';
/**
 * Derived, read-only facts about the current design (lowering issues, inferred edge shapes,
 * per-node costs, compile status). Recomputed when the structure changes, never per drag
 * frame; nodes subscribe to their own slice only.
 */
import { create } from 'zustand';
import type { DesignAnalysis, DesignIssue } from '@/engine/design/lower';
import type { DesignCosts, NodeCost } from '@/engine/design/cost';

export interface CompileStatus {
  state: 'idle' | 'checking' | 'ok' | 'error' | 'no-gpu';
  message: string;
}

interface AnalysisState {
  analysis: DesignAnalysis | null;
  costs: DesignCosts | null;
  issuesByNode: Record<string, DesignIssue[]>;
  issuesByEdge: Record<string, DesignIssue[]>;
  compile: CompileStatus;
}

export const useAnalysis = create<AnalysisState>()(() => ({
  analysis: null,
  costs: null,
  issuesByNode: {},
  issuesByEdge: {},
  compile: { state: 'idle', message: '' },
}));

const NONE: DesignIssue[] = [];
export const useNodeIssues = (id: string) => useAnalysis((s) => s.issuesByNode[id] ?? NONE);
export const useNodeCost = (id: string): NodeCost | undefined => useAnalysis((s) => s.costs?.perNode[id]);
