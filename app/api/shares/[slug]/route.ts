import { route, json, noContent, type Ctx } from '@/server/http';
import { requireOwner } from '@/server/owner';
import { getSharedExperiment, revokeShare } from '@/server/shares';

/** The shared experiment: run (config, status, summary, adapter), design snapshot, metric keys, checkpoints. Public. */
export const GET = route(async (_req, ctx: Ctx<'slug'>) => {
  const { slug } = await ctx.params;
  return json(await getSharedExperiment(slug));
});

/** Revoke the link (owner only); the slug then answers 404. */
export const DELETE = route(async (req, ctx: Ctx<'slug'>) => {
  const { slug } = await ctx.params;
  const owner = await requireOwner(req);
  await revokeShare(owner.id, slug);
  return noContent(owner);
});
