/**
 * State-tracking tasks from the Chomsky-hierarchy suite (Delétang et al., "Neural Networks and the
 * Chomsky Hierarchy", ICLR 2023), in the protocol of Grazzi et al. (arXiv 2411.12537, §5.1):
 * train on lengths 3–40, test on 40–256.
 *
 * Sequence layout (one problem per row, variable length n within the sequence budget):
 *   x_1 … x_n  '='  pad pad …
 * The target at the '=' position is the answer token; every other target is ignored.
 */
import { z } from 'zod';
import { Rng, type Split } from './rng';
import { IGNORE, checkBatchArgs } from './types';

export const lengthFields = {
  minLength: z.number().int().min(1).max(1_000_000).default(3)
    .describe('Shortest problem (input symbols) in the train split (Grazzi et al.: 3).'),
  maxLength: z.number().int().min(1).max(1_000_000).default(40)
    .describe('Longest problem in the train split (Grazzi et al.: 40). Clipped to seqLen − 1.'),
  evalMinLength: z.number().int().min(1).max(1_000_000).default(40)
    .describe('Shortest problem in the eval split — longer than training tests length generalisation (Grazzi et al.: 40). Clipped to seqLen − 1.'),
  evalMaxLength: z.number().int().min(1).max(1_000_000).default(256)
    .describe('Longest problem in the eval split (Grazzi et al.: 256). Clipped to seqLen − 1.'),
};

export interface LengthSettings {
  minLength: number;
  maxLength: number;
  evalMinLength: number;
  evalMaxLength: number;
}

export function lengthRangeOk(s: LengthSettings) {
  return s.minLength <= s.maxLength && s.evalMinLength <= s.evalMaxLength;
}

/** The [lo, hi] problem-length range of a split, clipped to the sequence budget. */
export function lengthRange(s: LengthSettings, split: Split, seqLen: number): [number, number] {
  const cap = seqLen - 1;
  const [lo, hi] = split === 'train' ? [s.minLength, s.maxLength] : [s.evalMinLength, s.evalMaxLength];
  return [Math.min(lo, cap), Math.min(hi, cap)];
}

export interface StateTrackingProblem {
  /** Input symbols (token ids) of one problem of length n. */
  symbols: number[];
  /** Answer token id. */
  answer: number;
}

/** Fill a batch with one problem per row; `make(rng, n)` builds a problem of length n. */
export function stateTrackingBatch(
  name: string,
  s: LengthSettings,
  seed: number,
  tokens: { equals: number; pad: number },
  make: (rng: Rng, n: number) => StateTrackingProblem,
  batchSize: number,
  L: number,
  split: Split,
  step: number,
  lengthStep = 1,
) {
  checkBatchArgs(name, batchSize, L, 2, step);
  const [lo, hi] = lengthRange(s, split, L);
  const inputs = new Int32Array(batchSize * L).fill(tokens.pad);
  const targets = new Int32Array(batchSize * L).fill(IGNORE);
  for (let b = 0; b < batchSize; b++) {
    const rng = Rng.forRow(seed, split, step, b);
    let n = rng.int(lo, hi + 1);
    if (lengthStep > 1) n = Math.max(1, n - ((n - 1) % lengthStep));
    const { symbols, answer } = make(rng, n);
    const o = b * L;
    for (let i = 0; i < symbols.length; i++) inputs[o + i] = symbols[i];
    inputs[o + symbols.length] = tokens.equals;
    targets[o + symbols.length] = answer;
  }
  return { inputs, targets };
}
