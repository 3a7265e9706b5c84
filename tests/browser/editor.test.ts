/**
 * The node editor in Chromium, driven through real pointer events (page.mouse) against the
 * built app: palette drag-and-drop, typed connections, inspector edits, undo, every preset,
 * export/import and malformed files, the minimap's wheel zoom and drag. Also writes the editor screenshots under docs/.
 */
import { mkdirSync, readFileSync } from 'node:fs';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { Locator, Page } from 'playwright-core';
import { launchBrowser, type TestBrowser } from '../helpers/browser';
import { startAppServer, type AppServer } from '../helpers/server';
import { GALLERY_PRESETS as PRESETS, presetDesign } from '@/components/editor/presets';
import { layoutProblems, type LayoutBox } from '@/engine/design/layout';

let server: AppServer;
let browser: TestBrowser;
let page: Page;

beforeAll(async () => {
  server = await startAppServer();
  browser = await launchBrowser();
  page = await browser.context.newPage();
  page.on('pageerror', (e) => console.error(`[page error] ${e.message}`));
  await page.goto(server.url);
  await page.getByTestId('presets-gallery').waitFor();
});
afterAll(async () => {
  await browser?.close();
  await server?.stop();
});

const center = async (l: Locator) => {
  const b = (await l.boundingBox())!;
  return { x: b.x + b.width / 2, y: b.y + b.height / 2 };
};

/** Press, move in steps, release: what a person's mouse does. */
async function drag(from: { x: number; y: number }, to: { x: number; y: number }) {
  await page.mouse.move(from.x, from.y);
  await page.mouse.down();
  await page.mouse.move((from.x + to.x) / 2, (from.y + to.y) / 2, { steps: 8 });
  await page.mouse.move(to.x, to.y, { steps: 8 });
  await page.mouse.up();
}

const graphStats = async () => {
  const s = page.getByTestId('graph-stats');
  return { nodes: Number(await s.getAttribute('data-nodes')), edges: Number(await s.getAttribute('data-edges')) };
};
const totalParams = async () => Number(((await page.getByTestId('total-params').textContent()) ?? '').replace(/,/g, ''));
const nodeEl = (id: string) => page.locator(`.react-flow__node[data-id="${id}"]`);
const handle = (nodeId: string, handleId: string, kind: 'source' | 'target') => nodeEl(nodeId).locator(`.react-flow__handle.${kind}[data-handleid="${handleId}"]`);

/** Import, Export and Save live in the toolbar's File menu. */
async function fileMenu(item: 'import' | 'export' | 'save-server') {
  await page.getByTestId('file-menu').click();
  await page.getByTestId(item).click();
}

/** On-screen boxes of the rendered nodes, by id. */
async function nodeBoxes(): Promise<Map<string, LayoutBox>> {
  const list = await page.locator('.react-flow__node').evaluateAll((els) =>
    els.map((e) => {
      const r = e.getBoundingClientRect();
      return { id: e.getAttribute('data-id')!, x: r.x, y: r.y, width: r.width, height: r.height };
    }),
  );
  return new Map(list.map(({ id, ...b }) => [id, b]));
}

async function openModelTab() {
  await page.getByTestId('tab-model').click();
}

async function loadPreset(name: string) {
  if (!(await page.getByTestId('presets-gallery').isVisible())) await page.getByTestId('open-presets').click();
  await page.getByTestId(`preset-${name}`).click();
  await page.getByTestId('presets-gallery').waitFor({ state: 'detached' });
  await openModelTab();
}

/** Drops a palette item at a point on the canvas and returns the new node's id. */
async function dropFromPalette(testId: string, at: { x: number; y: number }): Promise<string> {
  const before = new Set(await page.locator('.react-flow__node').evaluateAll((els) => els.map((e) => e.getAttribute('data-id'))));
  const item = page.getByTestId(testId);
  await item.scrollIntoViewIfNeeded();
  await drag(await center(item), at);
  await expect.poll(async () => (await page.locator('.react-flow__node').count()) > before.size).toBe(true);
  const after = await page.locator('.react-flow__node').evaluateAll((els) => els.map((e) => e.getAttribute('data-id')));
  return after.find((id) => id && !before.has(id))!;
}

