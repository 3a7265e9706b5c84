import { route, readJson, parse, json, queryOf, type Ctx } from '@/server/http';
import { requireOwner, viewer } from '@/server/owner';
import { getRun } from '@/server/runs';
import { IngestSchema, ReadPointsSchema, checkBatchSize, ingestMetrics, readPoints } from '@/server/metrics';

/** Batched ingest, idempotent on (run, key, step): { points: [{ key, step, value, time? }] }. */
export const POST = route(async (req, ctx: Ctx<'id'>) => {
  const { id } = await ctx.params;
  const body = await readJson(req);
  checkBatchSize(body);
  const { points } = parse(IngestSchema, body);
  const owner = await requireOwner(req);
  return json(await ingestMetrics(owner.id, id, points), { owner });
});

/** Raw points of one series: ?key=loss&after=<step>&limit=<n> (owner only). */
export const GET = route(async (req, ctx: Ctx<'id'>) => {
  const { id } = await ctx.params;
  const q = parse(ReadPointsSchema, queryOf(req), 'query');
  await getRun(await viewer(req), id);
  return json(await readPoints(id, q.key, q.after, q.limit));
});
