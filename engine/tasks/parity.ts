/**
 * Parity (Delétang et al. 2023; Grazzi et al., arXiv 2411.12537 §5.1): a bit string, then '=';
 * the answer is the number of ones mod 2. Tokens: 0, 1 (bits and answers), 2 '=', 3 pad.
 */
import { z } from 'zod';
import { stateTrackingBatch, lengthFields, lengthRangeOk } from './state-tracking';
import type { Task, TaskInfo } from './types';

export const ParitySettings = z.object({ ...lengthFields }).refine(lengthRangeOk, {
  message: 'each min length must be ≤ its max length',
});
export type ParitySettings = z.infer<typeof ParitySettings>;

export const PARITY_INFO: TaskInfo<typeof ParitySettings> = {
  name: 'parity',
  title: 'Parity (state tracking)',
  description:
    'A random bit string followed by "=": the model must output whether it holds an even (0) or odd (1) number of ' +
    'ones. Train lengths 3–40 and eval lengths 40–256 test length generalisation; linear RNNs need negative ' +
    'eigenvalues (e.g. DeltaNet with β ∈ [0, 2]) to solve it. Loss and accuracy at the "=" position only.',
  citation: 'Delétang et al., "Neural Networks and the Chomsky Hierarchy", ICLR 2023; Grazzi et al., "Unlocking State-Tracking in Linear RNNs Through Negative Eigenvalues", arXiv 2411.12537 (2025)',
  settings: ParitySettings,
  hasAccuracy: true,
  suggested: { seqLen: 64, batch: 32, steps: 500, lr: 3e-3 },
};

const SYMBOLS = ['0', '1', '=', '·'];

export function createParity(s: ParitySettings, seed: number): Task<ParitySettings> {
  return {
    name: 'parity',
    vocabSize: 4,
    settings: s,
    seed,
    hasAccuracy: true,
    minSeqLen: 2,
    batch: (batchSize, L, split, step) =>
      stateTrackingBatch('parity', s, seed, { equals: 2, pad: 3 }, (rng, n) => {
        const symbols: number[] = [];
        let ones = 0;
        for (let i = 0; i < n; i++) {
          const bit = rng.int(0, 2);
          ones += bit;
          symbols.push(bit);
        }
        return { symbols, answer: ones % 2 };
      }, batchSize, L, split, step),
    decode: (ids) => Array.from(ids, (t) => SYMBOLS[t] ?? '?').join(''),
    encode: (text) =>
      Array.from(text.replace(/\s+/g, ''), (c) => {
        const id = SYMBOLS.indexOf(c === '.' ? '·' : c);
        if (id < 0) throw new Error(`parity: unknown symbol "${c}" (use 0, 1 and =)`);
        return id;
      }),
  };
}

/** Answer of a parity problem given as token ids (reference for tests and "try the model"). */
export function parityAnswer(bits: number[]): number {
  return bits.reduce((a, b) => a + b, 0) % 2;
}
