'use client';
/**
 * Saving a named design to the server (helper D's /api/designs). The first save creates the
 * design; later saves of the same design append versions. The server re-validates the graph
 * with the same reader (engine/design/document) and stores the ModelSpec it lowers to.
 */
import { parseDesign, type DesignDoc } from '@/engine/design/document';
import { specToDesign } from '@/engine/design/raise';
import { ModelSpecSchema } from '@/engine/spec';
import { analyzeDesign } from '@/engine/design/lower';

const ID_KEY = 'miras-studio:server-design';

interface SavedRef {
  id: string;
  name: string;
}

async function errorText(r: Response): Promise<string> {
  try {
    const body = (await r.json()) as { error?: { message?: string } | string; message?: string };
    const e = body.error;
    return (typeof e === 'string' ? e : e?.message) ?? body.message ?? `HTTP ${r.status}`;
  } catch {
    return `HTTP ${r.status} ${r.statusText}`;
  }
}

export async function saveDesignToServer(doc: DesignDoc): Promise<{ id: string; name: string; version: number }> {
  const spec = analyzeDesign(doc).spec;
  const body = { name: doc.name, graph: doc, ...(spec ? { spec } : {}) };
  let ref: SavedRef | null = null;
  try {
    ref = JSON.parse(localStorage.getItem(ID_KEY) ?? 'null') as SavedRef | null;
  } catch {
    ref = null;
  }
  const sameDesign = ref && ref.name === doc.name;
  const r = await fetch(sameDesign ? `/api/designs/${encodeURIComponent(ref!.id)}` : '/api/designs', {
    method: sameDesign ? 'PUT' : 'POST',
    headers: { 'content-type': 'application/json' },
    body: JSON.stringify(body),
    credentials: 'same-origin',
  });
  if (!r.ok) throw new Error(await errorText(r));
  const out = (await r.json()) as { design: { id: string; name: string }; version: { version: number } };
  localStorage.setItem(ID_KEY, JSON.stringify({ id: out.design.id, name: out.design.name }));
  return { id: out.design.id, name: out.design.name, version: out.version.version };
}

/**
 * Opens a saved design by id (what "Open a copy in the editor" links to: `/?design=<id>`).
 * Prefers the stored graph; a design saved as a bare ModelSpec is turned into a graph.
 */
export async function loadDesignFromServer(id: string, version?: number): Promise<DesignDoc> {
  const q = version ? `?version=${version}` : '';
  const r = await fetch(`/api/designs/${encodeURIComponent(id)}${q}`, { credentials: 'same-origin' });
  if (!r.ok) throw new Error(`Could not open design ${id}: ${await errorText(r)}`);
  const out = (await r.json()) as { design: { id: string; name: string }; version: { graph?: unknown; spec?: unknown } };
  const doc = out.version.graph
    ? parseDesign(out.version.graph)
    : specToDesign(ModelSpecSchema.parse(out.version.spec), { name: out.design.name });
  localStorage.setItem(ID_KEY, JSON.stringify({ id: out.design.id, name: doc.name }));
  return doc;
}
