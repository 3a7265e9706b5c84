import { z } from 'zod';
import { route, json, parse, queryOf, readBytes, type Ctx } from '@/server/http';
import { requireOwner, viewer } from '@/server/owner';
import { getRun } from '@/server/runs';
import { MAX_CHECKPOINT_BYTES, StepSchema, listCheckpoints, saveCheckpoint } from '@/server/checkpoints';

/** The run's checkpoints (metadata: step, size, sha256, tensor index), in step order. */
export const GET = route(async (req, ctx: Ctx<'id'>) => {
  const { id } = await ctx.params;
  await getRun(await viewer(req), id);
  return json({ checkpoints: await listCheckpoints(id) });
});

/** Upload: POST ?step=N with a safetensors body (same as PUT /checkpoints/N). Owner only. */
export const POST = route(async (req, ctx: Ctx<'id'>) => {
  const { id } = await ctx.params;
  const { step } = parse(z.object({ step: StepSchema }), queryOf(req), 'query');
  const bytes = await readBytes(req, MAX_CHECKPOINT_BYTES);
  const owner = await requireOwner(req);
  return json(await saveCheckpoint(owner.id, id, step, bytes), { status: 201, owner });
});
