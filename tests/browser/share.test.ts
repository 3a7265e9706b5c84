/**
 * A share link end to end in the built app: an owner records a run over HTTP (create, ingest 3k
 * points, checkpoint, complete, share); a different browser (fresh context, no cookie) opens
 * /e/<slug>, sees the curves, the graph, the final metrics and the adapter, and forks the design.
 * Then the runs page: that browser's own runs, filtered, two of them compared.
 */
import { mkdirSync } from 'node:fs';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { launchBrowser, type TestBrowser } from '../helpers/browser';
import { startAppServer, type AppServer } from '../helpers/server';
import { encodeSafetensors } from '@/server/safetensors';

let server: AppServer;
let browser: TestBrowser;
let slug: string;

const SPEC = {
  vocabSize: 32,
  dModel: 16,
  layers: [
    { mixer: { type: 'attention', heads: 2, headDim: 8, window: null }, mlp: { type: 'swiglu', hidden: 32 } },
    { mixer: { type: 'attention', heads: 2, headDim: 8, window: 64 }, mlp: { type: 'swiglu', hidden: 32 } },
  ],
};

async function api(path: string, init: RequestInit & { cookie?: string } = {}) {
  const headers = new Headers(init.headers);
  if (init.cookie) headers.set('cookie', init.cookie);
  const res = await fetch(`${server.url}${path}`, { ...init, headers });
  const text = await res.text();
  if (!res.ok) throw new Error(`${init.method ?? 'GET'} ${path} → ${res.status}: ${text}`);
  return { res, json: text && res.headers.get('content-type')?.includes('json') ? JSON.parse(text) : null };
}

beforeAll(async () => {
  server = await startAppServer();
  browser = await launchBrowser();
  // The owner, over plain HTTP: the first write hands out the owner cookie.
  const created = await api('/api/runs', {
    method: 'POST',
    headers: { 'content-type': 'application/json' },
    body: JSON.stringify({ name: 'Two-layer attention on MQAR', design: { spec: SPEC }, preset: 'transformer', task: 'mqar', seed: 42, config: { steps: 3000, lr: 0.003, batchSize: 8, seqLen: 64 }, status: 'running' }),
  });
  const cookie = created.res.headers.get('set-cookie')!.split(';')[0];
  const runId = created.json.id as string;
  for (let start = 0; start < 3000; start += 1000) {
    const points = [];
    for (let s = start; s < start + 1000; s++) {
      points.push({ key: 'train/loss', step: s, value: 3.4 * Math.exp(-s / 800) + 0.2 + 0.05 * Math.sin(s) });
      if (s % 100 === 0) points.push({ key: 'eval/accuracy', step: s, value: 1 - Math.exp(-s / 900) });
    }
    await api(`/api/runs/${runId}/metrics`, { method: 'POST', cookie, headers: { 'content-type': 'application/json' }, body: JSON.stringify({ points }) });
  }
  const ckpt = encodeSafetensors({ 'embedding.weight': { dtype: 'F32', shape: [32, 16], data: new Float32Array(512).fill(0.5) } });
  await api(`/api/runs/${runId}/checkpoints/2999`, { method: 'PUT', cookie, body: ckpt });
  await api(`/api/runs/${runId}`, {
    method: 'PATCH',
    cookie,
    headers: { 'content-type': 'application/json' },
    body: JSON.stringify({ status: 'completed', summary: { 'train/loss': 0.21, 'eval/accuracy': 0.96 }, adapter: { vendor: 'google', architecture: 'swiftshader', device: 'SwiftShader Device (Subzero)', description: 'software' } }),
  });
  const share = await api('/api/shares', { method: 'POST', cookie, headers: { 'content-type': 'application/json' }, body: JSON.stringify({ runId }) });
  slug = share.json.slug;
});

afterAll(async () => {
  await browser?.close();
  await server?.stop();
});

