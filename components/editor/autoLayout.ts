'use client';
/**
 * Auto-layout (L) for the canvas: the engine's design layout (engine/design/layout.ts, elkjs,
 * bottom-up through "stack ×N" groups) fed with the sizes React Flow measured, and stacks
 * resized to fit what they contain.
 */
import type { Edge } from '@xyflow/react';
import { isAxisType } from '@/engine/design/grammar';
import { LAYOUT } from '@/engine/design/raise';
import { layoutDesign } from '@/engine/design/layout';
import type { EditorNode } from './store';

export async function layoutGraph(allNodes: EditorNode[], allEdges: Edge[]): Promise<EditorNode[]> {
  const boxes = await layoutDesign(
    allNodes.map((n) => {
      const type = n.type ?? '';
      const fallbackW = isAxisType(type) ? LAYOUT.axisWidth : LAYOUT.width;
      return {
        id: n.id,
        type,
        parent: n.parentId ?? null,
        width: n.measured?.width ?? n.width ?? fallbackW,
        height: n.measured?.height ?? n.height ?? LAYOUT.heights[type] ?? 60,
      };
    }),
    allEdges.map((e) => ({ source: e.source, sourceHandle: e.sourceHandle ?? null, target: e.target, targetHandle: e.targetHandle ?? null })),
  );
  return allNodes.map((n) => {
    const b = boxes.get(n.id);
    if (!b) return n;
    const next: EditorNode = { ...n, position: { x: b.x, y: b.y } };
    if (n.type === 'stack') {
      next.width = b.width;
      next.height = b.height;
      next.style = { ...n.style, width: b.width, height: b.height };
    }
    return next;
  });
}
