/**
 * Inspector forms generated from zod schemas (catalog entries and structure nodes alike):
 * each field's kind, default, range, unit and help come from the schema, so a new catalog
 * entry gets its form with no UI code. Values are checked by the same schema.
 */
import { z } from 'zod';

export type FieldKind = 'integer' | 'number' | 'boolean' | 'enum' | 'string';

export interface FormField {
  key: string;
  kind: FieldKind;
  label: string;
  default?: number | string | boolean;
  min?: number;
  max?: number;
  /** Exclusive bounds (z.number().positive() gives exclusiveMinimum 0). */
  exclusiveMin?: number;
  exclusiveMax?: number;
  options?: string[];
  unit?: string;
  help?: string;
  optional: boolean;
}

interface JsonSchemaProp {
  type?: string | string[];
  enum?: unknown[];
  const?: unknown;
  default?: unknown;
  minimum?: number;
  maximum?: number;
  exclusiveMinimum?: number;
  exclusiveMaximum?: number;
  description?: string;
  help?: string;
  unit?: string;
  title?: string;
  anyOf?: JsonSchemaProp[];
}

const SAFE = Number.MAX_SAFE_INTEGER;

/** "headDimK" → "head dim k"; schemas may set `title` in meta to override. */
export function humanize(key: string): string {
  return key
    .replace(/([a-z0-9])([A-Z])/g, '$1 $2')
    .replace(/_/g, ' ')
    .toLowerCase();
}

export function formFields(schema: z.ZodObject): FormField[] {
  const js = z.toJSONSchema(schema, { io: 'input', unrepresentable: 'any' }) as { properties?: Record<string, JsonSchemaProp>; required?: string[] };
  const required = new Set(js.required ?? []);
  return Object.entries(js.properties ?? {}).map(([key, raw]) => {
    const p = raw.anyOf?.find((x) => x.type !== 'null') ? { ...raw.anyOf.find((x) => x.type !== 'null'), ...raw, anyOf: undefined } : raw;
    const type = Array.isArray(p.type) ? p.type.find((t) => t !== 'null') : p.type;
    let kind: FieldKind = 'string';
    if (p.enum) kind = 'enum';
    else if (type === 'integer') kind = 'integer';
    else if (type === 'number') kind = 'number';
    else if (type === 'boolean') kind = 'boolean';
    const f: FormField = {
      key,
      kind,
      label: p.title ?? humanize(key),
      optional: !required.has(key) || p.default !== undefined,
    };
    if (p.default !== undefined) f.default = p.default as FormField['default'];
    if (p.minimum !== undefined && Math.abs(p.minimum) < SAFE) f.min = p.minimum;
    if (p.maximum !== undefined && Math.abs(p.maximum) < SAFE) f.max = p.maximum;
    if (p.exclusiveMinimum !== undefined) f.exclusiveMin = p.exclusiveMinimum;
    if (p.exclusiveMaximum !== undefined) f.exclusiveMax = p.exclusiveMaximum;
    if (p.enum) f.options = p.enum.map(String);
    if (p.unit) f.unit = p.unit;
    const help = p.help ?? p.description;
    if (help) f.help = help;
    return f;
  });
}

/** A field's range in words, e.g. "integer in [1, 64]" or "number > 0". */
export function describeRange(f: FormField): string {
  const lo = f.min !== undefined ? `[${f.min}` : f.exclusiveMin !== undefined ? `(${f.exclusiveMin}` : '(-∞';
  const hi = f.max !== undefined ? `${f.max}]` : f.exclusiveMax !== undefined ? `${f.exclusiveMax})` : '∞)';
  if (f.kind !== 'integer' && f.kind !== 'number') return f.kind;
  return `${f.kind} in ${lo}, ${hi}`;
}

/** Parses a text input for a field; returns the value or an error in words. */
export function parseFieldInput(f: FormField, text: string): { value: number | string | boolean } | { error: string } {
  if (f.kind === 'boolean') return { value: text === 'true' };
  if (f.kind === 'enum' || f.kind === 'string') return { value: text };
  const t = text.trim();
  if (t === '') return { error: `${f.label} is required (${describeRange(f)}).` };
  const v = Number(t);
  if (!Number.isFinite(v)) return { error: `${f.label} must be a number, got "${text}".` };
  if (f.kind === 'integer' && !Number.isInteger(v)) return { error: `${f.label} must be a whole number.` };
  const out = (cond: boolean) => (cond ? { error: `${f.label} must be ${describeRange(f)}; got ${v}.` } : null);
  return (
    out(f.min !== undefined && v < f.min) ??
    out(f.max !== undefined && v > f.max) ??
    out(f.exclusiveMin !== undefined && v <= f.exclusiveMin) ??
    out(f.exclusiveMax !== undefined && v >= f.exclusiveMax) ?? { value: v }
  );
}

/** Defaults of a schema as a params object (what a freshly dropped node gets). */
export function schemaDefaults(schema: z.ZodObject): Record<string, number | string | boolean> {
  const r = schema.safeParse({});
  return r.success ? (r.data as Record<string, number | string | boolean>) : {};
}
