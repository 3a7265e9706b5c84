import { route, type Ctx } from '@/server/http';
import { requireOwner } from '@/server/owner';
import { forkShare } from '@/server/shares';

/** The share page's "Open a copy in the editor" form: fork, then 303 to the editor with the copy. */
export const POST = route(async (req, ctx: Ctx<'slug'>) => {
  const { slug } = await ctx.params;
  const owner = await requireOwner(req);
  const { editorPath } = await forkShare(owner.id, slug);
  const headers = new Headers({ location: new URL(editorPath, req.url).pathname + new URL(editorPath, req.url).search });
  if (owner.setCookie) headers.append('set-cookie', owner.setCookie);
  return new Response(null, { status: 303, headers });
});
