import { route, json, type Ctx } from '@/server/http';
import { requireOwner } from '@/server/owner';
import { forkShare } from '@/server/shares';

/** Copy the shared design into a new design owned by the caller: { design, version, editorPath }. */
export const POST = route(async (req, ctx: Ctx<'slug'>) => {
  const { slug } = await ctx.params;
  const owner = await requireOwner(req);
  return json(await forkShare(owner.id, slug), { status: 201, owner });
});
