/**
 * Audit of issue #4's "`npm run miras -- check --preset P` passes for every preset": the CLI's check command
 * (scripts/cli/check.ts, the code `npm run miras -- check` runs) with its default flags, in process, for every
 * preset the CLI lists — WebGPU (SwiftShader here) against the float64 reference on the logits, the loss and
 * every parameter gradient, exit code 0. The per-tensor errors are printed; the pass/fail rule is the command's own.
 */
import { afterEach, describe, expect, it, vi } from 'vitest';
import { checkCommand } from '@/scripts/cli/check';
import { PRESETS } from '@/engine/presets';

interface CheckJson {
  rows: { tensor: string; relError: number; tol: number; ok: boolean }[];
  failed: number;
  conditioned: number | null;
}

describe('npm run miras -- check --preset P, for every preset', () => {
  afterEach(() => vi.restoreAllMocks());

  it('the CLI lists the issue\'s presets plus a hybrid', () => {
    const names = PRESETS.map((p) => p.name);
    const issue = ['linear-attention', 'retnet', 'gla', 'mamba2', 'hgrn2', 'mlstm', 'deltanet', 'gated-deltanet', 'deltaproduct', 'longhorn', 'ttt-linear', 'titans', 'moneta', 'yaad', 'memora', 'transformer', 'sliding-window-attention'];
    expect(names).toEqual(expect.arrayContaining(issue));
    const hybrids = PRESETS.filter((p) => new Set(p.build({ vocabSize: 16, dModel: 32, nLayers: 2 }).layers.map((l) => l.mixer.type)).size > 1);
    expect(hybrids.map((p) => p.name)).toContain('gated-deltanet-swa-hybrid');
  });

  for (const p of PRESETS) {
    it(`check --preset ${p.name}`, async () => {
      const lines: string[] = [];
      vi.spyOn(console, 'log').mockImplementation((...a: unknown[]) => void lines.push(a.map(String).join(' ')));
      const code = await checkCommand.run(['--preset', p.name, '--json']);
      vi.restoreAllMocks();
      const r = JSON.parse(lines.join('\n')) as CheckJson;
      const worst = (pred: (t: string) => boolean) => Math.max(...r.rows.filter((x) => pred(x.tensor)).map((x) => x.relError));
      console.log(`[audit check] ${p.name}: logits ${worst((t) => t === 'logits').toExponential(2)}, worst grad ${worst((t) => t.startsWith('grad')).toExponential(2)} over ${r.rows.length} tensors${r.conditioned !== null ? ` (conditioning widened some tolerances: ${r.conditioned.toExponential(1)})` : ''}`);
      expect(r.rows.filter((x) => !x.ok).map((x) => x.tensor)).toEqual([]);
      expect(r.rows.length).toBeGreaterThan(10);
      expect(code).toBe(0);
    });
  }
});
