/** Formatting and configuration-diff helpers shared by the runs, compare and share pages. */

export function fmtNumber(v: unknown): string {
  if (typeof v !== 'number') return v === null || v === undefined ? '—' : String(v);
  if (Number.isInteger(v)) return v.toLocaleString('en-US');
  const a = Math.abs(v);
  return a !== 0 && (a < 1e-3 || a >= 1e6) ? v.toExponential(3) : String(+v.toPrecision(5));
}

export function fmtDate(d: Date | string | null | undefined): string {
  if (!d) return '—';
  return new Date(d).toISOString().replace('T', ' ').slice(0, 16) + ' UTC';
}

export function fmtValue(v: unknown): string {
  if (typeof v === 'number') return fmtNumber(v);
  if (typeof v === 'string') return v;
  if (v === null || v === undefined) return '—';
  return JSON.stringify(v);
}

/** { a: { b: 1 }, c: [1, 2] } → { "a.b": 1, "c": [1,2] } (arrays of scalars stay whole). */
export function flatten(value: unknown, prefix = '', out: Record<string, unknown> = {}): Record<string, unknown> {
  if (value !== null && typeof value === 'object' && !Array.isArray(value)) {
    for (const [k, v] of Object.entries(value as Record<string, unknown>)) flatten(v, prefix ? `${prefix}.${k}` : k, out);
  } else if (Array.isArray(value) && value.some((v) => v !== null && typeof v === 'object')) {
    value.forEach((v, i) => flatten(v, `${prefix}[${i}]`, out));
  } else if (prefix) {
    out[prefix] = value;
  }
  return out;
}

export interface DiffRow {
  key: string;
  values: string[];
  differs: boolean;
}

/** Rows of a configuration table over several runs; `differs` marks rows whose values are not all equal. */
export function configDiff(configs: Record<string, unknown>[]): DiffRow[] {
  const flat = configs.map((c) => flatten(c));
  const keys = [...new Set(flat.flatMap((f) => Object.keys(f)))].sort();
  return keys.map((key) => {
    const values = flat.map((f) => (key in f ? fmtValue(f[key]) : '—'));
    return { key, values, differs: new Set(values).size > 1 };
  });
}

/** What a run's configuration comparison covers: task, seed, preset, the config and the model spec. */
export function comparableConfig(run: { task: string; seed: number; preset: string | null; config: unknown; designSnapshot: unknown }) {
  const spec = (run.designSnapshot as { spec?: unknown } | null)?.spec;
  return { task: run.task, seed: run.seed, preset: run.preset ?? '—', config: run.config, model: spec };
}

export const RUN_COLORS = ['#6aa9ff', '#ef8f5b', '#4ec38a', '#c37be0', '#e0c04e', '#5fd0d8', '#ef6b6b', '#9aa4b2'];
