'use client';
/**
 * Custom React Flow nodes. Handles carry their port type (data-port-type, class) so
 * isValidConnection and the styling read the grammar. Costs and issues come from the analysis
 * store by node id (narrow selectors).
 *
 * Dragging: React Flow hands a moved node new props on every frame (positionAbsoluteX/Y,
 * dragging), so each node type is a thin wrapper around a memoised body that takes only what
 * the node shows (id, type, data, selected). A drag frame re-renders no node content; with 300
 * nodes selected and dragged this is most of the React work per frame.
 */
import { Handle, NodeResizer, Position, type NodeProps } from '@xyflow/react';
import { memo, type ReactNode } from 'react';
import { AXES, AXIS_LABEL, type Axis } from '@/engine/spec';
import { nodeTypeDef, type PortDef } from '@/engine/design/grammar';
import { axisEntry } from '@/engine/design/catalog';
import { formatCount } from '@/engine/design/cost';
import { useNodeCost, useNodeIssues } from './analysisStore';
import type { EditorNode } from './store';

function PortHandle({ port, type, position, style }: { port: PortDef; type: 'source' | 'target'; position: Position; style?: React.CSSProperties }) {
  return (
    <Handle
      id={port.id}
      type={type}
      position={position}
      className={`port port--${port.type}`}
      data-port-type={port.type}
      data-testid={`handle-${type}-${port.id}`}
      title={`${port.label}: ${port.type === 'seq' ? 'sequence stream [B, T, d]' : AXIS_LABEL[port.type as Axis]}`}
      isConnectableStart={type === 'source'}
      style={style}
    />
  );
}

function CostLine({ id }: { id: string }) {
  const cost = useNodeCost(id);
  if (!cost) return null;
  return (
    <div className="node-cost" data-testid="node-cost">
      <span title="parameters">{formatCount(cost.params)} params</span>
      {cost.stateFloatsPerHead !== null && <span title="state per head (floats)">{formatCount(cost.stateFloatsPerHead)} state/head</span>}
      {cost.flopsPerToken > 0 && <span title="forward FLOPs per token">{formatCount(cost.flopsPerToken)} F/tok</span>}
    </div>
  );
}

function IssueLine({ id }: { id: string }) {
  const issues = useNodeIssues(id);
  if (issues.length === 0) return null;
  const first = issues.find((i) => i.severity === 'error') ?? issues[0];
  return (
    <div className={`node-issue node-issue--${first.severity}`} data-testid="node-issue" title={issues.map((i) => i.message).join('\n')}>
      {first.message}
      {issues.length > 1 ? ` (+${issues.length - 1})` : ''}
    </div>
  );
}

function Shell({ id, category, title, subtitle, selected, children }: { id: string; category: string; title: string; subtitle?: string; selected?: boolean; children?: ReactNode }) {
  const issues = useNodeIssues(id);
  const hasError = issues.some((i) => i.severity === 'error');
  return (
    <div
      className={`dnode dnode--${category}${selected ? ' is-selected' : ''}${hasError ? ' has-error' : ''}`}
      data-testid="design-node"
      data-node-id={id}
      data-error={hasError ? 'true' : 'false'}
    >
      <div className="dnode-title" title={title}>
        {title}
      </div>
      {subtitle && <div className="dnode-sub">{subtitle}</div>}
      {children}
      <CostLine id={id} />
      <IssueLine id={id} />
    </div>
  );
}

function paramSummary(type: string, p: Record<string, unknown>): string {
  switch (type) {
    case 'embedding':
      return `V=${p.vocabSize} · d=${p.dModel}`;
    case 'norm':
      return `${p.kind === 'layernorm' ? 'LayerNorm' : 'RMSNorm'}`;
    case 'mlp':
      return `SwiGLU · hidden ${p.hidden}`;
    case 'shortConv':
      return `kernel ${p.kernelSize}`;
    case 'attention':
      return `${p.heads} heads × ${p.headDim}${Number(p.window) > 0 ? ` · window ${p.window}` : ' · full causal'}`;
    case 'miras':
      return `${p.heads} heads · d_k ${p.headDimK} · d_v ${p.headDimV}`;
    case 'head':
      return p.tieEmbeddings ? 'logits [B, T, V] · tied' : 'logits [B, T, V]';
    default:
      return '';
  }
}

