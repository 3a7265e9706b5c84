import { route, type Ctx } from '@/server/http';
import { sharedRunId } from '@/server/shares';
import { datasetResponse, readRunDataset } from '@/server/datasets';

/** Download a shared run's uploaded training text (public, like its checkpoints). */
export const GET = route(async (_req, ctx: Ctx<'slug'>) => {
  const { slug } = await ctx.params;
  return datasetResponse(await readRunDataset(await sharedRunId(slug)));
});
