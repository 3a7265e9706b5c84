import { route, readJson, parse, json } from '@/server/http';
import { requireOwner, viewer } from '@/server/owner';
import { CreateDesignSchema, createDesign, listDesigns } from '@/server/designs';

/** The caller's designs, most recently saved first. */
export const GET = route(async (req) => json({ designs: await listDesigns(await viewer(req)) }));

/** Save a new design (version 1). */
export const POST = route(async (req) => {
  const input = parse(CreateDesignSchema, await readJson(req));
  const owner = await requireOwner(req);
  return json(await createDesign(owner.id, input), { status: 201, owner });
});
