import { route, parse, json, queryOf, type Ctx } from '@/server/http';
import { viewer } from '@/server/owner';
import { getRun } from '@/server/runs';
import { SeriesQuerySchema, readRunSeries } from '@/server/metrics';

/** Downsampled series: ?keys=loss,accuracy&points=500 → at most `points` per series with a min/max band. */
export const GET = route(async (req, ctx: Ctx<'id'>) => {
  const { id } = await ctx.params;
  const q = parse(SeriesQuerySchema, queryOf(req), 'query');
  await getRun(await viewer(req), id);
  return json({ series: await readRunSeries(id, q.keys, q.points) });
});
