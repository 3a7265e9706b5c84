/**
 * Share links: /e/<slug> shows a run (an experiment) or a design version to anyone holding the link,
 * read-only; forking copies it into a new design owned by whoever forks. Slugs carry 144 random bits.
 * Sharing the same run twice returns the existing link; revoking makes the slug 404.
 */
import { z } from 'zod';
import { getDb } from './db';
import { newSlug, SLUG_PATTERN, ID_PATTERN } from './ids';
import { badRequest, notFound } from './errors';
import { assertOwner } from './owner';
import { createDesign } from './designs';
import { runSelect, withoutOwner } from './runs';
import { listCheckpoints, readCheckpoint } from './checkpoints';
import { runDatasetMeta } from './datasets';
import { metricKeys } from './metrics';

export const CreateShareSchema = z
  .object({
    runId: z.string().min(1).max(64).optional(),
    designId: z.string().min(1).max(64).optional(),
    version: z.number().int().min(1).optional(),
    title: z.string().trim().min(1).max(200).optional(),
  })
  .refine((v) => (v.runId === undefined) !== (v.designId === undefined), { message: 'send exactly one of runId or designId', path: ['runId'] });
export type CreateShareInput = z.output<typeof CreateShareSchema>;

export const sharePath = (slug: string) => `/e/${slug}`;

export async function createShare(ownerId: string, input: CreateShareInput) {
  const db = await getDb();
  let target: { runId: string } | { designVersionId: string };
  if (input.runId !== undefined) {
    const run = await db.run.findUnique({ where: { id: input.runId }, select: { ownerId: true } });
    if (!run) throw notFound('run');
    assertOwner(ownerId, run.ownerId, 'run');
    target = { runId: input.runId };
  } else {
    const design = await db.design.findUnique({ where: { id: input.designId! }, select: { ownerId: true, latestVersion: true } });
    if (!design) throw notFound('design');
    assertOwner(ownerId, design.ownerId, 'design');
    const v = await db.designVersion.findUnique({
      where: { designId_version: { designId: input.designId!, version: input.version ?? design.latestVersion } },
      select: { id: true },
    });
    if (!v) throw badRequest('version', `design has no version ${input.version}`);
    target = { designVersionId: v.id };
  }
  const existing = await db.share.findFirst({ where: { ...target, ownerId, revokedAt: null }, select: { slug: true, createdAt: true } });
  if (existing) return { slug: existing.slug, path: sharePath(existing.slug), created: false };
  const slug = newSlug();
  await db.share.create({ data: { id: slug, slug, ownerId, title: input.title ?? null, ...target } });
  return { slug, path: sharePath(slug), created: true };
}

/** An active share by slug, or 404 (also for malformed or revoked slugs). */
async function activeShare(slug: string) {
  if (!SLUG_PATTERN.test(slug)) throw notFound('share link');
  const db = await getDb();
  const share = await db.share.findUnique({
    where: { slug },
    select: { slug: true, title: true, runId: true, designVersionId: true, ownerId: true, createdAt: true, revokedAt: true },
  });
  if (!share || share.revokedAt) throw notFound('share link');
  return share;
}

/** Everything the public experiment page shows. Never includes the owner id. */
export async function getSharedExperiment(slug: string) {
  const share = await activeShare(slug);
  const db = await getDb();
  if (share.runId) {
    const found = await db.run.findUnique({ where: { id: share.runId }, select: runSelect });
    if (!found) throw notFound('share link');
    const run = withoutOwner(found);
    const [keys, checkpoints, dataset] = await Promise.all([metricKeys(run.id), listCheckpoints(run.id), runDatasetMeta(run.id)]);
    const snapshot = run.designSnapshot as { spec?: unknown; graph?: unknown };
    return {
      kind: 'run' as const,
      slug,
      title: share.title ?? run.name,
      createdAt: share.createdAt,
      run,
      design: { spec: snapshot.spec ?? null, graph: snapshot.graph ?? null, config: run.config },
      metricKeys: keys,
      checkpoints,
      dataset,
    };
  }
  const v = await db.designVersion.findUnique({
    where: { id: share.designVersionId! },
    select: { version: true, spec: true, graph: true, config: true, createdAt: true, design: { select: { name: true, description: true } } },
  });
  if (!v) throw notFound('share link');
  return {
    kind: 'design' as const,
    slug,
    title: share.title ?? v.design.name,
    createdAt: share.createdAt,
    run: null,
    design: { spec: v.spec, graph: v.graph, config: v.config, name: v.design.name, description: v.design.description, version: v.version },
    metricKeys: [] as string[],
    checkpoints: [] as Awaited<ReturnType<typeof listCheckpoints>>,
    dataset: null,
  };
}
export type SharedExperiment = Awaited<ReturnType<typeof getSharedExperiment>>;

/** The run behind a share, for public reads of its series and checkpoints. */
export async function sharedRunId(slug: string): Promise<string> {
  const share = await activeShare(slug);
  if (!share.runId) throw notFound('run (this link shares a design, not a run)');
  return share.runId;
}

export async function sharedCheckpoint(slug: string, step: number | 'latest') {
  return readCheckpoint(await sharedRunId(slug), step);
}

export async function revokeShare(ownerId: string, slug: string) {
  const share = await activeShare(slug);
  assertOwner(ownerId, share.ownerId, 'share link');
  const db = await getDb();
  await db.share.update({ where: { slug }, data: { revokedAt: new Date() } });
}

/** Copy a shared run's design (or a shared design) into a new design owned by `ownerId`. */
export async function forkShare(ownerId: string, slug: string) {
  const exp = await getSharedExperiment(slug);
  const db = await getDb();
  let forkedFromId: string | undefined;
  let config: Record<string, unknown> | undefined;
  if (exp.kind === 'run') {
    forkedFromId = exp.run.designVersionId ?? undefined;
    config = { ...(exp.run.config as Record<string, unknown>), task: exp.run.task, seed: exp.run.seed };
  } else {
    const share = await db.share.findUnique({ where: { slug }, select: { designVersionId: true } });
    forkedFromId = share?.designVersionId ?? undefined;
    config = (exp.design.config as Record<string, unknown> | null) ?? undefined;
  }
  const { design, version } = await createDesign(
    ownerId,
    {
      name: `Copy of ${exp.title}`.slice(0, 200),
      description: `Forked from ${sharePath(slug)}`,
      graph: exp.design.graph ?? undefined,
      spec: (exp.design.spec ?? undefined) as never,
      config,
    },
    forkedFromId,
  );
  return { design, version, editorPath: editorPath(design.id) };
}

/** Where the editor opens a saved design (helper E's page reads ?design=<id>). */
export const editorPath = (designId: string) => `/?design=${encodeURIComponent(designId)}`;

export const isId = (s: string) => ID_PATTERN.test(s);
