'use client';
/** Task settings form generated from the task's zod schema (its JSON Schema): one source of truth. */
import { settingsJsonSchema, type TaskName } from '@/engine/tasks';

interface Prop {
  type?: string | string[];
  default?: unknown;
  description?: string;
  minimum?: number;
  maximum?: number;
  items?: { enum?: string[] };
  anyOf?: Prop[];
}

export function TaskSettingsForm(props: {
  task: TaskName;
  values: Record<string, unknown>;
  onChange: (values: Record<string, unknown>) => void;
  disabled?: boolean;
}) {
  const schema = settingsJsonSchema(props.task) as { properties: Record<string, Prop> };
  const set = (k: string, v: unknown) => props.onChange({ ...props.values, [k]: v });
  return (
    <div className="train-grid">
      {Object.entries(schema.properties).map(([key, p]) => {
        if (props.task === 'text' && key === 'text') return null; // the panel's file upload handles it
        const value = props.values[key] ?? p.default;
        const id = `task-${props.task}-${key}`;
        const type = p.type ?? p.anyOf?.find((a) => a.type !== 'null')?.type;
        let input;
        if (type === 'boolean') {
          input = <input id={id} type="checkbox" checked={Boolean(value)} disabled={props.disabled} onChange={(e) => set(key, e.target.checked)} />;
        } else if (type === 'integer' || type === 'number') {
          input = (
            <input id={id} type="number" value={String(value ?? '')} min={p.minimum} max={p.maximum} step={type === 'integer' ? 1 : 'any'} disabled={props.disabled}
              onChange={(e) => set(key, e.target.value === '' ? undefined : Number(e.target.value))} />
          );
        } else if (type === 'array') {
          input = (
            <input id={id} type="text" value={Array.isArray(value) ? value.join(' ') : ''} disabled={props.disabled}
              onChange={(e) => set(key, e.target.value.split(/[\s,]+/).filter(Boolean))} />
          );
        } else {
          input = <input id={id} type="text" value={String(value ?? '')} disabled={props.disabled} onChange={(e) => set(key, e.target.value)} />;
        }
        return (
          <label key={key} htmlFor={id} title={p.description}>
            <span>{key}</span>
            {input}
          </label>
        );
      })}
    </div>
  );
}
