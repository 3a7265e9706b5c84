/**
 * Training runs: a frozen copy of the design (spec + graph), the configuration, the seed, the status
 * (with its allowed transitions), the adapter it ran on and its final metrics.
 */
import { z } from 'zod';
import { ModelSpecSchema } from '../engine/spec';
import { getDb, type Prisma } from './db';
import { newId } from './ids';
import { badRequest, conflict, notFound } from './errors';
import { assertOwner } from './owner';
import { JsonObject, checkContent } from './designs';

export const RUN_STATUSES = ['created', 'running', 'completed', 'failed', 'stopped'] as const;
export type RunStatus = (typeof RUN_STATUSES)[number];
export const TERMINAL: ReadonlySet<RunStatus> = new Set(['completed', 'failed', 'stopped']);

/** Allowed status changes; a terminal run is frozen. Setting the current status again is a no-op. */
const NEXT: Record<RunStatus, readonly RunStatus[]> = {
  created: ['running', 'completed', 'failed', 'stopped'],
  running: ['completed', 'failed', 'stopped'],
  completed: [],
  failed: [],
  stopped: [],
};

const finiteNumber = z.number({ error: (i) => (i.input === null ? 'must be a finite number (NaN and ±Infinity arrive as null in JSON and are rejected)' : 'must be a finite number') });
/** Final metrics: { name: finite number }. */
export const SummarySchema = z.record(z.string().min(1).max(100), finiteNumber).refine((v) => Object.keys(v).length <= 200, 'has more than 200 entries');

const name = z.string().trim().min(1, 'must not be empty').max(200);
const label = z.string().trim().min(1, 'must not be empty').max(100);

export const CreateRunSchema = z.object({
  name: name.optional(),
  /** Train a saved design: its latest version, or `version`. */
  designId: z.string().min(1).max(64).optional(),
  version: z.number().int().min(1).optional(),
  /** Or send the design itself: the spec (required to train) and optionally the editor graph. */
  design: z.object({ spec: ModelSpecSchema, graph: z.unknown().optional() }).optional(),
  preset: label.nullable().optional(),
  task: label,
  config: JsonObject.default({}),
  seed: z.number().int().min(0).max(2 ** 31 - 1),
  status: z.enum(['created', 'running']).default('created'),
  adapter: JsonObject.nullable().optional(),
});
export type CreateRunInput = z.output<typeof CreateRunSchema>;

export const UpdateRunSchema = z
  .object({
    name: name.optional(),
    status: z.enum(RUN_STATUSES).optional(),
    summary: SummarySchema.optional(),
    adapter: JsonObject.optional(),
    error: z.string().max(10_000).optional(),
  })
  .refine((v) => Object.keys(v).length > 0, 'send at least one of name, status, summary, adapter, error');
export type UpdateRunInput = z.output<typeof UpdateRunSchema>;

export const ListRunsSchema = z.object({
  status: z.enum(RUN_STATUSES).optional(),
  task: label.optional(),
  preset: label.optional(),
  designId: z.string().min(1).max(64).optional(),
  limit: z.coerce.number().int().min(1).max(200).default(50),
  cursor: z.string().min(1).max(64).optional(),
});
export type ListRunsInput = z.output<typeof ListRunsSchema>;

/** What lists show (no design snapshot). */
export const runListSelect = {
  id: true,
  name: true,
  status: true,
  task: true,
  preset: true,
  designId: true,
  designVersionId: true,
  seed: true,
  summary: true,
  error: true,
  createdAt: true,
  updatedAt: true,
  startedAt: true,
  finishedAt: true,
} as const;

export const runSelect = {
  ...runListSelect,
  ownerId: true,
  designSnapshot: true,
  config: true,
  adapter: true,
  forkedFromRunId: true,
} as const;

export async function createRun(ownerId: string, input: CreateRunInput) {
  const db = await getDb();
  let snapshot: { spec: unknown; graph?: unknown };
  let designVersionId: string | null = null;
  let designId: string | null = null;
  if (input.designId !== undefined) {
    if (input.design !== undefined) throw badRequest('design', 'send either designId or design, not both');
    const design = await db.design.findUnique({ where: { id: input.designId }, select: { ownerId: true, latestVersion: true } });
    if (!design) throw badRequest('designId', 'no such design');
    assertOwner(ownerId, design.ownerId, 'design');
    const v = await db.designVersion.findUnique({
      where: { designId_version: { designId: input.designId, version: input.version ?? design.latestVersion } },
      select: { id: true, spec: true, graph: true, version: true },
    });
    if (!v) throw badRequest('version', `design has no version ${input.version}`);
    if (v.spec === null) throw badRequest('designId', `version ${v.version} of this design has no spec (its graph does not lower to a model yet)`);
    snapshot = { spec: v.spec, ...(v.graph !== null ? { graph: v.graph } : {}) };
    designVersionId = v.id;
    designId = input.designId;
  } else if (input.design !== undefined) {
    const { spec, graph: rawGraph } = input.design;
    const { graph } = checkContent({ graph: rawGraph, spec });
    snapshot = { spec, ...(graph !== undefined ? { graph } : {}) };
  } else {
    throw badRequest('design', 'a run needs designId (a saved design) or design ({ spec, graph? })');
  }
  const now = new Date();
  return db.run.create({
    data: {
      id: newId(),
      ownerId,
      name: input.name ?? `${input.preset ?? 'custom design'} on ${input.task}`,
      designVersionId,
      designId,
      preset: input.preset ?? null,
      task: input.task,
      designSnapshot: snapshot as Prisma.InputJsonValue,
      config: input.config as Prisma.InputJsonValue,
      seed: input.seed,
      status: input.status,
      adapter: (input.adapter ?? undefined) as Prisma.InputJsonValue | undefined,
      startedAt: input.status === 'running' ? now : null,
    },
    select: runSelect,
  });
}

