import { mkdirSync } from 'node:fs';
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

describe('home page in Chromium', () => {
  it('renders the canvas and reports a WebGPU adapter', async () => {
    const page = await browser.context.newPage();
    const version = browser.context.browser()?.version() ?? (await page.evaluate(() => navigator.userAgent));
    console.log(`[browser] ${version}`);
    await page.goto(server.url);
    await page.locator('.react-flow').first().waitFor({ state: 'visible' });
    const status = page.getByTestId('webgpu-status').first();
    await expect.poll(() => status.getAttribute('data-state'), { timeout: 30_000 }).not.toBe('checking');
    expect(await status.getAttribute('data-state')).toBe('ready');
    const adapter = await page.getByTestId('webgpu-adapter').first().textContent();
    console.log(`[browser] WebGPU adapter in Chromium: ${adapter}`);
    expect(adapter).toBeTruthy();
    mkdirSync('test-results', { recursive: true });
    await page.screenshot({ path: 'test-results/home.png' });
    await page.close();
  });
});
