/**
 * The boundary every route handler goes through: size-capped body reading, zod parsing with errors that
 * name the field, and one mapping from errors to status codes. Bad input is a 4xx, never a 500.
 */
import { z } from 'zod';
import { ApiError, badRequest, tooLarge } from './errors';
import type { Owner } from './owner';

/** Largest JSON body any endpoint accepts (metric batches are the biggest): 4 MiB, MIRAS_MAX_JSON_BYTES. */
export const MAX_JSON_BYTES = Number(process.env.MIRAS_MAX_JSON_BYTES ?? 4 * 1024 * 1024);

/** Read a request body, refusing (413) more than `max` bytes without buffering them. */
export async function readBytes(req: Request, max: number): Promise<Uint8Array> {
  const declared = req.headers.get('content-length');
  if (declared !== null && Number(declared) > max) {
    throw tooLarge(`body is ${declared} bytes; the limit is ${max} bytes`, 'body');
  }
  if (!req.body) return new Uint8Array(0);
  const reader = req.body.getReader();
  const chunks: Uint8Array[] = [];
  let total = 0;
  for (;;) {
    const { done, value } = await reader.read();
    if (done) break;
    total += value.byteLength;
    if (total > max) {
      await reader.cancel().catch(() => {});
      throw tooLarge(`body is larger than the limit of ${max} bytes`, 'body');
    }
    chunks.push(value);
  }
  const out = new Uint8Array(total);
  let at = 0;
  for (const c of chunks) {
    out.set(c, at);
    at += c.byteLength;
  }
  return out;
}

/** The body's bytes as text; 400 on the field "body" with `message` when they are not valid UTF-8. */
export function decodeUtf8(bytes: Uint8Array, message = 'is not valid UTF-8'): string {
  try {
    return new TextDecoder('utf-8', { fatal: true }).decode(bytes);
  } catch {
    throw badRequest('body', message);
  }
}

export async function readJson(req: Request, max = MAX_JSON_BYTES): Promise<unknown> {
  const bytes = await readBytes(req, max);
  if (bytes.byteLength === 0) throw badRequest('body', 'expected a JSON object, got an empty body');
  const text = decodeUtf8(bytes);
  try {
    return JSON.parse(text);
  } catch (err) {
    throw badRequest('body', `is not valid JSON (${(err as Error).message})`);
  }
}

/** "points[3].value" from a zod issue path. */
export function fieldName(path: readonly PropertyKey[], root = 'body'): string {
  if (path.length === 0) return root;
  let out = '';
  for (const p of path) out += typeof p === 'number' ? `[${p}]` : out === '' ? String(p) : `.${String(p)}`;
  return out;
}

/** Parse with zod; the first issue becomes a 400 naming its field. */
export function parse<S extends z.ZodType>(schema: S, data: unknown, root = 'body'): z.output<S> {
  const result = schema.safeParse(data);
  if (result.success) return result.data;
  const issue = result.error.issues[0];
  throw badRequest(fieldName(issue.path, root), issue.message);
}

/** Query-string parameters as a plain object (repeated keys: last wins). */
export const queryOf = (req: Request) => Object.fromEntries(new URL(req.url).searchParams);

export function json(data: unknown, init: { status?: number; owner?: Owner; headers?: Record<string, string> } = {}): Response {
  const headers = new Headers(init.headers);
  if (init.owner?.setCookie) headers.append('set-cookie', init.owner.setCookie);
  // no-transform: API answers are small and private; gzipping each one cost ~10% of ingest CPU in next start.
  headers.set('cache-control', 'no-store, no-transform');
  return Response.json(data, { status: init.status ?? 200, headers });
}

export function noContent(owner?: Owner): Response {
  const headers = new Headers();
  if (owner?.setCookie) headers.append('set-cookie', owner.setCookie);
  return new Response(null, { status: 204, headers });
}

export function errorResponse(err: unknown): Response {
  if (err instanceof ApiError) {
    return Response.json({ error: err.message, ...(err.field ? { field: err.field } : {}) }, { status: err.status });
  }
  const code = (err as { code?: unknown })?.code;
  if (code === 'P2025') return Response.json({ error: 'not found' }, { status: 404 });
  if (code === 'P2002') return Response.json({ error: 'already exists' }, { status: 409 });
  console.error('[api] unexpected error', err);
  return Response.json({ error: 'internal error' }, { status: 500 });
}

/** Wrap a route handler so every thrown error becomes the right status code. */
export function route<C>(fn: (req: Request, ctx: C) => Promise<Response>): (req: Request, ctx: C) => Promise<Response> {
  return async (req, ctx) => {
    try {
      return await fn(req, ctx);
    } catch (err) {
      return errorResponse(err);
    }
  };
}

/** Route params (Next passes them as a promise). */
export type Ctx<P extends string> = { params: Promise<Record<P, string>> };
