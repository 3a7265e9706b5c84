/**
 * Metric points: batched, idempotent ingest and fast reads.
 *
 * Ingest is INSERT … ON CONFLICT (runId, key, step) DO NOTHING in one transaction: a retried batch
 * (the client did not see the response) changes nothing, and the first value for a step wins.
 * Reads use the primary key (runId, key, step) as their index. Downsampling happens in SQL: the step
 * range is cut into at most N equal buckets and each bucket returns its last step, mean, min and max,
 * so a 100k-step run costs one indexed scan and N rows over the wire.
 */
import { z } from 'zod';
import { getDatabase, getDb, type Database } from './db';
import { tooLarge, badRequest, notFound } from './errors';
import { assertRunOwner, forgetRun } from './runs';

/** Most points one ingest request may carry (413 beyond): MIRAS_MAX_INGEST_POINTS, default 10 000. */
export const MAX_INGEST_POINTS = Number(process.env.MIRAS_MAX_INGEST_POINTS ?? 10_000);
/** Most points per series a downsampled read returns. */
export const MAX_SERIES_POINTS = 5_000;
export const DEFAULT_SERIES_POINTS = 500;
/** Rows per INSERT statement (5 parameters each: within SQLite's and PostgreSQL's parameter limits). */
const INSERT_CHUNK = 1_000;

export const MetricKey = z
  .string()
  .min(1, 'must not be empty')
  .max(100)
  .regex(/^[A-Za-z0-9_.\/:@ -]+$/, 'may contain letters, digits, space and _ . / : @ - only');

const finite = (what: string) =>
  z.number({
    error: (i) =>
      i.input === null
        ? `must be a finite number; got null (JSON has no NaN or ±Infinity: ${what} was probably NaN or infinite)`
        : `must be a finite number, got ${typeof i.input === 'string' ? JSON.stringify(i.input) : typeof i.input}`,
  });

export const MetricPointSchema = z.object({
  key: MetricKey,
  step: z.number().int('must be an integer').min(0).max(2 ** 31 - 1),
  value: finite('the value'),
  /** Client wall-clock time in ms since the epoch. */
  time: z.number().min(0).optional(),
});
export type MetricPointInput = z.output<typeof MetricPointSchema>;

export const IngestSchema = z.object({
  points: z.array(MetricPointSchema).min(1, 'must hold at least one point'),
});

/** 413 before validating a batch that is over the limit (its size is the problem, not its content). */
export function checkBatchSize(body: unknown): void {
  const points = (body as { points?: unknown })?.points;
  if (Array.isArray(points) && points.length > MAX_INGEST_POINTS) {
    throw tooLarge(`points: ${points.length} points in one batch; the limit is ${MAX_INGEST_POINTS}, split the batch`, 'points');
  }
}

export interface IngestResult {
  received: number;
  inserted: number;
  /** Points already stored for their (key, step): retries and repeats, ignored. */
  duplicates: number;
}

/**
 * A float as an SQL expression that stores it bit for bit. Prisma 6.19 binds JS numbers with 16
 * significant digits, which changes the last bit of about one value in five, so floats never travel
 * as numbers: PostgreSQL gets the shortest round-trip decimal text (its parser rounds correctly);
 * SQLite, whose decimal parser is inexact beyond about 1e±80, gets integer mantissa × 2^exponent,
 * both exact integers, multiplied exactly in SQL.
 */
function exactDouble({ sql, target }: Database, v: number) {
  if (target.provider === 'postgresql') return sql.sql`CAST(${String(v)} AS DOUBLE PRECISION)`;
  const view = new DataView(new ArrayBuffer(8));
  view.setFloat64(0, v);
  const hi = view.getUint32(0);
  const lo = view.getUint32(4);
  const expBits = (hi >>> 20) & 0x7ff;
  const frac = (hi & 0xfffff) * 2 ** 32 + lo;
  const sign = hi >>> 31 ? -1 : 1;
  const [mantissa, exponent] = expBits === 0 ? [frac, -1074] : [frac + 2 ** 52, expBits - 1075];
  return sql.sql`(CAST(${sign * mantissa} AS REAL) * pow(2.0, ${exponent}))`;
}

export async function ingestMetrics(ownerId: string, runId: string, points: MetricPointInput[]): Promise<IngestResult> {
  await assertRunOwner(ownerId, runId);
  const database = await getDatabase();
  const { db, sql } = database;
  // Repeats inside one batch collapse to their first occurrence, like repeats across batches.
  const seen = new Set<string>();
  const unique: MetricPointInput[] = [];
  for (const p of points) {
    const k = `${p.key}\u0000${p.step}`;
    if (!seen.has(k)) {
      seen.add(k);
      unique.push(p);
    }
  }
  const statements = [];
  for (let i = 0; i < unique.length; i += INSERT_CHUNK) {
    const rows = unique.slice(i, i + INSERT_CHUNK).map((p) => sql.sql`(${runId}, ${p.key}, ${p.step}, ${exactDouble(database, p.value)}, ${p.time === undefined ? null : exactDouble(database, p.time)})`);
    statements.push(
      db.$executeRaw`INSERT INTO "MetricPoint" ("runId", "key", "step", "value", "time") VALUES ${sql.join(rows)} ON CONFLICT ("runId", "key", "step") DO NOTHING`,
    );
  }
  let inserted: number;
  try {
    // One statement is atomic by itself; bigger batches share one transaction.
    inserted = statements.length === 1 ? await statements[0] : (await db.$transaction(statements)).reduce((a, b) => a + b, 0);
  } catch (err) {
    // The run was deleted (by another process) after its owner was cached: the foreign key refuses the points.
    if (/foreign key|FOREIGN KEY|23503/.test(String((err as Error).message))) {
      forgetRun(runId);
      throw notFound('run');
    }
    throw err;
  }
  return { received: points.length, inserted, duplicates: points.length - inserted };
}