describe('editor in Chromium', () => {
  it('opens with the presets gallery and reports the WebGPU adapter', async () => {
    await expect.poll(() => page.getByTestId('webgpu-status').getAttribute('data-state'), { timeout: 30_000 }).toBe('ready');
    expect(await page.getByTestId('presets-gallery').isVisible()).toBe(true);
  });

  it('the toolbar is one row at 1440×900 and at 1280×800, every control visible', async () => {
    await page.getByTestId('preset-deltanet').click();
    await page.getByTestId('presets-gallery').waitFor({ state: 'detached' });
    await expect.poll(() => page.getByTestId('toolbar-params').count()).toBe(1);
    const ids = ['design-name', 'open-presets', 'undo', 'redo', 'auto-layout', 'file-menu', 'toolbar-status', 'go-train', 'help'];
    for (const size of [{ width: 1440, height: 900 }, { width: 1280, height: 800 }]) {
      await page.setViewportSize(size);
      const bar = (await page.getByTestId('toolbar').boundingBox())!;
      const rowHeight = (await page.getByTestId('open-presets').boundingBox())!.height;
      // One row: the bar is one control high plus its padding, and every control sits inside it.
      expect(bar.height, `toolbar height at ${size.width}`).toBeLessThan(rowHeight + 20);
      for (const id of ids) {
        const b = (await page.getByTestId(id).boundingBox())!;
        expect(b, `${id} at ${size.width}`).not.toBeNull();
        expect(b.y >= bar.y && b.y + b.height <= bar.y + bar.height && b.x + b.width <= bar.x + bar.width + 0.5, `${id} inside the bar at ${size.width}`).toBe(true);
      }
    }
    await page.setViewportSize({ width: 1440, height: 900 });
    await page.getByTestId('open-presets').click();
    await page.getByTestId('presets-gallery').waitFor();
  });

  it('dragging from the palette adds a node, and typed connections are accepted or refused', async () => {
    await page.getByTestId('preset-blank').click();
    await openModelTab();
    expect(await graphStats()).toEqual({ nodes: 0, edges: 0 });
    const canvas = (await page.getByTestId('canvas').boundingBox())!;
    const emb = await dropFromPalette('palette-embedding', { x: canvas.x + 300, y: canvas.y + 120 });
    expect(emb).toMatch(/^embedding-/);
    // Nothing selected: the next block lands unconnected (with a selection it would attach after it).
    await page.locator('.react-flow__pane').click({ position: { x: 20, y: 20 } });
    const norm = await dropFromPalette('palette-norm', { x: canvas.x + 300, y: canvas.y + 300 });
    expect((await graphStats()).edges).toBe(0);
    const gate = await dropFromPalette('palette-retention-none', { x: canvas.x + 40, y: canvas.y + 420 });
    expect((await graphStats()).nodes).toBe(3);

    // Valid: the embedding's stream into the norm's input.
    await drag(await center(handle(emb, 'out', 'source')), await center(handle(norm, 'in', 'target')));
    await expect.poll(async () => (await graphStats()).edges).toBe(1);

    // Invalid: a retention gate into a sequence input. Hovering explains why; releasing refuses it.
    const from = await center(handle(gate, 'out', 'source'));
    const to = await center(handle(norm, 'in', 'target'));
    await page.mouse.move(from.x, from.y);
    await page.mouse.down();
    await page.mouse.move(to.x, to.y, { steps: 12 });
    await expect.poll(() => page.getByTestId('connection-hint').textContent()).toMatch(/retention gate cannot plug into the input port/);
    await page.mouse.up();
    await expect.poll(() => page.getByTestId('connection-refused').textContent()).toMatch(/Connection refused: .*retention gate cannot plug into/);
    expect((await graphStats()).edges).toBe(1);
  });

  it('an edit in the inspector changes the parameter count, and undo restores the graph', async () => {
    await loadPreset('deltanet');
    const before = await totalParams();
    expect(before).toBeGreaterThan(0);
    const stats = await graphStats();

    await nodeEl('L0.mlp').click();
    const input = page.getByTestId('field-hidden').locator('input');
    await input.click({ clickCount: 3 });
    await page.keyboard.type('1024');
    await openModelTab();
    await expect.poll(totalParams).not.toBe(before);
    const d = 128;
    const after = await totalParams();
    // SwiGLU params are 3·d·hidden per layer, and the MLP sits in a Stack ×2.
    expect((after - before) % (3 * d * 2)).toBe(0);

    // An out-of-range value is refused in words and never reaches the design.
    await nodeEl('L0.mlp').click();
    await input.click({ clickCount: 3 });
    await page.keyboard.type('0');
    expect(await page.getByTestId('field-error').textContent()).toMatch(/hidden must be integer in \[1, 65536\]; got 0/);
    await openModelTab();
    expect(await totalParams()).toBe(after);

    // Delete a node, then undo twice: back to the graph and count we started with.
    await page.locator('.react-flow__pane').click({ position: { x: 20, y: 20 } });
    await nodeEl('L0.mlp').click();
    await page.keyboard.press('Delete');
    await expect.poll(async () => (await graphStats()).nodes).toBe(stats.nodes - 1);
    await page.locator('.react-flow__pane').click({ position: { x: 20, y: 20 } });
    await page.keyboard.press('Control+z');
    await expect.poll(graphStats).toEqual(stats);
    await page.keyboard.press('Control+z');
    await openModelTab();
    await expect.poll(totalParams).toBe(before);
    expect(await graphStats()).toEqual(stats);
    // Redo re-applies the edit.
    await page.keyboard.press('Control+Shift+z');
    await expect.poll(totalParams).toBe(after);
  });

  it('every preset loads as a graph that lowers and compiles for this adapter, without errors', async () => {
    const failures: string[] = [];
    for (const preset of PRESETS) {
      await loadPreset(preset.name);
      const status = page.getByTestId('compile-status');
      await expect.poll(() => status.getAttribute('data-state'), { timeout: 60_000, message: preset.name }).toMatch(/^(ok|error|no-gpu)$/);
      const state = await status.getAttribute('data-state');
      if (state !== 'ok') failures.push(`${preset.name}: ${await status.textContent()}`);
      if (await page.getByTestId('issues').count()) failures.push(`${preset.name}: ${await page.getByTestId('issues').textContent()}`);
      expect(await page.locator('[data-testid="design-node"][data-error="true"]').count(), preset.name).toBe(0);
      expect(await totalParams(), preset.name).toBeGreaterThan(0);

      // Auto-layout (L) with the sizes the browser measured: no overlaps, every node inside its stack.
      const doc = presetDesign(preset);
      const nodes = doc.nodes.map((n) => ({ id: n.id, parent: n.parent }));
      await page.locator('.react-flow__pane').click({ position: { x: 10, y: 10 } });
      await page.keyboard.press('l');
      await expect
        .poll(async () => {
          const boxes = await nodeBoxes();
          return boxes.size === nodes.length ? layoutProblems(nodes, boxes, 1) : [`${boxes.size} of ${nodes.length} nodes rendered`];
        }, { message: `${preset.name} after auto-layout` })
        .toEqual([]);
    }
    expect(failures).toEqual([]);
  });

  it('an exported design re-imports identically, and malformed files get a clear message', async () => {
    await loadPreset('gated-deltanet-swa-hybrid');
    const [download] = await Promise.all([page.waitForEvent('download'), fileMenu('export')]);
    const exported = readFileSync((await download.path())!, 'utf8');
    expect(JSON.parse(exported).version).toBe(1);

    await loadPreset('blank');
    expect((await graphStats()).nodes).toBe(0);
    const importFile = async (name: string, text: string) => {
      const [chooser] = await Promise.all([page.waitForEvent('filechooser'), fileMenu('import')]);
      await chooser.setFiles({ name, mimeType: 'application/json', buffer: Buffer.from(text) });
    };
    await importFile('hybrid.miras.json', exported);
    await page.getByTestId('import-ok').waitFor();
    const [again] = await Promise.all([page.waitForEvent('download'), fileMenu('export')]);
    expect(JSON.parse(readFileSync((await again.path())!, 'utf8'))).toEqual(JSON.parse(exported));

    const stats = await graphStats();
    await importFile('broken.json', '{"format": "miras-studio/design", "version": 1, "nodes": [');
    await expect.poll(() => page.getByTestId('import-error').last().textContent()).toMatch(/not valid JSON/);
    await importFile('future.json', JSON.stringify({ format: 'miras-studio/design', version: 99, nodes: [], edges: [] }));
    await expect.poll(() => page.getByTestId('import-error').last().textContent()).toMatch(/newer Miras Studio \(schema version 99\)/);
    await importFile('spec.json', JSON.stringify({ vocabSize: 10, dModel: 8, layers: [] }));
    await expect.poll(() => page.getByTestId('import-error').last().textContent()).toMatch(/not a Miras Studio design.*looks like a ModelSpec/);
    // A failed import leaves the canvas as it was.
    expect(await graphStats()).toEqual(stats);
  });

  it('a dropped Miras block comes with its four axes, and a new gate swaps into the taken port', async () => {
    await loadPreset('blank');
    const canvas = (await page.getByTestId('canvas').boundingBox())!;
    const block = await dropFromPalette('palette-miras', { x: canvas.x + 520, y: canvas.y + 200 });
    await expect.poll(graphStats).toEqual({ nodes: 5, edges: 4 });
    const gate = await dropFromPalette('palette-retention-scalar', { x: canvas.x + 120, y: canvas.y + 520 });
    await drag(await center(handle(gate, 'out', 'source')), await center(handle(block, 'retention', 'target')));
    await expect.poll(graphStats).toEqual({ nodes: 6, edges: 4 });
    const into = await page.locator(`.react-flow__edge`).evaluateAll((els) => els.map((e) => e.getAttribute('data-id')));
    expect(into.some((id) => id?.includes(gate))).toBe(true);
    // One undo step puts the previous gate back.
    await page.locator('.react-flow__pane').click({ position: { x: 10, y: 10 } });
    await page.keyboard.press('Control+z');
    await expect.poll(async () => (await page.locator('.react-flow__edge').evaluateAll((els) => els.map((e) => e.getAttribute('data-id')))).some((id) => id?.includes(gate))).toBe(false);
  });

  it('builds a DeltaNet from an empty canvas block by block: each block attaches after the selected one', async () => {
    await loadPreset('blank');
    const add = async (testId: string) => {
      const item = page.getByTestId(testId);
      await item.scrollIntoViewIfNeeded();
      await item.press('Enter');
    };
    for (const t of ['embedding', 'norm', 'shortConv', 'miras', 'residual', 'norm', 'mlp', 'residual', 'norm', 'head']) await add(`palette-${t}`);
    // 10 blocks + the Miras block's 4 axis choices; 9 stream edges + 2 residual skips + 4 axis edges.
    await expect.poll(graphStats).toEqual({ nodes: 14, edges: 15 });
    // Swap the attentional bias to the delta rule in the inspector: that is DeltaNet.
    await page.locator('.react-flow__node-bias').click();
    await page.getByTestId('axis-kind').selectOption('l2');
    await openModelTab();
    expect(await page.getByTestId('issues').count()).toBe(0);
    expect(await totalParams()).toBeGreaterThan(0);
    await expect.poll(() => page.getByTestId('compile-status').getAttribute('data-state'), { timeout: 120_000 }).toMatch(/^(ok|no-gpu)$/);
    // Auto-layout gives it the presets' shape.
    await page.keyboard.press('l');
    const nodes = (await page.locator('.react-flow__node').evaluateAll((els) => els.map((e) => e.getAttribute('data-id')!))).map((id) => ({ id, parent: null }));
    await expect.poll(async () => layoutProblems(nodes, await nodeBoxes(), 1)).toEqual([]);
  });

  it('copies and pastes the selection, lists shortcuts under ?, and saves to the server by name', async () => {
    await loadPreset('deltanet');
    const stats = await graphStats();
    await nodeEl('L0.mlp').click();
    await page.keyboard.press('Control+c');
    await page.keyboard.press('Control+v');
    await expect.poll(async () => (await graphStats()).nodes).toBe(stats.nodes + 1);
    // The pasted MLP is connected to nothing: a warning on it, the model still lowers.
    await openModelTab();
    await expect.poll(() => page.getByTestId('issues').textContent()).toMatch(/MLP is not connected to the model and is ignored/);
    await page.keyboard.press('Control+z');
    await expect.poll(graphStats).toEqual(stats);

    // Auto-layout (L) moves nodes, keeps the graph, and the design still lowers.
    await page.locator('.react-flow__pane').click({ position: { x: 10, y: 10 } });
    const before = await nodeEl('L0.miras').getAttribute('style');
    await page.keyboard.press('l');
    await expect.poll(() => nodeEl('L0.miras').getAttribute('style')).not.toBe(before);
    expect(await graphStats()).toEqual(stats);
    expect(await page.getByTestId('issues').count()).toBe(0);

    await page.keyboard.press('?');
    expect(await page.getByTestId('shortcuts').textContent()).toMatch(/Ctrl\+Shift\+Z.*Redo/);
    await page.keyboard.press('?');
    expect(await page.getByTestId('shortcuts').count()).toBe(0);

    await page.getByTestId('design-name').fill('DeltaNet for MQAR');
    await fileMenu('save-server');
    await expect.poll(() => page.getByTestId('save-ok').textContent()).toMatch(/Saved “DeltaNet for MQAR” to the server/);
    const list = await page.evaluate(async () => (await (await fetch('/api/designs')).json()) as { designs: { name: string }[] });
    expect(list.designs.map((d) => d.name)).toContain('DeltaNet for MQAR');
  });

  it('saves editor screenshots with presets loaded', async () => {
    mkdirSync('docs', { recursive: true });
    // Clear earlier messages so they do not cover the canvas.
    await page.locator('.toast button').evaluateAll((buttons) => buttons.forEach((b) => (b as HTMLButtonElement).click()));
    await page.getByTestId('palette').evaluate((el) => el.scrollTo(0, 0));
    const settled = () => expect.poll(() => page.getByTestId('compile-status').getAttribute('data-state'), { timeout: 120_000 }).toMatch(/^(ok|error|no-gpu)$/);
    await loadPreset('deltanet');
    await settled();
    await page.screenshot({ path: 'docs/editor-deltanet.png' });
    await loadPreset('gated-deltanet-swa-hybrid');
    await settled();
    await page.screenshot({ path: 'docs/editor-hybrid.png' });
    // An ill-defined combination, shown on the node at fault.
    await loadPreset('memora');
    await page.locator('.react-flow__node-miras').first().click();
    await page.getByTestId('field-memoryInit').locator('select').selectOption('zeros');
    await expect.poll(() => page.locator('[data-testid="design-node"][data-error="true"]').count()).toBeGreaterThan(0);
    await page.waitForTimeout(300);
    await page.screenshot({ path: 'docs/editor-error.png' });
    await page.locator('.react-flow__pane').click({ position: { x: 10, y: 10 } });
    await page.keyboard.press('Control+z');
    await expect.poll(() => page.locator('[data-testid="design-node"][data-error="true"]').count()).toBe(0);
    await page.getByTestId('open-presets').click();
    await page.screenshot({ path: 'docs/editor-presets.png' });
    await page.keyboard.press('Escape');
  });

  it('autosaves: a reload loses nothing', async () => {
    await loadPreset('mamba2');
    await page.getByTestId('design-name').fill('my mamba');
    const stats = await graphStats();
    await page.waitForTimeout(600);
    await page.reload();
    await page.getByTestId('editor').waitFor();
    await openModelTab();
    expect(await page.getByTestId('design-name').inputValue()).toBe('my mamba');
    expect(await graphStats()).toEqual(stats);
    expect(await page.getByTestId('presets-gallery').count()).toBe(0);
  });
});

