'use client';
/**
 * The inspector: a form for the selected node, generated from its zod schema (structure
 * nodes from the grammar, axis nodes and Miras block options from the catalog). Each field
 * shows its default, range, unit and help, and validates as you type; only valid values
 * reach the design.
 */
import { memo, useMemo, useState } from 'react';
import type { z } from 'zod';
import { AXIS_LABEL, type Axis } from '@/engine/spec';
import { STRUCTURE_PARAMS, isAxisType, nodeTypeDef, type StructureType } from '@/engine/design/grammar';
import { axisEntries, axisEntry, axisParamsSchema, blockParamsSchema } from '@/engine/design/catalog';
import { describeRange, formFields, parseFieldInput, schemaDefaults, type FormField } from '@/engine/design/form';
import { formatCount } from '@/engine/design/cost';
import { beginBatch, endBatch, useEditor, type ParamValue } from './store';
import { useNodeCost, useNodeIssues } from './analysisStore';

function Field({ field, value, onCommit }: { field: FormField; value: ParamValue | undefined; onCommit: (v: ParamValue) => void }) {
  const [text, setText] = useState(value === undefined ? '' : String(value));
  const [error, setError] = useState<string | null>(null);
  const id = `field-${field.key}`;
  const change = (t: string) => {
    setText(t);
    const r = parseFieldInput(field, t);
    if ('error' in r) setError(r.error);
    else {
      setError(null);
      onCommit(r.value);
    }
  };
  const meta = [field.kind === 'integer' || field.kind === 'number' ? describeRange(field) : null, field.default !== undefined ? `default ${String(field.default)}` : null]
    .filter(Boolean)
    .join(' · ');
  return (
    <div className={`field${error ? ' field--error' : ''}`} data-testid={`field-${field.key}`} onFocus={beginBatch} onBlur={endBatch}>
      <label htmlFor={id}>
        {field.label}
        {field.unit && <span className="field-unit"> ({field.unit})</span>}
      </label>
      {field.kind === 'boolean' ? (
        <input id={id} type="checkbox" checked={text === 'true'} onChange={(e) => change(String(e.target.checked))} />
      ) : field.kind === 'enum' ? (
        <select id={id} value={text} onChange={(e) => change(e.target.value)}>
          {field.options!.map((o) => (
            <option key={o} value={o}>
              {o}
            </option>
          ))}
        </select>
      ) : (
        <input
          id={id}
          type="text"
          inputMode={field.kind === 'string' ? 'text' : 'decimal'}
          value={text}
          aria-invalid={error ? true : undefined}
          onChange={(e) => change(e.target.value)}
        />
      )}
      {meta && <div className="field-meta">{meta}</div>}
      {field.help && <div className="field-help">{field.help}</div>}
      {error && (
        <div className="field-error" role="alert" data-testid="field-error">
          {error}
        </div>
      )}
    </div>
  );
}

function SchemaForm({ nodeId, schema, params, onChange }: { nodeId: string; schema: z.ZodObject; params: Record<string, ParamValue>; onChange: (p: Record<string, ParamValue>) => void }) {
  const fields = useMemo(() => formFields(schema), [schema]);
  const [objectError, setObjectError] = useState<string | null>(null);
  return (
    <div className="form">
      {fields.map((f) => (
        <Field
          key={`${nodeId}:${f.key}`}
          field={f}
          value={params[f.key] ?? f.default}
          onCommit={(v) => {
            const next = { ...params, [f.key]: v };
            // Cross-field rules (refinements) are checked on the whole object.
            const r = schema.safeParse(next);
            setObjectError(r.success ? null : r.error.issues.map((i) => i.message).join('; '));
            onChange(next);
          }}
        />
      ))}
      {objectError && <div className="field-error" role="alert">{objectError}</div>}
    </div>
  );
}

