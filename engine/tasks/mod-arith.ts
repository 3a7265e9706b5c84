/**
 * Modular arithmetic without brackets (Delétang et al. 2023, task "modular_arithmetic";
 * Grazzi et al., arXiv 2411.12537 §5.1): an expression n_1 op n_2 op … n_k over Z_m with
 * op ∈ {+, −, ×}, evaluated with the usual precedence (× before + and −, as in Delétang et al.:
 * "1 + 2 * 3 = 2" mod 5), then '='; the answer is the value mod m.
 * Tokens: 0…m−1 numbers, m '+', m+1 '−', m+2 '×', m+3 '=', m+4 pad.
 * Problem lengths count symbols and are odd (number, op, number, …).
 */
import { z } from 'zod';
import { stateTrackingBatch, lengthFields, lengthRangeOk } from './state-tracking';
import type { Task, TaskInfo } from './types';

const OPS = ['+', '-', '*'] as const;
type Op = (typeof OPS)[number];

export const ModArithSettings = z
  .object({
    modulus: z.number().int().min(2).max(1000).default(5).describe('Modulus m (Delétang et al.: 5).'),
    operators: z.array(z.enum(OPS)).min(1).default(['+', '-', '*'])
      .describe('Operators to draw from: any of "+", "-", "*" (default all three).'),
    ...lengthFields,
  })
  .refine(lengthRangeOk, { message: 'each min length must be ≤ its max length' });
export type ModArithSettings = z.infer<typeof ModArithSettings>;

export const MOD_ARITH_INFO: TaskInfo<typeof ModArithSettings> = {
  name: 'mod-arith',
  title: 'Modular arithmetic (state tracking)',
  description:
    'An expression of numbers in {0…m−1} and the operators +, −, × (no brackets, × binds tighter), followed by ' +
    '"=": the model must output its value mod m. Train lengths 3–40, eval lengths 40–256. Loss and accuracy at the ' +
    '"=" position only.',
  citation: 'Delétang et al., "Neural Networks and the Chomsky Hierarchy", ICLR 2023; Grazzi et al., arXiv 2411.12537 (2025)',
  settings: ModArithSettings,
  hasAccuracy: true,
  suggested: { seqLen: 64, batch: 32, steps: 500, lr: 3e-3 },
};

/** Value of an expression given as token ids (numbers < m, ops m…m+2), × before + and −. */
export function evaluateModArith(symbols: number[], m: number): number {
  let total = 0;
  let sign = 1;
  let product = symbols[0];
  for (let i = 1; i + 1 < symbols.length; i += 2) {
    const op = OPS[symbols[i] - m];
    const num = symbols[i + 1];
    if (op === '*') product = (product * num) % m;
    else {
      total = (total + sign * product) % m;
      sign = op === '+' ? 1 : -1;
      product = num;
    }
  }
  total = (total + sign * product) % m;
  return ((total % m) + m) % m;
}

export function createModArith(s: ModArithSettings, seed: number): Task<ModArithSettings> {
  const m = s.modulus;
  const opIds = s.operators.map((o: Op) => m + OPS.indexOf(o));
  const symbolOf = (t: number) => (t < m ? String(t) : (['+', '-', '*', '=', '·'][t - m] ?? '?'));
  return {
    name: 'mod-arith',
    vocabSize: m + 5,
    settings: s,
    seed,
    hasAccuracy: true,
    minSeqLen: 2,
    batch: (batchSize, L, split, step) =>
      stateTrackingBatch('mod-arith', s, seed, { equals: m + 3, pad: m + 4 }, (rng, n) => {
        const symbols: number[] = [];
        for (let i = 0; i < n; i++) symbols.push(i % 2 === 0 ? rng.int(0, m) : opIds[rng.int(0, opIds.length)]);
        return { symbols, answer: evaluateModArith(symbols, m) };
      }, batchSize, L, split, step, 2),
    decode: (ids) => Array.from(ids, symbolOf).join(m > 10 ? ' ' : ''),
    encode: (text) => {
      const parts = text.match(/\d+|[+\-*×=]/g) ?? [];
      return parts.map((p) => {
        if (/^\d+$/.test(p)) {
          const v = Number(p);
          if (v >= m) throw new Error(`mod-arith: number ${v} is not below the modulus ${m}`);
          return v;
        }
        return m + ['+', '-', '*', '='].indexOf(p === '×' ? '*' : p);
      });
    },
  };
}
