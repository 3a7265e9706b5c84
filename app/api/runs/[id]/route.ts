import { route, readJson, parse, json, noContent, type Ctx } from '@/server/http';
import { requireOwner, viewer } from '@/server/owner';
import { UpdateRunSchema, getRun, updateRun, deleteRun, withoutOwner } from '@/server/runs';
import { metricKeys } from '@/server/metrics';
import { listCheckpoints } from '@/server/checkpoints';

/** The run with its design snapshot, config, metric keys and checkpoints. Owner only (others use a share link). */
export const GET = route(async (req, ctx: Ctx<'id'>) => {
  const { id } = await ctx.params;
  const run = withoutOwner(await getRun(await viewer(req), id));
  const [keys, checkpoints] = await Promise.all([metricKeys(id), listCheckpoints(id)]);
  return json({ ...run, metricKeys: keys, checkpoints });
});

/** Status transitions, final metrics (summary), adapter, error, name. */
export const PATCH = route(async (req, ctx: Ctx<'id'>) => {
  const { id } = await ctx.params;
  const input = parse(UpdateRunSchema, await readJson(req));
  const owner = await requireOwner(req);
  return json(withoutOwner(await updateRun(owner.id, id, input)), { owner });
});

export const DELETE = route(async (req, ctx: Ctx<'id'>) => {
  const { id } = await ctx.params;
  const owner = await requireOwner(req);
  await deleteRun(owner.id, id);
  return noContent(owner);
});