/** React Flow's zoom and the flow point at the pane's centre, and the page's scroll offsets. */
async function viewState() {
  return page.evaluate(() => {
    const vp = document.querySelector('.react-flow__viewport') as HTMLElement;
    const m = new DOMMatrixReadOnly(getComputedStyle(vp).transform);
    const r = (document.querySelector('.react-flow') as HTMLElement).getBoundingClientRect();
    return { zoom: m.a, cx: (r.width / 2 - m.e) / m.a, cy: (r.height / 2 - m.f) / m.a, scroll: [window.scrollX, window.scrollY] };
  });
}

describe('minimap in Chromium', () => {
  const zoomChange = async (before: number) => {
    await expect.poll(async () => (await viewState()).zoom, { timeout: 10_000 }).not.toBe(before);
    return viewState();
  };

  it('zooms the view with the wheel about its centre (React Flow MiniMap zoomable), without scrolling the page', async () => {
    await loadPreset('gated-deltanet');
    const b = (await page.getByTestId('minimap').boundingBox())!;
    await page.mouse.move(b.x + b.width / 2, b.y + b.height / 2);
    const v0 = await viewState();
    await page.mouse.wheel(0, -200); // 2^(200 · 0.002) = 1.32× in, up to the editor's maxZoom (2)
    const v1 = await zoomChange(v0.zoom);
    expect(v1.zoom).toBeCloseTo(Math.min(2, v0.zoom * 2 ** 0.4), 3);
    expect(Math.abs(v1.cx - v0.cx) + Math.abs(v1.cy - v0.cy)).toBeLessThan(1);
    await page.mouse.wheel(0, 500); // 0.5× out
    const v2 = await zoomChange(v1.zoom);
    expect(v2.zoom).toBeCloseTo(Math.max(0.1, v1.zoom / 2), 3);
    expect(Math.abs(v2.cx - v0.cx) + Math.abs(v2.cy - v0.cy)).toBeLessThan(1);
    expect(v2.scroll).toEqual(v0.scroll);
    for (let i = 0; i < 4; i++) await page.mouse.wheel(0, 1500);
    await expect.poll(async () => (await viewState()).zoom, { timeout: 10_000 }).toBeCloseTo(0.1, 5); // minZoom
  });

  it('still moves the view when dragged, keeping the zoom', async () => {
    const b = (await page.getByTestId('minimap').boundingBox())!;
    const v0 = await viewState();
    await drag({ x: b.x + 20, y: b.y + 20 }, { x: b.x + b.width - 20, y: b.y + b.height - 20 });
    await expect.poll(async () => (await viewState()).cx, { timeout: 10_000 }).not.toBe(v0.cx);
    expect((await viewState()).zoom).toBeCloseTo(v0.zoom, 5);
  });
});
