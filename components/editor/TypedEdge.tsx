'use client';
/** An edge coloured by its port type, labelled with the inferred shape, red when it is at fault. */
import { BaseEdge, EdgeLabelRenderer, getBezierPath, getSmoothStepPath, type EdgeProps } from '@xyflow/react';
import { memo } from 'react';
import { useAnalysis } from './analysisStore';

export const TypedEdge = memo(function TypedEdge(props: EdgeProps) {
  const { id, sourceX, sourceY, targetX, targetY, sourcePosition, targetPosition, data, selected, targetHandleId } = props;
  const shape = useAnalysis((s) => s.analysis?.edgeShapes[id]);
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
