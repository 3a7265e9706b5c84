/**
 * Checkpoints: model weights in safetensors format, stored in the database next to their run
 * (BLOB in SQLite, bytea in PostgreSQL), at most MAX_CHECKPOINT_BYTES each, one per (run, step);
 * uploading the same step again replaces it.
 */
import { createHash } from 'node:crypto';
import { z } from 'zod';
import { getDb, type Prisma } from './db';
import { newId } from './ids';
import { badRequest, notFound } from './errors';
import { ownedRun } from './runs';
import { parseSafetensorsHeader, SafetensorsError } from './safetensors';

/** MIRAS_MAX_CHECKPOINT_BYTES, default 64 MiB (a browser-trained model is far smaller). */
export const MAX_CHECKPOINT_BYTES = Number(process.env.MIRAS_MAX_CHECKPOINT_BYTES ?? 64 * 1024 * 1024);


export const StepSchema = z.coerce.number({ error: 'must be an integer step' }).int('must be an integer').min(0).max(2 ** 31 - 1);
/** `latest` or an integer step. */
export const StepParamSchema = z.union([z.literal('latest'), StepSchema], { error: 'must be an integer step or "latest"' });


const metaSelect = { id: true, runId: true, step: true, sizeBytes: true, sha256: true, tensors: true, createdAt: true } as const;

export async function saveCheckpoint(ownerId: string, runId: string, step: number, bytes: Uint8Array) {
  await ownedRun(ownerId, runId);
  let index;
  try {
    index = parseSafetensorsHeader(bytes);
  } catch (err) {
    if (err instanceof SafetensorsError) throw badRequest('body', `not a valid safetensors file: ${err.message}`);
    throw err;
  }
  const tensors = {
    ...Object.fromEntries(Object.entries(index.tensors).map(([k, t]) => [k, { dtype: t.dtype, shape: t.shape }])),
    ...(Object.keys(index.metadata).length ? { __metadata__: index.metadata } : {}),
  };
  const sha256 = createHash('sha256').update(bytes).digest('hex');
  const data = new Uint8Array(bytes);
  const db = await getDb();
  const fields = { sizeBytes: bytes.byteLength, sha256, tensors: tensors as Prisma.InputJsonValue, data, createdAt: new Date() };
  return db.checkpoint.upsert({
    where: { runId_step: { runId, step } },
    create: { id: newId(), runId, step, ...fields },
    update: fields,
    select: metaSelect,
  });
}

export async function listCheckpoints(runId: string) {
  const db = await getDb();
  return db.checkpoint.findMany({ where: { runId }, orderBy: { step: 'asc' }, select: metaSelect });
}

export async function readCheckpoint(runId: string, step: number | 'latest') {
  const db = await getDb();
  const row =
    step === 'latest'
      ? await db.checkpoint.findFirst({ where: { runId }, orderBy: { step: 'desc' }, select: { ...metaSelect, data: true } })
      : await db.checkpoint.findUnique({ where: { runId_step: { runId, step } }, select: { ...metaSelect, data: true } });
  if (!row) throw notFound(step === 'latest' ? 'checkpoint (this run has none)' : `checkpoint at step ${step}`);
  return row;
}

export async function deleteCheckpoint(ownerId: string, runId: string, step: number) {
  await ownedRun(ownerId, runId);
  const db = await getDb();
  const { count } = await db.checkpoint.deleteMany({ where: { runId, step } });
  if (!count) throw notFound(`checkpoint at step ${step}`);
}

/** The download response: the safetensors bytes, with the checksum as ETag. */
export function checkpointResponse(row: Awaited<ReturnType<typeof readCheckpoint>>, filename: string): Response {
  const body = new Uint8Array(row.data);
  return new Response(body, {
    status: 200,
    headers: {
      'content-type': 'application/octet-stream',
      'content-length': String(body.byteLength),
      'content-disposition': `attachment; filename="${filename.replace(/[^A-Za-z0-9_.-]/g, '_')}"`,
      etag: `"${row.sha256}"`,
      'x-checkpoint-step': String(row.step),
      'cache-control': 'private, max-age=0',
    },
  });
}