export async function metricKeys(runId: string): Promise<string[]> {
  const db = await getDb();
  const rows = await db.metricPoint.findMany({ where: { runId }, distinct: ['key'], select: { key: true }, orderBy: { key: 'asc' } });
  return rows.map((r) => r.key);
}

export const ReadPointsSchema = z.object({
  key: MetricKey,
  /** Points with step > after (paging). */
  after: z.coerce.number().int().min(-1).default(-1),
  limit: z.coerce.number().int().min(1).max(10_000).default(1_000),
});

/** Raw points of one series in step order, paged by step. */
export async function readPoints(runId: string, key: string, after: number, limit: number) {
  const db = await getDb();
  const rows = await db.metricPoint.findMany({
    where: { runId, key, step: { gt: after } },
    orderBy: { step: 'asc' },
    take: limit,
    select: { step: true, value: true },
  });
  return { key, steps: rows.map((r) => r.step), values: rows.map((r) => r.value), next: rows.length === limit ? rows[rows.length - 1].step : null };
}

export const SeriesQuerySchema = z.object({
  /** Comma-separated keys; all keys when absent. */
  keys: z
    .string()
    .optional()
    .transform((s, ctx) => {
      if (s === undefined || s.trim() === '') return undefined;
      const keys = [...new Set(s.split(',').map((k) => k.trim()).filter(Boolean))];
      for (const k of keys) {
        const r = MetricKey.safeParse(k);
        if (!r.success) {
          ctx.addIssue({ code: 'custom', message: `"${k}" ${r.error.issues[0].message}` });
          return z.NEVER;
        }
      }
      if (keys.length > 50) {
        ctx.addIssue({ code: 'custom', message: 'at most 50 keys per request' });
        return z.NEVER;
      }
      return keys;
    }),
  points: z.coerce.number().int().min(2).max(MAX_SERIES_POINTS).default(DEFAULT_SERIES_POINTS),
});

/**
 * A series as the charts draw it: x = step (the bucket's last step), y = bucket mean, and a min/max
 * band. `downsampled` is false when every stored point is returned (then min = max = value).
 */
export interface Series {
  key: string;
  count: number;
  firstStep: number | null;
  lastStep: number | null;
  last: number | null;
  downsampled: boolean;
  steps: number[];
  values: number[];
  min: number[];
  max: number[];
}

const num = (v: unknown): number => (typeof v === 'bigint' ? Number(v) : typeof v === 'string' ? Number(v) : (v as number));

export async function readSeries(runId: string, key: string, maxPoints: number): Promise<Series> {
  const db = await getDb();
  const [range] = await db.$queryRaw<{ n: unknown; lo: unknown; hi: unknown }[]>`
    SELECT COUNT(*) AS n, MIN("step") AS lo, MAX("step") AS hi FROM "MetricPoint" WHERE "runId" = ${runId} AND "key" = ${key}`;
  const count = num(range?.n ?? 0);
  const empty: Series = { key, count: 0, firstStep: null, lastStep: null, last: null, downsampled: false, steps: [], values: [], min: [], max: [] };
  if (!count) return empty;
  const lo = num(range.lo);
  const hi = num(range.hi);
  const lastRow = await db.metricPoint.findUnique({ where: { runId_key_step: { runId, key, step: hi } }, select: { value: true } });
  const base = { key, count, firstStep: lo, lastStep: hi, last: lastRow?.value ?? null };
  if (count <= maxPoints) {
    const rows = await db.metricPoint.findMany({ where: { runId, key }, orderBy: { step: 'asc' }, select: { step: true, value: true } });
    const values = rows.map((r) => r.value);
    return { ...base, downsampled: false, steps: rows.map((r) => r.step), values, min: values, max: values };
  }
  const span = hi - lo + 1;
  // Integer bucket index in 0..maxPoints-1; BIGINT so step × buckets cannot overflow a 32-bit int.
  const rows = await db.$queryRaw<{ b: unknown; s: unknown; mean: unknown; lo: unknown; hi: unknown }[]>`
    SELECT CAST((CAST("step" AS BIGINT) - ${lo}) * ${maxPoints} / ${span} AS BIGINT) AS b,
           MAX("step") AS s,
           CAST(AVG("value") AS DOUBLE PRECISION) AS mean,
           MIN("value") AS lo,
           MAX("value") AS hi
    FROM "MetricPoint"
    WHERE "runId" = ${runId} AND "key" = ${key}
    GROUP BY b
    ORDER BY b`;
  return {
    ...base,
    downsampled: true,
    steps: rows.map((r) => num(r.s)),
    values: rows.map((r) => num(r.mean)),
    min: rows.map((r) => num(r.lo)),
    max: rows.map((r) => num(r.hi)),
  };
}

/** Downsampled series for several keys (all of the run's keys when `keys` is undefined). */
export async function readRunSeries(runId: string, keys: string[] | undefined, maxPoints: number): Promise<Series[]> {
  const wanted = keys ?? (await metricKeys(runId));
  if (wanted.length > 50) throw badRequest('keys', `this run has ${wanted.length} metric keys; ask for at most 50 with ?keys=`);
  return Promise.all(wanted.map((k) => readSeries(runId, k, maxPoints)));
}
