/**
 * Selective copying (Gu & Dao, Mamba, arXiv 2312.00752, §4.1.1 and Appendix E.1), following the
 * generator the Mamba authors used (`torch_copying_data(..., variable=True)` in the S4/Mamba repos):
 * - token 0 is the noise ("white") token, data tokens come from [1, V−1), token V−1 is the marker;
 * - numTokens data tokens sit at sorted random positions among the first L − numTokens positions,
 *   everything else there is noise;
 * - the last numTokens positions hold markers; at the i-th marker the target is the i-th data token.
 */
import { z } from 'zod';
import { Rng } from './rng';
import { IGNORE, checkBatchArgs, type Task, type TaskInfo } from './types';

export const SelectiveCopySettings = z
  .object({
    vocabSize: z.number().int().min(4).max(65536).default(16)
      .describe('Vocabulary size including the noise token 0 and the marker V−1 (Mamba: 16).'),
    numTokens: z.number().int().min(1).max(4096).default(16)
      .describe('Data tokens to memorise and copy, in order (Mamba: 16). Needs seqLen ≥ 2·numTokens.'),
  });
export type SelectiveCopySettings = z.infer<typeof SelectiveCopySettings>;

export const SELECTIVE_COPY_INFO: TaskInfo<typeof SelectiveCopySettings> = {
  name: 'selective-copy',
  title: 'Selective copying',
  description:
    'Data tokens are scattered at random positions in a stream of noise tokens. After the stream, one marker per ' +
    'data token asks the model to reproduce the data tokens in order, ignoring the noise. Loss and accuracy are ' +
    'measured at the marker positions.',
  citation: 'Gu & Dao, "Mamba: Linear-Time Sequence Modeling with Selective State Spaces", arXiv 2312.00752 (2023), §4.1.1',
  settings: SelectiveCopySettings,
  hasAccuracy: true,
  suggested: { seqLen: 64, batch: 16, steps: 400, lr: 3e-3 },
};

export function createSelectiveCopy(s: SelectiveCopySettings, seed: number): Task<SelectiveCopySettings> {
  const n = s.numTokens;
  const V = s.vocabSize;
  const marker = V - 1;
  const minSeqLen = 2 * n;
  return {
    name: 'selective-copy',
    vocabSize: V,
    settings: s,
    seed,
    hasAccuracy: true,
    minSeqLen,
    batch(batchSize, L, split, step) {
      checkBatchArgs('selective-copy', batchSize, L, minSeqLen, step);
      const inputs = new Int32Array(batchSize * L);
      const targets = new Int32Array(batchSize * L).fill(IGNORE);
      const ctx = L - n;
      for (let b = 0; b < batchSize; b++) {
        const rng = Rng.forRow(seed, split, step, b);
        const o = b * L;
        const pos = rng.distinct(0, ctx, n).sort((x, y) => x - y);
        for (let i = 0; i < n; i++) {
          const tok = rng.int(1, V - 1);
          inputs[o + pos[i]] = tok;
          inputs[o + ctx + i] = marker;
          targets[o + ctx + i] = tok;
        }
      }
      return { inputs, targets };
    },
    decode: (ids) => Array.from(ids, (t) => (t === 0 ? '·' : t === marker ? '|' : String(t))).join(' '),
  };
}
