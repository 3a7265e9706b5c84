/**
 * The API suite, run against SQLite (sqlite.test.ts) and a real PostgreSQL (postgres.test.ts).
 * Route handlers are called as exported functions with real Request objects against a real,
 * freshly migrated database: create, ingest, read, downsample, share, fork; 403 for non-owners,
 * 400 naming the field, 413 for oversized bodies, and no 500 for any bad input tried.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { openDatabase, useDatabase, type Database } from '@/server/db';
import { encodeSafetensors } from '@/server/safetensors';
import { OWNER_COOKIE } from '@/server/owner';
import * as designsRoute from '@/app/api/designs/route';
import * as designRoute from '@/app/api/designs/[id]/route';
import * as runsRoute from '@/app/api/runs/route';
import * as runRoute from '@/app/api/runs/[id]/route';
import * as metricsRoute from '@/app/api/runs/[id]/metrics/route';
import * as seriesRoute from '@/app/api/runs/[id]/series/route';
import * as checkpointsRoute from '@/app/api/runs/[id]/checkpoints/route';
import * as checkpointRoute from '@/app/api/runs/[id]/checkpoints/[step]/route';
import * as datasetRoute from '@/app/api/runs/[id]/dataset/route';
import * as shareDatasetRoute from '@/app/api/shares/[slug]/dataset/route';
import * as sharesRoute from '@/app/api/shares/route';
import * as shareRoute from '@/app/api/shares/[slug]/route';
import * as shareSeriesRoute from '@/app/api/shares/[slug]/series/route';
import * as shareCheckpointRoute from '@/app/api/shares/[slug]/checkpoints/[step]/route';
import * as shareForkRoute from '@/app/api/shares/[slug]/fork/route';
import * as formForkRoute from '@/app/e/[slug]/fork/route';

type Handler = (req: Request, ctx: { params: Promise<Record<string, string>> }) => Promise<Response>;

export const SPEC = {
  vocabSize: 16,
  dModel: 8,
  layers: [{ mixer: { type: 'attention', heads: 1, headDim: 8, window: null }, mlp: { type: 'swiglu', hidden: 16 } }],
};

interface CallOpts {
  params?: Record<string, string>;
  body?: unknown;
  raw?: BodyInit;
  cookie?: string | null;
  query?: Record<string, string>;
  headers?: Record<string, string>;
}

export async function call(handler: Handler, method: string, path: string, opts: CallOpts = {}) {
  const url = new URL(`http://127.0.0.1${path}`);
  for (const [k, v] of Object.entries(opts.query ?? {})) url.searchParams.set(k, v);
  const headers = new Headers(opts.headers);
  if (opts.cookie) headers.set('cookie', `${OWNER_COOKIE}=${opts.cookie}`);
  let body: BodyInit | undefined = opts.raw;
  if (opts.body !== undefined) {
    body = JSON.stringify(opts.body);
    headers.set('content-type', 'application/json');
  }
  const res = await handler(new Request(url, { method, headers, body }), { params: Promise.resolve(opts.params ?? {}) });
  const text = res.headers.get('content-type')?.includes('json') ? await res.text() : null;
  const json = text ? JSON.parse(text) : null;
  const setCookie = res.headers.get('set-cookie');
  const token = setCookie ? new RegExp(`${OWNER_COOKIE}=([^;]+)`).exec(setCookie)?.[1] ?? null : null;
  return { res, status: res.status, json, token, setCookie };
}

/** Every status a handler returned for bad input; the suite asserts none of them is a 500. */
const statuses: { what: string; status: number }[] = [];
async function bad(what: string, p: Promise<{ status: number; json: { error?: string; field?: string } | null }>) {
  const r = await p;
  statuses.push({ what, status: r.status });
  return r;
}

