import { route, parse, type Ctx } from '@/server/http';
import { sharedCheckpoint } from '@/server/shares';
import { StepParamSchema, checkpointResponse } from '@/server/checkpoints';

/** Download a shared run's checkpoint (public): step N or `latest`. */
export const GET = route(async (_req, ctx: Ctx<'slug' | 'step'>) => {
  const { slug, step: raw } = await ctx.params;
  const row = await sharedCheckpoint(slug, parse(StepParamSchema, raw, 'step'));
  return checkpointResponse(row, `${slug}-step-${row.step}.safetensors`);
});
