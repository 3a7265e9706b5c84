/**
 * Multi-query associative recall (Zoology, Arora et al. 2023, arXiv 2312.04927),
 * following zoology/data/multiquery_ar.py:
 * - keys drawn without replacement from [1, V/2), values from [V/2, V);
 * - the context is k1 v1 k2 v2 … (2·kvPairs tokens);
 * - the rest of the sequence has `space = (L − 2·kv)/2` query slots; query slots are drawn
 *   without replacement with p(slot i) ∝ a·i^(a−1), a = powerA (most queries land early);
 * - each queried key appears at an even offset of the query region and the target at that
 *   position is its value (the token the model must emit next); every other target is ignored;
 * - with randomNonQueries the zero filler tokens become uniform random tokens from [0, V).
 */
import { z } from 'zod';
import { Rng } from './rng';
import { IGNORE, checkBatchArgs, type Task, type TaskInfo } from './types';

export const MqarSettings = z
  .object({
    vocabSize: z.number().int().min(8).max(65536).default(256)
      .describe('Vocabulary size V: keys come from [1, V/2), values from [V/2, V). Zoology Figure 2 uses 8192.'),
    kvPairs: z.number().int().min(1).max(4096).default(4)
      .describe('Key–value pairs per sequence; every key is queried once. Needs seqLen ≥ 4·kvPairs.'),
    powerA: z.number().gt(0).max(1).default(0.01)
      .describe('Power-law exponent a for query placement, p(slot i) ∝ a·i^(a−1); small a puts queries close to the context.'),
    randomNonQueries: z.boolean().default(true)
      .describe('Fill non-query positions with random tokens instead of 0 (Zoology default true; its Figure 2 used false).'),
  })
  .refine((s) => s.kvPairs <= Math.floor(s.vocabSize / 2) - 1, {
    message: 'kvPairs must be at most V/2 − 1 (keys are distinct tokens from [1, V/2))',
    path: ['kvPairs'],
  });
export type MqarSettings = z.infer<typeof MqarSettings>;

export const MQAR_INFO: TaskInfo<typeof MqarSettings> = {
  name: 'mqar',
  title: 'Multi-query associative recall (MQAR)',
  description:
    'A sequence starts with key–value pairs, then the keys reappear in random order among filler tokens. ' +
    'At each repeated key the model must predict the value that followed that key in the context. Loss and ' +
    'accuracy are measured only at the query positions.',
  citation: 'Arora et al., "Zoology: Measuring and Improving Recall in Efficient Language Models", arXiv 2312.04927 (2023)',
  settings: MqarSettings,
  hasAccuracy: true,
  suggested: { seqLen: 64, batch: 16, steps: 300, lr: 3e-3 },
};

/** One MQAR row written into inputs/targets at offset `o` (exported for tests). */
export function mqarRow(s: MqarSettings, L: number, rng: Rng, inputs: Int32Array, targets: Int32Array, o: number) {
  const V = s.vocabSize;
  const kv = s.kvPairs;
  const half = Math.floor(V / 2);
  const keys = rng.distinct(1, half, kv);
  const values = rng.distinct(half, V, kv);
  const ctx = 2 * kv;
  // examples has length L+1; inputs = examples[:-1], labels shifted by one (zoology).
  const ex = new Int32Array(L + 1);
  for (let i = 0; i < kv; i++) {
    ex[2 * i] = keys[i];
    ex[2 * i + 1] = values[i];
  }
  const space = Math.floor((L - ctx) / 2);
  const w = new Float64Array(space);
  for (let i = 0; i < space; i++) w[i] = s.powerA * Math.pow(i + 1, s.powerA - 1);
  const gaps = rng.weightedDistinct(w, kv);
  targets.fill(IGNORE, o, o + L);
  for (let i = 0; i < kv; i++) {
    const pos = ctx + 2 * gaps[i];
    ex[pos] = keys[i];
    // label index (gap*2 + ctx + 1) in the unshifted labels = input position pos after the shift.
    targets[o + pos] = values[i];
  }
  for (let t = 0; t < L; t++) {
    let tok = ex[t];
    if (s.randomNonQueries && tok === 0) tok = rng.int(0, V);
    inputs[o + t] = tok;
  }
}

export function createMqar(settings: MqarSettings, seed: number): Task<MqarSettings> {
  const minSeqLen = 4 * settings.kvPairs;
  return {
    name: 'mqar',
    vocabSize: settings.vocabSize,
    settings,
    seed,
    hasAccuracy: true,
    minSeqLen,
    batch(batchSize, seqLen, split, step) {
      checkBatchArgs('mqar', batchSize, seqLen, minSeqLen, step);
      const inputs = new Int32Array(batchSize * seqLen);
      const targets = new Int32Array(batchSize * seqLen);
      for (let b = 0; b < batchSize; b++) mqarRow(settings, seqLen, Rng.forRow(seed, split, step, b), inputs, targets, b * seqLen);
      return { inputs, targets };
    },
    decode: (ids) => Array.from(ids, (t) => String(t)).join(' '),
  };
}
