/**
 * Designs and their immutable versions. A version holds the editor's design document (graph), the
 * ModelSpec it lowers to (when it does) and the training configuration last used with it.
 */
import { z } from 'zod';
import { ModelSpecSchema } from '../engine/spec';
import { parseDesign, DesignFileError } from '../engine/design/document';
import { getDb, type Prisma } from './db';
import { newId } from './ids';
import { badRequest, notFound } from './errors';
import { assertOwner } from './owner';

/** Free-form JSON object (training configuration), bounded in size. */
export const JsonObject = z
  .record(z.string(), z.unknown())
  .refine((v) => JSON.stringify(v).length <= 64 * 1024, 'is larger than 64 KiB of JSON');

export const DesignContentSchema = z.object({
  /** The editor's design document (engine/design/document.ts). */
  graph: z.unknown().optional(),
  /** The ModelSpec the graph lowers to (engine/spec.ts). */
  spec: ModelSpecSchema.optional(),
  config: JsonObject.optional(),
});

export const CreateDesignSchema = DesignContentSchema.extend({
  name: z.string().trim().min(1, 'must not be empty').max(200),
  description: z.string().max(4000).default(''),
});
export type CreateDesignInput = z.output<typeof CreateDesignSchema>;

/** Saving makes a new version; name/description may change with it. */
export const SaveDesignSchema = DesignContentSchema.extend({
  name: z.string().trim().min(1, 'must not be empty').max(200).optional(),
  description: z.string().max(4000).optional(),
});
export type SaveDesignInput = z.output<typeof SaveDesignSchema>;

export interface DesignContent {
  graph?: unknown;
  spec?: unknown;
  config?: Record<string, unknown>;
}

/** Validates the graph with the editor's own reader; at least one of graph/spec must be present. */
export function checkContent(input: DesignContent): { graph?: Prisma.InputJsonValue; spec?: Prisma.InputJsonValue; config?: Prisma.InputJsonValue } {
  if (input.graph === undefined && input.spec === undefined) throw badRequest('graph', 'a design needs a graph or a spec (neither was sent)');
  let graph: Prisma.InputJsonValue | undefined;
  if (input.graph !== undefined) {
    try {
      graph = parseDesign(input.graph) as unknown as Prisma.InputJsonValue;
    } catch (err) {
      if (err instanceof DesignFileError) throw badRequest('graph', err.message);
      throw err;
    }
  }
  return {
    graph,
    spec: input.spec as Prisma.InputJsonValue | undefined,
    config: input.config as Prisma.InputJsonValue | undefined,
  };
}

const versionSelect = { id: true, version: true, graph: true, spec: true, config: true, createdAt: true } as const;
const designSelect = {
  id: true,
  ownerId: true,
  name: true,
  description: true,
  latestVersion: true,
  forkedFromId: true,
  createdAt: true,
  updatedAt: true,
} as const;

export type DesignView = Awaited<ReturnType<typeof getDesign>>;

export async function createDesign(ownerId: string, input: CreateDesignInput, forkedFromId?: string) {
  const content = checkContent(input);
  const db = await getDb();
  const id = newId();
  const design = await db.design.create({
    data: {
      id,
      ownerId,
      name: input.name,
      description: input.description,
      forkedFromId: forkedFromId ?? null,
      latestVersion: 1,
      versions: { create: { id: newId(), version: 1, ...content } },
    },
    select: { ...designSelect, versions: { select: versionSelect } },
  });
  const { versions, ...rest } = design;
  return { design: rest, version: versions[0] };
}

export async function saveDesignVersion(ownerId: string, designId: string, input: SaveDesignInput) {
  const content = checkContent(input);
  const db = await getDb();
  return db.$transaction(async (tx) => {
    const current = await tx.design.findUnique({ where: { id: designId }, select: { ownerId: true } });
    if (!current) throw notFound('design');
    assertOwner(ownerId, current.ownerId, 'design');
    const design = await tx.design.update({
      where: { id: designId },
      data: {
        latestVersion: { increment: 1 },
        ...(input.name !== undefined ? { name: input.name } : {}),
        ...(input.description !== undefined ? { description: input.description } : {}),
      },
      select: designSelect,
    });
    const version = await tx.designVersion.create({
      data: { id: newId(), designId, version: design.latestVersion, ...content },
      select: versionSelect,
    });
    return { design, version };
  });
}

/** A design with one version (latest by default). Only its owner may read it through the API. */
export async function getDesign(viewerId: string | null, designId: string, versionNumber?: number) {
  const db = await getDb();
  const design = await db.design.findUnique({ where: { id: designId }, select: designSelect });
  if (!design) throw notFound('design');
  assertOwner(viewerId, design.ownerId, 'design');
  const version = await db.designVersion.findUnique({
    where: { designId_version: { designId, version: versionNumber ?? design.latestVersion } },
    select: versionSelect,
  });
  if (!version) throw notFound(`version ${versionNumber} of design`);
  const versions = await db.designVersion.findMany({
    where: { designId },
    orderBy: { version: 'asc' },
    select: { version: true, createdAt: true },
  });
  return { design, version, versions };
}

export async function listDesigns(ownerId: string | null, limit = 100) {
  if (!ownerId) return [];
  const db = await getDb();
  return db.design.findMany({ where: { ownerId }, orderBy: { updatedAt: 'desc' }, take: limit, select: designSelect });
}

export async function deleteDesign(ownerId: string, designId: string) {
  const db = await getDb();
  const design = await db.design.findUnique({ where: { id: designId }, select: { ownerId: true } });
  if (!design) throw notFound('design');
  assertOwner(ownerId, design.ownerId, 'design');
  await db.design.delete({ where: { id: designId } });
}
