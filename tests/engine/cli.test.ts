/** The `miras` CLI end to end (reference backend: fast, and the same code path up to the backend). */
import { describe, expect, it } from 'vitest';
import { execFile } from 'node:child_process';
import { promisify } from 'node:util';
import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { specToDesign } from '@/engine/design/raise';
import { serializeDesign } from '@/engine/design/document';
import { getPreset } from '@/engine/presets';

const run = promisify(execFile);
const miras = (args: string[]) =>
  run('npx', ['tsx', 'scripts/miras.ts', ...args], { cwd: process.cwd(), timeout: 120_000 }).then(
    (r) => ({ code: 0, stdout: r.stdout, stderr: r.stderr }),
    (e: { code: number; stdout: string; stderr: string }) => ({ code: e.code, stdout: e.stdout, stderr: e.stderr }),
  );

describe('miras CLI', () => {
  it('lists presets', async () => {
    const r = await miras(['presets', '--json']);
    expect(r.code).toBe(0);
    const names = (JSON.parse(r.stdout) as { name: string }[]).map((p) => p.name);
    expect(names).toEqual(expect.arrayContaining(['transformer', 'sliding-window-attention', 'linear-attention']));
  });

  it('train --json prints a start object, one object per step, the eval and a summary', async () => {
    const r = await miras(['train', '--preset', 'transformer', '--task', 'parity', '--steps', '3', '--batch', '2', '--seq', '16', '--d-model', '16', '--layers', '1', '--backend', 'reference', '--json']);
    expect(r.code, r.stderr).toBe(0);
    const lines = r.stdout.trim().split('\n').map((l) => JSON.parse(l));
    expect(lines.map((l) => l.type)).toEqual(['start', 'step', 'step', 'step', 'eval', 'summary']);
    for (const s of lines.filter((l) => l.type === 'step')) {
      for (const k of ['step', 'loss', 'accuracy', 'gradNorm', 'lr', 'tokensPerSec']) expect(typeof s[k], k).toBe('number');
    }
    expect(lines[5].eval.loss).toBeGreaterThan(0);
  });

  it('train --design accepts an editor design document', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'miras-cli-'));
    const file = join(dir, 'design.json');
    writeFileSync(file, serializeDesign(specToDesign(getPreset('transformer').build({ vocabSize: 8, dModel: 16, nLayers: 1 }))));
    const r = await miras(['train', '--design', file, '--task', 'parity', '--steps', '1', '--batch', '1', '--seq', '12', '--backend', 'reference', '--json']);
    expect(r.code, r.stderr).toBe(0);
    expect(JSON.parse(r.stdout.split('\n')[0]).model).toBe(`design ${file}`);
  });

  it('rejects bad input with one clear line and a non-zero exit', async () => {
    const r = await miras(['train', '--preset', 'transformer', '--steps', 'many']);
    expect(r.code).toBe(1);
    expect(r.stderr).toMatch(/^miras: train: --steps must be an integer, got "many"/m);
    const r2 = await miras(['check', '--preset', 'no-such-model']);
    expect(r2.code).toBe(1);
    expect(r2.stderr).toMatch(/unknown preset "no-such-model"/);
  });
});
