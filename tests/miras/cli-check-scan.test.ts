/**
 * `miras check` compares what the kernels actually read and hold:
 * - `--scan --preset P` for a preset with a constant β (linear attention, RetNet, HGRN2) used to fail with
 *   "does not read beta": the random inputs now keep only what the provider declares;
 * - the final state of a momentum learner holds (memory, momentum) per head: both sides are trimmed to the memory
 *   per head (the WebGPU side used to be cut as one flat prefix, so two heads compared head 0's momentum with head 1's memory).
 */
import { describe, expect, it } from 'vitest';
import { checkCommand } from '@/engine/miras/cli/commands';

const run = async (args: string[]) => {
  const lines: string[] = [];
  const code = await checkCommand.run(args, (l) => lines.push(l), (l) => lines.push(l));
  return { code, out: lines.join('\n') };
};

describe('miras check: scan-level cases', () => {
  it('checks a constant-β preset without feeding it β', async () => {
    const r = await run(['--preset', 'linear-attention', '--dim', '8']);
    expect(r.out).not.toMatch(/does not read/);
    expect(r.out).toMatch(/2 passed, 0 failed/);
    expect(r.code).toBe(0);
  });

  it("compares each head's memory, not a flat prefix, when the state holds more than the memory (mLSTM: C, n, m; a momentum learner: S, momentum)", async () => {
    const r = await run(['--preset', 'mlstm', '--dim', '8']);
    expect(r.out).toMatch(/mlstm layer 1 .*finalState/);
    expect(r.out).toMatch(/\d+ passed, 0 failed/);
    expect(r.code).toBe(0);
  });
});
