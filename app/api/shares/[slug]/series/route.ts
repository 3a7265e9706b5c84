import { route, parse, json, queryOf, type Ctx } from '@/server/http';
import { sharedRunId } from '@/server/shares';
import { SeriesQuerySchema, readRunSeries } from '@/server/metrics';

/** Downsampled series of a shared run (public): same query and answer as /api/runs/:id/series. */
export const GET = route(async (req, ctx: Ctx<'slug'>) => {
  const { slug } = await ctx.params;
  const q = parse(SeriesQuerySchema, queryOf(req), 'query');
  return json({ series: await readRunSeries(await sharedRunId(slug), q.keys, q.points) });
});
