/**
 * Induction heads (Gu & Dao, Mamba, arXiv 2312.00752, §4.1.2 and Appendix E.1; the task of
 * Olsson et al. 2022 as generated in the H3/safari synthetics):
 * - ordinary tokens come uniformly from [0, V−1); token V−1 is the special trigger;
 * - the trigger appears once at a random position p ≤ L−3, followed by the token to recall;
 * - the last position holds the trigger again and its target is the token that followed the first
 *   trigger. Only that position carries loss.
 */
import { z } from 'zod';
import { Rng } from './rng';
import { IGNORE, checkBatchArgs, type Task, type TaskInfo } from './types';

export const InductionSettings = z.object({
  vocabSize: z.number().int().min(3).max(65536).default(16)
    .describe('Vocabulary size including the trigger token V−1 (Mamba: 16).'),
});
export type InductionSettings = z.infer<typeof InductionSettings>;

export const INDUCTION_INFO: TaskInfo<typeof InductionSettings> = {
  name: 'induction',
  title: 'Induction heads',
  description:
    'Random tokens with one special trigger token somewhere inside, followed by a token. The sequence ends with the ' +
    'trigger again and the model must recall the token that followed its first occurrence. Loss and accuracy are ' +
    'measured at the last position only. Mamba trains at length 256 and tests at 64 to 2^20.',
  citation: 'Gu & Dao, "Mamba: Linear-Time Sequence Modeling with Selective State Spaces", arXiv 2312.00752 (2023), §4.1.2; Olsson et al., "In-context Learning and Induction Heads" (2022)',
  settings: InductionSettings,
  hasAccuracy: true,
  suggested: { seqLen: 64, batch: 16, steps: 400, lr: 1e-3 },
};

export function createInduction(s: InductionSettings, seed: number): Task<InductionSettings> {
  const V = s.vocabSize;
  const trigger = V - 1;
  const minSeqLen = 4;
  return {
    name: 'induction',
    vocabSize: V,
    settings: s,
    seed,
    hasAccuracy: true,
    minSeqLen,
    batch(batchSize, L, split, step) {
      checkBatchArgs('induction', batchSize, L, minSeqLen, step);
      const inputs = new Int32Array(batchSize * L);
      const targets = new Int32Array(batchSize * L).fill(IGNORE);
      for (let b = 0; b < batchSize; b++) {
        const rng = Rng.forRow(seed, split, step, b);
        const o = b * L;
        for (let t = 0; t < L; t++) inputs[o + t] = rng.int(0, V - 1);
        const p = rng.int(0, L - 2); // trigger at p, recalled token at p+1 ≤ L−2
        inputs[o + p] = trigger;
        inputs[o + L - 1] = trigger;
        targets[o + L - 1] = inputs[o + p + 1];
      }
      return { inputs, targets };
    },
    decode: (ids) => Array.from(ids, (t) => (t === trigger ? '*' : String(t))).join(' '),
  };
}
