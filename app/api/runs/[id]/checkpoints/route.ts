import { route, json, type Ctx } from '@/server/http';
import { viewer } from '@/server/owner';
import { getRun } from '@/server/runs';
import { listCheckpoints } from '@/server/checkpoints';

/** The run's checkpoints (metadata: step, size, sha256, tensor index), in step order. */
export const GET = route(async (req, ctx: Ctx<'id'>) => {
  const { id } = await ctx.params;
  await getRun(await viewer(req), id);
  return json({ checkpoints: await listCheckpoints(id) });
});
