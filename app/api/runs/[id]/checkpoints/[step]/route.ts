import { route, parse, json, readBytes, noContent, type Ctx } from '@/server/http';
import { requireOwner, viewer } from '@/server/owner';
import { getRun } from '@/server/runs';
import { MAX_CHECKPOINT_BYTES, StepParamSchema, StepSchema, readCheckpoint, checkpointResponse, deleteCheckpoint, saveCheckpoint } from '@/server/checkpoints';

/** Download the safetensors bytes of step N (or `latest`); the step is also in X-Checkpoint-Step. */
export const GET = route(async (req, ctx: Ctx<'id' | 'step'>) => {
  const { id, step: raw } = await ctx.params;
  const step = parse(StepParamSchema, raw, 'step');
  await getRun(await viewer(req), id);
  const row = await readCheckpoint(id, step);
  return checkpointResponse(row, `run-${id}-step-${row.step}.safetensors`);
});

/** Upload (or replace) the checkpoint of step N: the body is a safetensors file. Owner only. */
export const PUT = route(async (req, ctx: Ctx<'id' | 'step'>) => {
  const { id, step: raw } = await ctx.params;
  const step = parse(StepSchema, raw, 'step');
  const bytes = await readBytes(req, MAX_CHECKPOINT_BYTES);
  const owner = await requireOwner(req);
  return json(await saveCheckpoint(owner.id, id, step, bytes), { status: 201, owner });
});

export const DELETE = route(async (req, ctx: Ctx<'id' | 'step'>) => {
  const { id, step: raw } = await ctx.params;
  const step = parse(StepSchema, raw, 'step');
  const owner = await requireOwner(req);
  await deleteCheckpoint(owner.id, id, step);
  return noContent(owner);
});
