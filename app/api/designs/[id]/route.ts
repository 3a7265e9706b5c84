import { z } from 'zod';
import { route, readJson, parse, json, noContent, queryOf, type Ctx } from '@/server/http';
import { requireOwner, viewer } from '@/server/owner';
import { SaveDesignSchema, saveDesignVersion, getDesign, deleteDesign } from '@/server/designs';

const VersionQuery = z.object({ version: z.coerce.number().int().min(1).optional() });

/** A design with its latest version (or ?version=N) and the list of versions. Owner only. */
export const GET = route(async (req, ctx: Ctx<'id'>) => {
  const { id } = await ctx.params;
  const { version } = parse(VersionQuery, queryOf(req), 'query');
  return json(await getDesign(await viewer(req), id, version));
});

/** Save: appends a new version (and optionally renames). Owner only. */
export const PUT = route(async (req, ctx: Ctx<'id'>) => {
  const { id } = await ctx.params;
  const input = parse(SaveDesignSchema, await readJson(req));
  const owner = await requireOwner(req);
  return json(await saveDesignVersion(owner.id, id, input), { owner });
});

export const DELETE = route(async (req, ctx: Ctx<'id'>) => {
  const { id } = await ctx.params;
  const owner = await requireOwner(req);
  await deleteDesign(owner.id, id);
  return noContent(owner);
});
