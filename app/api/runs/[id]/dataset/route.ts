import { route, parse, json, readBytes, queryOf, type Ctx } from '@/server/http';
import { requireOwner, viewer } from '@/server/owner';
import { getRun } from '@/server/runs';
import { DatasetNameSchema, MAX_DATASET_BYTES, datasetResponse, readRunDataset, saveRunDataset } from '@/server/datasets';

/** Download the run's uploaded training text (UTF-8); its file name is in Content-Disposition and X-Dataset-Name. */
export const GET = route(async (req, ctx: Ctx<'id'>) => {
  const { id } = await ctx.params;
  await getRun(await viewer(req), id);
  return datasetResponse(await readRunDataset(id));
});

/** Store the training text the run trains on: the body is the UTF-8 text, `?name=` the file name. Owner only. */
export const PUT = route(async (req, ctx: Ctx<'id'>) => {
  const { id } = await ctx.params;
  const { name } = parse(DatasetNameSchema.transform((n) => ({ name: n })), queryOf(req).name, 'name');
  const bytes = await readBytes(req, MAX_DATASET_BYTES);
  const owner = await requireOwner(req);
  return json(await saveRunDataset(owner.id, id, name, bytes), { status: 201, owner });
});