export function apiSuite(label: string, makeUrl: () => Promise<{ url: string; cleanup(): Promise<void> }>) {
  describe(`runs API on ${label}`, () => {
    let database: Database;
    let cleanup: () => Promise<void>;
    let alice: string; // owner token
    let bob: string;
    let runId: string;
    let designId: string;
    let slug: string;

    beforeAll(async () => {
      const made = await makeUrl();
      cleanup = made.cleanup;
      database = await openDatabase(made.url);
      useDatabase(database);
      console.log(`[db] ${label}: ${database.target.provider} ${database.target.provider === 'sqlite' ? database.target.path : database.target.url}`);
    });

    afterAll(async () => {
      useDatabase(undefined);
      await database?.close();
      await cleanup?.();
    });

    it('gives a first writer an httpOnly owner cookie and saves a design', async () => {
      const r = await call(designsRoute.POST as Handler, 'POST', '/api/designs', { body: { name: 'Tiny attention', spec: SPEC, config: { task: 'mqar' } } });
      expect(r.status).toBe(201);
      expect(r.setCookie).toMatch(/HttpOnly/);
      expect(r.setCookie).toMatch(/SameSite=Lax/);
      expect(r.token).toMatch(/^[A-Za-z0-9_-]{43}$/);
      alice = r.token!;
      designId = r.json.design.id;
      expect(r.json.version.version).toBe(1);
      expect(r.json.version.spec.dModel).toBe(8);

      const saved = await call(designRoute.PUT as Handler, 'PUT', `/api/designs/${designId}`, {
        params: { id: designId },
        cookie: alice,
        body: { name: 'Tiny attention v2', spec: { ...SPEC, dModel: 16, layers: [{ ...SPEC.layers[0], mixer: { ...SPEC.layers[0].mixer, headDim: 16 } }] } },
      });
      expect(saved.status).toBe(200);
      expect(saved.token).toBeNull(); // already has one
      expect(saved.json.version.version).toBe(2);
      const got = await call(designRoute.GET as Handler, 'GET', `/api/designs/${designId}`, { params: { id: designId }, cookie: alice });
      expect(got.json.design.name).toBe('Tiny attention v2');
      expect(got.json.version.spec.dModel).toBe(16);
      expect(got.json.versions.map((v: { version: number }) => v.version)).toEqual([1, 2]);
      const v1 = await call(designRoute.GET as Handler, 'GET', `/api/designs/${designId}`, { params: { id: designId }, cookie: alice, query: { version: '1' } });
      expect(v1.json.version.spec.dModel).toBe(8);
      const list = await call(designsRoute.GET as Handler, 'GET', '/api/designs', { cookie: alice });
      expect(list.json.designs.map((d: { id: string }) => d.id)).toContain(designId);
    });

    it('creates runs from a saved design and from an inline design, and lists them with filters', async () => {
      const fromDesign = await call(runsRoute.POST as Handler, 'POST', '/api/runs', {
        cookie: alice,
        body: { designId, version: 1, task: 'mqar', seed: 1, config: { steps: 100, lr: 0.003 }, status: 'running', adapter: { vendor: 'google', device: 'SwiftShader' } },
      });
      expect(fromDesign.status).toBe(201);
      expect(fromDesign.json.designSnapshot.spec.dModel).toBe(8);
      expect(fromDesign.json.status).toBe('running');
      expect(fromDesign.json.startedAt).not.toBeNull();
      runId = fromDesign.json.id;

      const inline = await call(runsRoute.POST as Handler, 'POST', '/api/runs', {
        cookie: alice,
        body: { name: 'inline', design: { spec: SPEC }, preset: 'gated-deltanet', task: 'parity', seed: 7, config: { steps: 5 } },
      });
      expect(inline.status).toBe(201);
      expect(inline.json.status).toBe('created');

      const all = await call(runsRoute.GET as Handler, 'GET', '/api/runs', { cookie: alice });
      expect(all.json.runs.length).toBe(2);
      const parity = await call(runsRoute.GET as Handler, 'GET', '/api/runs', { cookie: alice, query: { task: 'parity' } });
      expect(parity.json.runs.map((r: { name: string }) => r.name)).toEqual(['inline']);
      const running = await call(runsRoute.GET as Handler, 'GET', '/api/runs', { cookie: alice, query: { status: 'running' } });
      expect(running.json.runs.map((r: { id: string }) => r.id)).toEqual([runId]);
      const byPreset = await call(runsRoute.GET as Handler, 'GET', '/api/runs', { cookie: alice, query: { preset: 'gated-deltanet' } });
      expect(byPreset.json.runs).toHaveLength(1);
      const byDesign = await call(runsRoute.GET as Handler, 'GET', '/api/runs', { cookie: alice, query: { designId } });
      expect(byDesign.json.runs.map((r: { id: string }) => r.id)).toEqual([runId]);
      const page1 = await call(runsRoute.GET as Handler, 'GET', '/api/runs', { cookie: alice, query: { limit: '1' } });
      expect(page1.json.runs).toHaveLength(1);
      const page2 = await call(runsRoute.GET as Handler, 'GET', '/api/runs', { cookie: alice, query: { limit: '1', cursor: page1.json.nextCursor } });
      expect(page2.json.runs).toHaveLength(1);
      expect(page2.json.runs[0].id).not.toBe(page1.json.runs[0].id);
      expect(page2.json.nextCursor).toBeNull();
      // Someone else sees none of them.
      const stranger = await call(runsRoute.GET as Handler, 'GET', '/api/runs', {});
      expect(stranger.json.runs).toEqual([]);
    });

    it('ingests batches idempotently on (run, key, step)', async () => {
      const points = Array.from({ length: 300 }, (_, i) => ({ key: 'train/loss', step: i, value: 5 / (1 + i) }));
      const first = await call(metricsRoute.POST as Handler, 'POST', `/api/runs/${runId}/metrics`, { params: { id: runId }, cookie: alice, body: { points } });
      expect(first.status).toBe(200);
      expect(first.json).toEqual({ received: 300, inserted: 300, duplicates: 0 });
      // A retried batch (lost response) and an overlapping one: nothing is stored twice, the first value wins.
      const retry = await call(metricsRoute.POST as Handler, 'POST', `/api/runs/${runId}/metrics`, { params: { id: runId }, cookie: alice, body: { points } });
      expect(retry.json).toEqual({ received: 300, inserted: 0, duplicates: 300 });
      const overlap = [
        { key: 'train/loss', step: 299, value: 123 },
        { key: 'train/loss', step: 300, value: 0.01 },
        { key: 'train/loss', step: 300, value: 0.02 },
        { key: 'eval/accuracy', step: 300, value: 0.5, time: Date.now() },
      ];
      const o = await call(metricsRoute.POST as Handler, 'POST', `/api/runs/${runId}/metrics`, { params: { id: runId }, cookie: alice, body: { points: overlap } });
      expect(o.json).toEqual({ received: 4, inserted: 2, duplicates: 2 });
      const raw = await call(metricsRoute.GET as Handler, 'GET', `/api/runs/${runId}/metrics`, { params: { id: runId }, cookie: alice, query: { key: 'train/loss', after: '295' } });
      expect(raw.json.steps).toEqual([296, 297, 298, 299, 300]);
      expect(raw.json.values[3]).toBeCloseTo(5 / 300, 12);
      expect(raw.json.values[4]).toBe(0.01);
      const count = await database.db.metricPoint.count({ where: { runId } });
      expect(count).toBe(302);
    });

    it('stores every float exactly (bit for bit), including extremes', async () => {
      const values = [Math.PI, -5.9687352336460116, 7.3158689733900175, 1e-300, -2.2250738585072014e-308, 1.7976931348623157e308, 5e-324, 0.1 + 0.2, 123456789.12345679];
      // Plus 2000 random bit patterns: every finite double, any exponent, subnormals included.
      const view = new DataView(new ArrayBuffer(8));
      let seed = 12345;
      const rand32 = () => (seed = (Math.imul(seed, 1664525) + 1013904223) >>> 0);
      while (values.length < 2009) {
        view.setUint32(0, rand32());
        view.setUint32(4, rand32());
        const v = view.getFloat64(0);
        if (Number.isFinite(v)) values.push(v);
      }
      const points = values.map((value, step) => ({ key: 'exact', step, value, time: 1_764_390_000_123.5 + step }));
      const r = await call(metricsRoute.POST as Handler, 'POST', `/api/runs/${runId}/metrics`, { params: { id: runId }, cookie: alice, body: { points } });
      expect(r.json.inserted).toBe(values.length);
      const back = await call(metricsRoute.GET as Handler, 'GET', `/api/runs/${runId}/metrics`, { params: { id: runId }, cookie: alice, query: { key: 'exact', limit: '10000' } });
      expect(back.json.values).toEqual(values);
      const stored = await database.db.metricPoint.findFirst({ where: { runId, key: 'exact', step: 3 } });
      expect(stored!.time).toBe(1_764_390_000_126.5);
      await database.db.metricPoint.deleteMany({ where: { runId, key: 'exact' } });
    });

    it('ingest neither deadlocks on nor joins a Prisma transaction that holds the write lock', async () => {
      // An interactive transaction takes the write lock (SQLite) and keeps it across awaits, then rolls back.
      let release!: () => void;
      const held = new Promise<void>((r) => (release = r));
      let entered!: () => void;
      const inTx = new Promise<void>((r) => (entered = r));
      const before = await database.db.run.findUniqueOrThrow({ where: { id: runId }, select: { name: true } });
      const tx = database.db
        .$transaction(
          async (t) => {
            await t.run.update({ where: { id: runId }, data: { name: 'renamed inside a transaction' } });
            entered();
            await held;
            throw new Error('roll back');
          },
          { timeout: 20_000 },
        )
        .catch((err: Error) => err);
      await inTx;
      const ingest = call(metricsRoute.POST as Handler, 'POST', `/api/runs/${runId}/metrics`, {
        params: { id: runId },
        cookie: alice,
        body: { points: [{ key: 'locked', step: 0, value: 1.25 }, { key: 'locked', step: 1, value: -2.5 }] },
      });
      // The event loop stays free while ingest waits for the lock: the transaction can still finish.
      await new Promise((r) => setTimeout(r, 100));
      release();
      expect(((await tx) as Error).message).toMatch(/roll back/);
      const r = await ingest;
      expect(r.status).toBe(200);
      expect(r.json).toEqual({ received: 2, inserted: 2, duplicates: 0 });
      // The rollback undid the rename only, not the acknowledged points.
      expect(await database.db.run.findUniqueOrThrow({ where: { id: runId }, select: { name: true } })).toEqual(before);
      const back = await call(metricsRoute.GET as Handler, 'GET', `/api/runs/${runId}/metrics`, { params: { id: runId }, cookie: alice, query: { key: 'locked' } });
      expect(back.json.values).toEqual([1.25, -2.5]);
      await database.db.metricPoint.deleteMany({ where: { runId, key: 'locked' } });
    });

    it('reads series: raw when small, downsampled with a min/max band when large', async () => {
      const small = await call(seriesRoute.GET as Handler, 'GET', `/api/runs/${runId}/series`, { params: { id: runId }, cookie: alice });
      const keys = small.json.series.map((s: { key: string }) => s.key);
      expect(keys).toEqual(['eval/accuracy', 'train/loss']);
      const loss = small.json.series[1];
      expect(loss.downsampled).toBe(false);
      expect(loss.count).toBe(301);
      expect(loss.steps).toHaveLength(301);
      expect(loss.last).toBe(0.01);

      const ds = await call(seriesRoute.GET as Handler, 'GET', `/api/runs/${runId}/series`, { params: { id: runId }, cookie: alice, query: { keys: 'train/loss', points: '50' } });
      const s = ds.json.series[0];
      expect(s.downsampled).toBe(true);
      expect(s.steps.length).toBeLessThanOrEqual(50);
      expect(s.steps.length).toBeGreaterThan(40);
      // Reference: the same buckets in JS over the raw points.
      const all = await database.db.metricPoint.findMany({ where: { runId, key: 'train/loss' }, orderBy: { step: 'asc' } });
      const lo = all[0].step;
      const span = all[all.length - 1].step - lo + 1;
      const buckets = new Map<number, number[]>();
      const lastStep = new Map<number, number>();
      for (const p of all) {
        const b = Math.floor(((p.step - lo) * 50) / span);
        buckets.set(b, [...(buckets.get(b) ?? []), p.value]);
        lastStep.set(b, p.step);
      }
      const order = [...buckets.keys()].sort((a, b) => a - b);
      expect(s.steps).toEqual(order.map((b) => lastStep.get(b)));
      order.forEach((b, i) => {
        const vs = buckets.get(b)!;
        expect(s.values[i]).toBeCloseTo(vs.reduce((a, v) => a + v, 0) / vs.length, 10);
        expect(s.min[i]).toBe(Math.min(...vs));
        expect(s.max[i]).toBe(Math.max(...vs));
        expect(s.min[i]).toBeLessThanOrEqual(s.values[i]);
        expect(s.max[i]).toBeGreaterThanOrEqual(s.values[i]);
      });
    });

    it('downsamples a 100k-step series to N points quickly', async () => {
      const big = await call(runsRoute.POST as Handler, 'POST', '/api/runs', { cookie: alice, body: { design: { spec: SPEC }, task: 'text', seed: 3 } });
      const id = big.json.id;
      const N = 100_000;
      for (let start = 0; start < N; start += 10_000) {
        const points = Array.from({ length: 10_000 }, (_, i) => ({ key: 'train/loss', step: start + i, value: Math.exp(-(start + i) / 30_000) + 0.1 * Math.sin(start + i) }));
        const r = await call(metricsRoute.POST as Handler, 'POST', `/api/runs/${id}/metrics`, { params: { id }, cookie: alice, body: { points } });
        expect(r.json.inserted).toBe(10_000);
      }
      const t0 = performance.now();
      const r = await call(seriesRoute.GET as Handler, 'GET', `/api/runs/${id}/series`, { params: { id }, cookie: alice, query: { keys: 'train/loss', points: '500' } });
      const ms = performance.now() - t0;
      const s = r.json.series[0];
      expect(s.count).toBe(N);
      expect(s.steps).toHaveLength(500);
      expect(s.steps[499]).toBe(N - 1);
      expect(s.min.every((m: number, i: number) => m <= s.values[i] && s.values[i] <= s.max[i])).toBe(true);
      expect(s.max[0] - s.min[0]).toBeGreaterThan(0.1); // the band keeps the oscillation the mean hides
      console.log(`[db] ${label}: 100k points → 500 buckets in ${ms.toFixed(0)} ms`);
    });

    it('stores, lists and serves safetensors checkpoints', async () => {
      const w = Float32Array.from({ length: 64 }, (_, i) => i / 7);
      const file = encodeSafetensors({ 'embed.weight': { dtype: 'F32', shape: [8, 8], data: w } }, { step: '300' });
      const up = await call(checkpointRoute.PUT as Handler, 'PUT', `/api/runs/${runId}/checkpoints/300`, { params: { id: runId, step: '300' }, cookie: alice, raw: file });
      expect(up.status).toBe(201);
      expect(up.json.sizeBytes).toBe(file.byteLength);
      expect(up.json.tensors['embed.weight']).toEqual({ dtype: 'F32', shape: [8, 8] });
      const viaPost = await call(checkpointsRoute.POST as Handler, 'POST', `/api/runs/${runId}/checkpoints`, { params: { id: runId }, cookie: alice, query: { step: '100' }, raw: file });
      expect(viaPost.status).toBe(201);
      const list = await call(checkpointsRoute.GET as Handler, 'GET', `/api/runs/${runId}/checkpoints`, { params: { id: runId }, cookie: alice });
      expect(list.json.checkpoints.map((c: { step: number }) => c.step)).toEqual([100, 300]);
      const latest = await call(checkpointRoute.GET as Handler, 'GET', `/api/runs/${runId}/checkpoints/latest`, { params: { id: runId, step: 'latest' }, cookie: alice });
      expect(latest.status).toBe(200);
      expect(latest.res.headers.get('x-checkpoint-step')).toBe('300');
      const bytes = new Uint8Array(await latest.res.arrayBuffer());
      expect(Buffer.compare(Buffer.from(bytes), Buffer.from(file))).toBe(0);
    });

    it('stores the uploaded training text with the run and serves it back byte for byte', async () => {
      const text = 'Tyger Tyger, burning bright — 森の中で 🐯\nIn the forests of the night;\n';
      const put = (raw: BodyInit, query: Record<string, string>, cookie: string | null = alice, headers?: Record<string, string>) =>
        call(datasetRoute.PUT as Handler, 'PUT', `/api/runs/${runId}/dataset`, { params: { id: runId }, cookie, raw, query, headers });
      const none = await bad('no training text yet', call(datasetRoute.GET as Handler, 'GET', `/api/runs/${runId}/dataset`, { params: { id: runId }, cookie: alice }));
      expect(none.status).toBe(404);
      const up = await put(new TextEncoder().encode(text), { name: 'blake — tyger.txt' });
      expect(up.status).toBe(201);
      expect(up.json).toMatchObject({ name: 'blake — tyger.txt', characters: Array.from(text).length, sizeBytes: new TextEncoder().encode(text).byteLength });
      expect(up.json.sha256).toMatch(/^[0-9a-f]{64}$/);
      const got = await call(datasetRoute.GET as Handler, 'GET', `/api/runs/${runId}/dataset`, { params: { id: runId }, cookie: alice });
      expect(got.status).toBe(200);
      expect(got.res.headers.get('content-type')).toBe('text/plain; charset=utf-8');
      expect(decodeURIComponent(got.res.headers.get('x-dataset-name')!)).toBe('blake — tyger.txt');
      expect(new TextDecoder().decode(await got.res.arrayBuffer())).toBe(text);

      const stranger = await bad('dataset by a non-owner', put('x', { name: 'a.txt' }, null));
      expect(stranger.status).toBe(403);
      const noName = await bad('dataset without a name', put('x', {}));
      expect(noName.status).toBe(400);
      expect(noName.json!.field).toBe('name');
      const binary = await bad('dataset not UTF-8', put(new Uint8Array([0x66, 0xff, 0xfe, 0x00]), { name: 'a.bin' }));
      expect(binary.status).toBe(400);
      expect(binary.json!.error).toMatch(/not valid UTF-8/);
      const empty = await bad('empty dataset', put(new Uint8Array(0), { name: 'a.txt' }));
      expect(empty.status).toBe(400);
      const huge = await bad('declared 1 GiB dataset', put(new Uint8Array(8), { name: 'a.txt' }, alice, { 'content-length': String(2 ** 30) }));
      expect(huge.status).toBe(413);
      // Nothing above replaced the stored text.
      const still = await call(datasetRoute.GET as Handler, 'GET', `/api/runs/${runId}/dataset`, { params: { id: runId }, cookie: alice });
      expect(new TextDecoder().decode(await still.res.arrayBuffer())).toBe(text);
    });

    it('finishes a run with final metrics and refuses to reopen it', async () => {
      const done = await call(runRoute.PATCH as Handler, 'PATCH', `/api/runs/${runId}`, { params: { id: runId }, cookie: alice, body: { status: 'completed', summary: { 'train/loss': 0.01, 'eval/accuracy': 0.5 } } });
      expect(done.status).toBe(200);
      expect(done.json.finishedAt).not.toBeNull();
      expect(done.json.summary['eval/accuracy']).toBe(0.5);
      const again = await bad('reopen', call(runRoute.PATCH as Handler, 'PATCH', `/api/runs/${runId}`, { params: { id: runId }, cookie: alice, body: { status: 'running' } }));
      expect(again.status).toBe(409);
      expect(again.json!.error).toMatch(/completed run cannot become running/);
      const got = await call(runRoute.GET as Handler, 'GET', `/api/runs/${runId}`, { params: { id: runId }, cookie: alice });
      expect(got.json.metricKeys).toEqual(['eval/accuracy', 'train/loss']);
      expect(got.json.checkpoints).toHaveLength(2);
      expect(got.json.ownerId).toBeUndefined();
      // A finished run's training text is frozen.
      const replace = await bad('dataset of a finished run', call(datasetRoute.PUT as Handler, 'PUT', `/api/runs/${runId}/dataset`, { params: { id: runId }, cookie: alice, raw: 'other', query: { name: 'b.txt' } }));
      expect(replace.status).toBe(409);
    });

    it('shares a run by an unguessable link that anyone can view and fork', async () => {
      const share = await call(sharesRoute.POST as Handler, 'POST', '/api/shares', { cookie: alice, body: { runId } });
      expect(share.status).toBe(201);
      slug = share.json.slug;
      expect(slug).toMatch(/^[A-Za-z0-9_-]{24}$/); // 18 random bytes = 144 bits
      expect(share.json.path).toBe(`/e/${slug}`);
      const again = await call(sharesRoute.POST as Handler, 'POST', '/api/shares', { cookie: alice, body: { runId } });
      expect(again.status).toBe(200);
      expect(again.json.slug).toBe(slug);

      // A stranger with no cookie.
      const exp = await call(shareRoute.GET as Handler, 'GET', `/api/shares/${slug}`, { params: { slug } });
      expect(exp.status).toBe(200);
      expect(exp.json.kind).toBe('run');
      expect(exp.json.run.summary['eval/accuracy']).toBe(0.5);
      expect(exp.json.run.adapter.device).toBe('SwiftShader');
      expect(exp.json.design.spec.dModel).toBe(8);
      expect(JSON.stringify(exp.json)).not.toContain('ownerId');
      const series = await call(shareSeriesRoute.GET as Handler, 'GET', `/api/shares/${slug}/series`, { params: { slug }, query: { points: '20' } });
      expect(series.json.series.find((s: { key: string }) => s.key === 'train/loss').steps.length).toBeLessThanOrEqual(20);
      const ck = await call(shareCheckpointRoute.GET as Handler, 'GET', `/api/shares/${slug}/checkpoints/latest`, { params: { slug, step: 'latest' } });
      expect(ck.status).toBe(200);
      expect(ck.res.headers.get('content-type')).toBe('application/octet-stream');
      expect(exp.json.dataset).toMatchObject({ name: 'blake — tyger.txt' });
      const ds = await call(shareDatasetRoute.GET as Handler, 'GET', `/api/shares/${slug}/dataset`, { params: { slug } });
      expect(ds.status).toBe(200);
      expect(new TextDecoder().decode(await ds.res.arrayBuffer())).toMatch(/^Tyger Tyger/);

      const fork = await call(shareForkRoute.POST as Handler, 'POST', `/api/shares/${slug}/fork`, { params: { slug } });
      expect(fork.status).toBe(201);
      bob = fork.token!;
      expect(bob).toBeTruthy();
      expect(bob).not.toBe(alice);
      expect(fork.json.design.name).toMatch(/^Copy of /);
      expect(fork.json.version.spec.dModel).toBe(8);
      expect(fork.json.version.config).toMatchObject({ task: 'mqar', seed: 1, steps: 100 });
      expect(fork.json.editorPath).toBe(`/?design=${fork.json.design.id}`);
      const bobsCopy = await call(designRoute.GET as Handler, 'GET', `/api/designs/${fork.json.design.id}`, { params: { id: fork.json.design.id }, cookie: bob });
      expect(bobsCopy.status).toBe(200);

      // The page's form posts here and is redirected to the editor with the copy.
      const form = await call(formForkRoute.POST as Handler, 'POST', `/e/${slug}/fork`, { params: { slug }, cookie: bob });
      expect(form.status).toBe(303);
      expect(form.res.headers.get('location')).toMatch(/^\/\?design=[A-Za-z0-9_-]{22}$/);
    });

    it('shares a design version (no run) and forks it', async () => {
      const share = await call(sharesRoute.POST as Handler, 'POST', '/api/shares', { cookie: alice, body: { designId, version: 1, title: 'Tiny attention, first cut' } });
      expect(share.status).toBe(201);
      const exp = await call(shareRoute.GET as Handler, 'GET', `/api/shares/${share.json.slug}`, { params: { slug: share.json.slug } });
      expect(exp.json.kind).toBe('design');
      expect(exp.json.title).toBe('Tiny attention, first cut');
      expect(exp.json.design.spec.dModel).toBe(8); // version 1, not the latest
      expect(exp.json.design.config).toEqual({ task: 'mqar' });
      const noSeries = await bad('series of a design share', call(shareSeriesRoute.GET as Handler, 'GET', `/api/shares/${share.json.slug}/series`, { params: { slug: share.json.slug } }));
      expect(noSeries.status).toBe(404);
      const fork = await call(shareForkRoute.POST as Handler, 'POST', `/api/shares/${share.json.slug}/fork`, { params: { slug: share.json.slug }, cookie: bob });
      expect(fork.status).toBe(201);
      expect(fork.json.version.spec.dModel).toBe(8);
      expect(fork.json.version.config).toEqual({ task: 'mqar' });
      const badVersion = await bad('share missing version', call(sharesRoute.POST as Handler, 'POST', '/api/shares', { cookie: alice, body: { designId, version: 99 } }));
      expect(badVersion.status).toBe(400);
      expect(badVersion.json!.field).toBe('version');
    });

    it('answers 403 when a non-owner tries to change anything', async () => {
      const attempts: [string, Promise<{ status: number; json: { error?: string } | null }>][] = [
        ['patch run', call(runRoute.PATCH as Handler, 'PATCH', `/api/runs/${runId}`, { params: { id: runId }, cookie: bob, body: { name: 'mine now' } })],
        ['delete run', call(runRoute.DELETE as Handler, 'DELETE', `/api/runs/${runId}`, { params: { id: runId }, cookie: bob })],
        ['ingest', call(metricsRoute.POST as Handler, 'POST', `/api/runs/${runId}/metrics`, { params: { id: runId }, cookie: bob, body: { points: [{ key: 'x', step: 1, value: 1 }] } })],
        ['checkpoint', call(checkpointRoute.PUT as Handler, 'PUT', `/api/runs/${runId}/checkpoints/5`, { params: { id: runId, step: '5' }, cookie: bob, raw: encodeSafetensors({ w: { dtype: 'F32', shape: [1], data: new Float32Array(1) } }) })],
        ['save design', call(designRoute.PUT as Handler, 'PUT', `/api/designs/${designId}`, { params: { id: designId }, cookie: bob, body: { spec: SPEC } })],
        ['delete design', call(designRoute.DELETE as Handler, 'DELETE', `/api/designs/${designId}`, { params: { id: designId }, cookie: bob })],
        ['share', call(sharesRoute.POST as Handler, 'POST', '/api/shares', { cookie: bob, body: { runId } })],
        ['revoke', call(shareRoute.DELETE as Handler, 'DELETE', `/api/shares/${slug}`, { params: { slug }, cookie: bob })],
        ['run from design', call(runsRoute.POST as Handler, 'POST', '/api/runs', { cookie: bob, body: { designId, task: 'mqar', seed: 1 } })],
        ['no cookie', call(runRoute.PATCH as Handler, 'PATCH', `/api/runs/${runId}`, { params: { id: runId }, body: { name: 'anon' } })],
        ['read run', call(runRoute.GET as Handler, 'GET', `/api/runs/${runId}`, { params: { id: runId }, cookie: bob })],
      ];
      for (const [what, p] of attempts) {
        const r = await bad(what, p);
        expect(r.status, what).toBe(403);
        expect(r.json!.error, what).toMatch(/only the owner/);
      }
      const run = await database.db.run.findUnique({ where: { id: runId } });
      expect(run!.name).not.toBe('mine now');
    });

    it('answers 400 naming the field for malformed bodies', async () => {
      const ingest = (body: unknown) => call(metricsRoute.POST as Handler, 'POST', `/api/runs/${runId}/metrics`, { params: { id: runId }, cookie: alice, body });
      const cases: [string, Promise<{ status: number; json: { error?: string; field?: string } | null }>, string][] = [
        ['NaN value', ingest({ points: [{ key: 'l', step: 1, value: 1 }, { key: 'l', step: 2, value: NaN }] }), 'points[1].value'],
        ['Infinity value', ingest({ points: [{ key: 'l', step: 1, value: Infinity }] }), 'points[0].value'],
        ['string value', ingest({ points: [{ key: 'l', step: 1, value: '1.5' }] }), 'points[0].value'],
        ['fractional step', ingest({ points: [{ key: 'l', step: 1.5, value: 1 }] }), 'points[0].step'],
        ['negative step', ingest({ points: [{ key: 'l', step: -1, value: 1 }] }), 'points[0].step'],
        ['empty key', ingest({ points: [{ key: '', step: 1, value: 1 }] }), 'points[0].key'],
        ['no points', ingest({}), 'points'],
        ['empty batch', ingest({ points: [] }), 'points'],
        ['points not array', ingest({ points: 'many' }), 'points'],
        ['array body', ingest([1, 2]), 'body'],
        ['missing task', call(runsRoute.POST as Handler, 'POST', '/api/runs', { cookie: alice, body: { design: { spec: SPEC }, seed: 1 } }), 'task'],
        ['bad seed', call(runsRoute.POST as Handler, 'POST', '/api/runs', { cookie: alice, body: { design: { spec: SPEC }, task: 't', seed: -3 } }), 'seed'],
        ['bad spec', call(runsRoute.POST as Handler, 'POST', '/api/runs', { cookie: alice, body: { design: { spec: { ...SPEC, dModel: 0 } }, task: 't', seed: 1 } }), 'design.spec.dModel'],
        ['no design', call(runsRoute.POST as Handler, 'POST', '/api/runs', { cookie: alice, body: { task: 't', seed: 1 } }), 'design'],
        ['bad mixer', call(designsRoute.POST as Handler, 'POST', '/api/designs', { cookie: alice, body: { name: 'x', spec: { ...SPEC, layers: [{ mixer: { type: 'rnn' }, mlp: null }] } } }), 'spec.layers[0].mixer.type'],
        ['bad graph', call(designsRoute.POST as Handler, 'POST', '/api/designs', { cookie: alice, body: { name: 'x', graph: { format: 'something-else' } } }), 'graph'],
        ['empty name', call(designsRoute.POST as Handler, 'POST', '/api/designs', { cookie: alice, body: { name: '  ', spec: SPEC } }), 'name'],
        ['bad status', call(runRoute.PATCH as Handler, 'PATCH', `/api/runs/${runId}`, { params: { id: runId }, cookie: alice, body: { status: 'exploded' } }), 'status'],
        ['NaN summary', call(runRoute.PATCH as Handler, 'PATCH', `/api/runs/${runId}`, { params: { id: runId }, cookie: alice, body: { summary: { loss: NaN } } }), 'summary.loss'],
        ['empty patch', call(runRoute.PATCH as Handler, 'PATCH', `/api/runs/${runId}`, { params: { id: runId }, cookie: alice, body: {} }), 'body'],
        ['share both', call(sharesRoute.POST as Handler, 'POST', '/api/shares', { cookie: alice, body: { runId, designId } }), 'runId'],
        ['bad list filter', call(runsRoute.GET as Handler, 'GET', '/api/runs', { cookie: alice, query: { status: 'sleeping' } }), 'status'],
        ['bad limit', call(runsRoute.GET as Handler, 'GET', '/api/runs', { cookie: alice, query: { limit: '0' } }), 'limit'],
        ['bad series points', call(seriesRoute.GET as Handler, 'GET', `/api/runs/${runId}/series`, { params: { id: runId }, cookie: alice, query: { points: 'lots' } }), 'points'],
        ['bad series key', call(seriesRoute.GET as Handler, 'GET', `/api/runs/${runId}/series`, { params: { id: runId }, cookie: alice, query: { keys: 'ok,<script>' } }), 'keys'],
        ['bad checkpoint step', call(checkpointRoute.PUT as Handler, 'PUT', `/api/runs/${runId}/checkpoints/x`, { params: { id: runId, step: 'x' }, cookie: alice, raw: new Uint8Array(16) }), 'step'],
        ['not safetensors', call(checkpointRoute.PUT as Handler, 'PUT', `/api/runs/${runId}/checkpoints/7`, { params: { id: runId, step: '7' }, cookie: alice, raw: new TextEncoder().encode('definitely not weights') }), 'body'],
        ['POST checkpoint without step', call(checkpointsRoute.POST as Handler, 'POST', `/api/runs/${runId}/checkpoints`, { params: { id: runId }, cookie: alice, raw: new Uint8Array(16) }), 'step'],
      ];
      for (const [what, p, field] of cases) {
        const r = await bad(what, p);
        expect(r.status, `${what}: ${JSON.stringify(r.json)}`).toBe(400);
        expect(r.json!.field, what).toBe(field);
        expect((r.json!.error ?? "").startsWith(`${field}: `), `${what}: ${r.json!.error}`).toBe(true);
      }
      // Non-JSON and empty bodies.
      for (const [what, raw] of [['not JSON', '{"points": [1,'], ['empty', ''], ['latin-1', new Uint8Array([0x7b, 0xff, 0x7d])]] as const) {
        const r = await bad(what, call(metricsRoute.POST as Handler, 'POST', `/api/runs/${runId}/metrics`, { params: { id: runId }, cookie: alice, raw, headers: { 'content-type': 'application/json' } }));
        expect(r.status, what).toBe(400);
        expect(r.json!.field).toBe('body');
      }
      const nanErr = await ingest({ points: [{ key: 'l', step: 2, value: NaN }] });
      expect(nanErr.json.error).toMatch(/finite number/);
    });

    it('answers 413 for oversized batches, bodies and checkpoints', async () => {
      const tooMany = Array.from({ length: 10_001 }, (_, i) => ({ key: 'l', step: i, value: 1 }));
      const r1 = await bad('10001 points', call(metricsRoute.POST as Handler, 'POST', `/api/runs/${runId}/metrics`, { params: { id: runId }, cookie: alice, body: { points: tooMany } }));
      expect(r1.status).toBe(413);
      expect(r1.json!.error).toMatch(/limit is 10000/);
      const huge = 'x'.repeat(5 * 1024 * 1024);
      const r2 = await bad('5 MiB JSON', call(designsRoute.POST as Handler, 'POST', '/api/designs', { cookie: alice, raw: JSON.stringify({ name: huge }), headers: { 'content-type': 'application/json' } }));
      expect(r2.status).toBe(413);
      // A streamed body with no Content-Length is cut off at the limit too.
      const stream = new ReadableStream<Uint8Array>({
        start(c) {
          for (let i = 0; i < 80; i++) c.enqueue(new Uint8Array(1024 * 1024));
          c.close();
        },
      });
      const req = new Request(`http://127.0.0.1/api/runs/${runId}/checkpoints/9`, { method: 'PUT', body: stream, headers: { cookie: `${OWNER_COOKIE}=${alice}` }, duplex: 'half' } as RequestInit);
      const r3 = await (checkpointRoute.PUT as Handler)(req, { params: Promise.resolve({ id: runId, step: '9' }) });
      statuses.push({ what: 'streamed 80 MiB checkpoint', status: r3.status });
      expect(r3.status).toBe(413);
      const r4 = await bad('declared 1 GiB', call(checkpointRoute.PUT as Handler, 'PUT', `/api/runs/${runId}/checkpoints/9`, { params: { id: runId, step: '9' }, cookie: alice, raw: new Uint8Array(8), headers: { 'content-length': String(2 ** 30) } }));
      expect(r4.status).toBe(413);
    });

    it('answers 404 for unknown ids, slugs and revoked links', async () => {
      const cases: [string, Promise<{ status: number; json: { error?: string } | null }>][] = [
        ['unknown run', call(runRoute.GET as Handler, 'GET', '/api/runs/nope', { params: { id: 'nope' }, cookie: alice })],
        ['unknown design', call(designRoute.GET as Handler, 'GET', '/api/designs/AAAAAAAAAAAAAAAAAAAAAA', { params: { id: 'AAAAAAAAAAAAAAAAAAAAAA' }, cookie: alice })],
        ['ingest unknown run', call(metricsRoute.POST as Handler, 'POST', '/api/runs/nope/metrics', { params: { id: 'nope' }, cookie: alice, body: { points: [{ key: 'l', step: 1, value: 1 }] } })],
        ['unknown slug', call(shareRoute.GET as Handler, 'GET', '/api/shares/AAAAAAAAAAAAAAAAAAAAAAAA', { params: { slug: 'AAAAAAAAAAAAAAAAAAAAAAAA' } })],
        ['malformed slug', call(shareRoute.GET as Handler, 'GET', "/api/shares/'; DROP TABLE", { params: { slug: "'; DROP TABLE \"Run\"; --" } })],
        ['missing checkpoint', call(checkpointRoute.GET as Handler, 'GET', `/api/runs/${runId}/checkpoints/12345`, { params: { id: runId, step: '12345' }, cookie: alice })],
      ];
      for (const [what, p] of cases) {
        const r = await bad(what, p);
        expect(r.status, what).toBe(404);
      }
      const revoke = await call(shareRoute.DELETE as Handler, 'DELETE', `/api/shares/${slug}`, { params: { slug }, cookie: alice });
      expect(revoke.status).toBe(204);
      const gone = await bad('revoked', call(shareRoute.GET as Handler, 'GET', `/api/shares/${slug}`, { params: { slug } }));
      expect(gone.status).toBe(404);
      const relink = await call(sharesRoute.POST as Handler, 'POST', '/api/shares', { cookie: alice, body: { runId, title: 'Tiny attention on MQAR' } });
      expect(relink.status).toBe(201);
      expect(relink.json.slug).not.toBe(slug);
    });

    it('survives fuzzed bodies and queries on every endpoint without a 500', async () => {
      let seed = 7;
      const rnd = () => ((seed = (Math.imul(seed, 1664525) + 1013904223) >>> 0) / 2 ** 32);
      const pick = <T,>(xs: T[]): T => xs[Math.floor(rnd() * xs.length)];
      const scalar = () => pick<unknown>([null, true, 0, -1, 1.5, 2 ** 53, -(2 ** 31), 1e308, '', 'x', 'NaN', 'Infinity', '1e3', '<script>', '\u0000', 'é'.repeat(300), runId, designId]);
      const value = (depth: number): unknown => {
        if (depth > 3 || rnd() < 0.4) return scalar();
        if (rnd() < 0.5) return Array.from({ length: Math.floor(rnd() * 4) }, () => value(depth + 1));
        const keys = ['name', 'spec', 'graph', 'points', 'key', 'step', 'value', 'task', 'seed', 'status', 'summary', 'design', 'designId', 'runId', 'version', 'config', 'adapter', 'layers', '__proto__', 'constructor'];
        return Object.fromEntries(Array.from({ length: Math.floor(rnd() * 5) }, () => [pick(keys), value(depth + 1)]));
      };
      // Near-valid bodies: one field of a valid body replaced by something random.
      const mutate = (valid: Record<string, unknown>) => {
        const out: Record<string, unknown> = JSON.parse(JSON.stringify(valid));
        const k = pick(Object.keys(out));
        out[k] = value(1);
        return out;
      };
      const validRun = { design: { spec: SPEC }, task: 'mqar', seed: 1, config: { lr: 0.1 } };
      const validPoints = { points: [{ key: 'loss', step: 1, value: 0.5 }] };
      const targets: [string, Handler, string, Record<string, string>, () => unknown][] = [
        ['create design', designsRoute.POST as Handler, 'POST', {}, () => (rnd() < 0.5 ? value(0) : mutate({ name: 'n', spec: SPEC }))],
        ['save design', designRoute.PUT as Handler, 'PUT', { id: designId }, () => (rnd() < 0.5 ? value(0) : mutate({ spec: SPEC }))],
        ['create run', runsRoute.POST as Handler, 'POST', {}, () => (rnd() < 0.5 ? value(0) : mutate(validRun))],
        ['patch run', runRoute.PATCH as Handler, 'PATCH', { id: runId }, () => (rnd() < 0.5 ? value(0) : mutate({ name: 'n', summary: { a: 1 } }))],
        ['ingest', metricsRoute.POST as Handler, 'POST', { id: runId }, () => (rnd() < 0.5 ? value(0) : { points: [mutate(validPoints.points[0])] })],
        ['share', sharesRoute.POST as Handler, 'POST', {}, () => (rnd() < 0.5 ? value(0) : mutate({ runId }))],
      ];
      for (const [what, handler, method, params, body] of targets) {
        for (let i = 0; i < 40; i++) {
          const b = body();
          const r = await call(handler, method, '/fuzz', { params, cookie: alice, body: b });
          statuses.push({ what: `fuzz ${what}`, status: r.status });
          expect(r.status, `${what} ${JSON.stringify(b)?.slice(0, 300)} → ${JSON.stringify(r.json)}`).toBeLessThan(500);
        }
      }
      const gets: [Handler, Record<string, string>][] = [
        [runsRoute.GET as Handler, {}],
        [seriesRoute.GET as Handler, { id: runId }],
        [metricsRoute.GET as Handler, { id: runId }],
        [designRoute.GET as Handler, { id: designId }],
        [checkpointRoute.GET as Handler, { id: runId, step: 'x' }],
      ];
      for (const [handler, params] of gets) {
        for (let i = 0; i < 30; i++) {
          const query = Object.fromEntries([['status', 'limit', 'cursor', 'keys', 'points', 'key', 'after', 'version', 'task'].map((k) => [k, String(scalar())])].flat().filter(() => rnd() < 0.5));
          const step = String(scalar());
          const r = await call(handler, 'GET', '/fuzz', { params: { ...params, ...(params.step ? { step } : {}) }, cookie: alice, query });
          statuses.push({ what: 'fuzz query', status: r.status });
          expect(r.status, `${JSON.stringify(query)} step=${step} → ${JSON.stringify(r.json)}`).toBeLessThan(500);
        }
      }
    });

    it('deletes a run with its metrics, checkpoints and shares', async () => {
      const del = await call(runRoute.DELETE as Handler, 'DELETE', `/api/runs/${runId}`, { params: { id: runId }, cookie: alice });
      expect(del.status).toBe(204);
      expect(await database.db.metricPoint.count({ where: { runId } })).toBe(0);
      expect(await database.db.checkpoint.count({ where: { runId } })).toBe(0);
      expect(await database.db.runDataset.count({ where: { runId } })).toBe(0);
      expect(await database.db.share.count({ where: { runId } })).toBe(0);
      // A run deleted behind this process's back (another server): ingest answers 404, not 500.
      const other = await call(runsRoute.POST as Handler, 'POST', '/api/runs', { cookie: alice, body: { design: { spec: SPEC }, task: 't', seed: 1 } });
      const oid = other.json.id;
      const ok = await call(metricsRoute.POST as Handler, 'POST', `/api/runs/${oid}/metrics`, { params: { id: oid }, cookie: alice, body: { points: [{ key: 'l', step: 0, value: 1 }] } });
      expect(ok.status).toBe(200);
      await database.db.run.delete({ where: { id: oid } });
      const gone = await bad('ingest into a run deleted elsewhere', call(metricsRoute.POST as Handler, 'POST', `/api/runs/${oid}/metrics`, { params: { id: oid }, cookie: alice, body: { points: [{ key: 'l', step: 1, value: 1 }] } }));
      expect(gone.status).toBe(404);
      const delDesign = await call(designRoute.DELETE as Handler, 'DELETE', `/api/designs/${designId}`, { params: { id: designId }, cookie: alice });
      expect(delDesign.status).toBe(204);
    });

    it('never answered 500 to any bad input', () => {
      expect(statuses.length).toBeGreaterThan(40);
      expect(statuses.filter((s) => s.status >= 500)).toEqual([]);
    });
  });
}
