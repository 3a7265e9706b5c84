/**
 * Metric points: batched, idempotent ingest and fast reads.
 *
 * Ingest is INSERT … ON CONFLICT (runId, key, step) DO NOTHING in one transaction per batch: a retried batch
 * (the client did not see the response) changes nothing, and the first value for a step wins.
 * Reads use the primary key (runId, key, step) as their index. Downsampling happens in SQL: the step
 * range is cut into at most N equal buckets and each bucket returns its last step, mean, min and max,
 * so a 100k-step run costs one indexed scan and N rows over the wire.
 */
import { z } from 'zod';
import type { Pool } from 'pg';
import { getDatabase, getDb, type SqliteHandle } from './db';
import { tooLarge, badRequest, notFound } from './errors';
import { assertRunOwner, forgetRun } from './runs';

/** Most points one ingest request may carry (413 beyond): MIRAS_MAX_INGEST_POINTS, default 10 000. */
export const MAX_INGEST_POINTS = Number(process.env.MIRAS_MAX_INGEST_POINTS ?? 10_000);
/** Most points per series a downsampled read returns. */
export const MAX_SERIES_POINTS = 5_000;
export const DEFAULT_SERIES_POINTS = 500;

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
 * Points go in through the driver below Prisma (server/db.ts `driver`), with one statement prepared once:
 * Prisma's per-query compile and re-prepare cost more CPU than the write itself, and Prisma 6.19 binds JS
 * numbers with 16 significant digits, which changes the last bit of about one value in five. The drivers
 * keep doubles exact: better-sqlite3 binds a JS number as an IEEE double (sqlite3_bind_double), and pg
 * sends Number#toString, the shortest text that round-trips, which PostgreSQL's float8 input parses
 * correctly rounded (subnormals included).
 */
const sqliteStatements = new WeakMap<SqliteHandle, (runId: string, points: MetricPointInput[]) => number>();

function sqliteInsert(handle: SqliteHandle): (runId: string, points: MetricPointInput[]) => number {
  let insert = sqliteStatements.get(handle);
  if (!insert) {
    const stmt = handle.prepare(`INSERT INTO "MetricPoint" ("runId", "key", "step", "value", "time") VALUES (?, ?, ?, ?, ?) ON CONFLICT ("runId", "key", "step") DO NOTHING`);
    // One transaction per batch (BEGIN IMMEDIATE: the write lock is taken up front or SQLITE_BUSY at once).
    const tx = handle.transaction((runId: string, points: MetricPointInput[]) => {
      let inserted = 0;
      for (const p of points) inserted += stmt.run(runId, p.key, p.step, p.value, p.time ?? null).changes;
      return inserted;
    });
    insert = (runId, points) => tx.immediate(runId, points);
    sqliteStatements.set(handle, insert);
  }
  return insert;
}

/** How long an ingest waits for another writer (a Prisma transaction, another process) before failing. */
const SQLITE_LOCK_WAIT_MS = 15_000;

/**
 * Run a synchronous SQLite write, retrying SQLITE_BUSY after short asynchronous sleeps (the direct
 * connection has busy timeout 0: a synchronous wait would block the event loop that a Prisma transaction
 * holding the lock needs in order to finish).
 */
async function withSqliteLock<T>(write: () => T): Promise<T> {
  const deadline = performance.now() + SQLITE_LOCK_WAIT_MS;
  for (let wait = 1; ; wait = Math.min(wait * 2, 50)) {
    try {
      return write();
    } catch (err) {
      if (!String((err as { code?: unknown }).code).startsWith('SQLITE_BUSY') || performance.now() > deadline) throw err;
    }
    await new Promise((res) => setTimeout(res, wait));
  }
}

/** PostgreSQL: the whole batch as five arrays in one prepared statement (one round trip, atomic). */
const PG_INSERT = {
  name: 'miras-ingest-metric-points',
  text: `INSERT INTO "MetricPoint" ("runId", "key", "step", "value", "time")
         SELECT $1, k, s, v, t FROM unnest($2::text[], $3::int[], $4::float8[], $5::float8[]) AS p(k, s, v, t)
         ON CONFLICT ("runId", "key", "step") DO NOTHING`,
};

async function pgInsert(pool: Pool, runId: string, points: MetricPointInput[]): Promise<number> {
  const n = points.length;
  const keys = new Array<string>(n);
  const steps = new Array<number>(n);
  const values = new Array<number>(n);
  const times = new Array<number | null>(n);
  for (let i = 0; i < n; i++) {
    const p = points[i];
    keys[i] = p.key;
    steps[i] = p.step;
    values[i] = p.value;
    times[i] = p.time ?? null;
  }
  const result = await pool.query({ ...PG_INSERT, values: [runId, keys, steps, values, times] });
  return result.rowCount ?? 0;
}

export async function ingestMetrics(ownerId: string, runId: string, points: MetricPointInput[]): Promise<IngestResult> {
  await assertRunOwner(ownerId, runId);
  const { driver } = await getDatabase();
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
  let inserted: number;
  try {
    if (driver.provider === 'sqlite') {
      const insert = sqliteInsert(driver.handle);
      inserted = await withSqliteLock(() => insert(runId, unique));
    } else {
      inserted = await pgInsert(driver.pool, runId, unique);
    }
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
