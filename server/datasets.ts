/**
 * The training text of a run (task "text" with an uploaded file), stored with the run: UTF-8 bytes in the
 * database (BLOB / bytea), at most MAX_DATASET_BYTES, one per run. Uploading again replaces it while the
 * run is still going (a resumed upload after a network error); a finished run's text is frozen.
 */
import { createHash } from 'node:crypto';
import { z } from 'zod';
import { getDb } from './db';
import { badRequest, conflict, notFound } from './errors';
import { decodeUtf8 } from './http';
import { ownedRun, TERMINAL, type RunStatus } from './runs';

/** MIRAS_MAX_DATASET_BYTES, default 16 MiB (the bundled corpus is ~1 MiB; a browser tab trains on far less). */
export const MAX_DATASET_BYTES = Number(process.env.MIRAS_MAX_DATASET_BYTES ?? 16 * 1024 * 1024);

export const DatasetNameSchema = z
  .string({ error: 'must be the uploaded file name' })
  .trim()
  .min(1, 'must not be empty')
  .max(255, 'must be at most 255 characters')
  .refine((s) => !/[\u0000-\u001f]/.test(s), 'must not contain control characters');

const metaSelect = { runId: true, name: true, characters: true, sizeBytes: true, sha256: true, createdAt: true } as const;
export type DatasetMeta = { runId: string; name: string; characters: number; sizeBytes: number; sha256: string; createdAt: Date };

/** Count code points without materialising an array (what the text task's tokenizer counts). */
function codePoints(text: string): number {
  let n = 0;
  for (let i = 0; i < text.length; i++) {
    const c = text.charCodeAt(i);
    if (c >= 0xd800 && c <= 0xdbff && i + 1 < text.length) {
      const d = text.charCodeAt(i + 1);
      if (d >= 0xdc00 && d <= 0xdfff) i++;
    }
    n++;
  }
  return n;
}

export async function saveRunDataset(ownerId: string, runId: string, name: string, bytes: Uint8Array): Promise<DatasetMeta> {
  const run = await ownedRun(ownerId, runId);
  if (bytes.byteLength === 0) throw badRequest('body', 'the training text is empty');
  const text = decodeUtf8(bytes, 'the training text is not valid UTF-8 (save the file as UTF-8 plain text)');
  const db = await getDb();
  if (TERMINAL.has(run.status as RunStatus)) {
    const existing = await db.runDataset.findUnique({ where: { runId }, select: { sha256: true } });
    if (existing) throw conflict(`the run is ${run.status}: its training text is frozen`, 'body');
  }
  const sha256 = createHash('sha256').update(bytes).digest('hex');
  const fields = { name, characters: codePoints(text), sizeBytes: bytes.byteLength, sha256, data: new Uint8Array(bytes), createdAt: new Date() };
  return db.runDataset.upsert({ where: { runId }, create: { runId, ...fields }, update: fields, select: metaSelect });
}

export async function runDatasetMeta(runId: string): Promise<DatasetMeta | null> {
  const db = await getDb();
  return db.runDataset.findUnique({ where: { runId }, select: metaSelect });
}

export async function readRunDataset(runId: string) {
  const db = await getDb();
  const row = await db.runDataset.findUnique({ where: { runId }, select: { ...metaSelect, data: true } });
  if (!row) throw notFound('training text (this run trained on the bundled corpus or a generated task)');
  return row;
}

/** The download: the UTF-8 text, named after the uploaded file, with the checksum as ETag. */
export function datasetResponse(row: Awaited<ReturnType<typeof readRunDataset>>): Response {
  const body = new Uint8Array(row.data);
  const ascii = row.name.replace(/[^A-Za-z0-9_.-]/g, '_');
  return new Response(body, {
    status: 200,
    headers: {
      'content-type': 'text/plain; charset=utf-8',
      'content-length': String(body.byteLength),
      'content-disposition': `attachment; filename="${ascii}"; filename*=UTF-8''${encodeURIComponent(row.name)}`,
      etag: `"${row.sha256}"`,
      'x-dataset-name': encodeURIComponent(row.name),
      'x-dataset-characters': String(row.characters),
      'cache-control': 'private, max-age=0',
    },
  });
}
