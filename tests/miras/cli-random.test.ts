/**
 * `miras check --random N`: the memory of each case comes from a fixed cycle, so the mix is the same however many
 * draws of the other axes are refused (it used to over-draw softmax attention, whose combinations are always valid,
 * and under-draw MLP memories). Every case is valid and covered by a kernel; the draw is deterministic in the seed.
 */
import { describe, expect, it } from 'vitest';
import { RANDOM_MEMORY_CYCLE, checkCommand, randomCheckCases, sharedGrad } from '@/engine/miras/cli/commands';
import { validateCombo } from '@/engine/miras/validate';
import { fusedKernelGap } from '@/engine/miras/cli/backends';

const mix = (n: number, seed: number) => {
  const m: Record<string, number> = {};
  for (const c of randomCheckCases(n, seed, 8)) m[c.combo.memory.kind] = (m[c.combo.memory.kind] ?? 0) + 1;
  return m;
};

describe('check --random: stratified by memory', () => {
  it('gives each memory its share of the cycle, whatever the seed', () => {
    for (const seed of [0, 1, 7, 123]) {
      expect(mix(60, seed)).toEqual({ matrix: 20, vector: 20, mlp: 10, attention: 10 });
      // six draws cover every memory; the first three (the CLI test's) skip the MLP, the slowest to compile
      expect(mix(6, seed)).toEqual({ matrix: 2, vector: 2, attention: 1, mlp: 1 });
      expect(mix(3, seed)).toEqual({ matrix: 1, vector: 1, attention: 1 });
    }
    expect(RANDOM_MEMORY_CYCLE.length).toBe(6);
  });

  it('draws valid combinations the kernels cover, deterministically, with varied other axes', () => {
    const a = randomCheckCases(30, 3, 8);
    expect(randomCheckCases(30, 3, 8).map((c) => c.label)).toEqual(a.map((c) => c.label));
    expect(randomCheckCases(30, 4, 8).map((c) => c.label)).not.toEqual(a.map((c) => c.label));
    for (const c of a) {
      expect(validateCombo(c.combo), c.label).toEqual([]);
      expect(fusedKernelGap(c.combo), c.label).toBeNull();
    }
    // the matrix and vector strata still range over the other axes
    const matrix = a.filter((c) => c.combo.memory.kind === 'matrix');
    expect(new Set(matrix.map((c) => `${c.combo.bias.kind}/${c.combo.retention.kind}/${c.combo.learner.kind}`)).size).toBeGreaterThan(5);
  });

  it('prints the mix and runs the cases on WebGPU', async () => {
    // three cases (matrix, vector, attention) keep this cheap on SwiftShader; the whole cycle is asserted above
    const lines: string[] = [];
    const code = await checkCommand.run(['--random', '3', '--seed', '3', '--dim', '8'], (l) => lines.push(l));
    expect(lines).toContain('memories: matrix 1, vector 1, attention 1');
    expect(lines.join('\n')).toMatch(/3 passed, 0 failed/);
    expect(code).toBe(0);
  });

  it("compares a batch-shared learned initial state's gradient with the reference's sum over batch rows", () => {
    // seed 3 draws MLP memories at batch 2 (its learned initial state is one per head, shared by the batch): the
    // kernel gives one gradient, the reference one per batch row (their lengths used to differ: 256 vs 512)
    expect(randomCheckCases(12, 3, 8).filter((c) => c.combo.memory.kind === 'mlp').some((c) => c.shape.batch === 2)).toBe(true);
    const perRow = Float64Array.from([1, 2, 3, 4, 10, 20, 30, 40]);
    expect(Array.from(sharedGrad(perRow, 4))).toEqual([11, 22, 33, 44]);
    expect(sharedGrad(perRow, 8)).toBe(perRow);
  });
});