/** What a node body shows: position and drag state are left out on purpose. */
interface BodyProps {
  id: string;
  type: string;
  data: EditorNode['data'];
  selected: boolean;
}

/** Sequence nodes: one input on top, one output at the bottom (residual adds a skip input on the right). */
const SeqBody = memo(function SeqBody({ id, type, data, selected }: BodyProps) {
  const def = nodeTypeDef(type)!;
  const inputs = def.inputs;
  return (
    <Shell id={id} category={type} title={def.title} subtitle={paramSummary(type, data.params)} selected={selected}>
      {inputs.map((port) => (
        <PortHandle key={port.id} port={port} type="target" position={port.id === 'skip' ? Position.Right : Position.Top} />
      ))}
      {def.outputs.map((port) => (
        <PortHandle key={port.id} port={port} type="source" position={Position.Bottom} />
      ))}
    </Shell>
  );
});

/** The Miras block: sequence in/out plus the four typed axis inputs on its left side. */
const MirasBody = memo(function MirasBody({ id, data, selected }: BodyProps) {
  const def = nodeTypeDef('miras')!;
  return (
    <Shell id={id} category="miras" title="Miras block" subtitle={paramSummary('miras', data.params)} selected={selected}>
      <div className="miras-axes">
        {AXES.map((a) => (
          <div key={a} className={`miras-axis miras-axis--${a}`}>
            {AXIS_LABEL[a]}
          </div>
        ))}
      </div>
      <PortHandle port={def.inputs[0]} type="target" position={Position.Top} />
      {def.inputs.slice(1).map((port, i) => (
        <PortHandle key={port.id} port={port} type="target" position={Position.Left} style={{ top: 62 + i * 22 }} />
      ))}
      <PortHandle port={def.outputs[0]} type="source" position={Position.Bottom} />
    </Shell>
  );
});

/** An axis choice (a catalog entry): one typed output on the right. */
const AxisBody = memo(function AxisBody({ id, type, data, selected }: BodyProps) {
  const axis = type as Axis;
  const entry = axisEntry(axis, data.kind ?? '');
  const def = nodeTypeDef(axis)!;
  return (
    <Shell id={id} category={`axis dnode--${axis}`} title={entry?.label ?? `Unknown "${data.kind}"`} subtitle={AXIS_LABEL[axis]} selected={selected}>
      <PortHandle port={def.outputs[0]} type="source" position={Position.Right} />
    </Shell>
  );
});

const StackBody = memo(function StackBody({ id, data, selected }: BodyProps) {
  const issues = useNodeIssues(id);
  return (
    <div className={`dnode-stack${selected ? ' is-selected' : ''}${issues.some((i) => i.severity === 'error') ? ' has-error' : ''}`} data-testid="design-node" data-node-id={id}>
      <NodeResizer isVisible={selected} minWidth={240} minHeight={120} />
      <div className="dnode-stack-title">Stack ×{String(data.params.repeat ?? 1)}</div>
      <IssueLine id={id} />
    </div>
  );
});

/** The React Flow node component for a body: passes on only the props the body shows. */
function nodeComponent(Body: (p: BodyProps) => ReactNode, name: string) {
  const C = memo(function FlowNode({ id, type, data, selected }: NodeProps<EditorNode>) {
    return <Body id={id} type={type} data={data} selected={!!selected} />;
  });
  C.displayName = name;
  return C;
}
const SeqNode = nodeComponent(SeqBody, 'SeqNode');
const MirasNode = nodeComponent(MirasBody, 'MirasNode');
const AxisNode = nodeComponent(AxisBody, 'AxisNode');
const StackNode = nodeComponent(StackBody, 'StackNode');

/** Declared once, outside render (React Flow re-mounts every node if this object changes). */
export const nodeTypes = {
  embedding: SeqNode,
  norm: SeqNode,
  mlp: SeqNode,
  residual: SeqNode,
  shortConv: SeqNode,
  attention: SeqNode,
  head: SeqNode,
  miras: MirasNode,
  stack: StackNode,
  memory: AxisNode,
  bias: AxisNode,
  retention: AxisNode,
  learner: AxisNode,
};
