/**
 * Editor frame-time benchmark (a measurement, not a test): loads a ~300-node design into the
 * built app in Chromium and drags with real pointer events, recording requestAnimationFrame
 * intervals in the page.
 *
 *   npx next build && npx tsx bench/editor-frames.ts [--url http://127.0.0.1:3000] [--nodes 300] [--settle 240]
 *
 * Without --url it serves the built app itself on a free port. Prints one JSON line per scenario.
 * Frame times here include Chromium's software compositor on this machine's CPU. Before measuring
 * it waits (up to --settle seconds, 0 = not at all) for the background compile check to finish,
 * since on SwiftShader that check competes for the same CPU; the line says which state it was in.
 * Each scenario also reports the renderer's main-thread script time per pointer move (CDP
 * Performance metrics), which is less sensitive to other load on the machine than frame times.
 */
import { spawn, type ChildProcess } from 'node:child_process';
import { createServer } from 'node:net';
import { join } from 'node:path';
import { cpus, loadavg } from 'node:os';
import type { Page } from 'playwright-core';
import { launchBrowser } from '../tests/helpers/browser';
import { AUTOSAVE_KEY } from '../components/editor/persistence';
import { specToDesign } from '../engine/design/raise';
import { serializeDesign } from '../engine/design/document';
import { MIRAS_PRESETS } from '../engine/presets/miras';
import type { Layer, ModelSpec } from '../engine/spec';

const arg = (name: string) => {
  const i = process.argv.indexOf(`--${name}`);
  return i > 0 ? process.argv[i + 1] : undefined;
};

/** A deep Gated DeltaNet whose layers differ (MLP widths), so nothing folds into a stack. */
function bigDesign(targetNodes: number) {
  const gdn = MIRAS_PRESETS.find((p) => p.name === 'gated-deltanet')!;
  const base = gdn.build({ vocabSize: 256, dModel: 128, nLayers: 1 });
  const perLayer = 11; // norm, conv, miras, 4 axes, residual, norm, mlp, residual
  const n = Math.max(1, Math.round((targetNodes - 4) / perLayer));
  const layers: Layer[] = Array.from({ length: n }, (_, i) => ({ ...structuredClone(base.layers[0]), mlp: { type: 'swiglu', hidden: 256 + 8 * i } }));
  const spec: ModelSpec = { ...base, layers };
  return specToDesign(spec, { name: `bench ${n} layers` });
}

async function freePort(): Promise<number> {
  return new Promise((res) => {
    const s = createServer();
    s.listen(0, '127.0.0.1', () => {
      const a = s.address();
      const port = typeof a === 'object' && a ? a.port : 0;
      s.close(() => res(port));
    });
  });
}

async function serve(): Promise<{ url: string; child: ChildProcess }> {
  const port = await freePort();
  const child = spawn(process.execPath, [join(process.cwd(), 'node_modules/next/dist/bin/next'), 'start', '-H', '127.0.0.1', '-p', String(port)], {
    env: { ...process.env, NEXT_TELEMETRY_DISABLED: '1' },
    stdio: 'ignore',
  });
  const url = `http://127.0.0.1:${port}`;
  for (let i = 0; i < 240; i++) {
    try {
      if ((await fetch(url)).status < 500) return { url, child };
    } catch {
      // not up yet
    }
    await new Promise((r) => setTimeout(r, 250));
  }
  child.kill();
  throw new Error(`next start did not answer on ${url}; run \`npx next build\` first.`);
}

