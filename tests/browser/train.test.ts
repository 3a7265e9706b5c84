/**
 * In-browser training end to end (issue 6): the deltanet preset trains a tiny MQAR in the worker
 * on WebGPU (SwiftShader), the panel shows progress and curves, the loss falls, and the run with
 * every metric point is in the database; a reload mid-run resumes from the last checkpoint.
 */
import Database from 'better-sqlite3';
import { mkdirSync } from 'node:fs';
import type { Page } from 'playwright-core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { launchBrowser, type TestBrowser } from '../helpers/browser';
import { startAppServer, type AppServer } from '../helpers/server';

let server: AppServer;
let browser: TestBrowser;

beforeAll(async () => {
  server = await startAppServer();
  browser = await launchBrowser();
});
afterAll(async () => {
  await browser?.close();
  await server?.stop();
});

function db() {
  return new Database(server.databaseUrl.replace(/^file:/, ''), { readonly: true });
}

function runRow(id: string) {
  const d = db();
  try {
    const run = d.prepare('SELECT status, task, seed, config, designSnapshot, adapter, error FROM Run WHERE id = ?').get(id) as Record<string, string> | undefined;
    const points = d.prepare("SELECT step, value FROM MetricPoint WHERE runId = ? AND key = 'train/loss' ORDER BY step").all(id) as { step: number; value: number }[];
    const checkpoints = d.prepare('SELECT step FROM Checkpoint WHERE runId = ? ORDER BY step').all(id) as { step: number }[];
    return { run, points, checkpoints: checkpoints.map((c) => c.step) };
  } finally {
    d.close();
  }
}

async function openTrainPanel(page: Page) {
  page.on('console', (m) => { if (m.type() === 'error') console.log(`[page] ${m.text()}`); });
  page.on('pageerror', (e) => console.log(`[page error] ${e.message}`));
  await page.goto(server.url);
  // The gallery opens by itself on a first visit; otherwise open it.
  const gallery = page.getByTestId('presets-gallery');
  await gallery.waitFor({ timeout: 10_000 }).catch(() => page.getByTestId('open-presets').click());
  await page.getByTestId('preset-deltanet').click();
  await gallery.waitFor({ state: 'detached' });
  await page.getByTestId('tab-train').click();
  await page.getByLabel('Training progress').waitFor({ state: 'visible' });
}

async function configure(page: Page, steps: number, every: number) {
  await page.locator('#train-task').selectOption('mqar');
  await page.locator('#task-mqar-vocabSize').fill('32');
  await page.locator('#task-mqar-kvPairs').fill('2');
  await page.locator('#train-steps').fill(String(steps));
  await page.locator('#train-batch').fill('8');
  await page.locator('#train-seqLen').fill('16');
  await page.locator('#train-lr').fill('0.01');
  await page.locator('#train-warmupSteps').fill('2');
  await page.locator('#train-evalEvery').fill(String(every));
  await page.locator('#train-checkpointEvery').fill(String(every));
}

const status = (page: Page) => page.getByTestId('train-status');

async function waitForState(page: Page, states: string[], timeout: number) {
  await expect
    .poll(async () => {
      const s = await status(page).getAttribute('data-state');
      if (s === 'failed') throw new Error(`training failed: ${await page.getByTestId('train-message').textContent().catch(() => '?')}`);
      return states.includes(s ?? '');
    }, { timeout, interval: 500 })
    .toBe(true);
}