describe('shared experiment link in Chromium', () => {
  it('shows the run to a stranger with link-preview metadata, curves, graph, metrics and adapter', async () => {
    const page = await browser.context.newPage();
    const res = await page.goto(`${server.url}/e/${slug}`);
    expect(res?.status()).toBe(200);
    expect(await page.locator('h1').textContent()).toBe('Two-layer attention on MQAR');
    expect(await page.locator('meta[property="og:title"]').getAttribute('content')).toBe('Two-layer attention on MQAR');
    expect(await page.locator('meta[property="og:description"]').getAttribute('content')).toMatch(/completed run on mqar.*eval\/accuracy 0\.96/);
    // The curves: uPlot draws a canvas per metric; the loss series was downsampled to ≤ 500 buckets.
    const loss = page.getByTestId('curve-train/loss');
    await loss.locator('canvas').first().waitFor({ state: 'visible', timeout: 30_000 });
    const drawn = Number(await loss.getAttribute('data-points'));
    expect(drawn).toBeGreaterThan(100);
    expect(drawn).toBeLessThanOrEqual(500);
    await page.getByTestId('curve-eval/accuracy').locator('canvas').first().waitFor({ state: 'visible' });
    // The canvas is not blank: some pixels differ from the background.
    const inked = await loss.locator('canvas').first().evaluate((c: HTMLCanvasElement) => {
      const d = c.getContext('2d')!.getImageData(0, 0, c.width, c.height).data;
      let n = 0;
      for (let i = 3; i < d.length; i += 4) if (d[i] > 0) n++;
      return n;
    });
    expect(inked).toBeGreaterThan(500);
    expect(await page.getByTestId('design-graph').locator('rect').count()).toBeGreaterThan(6);
    expect(await page.getByTestId('final-metrics').textContent()).toContain('0.96');
    expect(await page.getByTestId('adapter').textContent()).toContain('SwiftShader');
    expect(await page.getByTestId('configuration').textContent()).toContain('batchSize');
    mkdirSync('test-results', { recursive: true });
    await page.screenshot({ path: 'test-results/share.png', fullPage: true });
    await page.close();
  });

  it('forks it into the visitor’s own design and opens the editor', async () => {
    const page = await browser.context.newPage();
    await page.goto(`${server.url}/e/${slug}`);
    await Promise.all([page.waitForURL(/\/\?design=[A-Za-z0-9_-]{22}$/), page.getByTestId('fork').click()]);
    const designId = new URL(page.url()).searchParams.get('design')!;
    // The copy belongs to this browser (its owner cookie), not to the run's owner.
    const mine = await page.request.get(`${server.url}/api/designs/${designId}`);
    expect(mine.status()).toBe(200);
    const body = await mine.json();
    expect(body.design.name).toBe('Copy of Two-layer attention on MQAR');
    expect(body.version.spec).toMatchObject({ dModel: 16, vocabSize: 32 });
    expect(body.version.config).toMatchObject({ task: 'mqar', seed: 42, lr: 0.003 });
    // The editor opens the copy itself, as an editable graph.
    await expect.poll(() => page.getByTestId('design-name').inputValue(), { timeout: 30_000 }).toBe('Copy of Two-layer attention on MQAR');
    expect(await page.locator('.react-flow__node').count()).toBeGreaterThan(3);
    const cookies = await browser.context.cookies(server.url);
    const owner = cookies.find((c) => c.name === 'miras_owner');
    expect(owner?.httpOnly).toBe(true);
    // Someone else (no cookie) cannot read it.
    const stranger = await fetch(`${server.url}/api/designs/${designId}`);
    expect(stranger.status).toBe(403);
    await page.close();
  });
});

describe('runs page and comparison in Chromium', () => {
  it('lists the visitor’s runs, filters them, and compares two (overlaid curves, configuration diff)', async () => {
    const page = await browser.context.newPage();
    await page.goto(`${server.url}/runs`);
    const ids: string[] = [];
    for (const [i, lr] of [0.003, 0.001].entries()) {
      const res = await page.request.post(`${server.url}/api/runs`, {
        data: { name: `attention lr=${lr}`, design: { spec: SPEC }, task: i ? 'parity' : 'mqar', seed: i, config: { lr, steps: 500 }, status: 'running' },
      });
      expect(res.status()).toBe(201);
      const id = (await res.json()).id as string;
      ids.push(id);
      const points = Array.from({ length: 500 }, (_, s) => ({ key: 'train/loss', step: s, value: 3 * Math.exp((-s * lr) / 2) + 0.3 }));
      expect((await page.request.post(`${server.url}/api/runs/${id}/metrics`, { data: { points } })).status()).toBe(200);
      expect((await page.request.patch(`${server.url}/api/runs/${id}`, { data: { status: 'completed', summary: { 'train/loss': 1 + i } } })).status()).toBe(200);
    }
    await page.goto(`${server.url}/runs`);
    // Only this browser's runs: the forked design's visitor has these two, not the owner's shared run.
    expect(await page.getByTestId('run-row').count()).toBe(2);
    await page.goto(`${server.url}/runs?task=parity`);
    expect(await page.getByTestId('run-row').count()).toBe(1);
    await page.goto(`${server.url}/runs`);
    for (const box of await page.locator('input[name="ids"]').all()) await box.check();
    await Promise.all([page.waitForURL(/\/runs\/compare\?ids=/), page.getByTestId('compare').click()]);
    const chart = page.getByTestId('curve-train/loss');
    await chart.locator('canvas').first().waitFor({ state: 'visible' });
    expect(Number(await chart.getAttribute('data-points'))).toBe(800); // two runs overlaid, 500 points each downsampled to 400 buckets
    const differing = await page.locator('[data-testid="config-diff"] tr.differs th').allTextContents();
    expect(differing).toEqual(expect.arrayContaining(['config.lr', 'seed', 'task']));
    expect(differing).not.toContain('model.dModel');
    await page.screenshot({ path: 'test-results/compare.png' });
    await page.close();
  });
});