/** A run without its owner id (owner ids never leave the server). */
export function withoutOwner<T extends { ownerId: string }>(run: T): Omit<T, 'ownerId'> {
  const copy: Partial<T> = { ...run };
  delete copy.ownerId;
  return copy as Omit<T, 'ownerId'>;
}

/** Load a run and check that `ownerId` owns it (for changes) — 404 before 403. */
export async function ownedRun(ownerId: string | null, runId: string) {
  const db = await getDb();
  const run = await db.run.findUnique({ where: { id: runId }, select: { id: true, ownerId: true, status: true } });
  if (!run) throw notFound('run');
  assertOwner(ownerId, run.ownerId, 'run');
  return run;
}

export async function getRun(viewerId: string | null, runId: string) {
  const db = await getDb();
  const run = await db.run.findUnique({ where: { id: runId }, select: runSelect });
  if (!run) throw notFound('run');
  assertOwner(viewerId, run.ownerId, 'run');
  return run;
}

export async function updateRun(ownerId: string, runId: string, input: UpdateRunInput) {
  const run = await ownedRun(ownerId, runId);
  const from = run.status as RunStatus;
  const data: Prisma.RunUpdateInput = {};
  if (input.status !== undefined && input.status !== from) {
    if (!NEXT[from].includes(input.status)) {
      throw conflict(`status: a ${from} run cannot become ${input.status}${TERMINAL.has(from) ? ' (it has finished)' : ''}`, 'status');
    }
    data.status = input.status;
    if (input.status === 'running') data.startedAt = new Date();
    if (TERMINAL.has(input.status)) data.finishedAt = new Date();
  }
  if (input.name !== undefined) data.name = input.name;
  if (input.summary !== undefined) data.summary = input.summary;
  if (input.adapter !== undefined) data.adapter = input.adapter as Prisma.InputJsonValue;
  if (input.error !== undefined) data.error = input.error;
  const db = await getDb();
  return db.run.update({ where: { id: runId }, data, select: runSelect });
}

export async function deleteRun(ownerId: string, runId: string) {
  await ownedRun(ownerId, runId);
  const db = await getDb();
  await db.run.delete({ where: { id: runId } });
  runOwners.delete(runId);
}

/**
 * Run → owner, remembered: a run's owner never changes, and metric ingest (many small requests per
 * second per run) should not re-read it each time. A run deleted elsewhere is caught by the foreign key.
 */
const runOwners = new Map<string, string>();
const RUN_OWNER_CACHE = 10_000;

export async function assertRunOwner(ownerId: string, runId: string): Promise<void> {
  let owner = runOwners.get(runId);
  if (owner === undefined) {
    owner = (await ownedRun(ownerId, runId)).ownerId;
    if (runOwners.size >= RUN_OWNER_CACHE) runOwners.clear();
    runOwners.set(runId, owner);
  }
  assertOwner(ownerId, owner, 'run');
}

export function forgetRun(runId: string): void {
  runOwners.delete(runId);
}

/** The caller's runs, newest first, filtered; `nextCursor` continues the list. */
export async function listRuns(ownerId: string | null, q: ListRunsInput) {
  if (!ownerId) return { runs: [], nextCursor: null };
  const db = await getDb();
  const where: Prisma.RunWhereInput = { ownerId };
  if (q.status) where.status = q.status;
  if (q.task) where.task = q.task;
  if (q.preset) where.preset = q.preset;
  if (q.designId) where.designId = q.designId;
  const rows = await db.run.findMany({
    where,
    orderBy: [{ createdAt: 'desc' }, { id: 'desc' }],
    take: q.limit + 1,
    ...(q.cursor ? { cursor: { id: q.cursor }, skip: 0 } : {}),
    select: runListSelect,
  });
  const more = rows.length > q.limit;
  const runs = more ? rows.slice(0, q.limit) : rows;
  return { runs, nextCursor: more ? rows[q.limit].id : null };
}

/** Distinct filter values for the runs page (tasks, presets) among the caller's runs. */
export async function runFacets(ownerId: string | null) {
  if (!ownerId) return { tasks: [], presets: [] };
  const db = await getDb();
  const [tasks, presets] = await Promise.all([
    db.run.findMany({ where: { ownerId }, distinct: ['task'], select: { task: true }, orderBy: { task: 'asc' } }),
    db.run.findMany({ where: { ownerId, preset: { not: null } }, distinct: ['preset'], select: { preset: true }, orderBy: { preset: 'asc' } }),
  ]);
  return { tasks: tasks.map((t) => t.task), presets: presets.map((p) => p.preset as string) };
}