describe('in-browser training', () => {
  it('trains 30 steps of a tiny MQAR on the deltanet preset and records every point', async () => {
    const page = await browser.context.newPage();
    await openTrainPanel(page);
    await configure(page, 30, 10);
    await page.getByTestId('train-start').click();

    const progress = page.getByLabel('Training progress');
    await expect.poll(async () => Number(await progress.getAttribute('value')), { timeout: 240_000, interval: 500 }).toBeGreaterThan(0);
    const early = Number(await progress.getAttribute('value'));
    expect(await progress.getAttribute('max')).toBe('30');
    await expect.poll(async () => Number(await page.getByTestId('loss-chart').getAttribute('data-points')), { timeout: 60_000 }).toBeGreaterThan(0);
    await waitForState(page, ['completed'], 480_000);
    expect(Number(await progress.getAttribute('value'))).toBe(30);
    expect(30).toBeGreaterThan(early);
    expect(Number(await page.getByTestId('loss-chart').getAttribute('data-points'))).toBeGreaterThanOrEqual(30);
    // Held-out eval, the memory heatmaps (state norm and β per layer/head) and "try the model".
    await expect.poll(async () => (await page.getByTestId('eval-summary').textContent()) ?? '', { timeout: 30_000 }).toMatch(/Held-out at step 30: loss/);
    await page.getByTestId('memory-view').waitFor({ timeout: 30_000 });
    expect(await page.getByTestId('memory-view').locator('canvas').count()).toBeGreaterThanOrEqual(2);
    await page.getByRole('button', { name: 'Measure recall on held-out examples' }).click();
    await expect.poll(async () => (await page.getByTestId('try-result').textContent().catch(() => '')) ?? '', { timeout: 60_000 }).toMatch(/Accuracy \d/);
    mkdirSync('test-results', { recursive: true });
    await page.getByRole('region', { name: 'Training' }).screenshot({ path: 'test-results/train-panel.png' });

    const runId = (await status(page).getAttribute('data-run-id'))!;
    expect(runId).toBeTruthy();
    await expect.poll(() => runRow(runId).run?.status, { timeout: 30_000 }).toBe('completed');
    const { run, points, checkpoints } = runRow(runId);
    expect(run!.task).toBe('mqar');
    expect(JSON.parse(run!.designSnapshot).spec.layers.length).toBeGreaterThan(0);
    expect(JSON.parse(run!.adapter)).toHaveProperty('limits');
    expect(points.map((p) => p.step)).toEqual(Array.from({ length: 30 }, (_, i) => i + 1));
    expect(checkpoints).toContain(30);
    const mean = (xs: { value: number }[]) => xs.reduce((a, p) => a + p.value, 0) / xs.length;
    console.log(`[train] loss first 5 ${mean(points.slice(0, 5)).toFixed(4)} → last 5 ${mean(points.slice(-5)).toFixed(4)}`);
    expect(mean(points.slice(-5))).toBeLessThan(mean(points.slice(0, 5)));

    // Sharing is one click from the panel, and the link shows the run to anyone.
    await page.getByTestId('share-run').click();
    const link = await page.getByTestId('share-link').inputValue();
    expect(link).toMatch(/\/e\/[A-Za-z0-9_-]{20,}$/);
    const shared = await page.request.get(link);
    expect(shared.status()).toBe(200);
    await page.close();
  }, 540_000);

  it('resumes from the last checkpoint after a reload mid-run', async () => {
    const page = await browser.context.newPage();
    await openTrainPanel(page);
    await configure(page, 24, 8);
    await page.getByTestId('train-start').click();
    const runId = await (async () => {
      await expect.poll(async () => (await status(page).getAttribute('data-run-id')) ?? '', { timeout: 60_000 }).not.toBe('');
      return (await status(page).getAttribute('data-run-id'))!;
    })();
    // Wait until the step-8 checkpoint is stored, then reload while training continues.
    // (Through the API, like the app: a second SQLite connection polling during ingest is not what we test.)
    const storedCheckpoints = async () => {
      const r = await page.request.get(`${server.url}/api/runs/${runId}`);
      return r.ok() ? ((await r.json()) as { checkpoints: { step: number }[] }).checkpoints.map((c) => c.step) : [];
    };
    await expect.poll(async () => (await storedCheckpoints()).includes(8), { timeout: 300_000, interval: 1000 }).toBe(true);
    await page.reload();
    await page.getByTestId('tab-train').click();
    await expect.poll(async () => (await page.getByTestId('train-message').textContent()) ?? '', { timeout: 60_000 }).toMatch(/Resumed the unfinished run from its checkpoint at step (8|16)/);
    expect(await status(page).getAttribute('data-run-id')).toBe(runId);
    // The curves are redrawn from the stored points up to the checkpoint.
    await expect.poll(async () => Number(await page.getByTestId('loss-chart').getAttribute('data-points')), { timeout: 30_000 }).toBeGreaterThanOrEqual(8);
    await waitForState(page, ['completed'], 480_000);
    expect(Number(await page.getByTestId('loss-chart').getAttribute('data-points'))).toBeGreaterThanOrEqual(24);
    await expect.poll(() => runRow(runId).run?.status, { timeout: 30_000 }).toBe('completed');
    const { points, checkpoints } = runRow(runId);
    expect(points.map((p) => p.step)).toEqual(Array.from({ length: 24 }, (_, i) => i + 1));
    expect(checkpoints).toEqual(expect.arrayContaining([8, 16, 24]));
    await page.close();
  }, 540_000);

  it('without WebGPU says so and offers the reference backend', async () => {
    const page = await browser.context.newPage();
    await page.addInitScript(() => Object.defineProperty(Navigator.prototype, 'gpu', { get: () => undefined, configurable: true }));
    await openTrainPanel(page);
    await expect.poll(async () => (await page.getByTestId('no-webgpu').textContent().catch(() => '')) ?? '', { timeout: 30_000 }).toMatch(/no WebGPU.*reference backend/s);
    expect(await page.locator('#train-backend').inputValue()).toBe('reference');
    expect(await page.locator('#train-backend option[value="webgpu"]').isDisabled()).toBe(true);
    await page.close();
  });
});