function AxisInspector({ id, axis, kind, params }: { id: string; axis: Axis; kind: string; params: Record<string, ParamValue> }) {
  const updateNode = useEditor((s) => s.updateNode);
  const entry = axisEntry(axis, kind);
  const entries = axisEntries(axis);
  return (
    <>
      <div className="field">
        <label htmlFor="axis-kind">{AXIS_LABEL[axis]}</label>
        <select
          id="axis-kind"
          data-testid="axis-kind"
          value={kind}
          onChange={(e) => updateNode(id, { kind: e.target.value, params: schemaDefaults(axisParamsSchema(axis, e.target.value)) })}
        >
          {!entry && <option value={kind}>unknown “{kind}”</option>}
          {entries.map((e) => (
            <option key={e.kind} value={e.kind}>
              {e.label}
            </option>
          ))}
        </select>
      </div>
      {entry && (
        <>
          <SchemaForm key={`${id}:${kind}`} nodeId={id} schema={entry.params} params={params} onChange={(p) => updateNode(id, { params: p })} />
          <div className="entry-doc">
            <div className="entry-math">{entry.math}</div>
            <div className="muted">{entry.citation}</div>
            {entry.usedBy.length > 0 && <div className="muted">Used by: {entry.usedBy.join(', ')}</div>}
            {entry.unverified && <div className="warn-text">Unverified detail: {entry.unverified}</div>}
          </div>
        </>
      )}
    </>
  );
}

export const Inspector = memo(function Inspector() {
  const selectedId = useEditor((s) => {
    let id: string | null = null;
    for (const n of s.nodes) if (n.selected) {
      if (id) return '__many__';
      id = n.id;
    }
    return id;
  });
  // Type and data only: their identity survives drags, so dragging does not re-render the form.
  const one = selectedId && selectedId !== '__many__' ? selectedId : null;
  const type = useEditor((s) => (one ? (s.nodes.find((n) => n.id === one)?.type ?? '') : ''));
  const data = useEditor((s) => (one ? s.nodes.find((n) => n.id === one)?.data : undefined));
  const node = one && data ? { id: one, type, data } : undefined;
  const updateNode = useEditor((s) => s.updateNode);
  const issues = useNodeIssues(node?.id ?? '');
  const cost = useNodeCost(node?.id ?? '');
  if (selectedId === '__many__') return <p className="muted">Several nodes selected. Select one to edit it; Delete removes them, Ctrl+C copies them.</p>;
  if (!node) return <p className="muted">Select a node to edit its parameters. Drag blocks from the palette, or load a preset.</p>;
  const def = nodeTypeDef(type);
  const setParams = (p: Record<string, ParamValue>) => updateNode(node.id, { params: p });
  return (
    <div className="inspector" data-testid="inspector" data-node-id={node.id}>
      <h3>
        {isAxisType(type) ? (axisEntry(type, node.data.kind ?? '')?.label ?? type) : (def?.title ?? type)}
        <span className="muted"> · {node.id}</span>
      </h3>
      {isAxisType(type) ? (
        <AxisInspector id={node.id} axis={type} kind={node.data.kind ?? ''} params={node.data.params} />
      ) : type === 'miras' ? (
        <>
          <SchemaForm nodeId={node.id} schema={STRUCTURE_PARAMS.miras} params={node.data.params} onChange={(p) => setParams({ ...node.data.params, ...p })} />
          <h4>Block options</h4>
          <SchemaForm nodeId={node.id} schema={blockParamsSchema()} params={node.data.params} onChange={(p) => setParams({ ...node.data.params, ...p })} />
        </>
      ) : def && type in STRUCTURE_PARAMS ? (
        <SchemaForm nodeId={node.id} schema={STRUCTURE_PARAMS[type as StructureType]} params={node.data.params} onChange={setParams} />
      ) : (
        <p className="err-text">Unknown node type “{type}”.</p>
      )}
      {cost && (
        <dl className="kv" data-testid="inspector-cost">
          <dt>parameters</dt>
          <dd>{cost.params.toLocaleString('en-US')}</dd>
          {cost.stateFloatsPerHead !== null && (
            <>
              <dt>state / head</dt>
              <dd>{formatCount(cost.stateFloatsPerHead)} floats</dd>
            </>
          )}
          <dt>FLOPs / token</dt>
          <dd>{formatCount(cost.flopsPerToken)}</dd>
        </dl>
      )}
      {issues.length > 0 && (
        <ul className="issues">
          {issues.map((i, k) => (
            <li key={k} className={`issue issue--${i.severity}`}>
              {i.message}
            </li>
          ))}
        </ul>
      )}
    </div>
  );
});
