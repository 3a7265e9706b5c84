'use client';
/**
 * An edge coloured by its port type, labelled with the inferred shape, red when it is at fault.
 * Shape labels are left out when zoomed out below SHAPE_LABEL_MIN_ZOOM (9.5 px text is unreadable
 * there, and a 300-node graph would otherwise move ~190 label elements on every drag frame);
 * error labels always show.
 */
import { BaseEdge, EdgeLabelRenderer, getBezierPath, getSmoothStepPath, useStore, type EdgeProps } from '@xyflow/react';
import { memo } from 'react';
import { useAnalysis } from './analysisStore';

export const SHAPE_LABEL_MIN_ZOOM = 0.5;

export const TypedEdge = memo(function TypedEdge(props: EdgeProps) {
  const { id, sourceX, sourceY, targetX, targetY, sourcePosition, targetPosition, data, selected, targetHandleId } = props;
  const readable = useStore((s) => s.transform[2] >= SHAPE_LABEL_MIN_ZOOM);
  const shape = useAnalysis((s) => (readable ? s.analysis?.edgeShapes[id] : undefined));
  const issue = useAnalysis((s) => s.issuesByEdge[id]?.[0]);
  // Residual skips run beside the column instead of through the nodes.
  const [path, labelX, labelY] =
    targetHandleId === 'skip'
      ? getSmoothStepPath({ sourceX, sourceY, targetX, targetY, sourcePosition, targetPosition, offset: 28, borderRadius: 10 })
      : getBezierPath({ sourceX, sourceY, targetX, targetY, sourcePosition, targetPosition });
  const skip = targetHandleId === 'skip';
  const portType = (data?.portType as string) ?? 'seq';
  return (
    <>
      <BaseEdge id={id} path={path} className={`tedge tedge--${portType}${issue ? ' tedge--error' : ''}${selected ? ' is-selected' : ''}`} />
      {(shape || issue) && portType === 'seq' && !skip ? (
        <EdgeLabelRenderer>
          <div
            className={`edge-label${issue ? ' edge-label--error' : ''}`}
            style={{ transform: `translate(-50%, -50%) translate(${labelX}px, ${labelY}px)` }}
            data-testid="edge-label"
            title={issue?.message}
          >
            {issue ? issue.message : shape}
          </div>
        </EdgeLabelRenderer>
      ) : issue ? (
        <EdgeLabelRenderer>
          <div className="edge-label edge-label--error" style={{ transform: `translate(-50%, -50%) translate(${labelX}px, ${labelY}px)` }} data-testid="edge-label">
            {issue.message}
          </div>
        </EdgeLabelRenderer>
      ) : null}
    </>
  );
});

export const edgeTypes = { typed: TypedEdge };
