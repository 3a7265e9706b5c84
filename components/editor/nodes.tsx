'use client';
/**
 * Custom React Flow nodes. Small memoised components; handles carry their port type
 * (data-port-type, class) so isValidConnection and the styling read the grammar.
 * Costs and issues come from the analysis store by node id (narrow selectors).
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

/** Sequence nodes: one input on top, one output at the bottom (residual adds a skip input on the right). */
const SeqNode = memo(function SeqNode({ id, type, data, selected }: NodeProps<EditorNode>) {
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
const MirasNode = memo(function MirasNode({ id, data, selected }: NodeProps<EditorNode>) {
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
const AxisNode = memo(function AxisNode({ id, type, data, selected }: NodeProps<EditorNode>) {
  const axis = type as Axis;
  const entry = axisEntry(axis, data.kind ?? '');
  const def = nodeTypeDef(axis)!;
  return (
    <Shell id={id} category={`axis dnode--${axis}`} title={entry?.label ?? `Unknown "${data.kind}"`} subtitle={AXIS_LABEL[axis]} selected={selected}>
      <PortHandle port={def.outputs[0]} type="source" position={Position.Right} />
    </Shell>
  );
});

const StackNode = memo(function StackNode({ id, data, selected }: NodeProps<EditorNode>) {
  const issues = useNodeIssues(id);
  return (
    <div className={`dnode-stack${selected ? ' is-selected' : ''}${issues.some((i) => i.severity === 'error') ? ' has-error' : ''}`} data-testid="design-node" data-node-id={id}>
      <NodeResizer isVisible={selected} minWidth={240} minHeight={120} />
      <div className="dnode-stack-title">Stack ×{String(data.params.repeat ?? 1)}</div>
      <IssueLine id={id} />
    </div>
  );
});

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
