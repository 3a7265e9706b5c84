/**
 * An uploaded training text travels with its run: the recorder stores it through the real route handlers
 * on a real (SQLite) database, and a recorder made after a "reload" gets it back byte for byte.
 */
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { openDatabase, useDatabase, type Database } from '@/server/db';
import { OWNER_COOKIE } from '@/server/owner';
import * as runsRoute from '@/app/api/runs/route';
import * as datasetRoute from '@/app/api/runs/[id]/dataset/route';
import { RunRecorder, configForRecord } from '@/components/training/recorder';
import type { TrainConfig } from '@/engine/worker/protocol';

type Handler = (req: Request, ctx: { params: Promise<Record<string, string>> }) => Promise<Response>;

/** fetch → the app's route handlers, carrying the owner cookie like a browser. */
function appFetch(): typeof fetch {
  let cookie: string | null = null;
  return (async (input: RequestInfo | URL, init?: RequestInit) => {
    const url = new URL(String(input), 'http://127.0.0.1');
    const headers = new Headers(init?.headers);
    if (cookie) headers.set('cookie', `${OWNER_COOKIE}=${cookie}`);
    const req = new Request(url, { ...init, headers });
    const m = /^\/api\/runs(?:\/([^/]+)(\/dataset)?)?$/.exec(url.pathname);
    if (!m) throw new Error(`no route for ${url.pathname} in this test`);
    const handler = (m[2] ? datasetRoute : runsRoute)[(init?.method ?? 'GET') as 'GET'] as Handler;
    const params: Record<string, string> = m[1] ? { id: decodeURIComponent(m[1]) } : {};
    const res = await handler(req, { params: Promise.resolve(params) });
    const set = res.headers.get('set-cookie');
    const token = set && new RegExp(`${OWNER_COOKIE}=([^;]+)`).exec(set)?.[1];
    if (token) cookie = token;
    return res;
  }) as typeof fetch;
}

describe('the uploaded training text is stored with the run', () => {
  let database: Database;
  let dir: string;
  beforeAll(async () => {
    dir = mkdtempSync(join(tmpdir(), 'miras-dataset-'));
    database = await openDatabase(`file:${join(dir, 'miras.db')}`);
    useDatabase(database);
  });
  afterAll(async () => {
    useDatabase(undefined);
    await database?.close();
    rmSync(dir, { recursive: true, force: true });
  });

  it('uploads through the recorder, keeps it out of the JSON config, and downloads it after a reload', async () => {
    const fetchImpl = appFetch();
    const text = 'Shall I compare thee to a summer’s day?\n'.repeat(2000) + 'ǅ 𝔘𝔫𝔦𝔠𝔬𝔡𝔢\n';
    const config = { task: 'text', taskSettings: { text }, steps: 10, batch: 2, seqLen: 16, seed: 3 } as unknown as TrainConfig;
    const spec = { vocabSize: 16, dModel: 8, layers: [{ mixer: { type: 'attention', heads: 1, headDim: 8, window: null }, mlp: { type: 'swiglu', hidden: 16 } }] };
    const rec = await RunRecorder.create({ name: 'sonnet', task: 'text', preset: null, design: { spec: spec as never }, config, seed: 3, adapter: null }, fetchImpl);
    await rec.uploadDataset('sonnet 18.txt', text);

    const row = await database.db.run.findUnique({ where: { id: rec.runId }, select: { config: true, dataset: { select: { name: true, characters: true } } } });
    expect(row!.dataset).toEqual({ name: 'sonnet 18.txt', characters: Array.from(text).length });
    expect(JSON.stringify(row!.config)).not.toContain('summer');
    expect(row!.config).toEqual(configForRecord(config));
    expect((row!.config as { taskSettings: { text: string } }).taskSettings.text).toBe(`(uploaded text, ${Array.from(text).length} characters)`);

    const afterReload = new RunRecorder(rec.runId, fetchImpl, 500, null);
    expect(await afterReload.dataset()).toBe(text);
  });

  it('reports a refused upload with the server\'s reason and does not retry it', async () => {
    const fetchImpl = appFetch();
    const config = { task: 'text', taskSettings: { text: 'x' }, steps: 1, batch: 1, seqLen: 4, seed: 1 } as unknown as TrainConfig;
    const spec = { vocabSize: 16, dModel: 8, layers: [{ mixer: { type: 'attention', heads: 1, headDim: 8, window: null }, mlp: { type: 'swiglu', hidden: 16 } }] };
    const rec = await RunRecorder.create({ name: 'bad', task: 'text', preset: null, design: { spec: spec as never }, config, seed: 1, adapter: null }, fetchImpl);
    await expect(rec.uploadDataset('control\u0001.txt', 'x')).rejects.toThrow(/HTTP 400 .*name: must not contain control characters/);
  });
});