async function measure(page: Page, name: string, gesture: () => Promise<void>, moves: number) {
  const cdp = await page.context().newCDPSession(page);
  await cdp.send('Performance.enable');
  const metrics = async () => Object.fromEntries((await cdp.send('Performance.getMetrics')).metrics.map((m) => [m.name, m.value]));
  const m0 = await metrics();
  // Passed as source text: tsx would otherwise inject helpers the page does not have.
  await page.evaluate(`(() => {
    window.__frames = [];
    window.__recording = true;
    let last = performance.now();
    const tick = (t) => {
      window.__frames.push(t - last);
      last = t;
      if (window.__recording) requestAnimationFrame(tick);
    };
    requestAnimationFrame(tick);
  })()`);
  const t0 = Date.now();
  await gesture();
  const wall = Date.now() - t0;
  const frames = (await page.evaluate(`(() => {
    window.__recording = false;
    return window.__frames.slice(1);
  })()`)) as number[];
  const m1 = await metrics();
  await cdp.detach();
  const perMove = (k: string) => +(((m1[k] - m0[k]) * 1000) / moves).toFixed(2);
  const sorted = [...frames].sort((a, b) => a - b);
  const q = (p: number) => sorted[Math.min(sorted.length - 1, Math.floor(p * sorted.length))] ?? NaN;
  const mean = frames.reduce((a, b) => a + b, 0) / frames.length;
  return {
    scenario: name,
    frames: frames.length,
    wallMs: wall,
    meanMs: +mean.toFixed(2),
    p50Ms: +q(0.5).toFixed(2),
    p95Ms: +q(0.95).toFixed(2),
    maxMs: +sorted[sorted.length - 1].toFixed(2),
    fps: +(1000 / mean).toFixed(1),
    over33ms: frames.filter((f) => f > 33.4).length,
    scriptMsPerMove: perMove('ScriptDuration'),
    taskMsPerMove: perMove('TaskDuration'),
  };
}

async function main() {
  const target = Number(arg('nodes') ?? 300);
  const settleS = Number(arg('settle') ?? 240);
  const external = arg('url');
  const server = external ? { url: external, child: null } : await serve();
  const browser = await launchBrowser();
  try {
    const page = await browser.context.newPage();
    const doc = bigDesign(target);
    await page.addInitScript(([key, text]) => localStorage.setItem(key, text), [AUTOSAVE_KEY, serializeDesign(doc)] as const);
    await page.goto(server.url);
    await page.getByTestId('tab-model').click();
    const stats = page.getByTestId('graph-stats');
    await stats.waitFor();
    const nodes = Number(await stats.getAttribute('data-nodes'));
    const edges = Number(await stats.getAttribute('data-edges'));
    await page.locator('.react-flow__node').first().waitFor();
    const canvas = (await page.getByTestId('canvas').boundingBox())!;
    const status = page.getByTestId('compile-status');
    const t0 = Date.now();
    while (settleS > 0 && Date.now() - t0 < settleS * 1000 && (await status.getAttribute('data-state')) === 'checking') await page.waitForTimeout(1000);
    const env = {
      nodes,
      edges,
      chromium: browser.context.browser()?.version() ?? 'chromium',
      viewport: '1440x900',
      cpus: cpus().length,
      loadAverage: +loadavg()[0].toFixed(1),
      compile: await status.getAttribute('data-state'),
      settledAfterS: Math.round((Date.now() - t0) / 1000),
      date: new Date().toISOString(),
    };
    console.log(JSON.stringify({ bench: 'editor-frames', ...env }));

    // 1. Drag one node around, 120 pointer moves.
    const node = page.locator('.react-flow__node-miras').first();
    const b = (await node.boundingBox())!;
    const start = { x: b.x + b.width / 2, y: b.y + 12 };
    console.log(
      JSON.stringify(
        await measure(page, 'drag one node', async () => {
          await page.mouse.move(start.x, start.y);
          await page.mouse.down();
          for (let i = 1; i <= 120; i++) await page.mouse.move(start.x + Math.sin(i / 10) * 200, start.y + (i % 40) * 4);
          await page.mouse.up();
        }, 120),
      ),
    );
    // 2. Select everything and drag the whole graph, grabbing the same node where it now is.
    await page.locator('.react-flow__pane').click({ position: { x: 5, y: 5 } });
    await page.keyboard.press('Control+a');
    const b2 = (await node.boundingBox())!;
    const start2 = { x: b2.x + b2.width / 2, y: b2.y + 12 };
    console.log(
      JSON.stringify(
        await measure(page, `drag all ${nodes} nodes`, async () => {
          await page.mouse.move(start2.x, start2.y);
          await page.mouse.down();
          for (let i = 1; i <= 60; i++) await page.mouse.move(start2.x + i * 3, start2.y + i * 2);
          await page.mouse.up();
        }, 60),
      ),
    );
    // 3. Pan the canvas (wheel).
    console.log(
      JSON.stringify(
        await measure(page, 'pan with the wheel', async () => {
          await page.mouse.move(canvas.x + canvas.width / 2, canvas.y + canvas.height / 2);
          for (let i = 0; i < 60; i++) await page.mouse.wheel(0, 40);
        }, 60),
      ),
    );
  } finally {
    await browser.close();
    server.child?.kill();
  }
}

main().catch((e) => {
  console.error(e);
  process.exit(1);
});
