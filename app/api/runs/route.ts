import { route, readJson, parse, json, queryOf } from '@/server/http';
import { requireOwner, viewer } from '@/server/owner';
import { CreateRunSchema, ListRunsSchema, createRun, listRuns } from '@/server/runs';

/** The caller's runs, newest first; filters: status, task, preset, designId; paging: limit, cursor. */
export const GET = route(async (req) => {
  const q = parse(ListRunsSchema, queryOf(req), 'query');
  return json(await listRuns(await viewer(req), q));
});

/** Start recording a run: from a saved design (designId) or an inline design ({ spec, graph? }). */
export const POST = route(async (req) => {
  const input = parse(CreateRunSchema, await readJson(req));
  const owner = await requireOwner(req);
  return json(await createRun(owner.id, input), { status: 201, owner });
});
