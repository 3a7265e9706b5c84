import { route, readJson, parse, json } from '@/server/http';
import { requireOwner } from '@/server/owner';
import { CreateShareSchema, createShare } from '@/server/shares';

/** Share a run ({ runId }) or a design version ({ designId, version? }); returns { slug, path }. Owner only. */
export const POST = route(async (req) => {
  const input = parse(CreateShareSchema, await readJson(req));
  const owner = await requireOwner(req);
  const share = await createShare(owner.id, input);
  return json(share, { status: share.created ? 201 : 200, owner });
});
