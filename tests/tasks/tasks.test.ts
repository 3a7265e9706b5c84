import { describe, expect, it } from 'vitest';
import { createTask, TASKS, TASK_NAMES, IGNORE, defaultSettings, settingsJsonSchema } from '@/engine/tasks';
import { evaluateModArith } from '@/engine/tasks/mod-arith';
import { CORPUS } from '@/engine/data/corpus';

const B = 4;
const L = 64;

function row(a: Int32Array, b: number, len = L) {
  return Array.from(a.subarray(b * len, (b + 1) * len));
}

describe('every task', () => {
  for (const name of TASK_NAMES) {
    describe(name, () => {
      const task = createTask(name, {}, 7);

      it('has metadata and defaults that parse', () => {
        const info = TASKS[name];
        expect(info.name).toBe(name);
        expect(info.title.length).toBeGreaterThan(3);
        expect(info.citation.length).toBeGreaterThan(10);
        expect(task.hasAccuracy).toBe(info.hasAccuracy);
        expect(defaultSettings(name)).toEqual(task.settings);
        expect(settingsJsonSchema(name)).toHaveProperty('properties');
      });

      it('returns [batch, seqLen] tensors with in-range tokens and targets', () => {
        const { inputs, targets } = task.batch(B, L, 'train', 0);
        expect(inputs.length).toBe(B * L);
        expect(targets.length).toBe(B * L);
        for (const t of inputs) expect(t >= 0 && t < task.vocabSize).toBe(true);
        let labelled = 0;
        for (const t of targets) {
          expect(t === IGNORE || (t >= 0 && t < task.vocabSize)).toBe(true);
          if (t !== IGNORE) labelled++;
        }
        expect(labelled).toBeGreaterThanOrEqual(B);
      });

      it('is deterministic in (seed, split, step) and varies with each', () => {
        const a = task.batch(B, L, 'train', 5);
        const again = createTask(name, {}, 7).batch(B, L, 'train', 5);
        expect(again.inputs).toEqual(a.inputs);
        expect(again.targets).toEqual(a.targets);
        expect(task.batch(B, L, 'train', 6).inputs).not.toEqual(a.inputs);
        expect(task.batch(B, L, 'eval', 5).inputs).not.toEqual(a.inputs);
        expect(createTask(name, {}, 8).batch(B, L, 'train', 5).inputs).not.toEqual(a.inputs);
        // A row does not depend on the batch size (so any step can be regenerated after a resume).
        expect(row(task.batch(1, L, 'train', 5).inputs, 0)).toEqual(row(a.inputs, 0));
      });

      it('decodes token ids to text', () => {
        expect(typeof task.decode(task.batch(1, L, 'train', 0).inputs)).toBe('string');
      });
    });
  }

  it('rejects unknown tasks, bad settings and bad shapes with specific errors', () => {
    expect(() => createTask('nope')).toThrow(/unknown task "nope".*mqar/);
    expect(() => createTask('mqar', { kvPairs: 0 })).toThrow(/invalid settings for task "mqar": kvPairs/);
    expect(() => createTask('mqar', { vocabSize: 16, kvPairs: 8 })).toThrow(/kvPairs must be at most V\/2/);
    expect(() => createTask('parity', { minLength: 10, maxLength: 5 })).toThrow(/min length/);
    expect(() => createTask('mqar', { kvPairs: 8 }).batch(2, 16, 'train', 0)).toThrow(/too short.*at least 32/);
    expect(() => createTask('mqar').batch(0, 16, 'train', 0)).toThrow(/batch size/);
    expect(() => createTask('mqar').batch(1, 16, 'train', -1)).toThrow(/step/);
    expect(() => createTask('text', { text: 'abc' }).batch(1, 16, 'train', 0)).toThrow(/fewer than sequence length/);
  });
});

describe('mqar', () => {
  const task = createTask('mqar', { vocabSize: 64, kvPairs: 6, randomNonQueries: false }, 3);
  const V = 64;
  const kv = 6;

  it('lays out keys in [1, V/2) and values in [V/2, V), each key queried once', () => {
    const { inputs, targets } = task.batch(8, L, 'train', 1);
    for (let b = 0; b < 8; b++) {
      const x = row(inputs, b);
      const y = row(targets, b);
      const keys = x.filter((_, i) => i < 2 * kv && i % 2 === 0);
      const values = x.filter((_, i) => i < 2 * kv && i % 2 === 1);
      expect(new Set(keys).size).toBe(kv);
      expect(new Set(values).size).toBe(kv);
      for (const k of keys) expect(k >= 1 && k < V / 2).toBe(true);
      for (const v of values) expect(v >= V / 2 && v < V).toBe(true);
      const queryPositions = y.map((t, i) => (t === IGNORE ? -1 : i)).filter((i) => i >= 0);
      expect(queryPositions.length).toBe(kv);
      expect(new Set(queryPositions.map((i) => x[i]))).toEqual(new Set(keys));
      for (const i of queryPositions) expect(i >= 2 * kv && (i - 2 * kv) % 2 === 0).toBe(true);
      // Without random non-queries every other position of the query region is 0.
      for (let i = 2 * kv; i < L; i++) if (!queryPositions.includes(i)) expect(x[i]).toBe(0);
    }
  });

  it('answers are recoverable from the context (a perfect lookup scores 100%)', () => {
    const t = createTask('mqar', { vocabSize: 128, kvPairs: 8 }, 11);
    for (const split of ['train', 'eval'] as const) {
      const { inputs, targets } = t.batch(16, 128, split, 2);
      let n = 0;
      for (let b = 0; b < 16; b++) {
        const x = row(inputs, b, 128);
        const y = row(targets, b, 128);
        const memory = new Map<number, number>();
        for (let i = 0; i + 1 < 16; i += 2) memory.set(x[i], x[i + 1]);
        y.forEach((target, i) => {
          if (target === IGNORE) return;
          expect(memory.get(x[i])).toBe(target);
          n++;
        });
      }
      expect(n).toBe(16 * 8);
    }
  });

  it('places queries with a power law: early slots are more likely', () => {
    const t = createTask('mqar', { vocabSize: 256, kvPairs: 2, randomNonQueries: false }, 0);
    const hist = new Array(64).fill(0);
    const { targets } = t.batch(2000, 132, 'train', 0);
    targets.forEach((v, j) => {
      if (v !== IGNORE) hist[((j % 132) - 4) / 2]++;
    });
    const early = hist.slice(0, 8).reduce((a, b) => a + b, 0);
    const late = hist.slice(56, 64).reduce((a, b) => a + b, 0);
    expect(early).toBeGreaterThan(2 * late);
  });

  it('fills non-query positions with random tokens by default', () => {
    const { inputs } = createTask('mqar', { vocabSize: 64, kvPairs: 4 }, 3).batch(4, L, 'train', 0);
    const zeros = Array.from(inputs).filter((t) => t === 0).length;
    expect(zeros).toBeLessThan(inputs.length / 10);
  });
});

describe('selective-copy', () => {
  it('puts markers at the end whose targets are the data tokens in order', () => {
    const task = createTask('selective-copy', { vocabSize: 16, numTokens: 8 }, 1);
    const { inputs, targets } = task.batch(6, 40, 'eval', 9);
    for (let b = 0; b < 6; b++) {
      const x = row(inputs, b, 40);
      const y = row(targets, b, 40);
      const data = x.slice(0, 32).filter((t) => t !== 0);
      expect(data.length).toBe(8);
      for (const t of data) expect(t >= 1 && t <= 14).toBe(true);
      expect(x.slice(32)).toEqual(new Array(8).fill(15));
      expect(y.slice(32)).toEqual(data);
      expect(y.slice(0, 32).every((t) => t === IGNORE)).toBe(true);
    }
  });
});

describe('induction', () => {
  it('ends with the trigger; the target is the token after its first occurrence', () => {
    const task = createTask('induction', { vocabSize: 16 }, 2);
    const { inputs, targets } = task.batch(16, 32, 'train', 4);
    for (let b = 0; b < 16; b++) {
      const x = row(inputs, b, 32);
      const y = row(targets, b, 32);
      const triggers = x.map((t, i) => (t === 15 ? i : -1)).filter((i) => i >= 0);
      expect(triggers.length).toBe(2);
      expect(triggers[1]).toBe(31);
      expect(triggers[0]).toBeLessThanOrEqual(29);
      expect(y[31]).toBe(x[triggers[0] + 1]);
      expect(y.slice(0, 31).every((t) => t === IGNORE)).toBe(true);
    }
  });
});

describe('state tracking', () => {
  it('parity: variable lengths within range, answer at "="', () => {
    const task = createTask('parity', { minLength: 3, maxLength: 20, evalMinLength: 30, evalMaxLength: 40 }, 5);
    const lengths = new Set<number>();
    for (const [split, lo, hi] of [['train', 3, 20], ['eval', 30, 40]] as const) {
      const { inputs, targets } = task.batch(32, 48, split, 0);
      for (let b = 0; b < 32; b++) {
        const x = row(inputs, b, 48);
        const y = row(targets, b, 48);
        const eq = x.indexOf(2);
        expect(eq >= lo && eq <= hi).toBe(true);
        lengths.add(eq);
        const ones = x.slice(0, eq).filter((t) => t === 1).length;
        expect(x.slice(0, eq).every((t) => t === 0 || t === 1)).toBe(true);
        expect(y[eq]).toBe(ones % 2);
        expect(y.filter((t) => t !== IGNORE).length).toBe(1);
        expect(x.slice(eq + 1).every((t) => t === 3)).toBe(true);
      }
    }
    expect(lengths.size).toBeGreaterThan(8);
  });

  it('parity: lengths are clipped to the sequence budget', () => {
    const { inputs } = createTask('parity').batch(16, 32, 'eval', 0); // eval 40–256 > 31
    for (let b = 0; b < 16; b++) expect(row(inputs, b, 32).indexOf(2)).toBe(31);
  });

  it('mod-arith: evaluates with × before + and − (Delétang et al. examples)', () => {
    const m = 5;
    const enc = createTask('mod-arith').encode!;
    expect(evaluateModArith(enc('1+2*3'), m)).toBe(2);
    expect(evaluateModArith(enc('1-1-1'), m)).toBe(4);
    expect(evaluateModArith(enc('0*1+4*3-2'), m)).toBe(0);
    expect(evaluateModArith(enc('4'), m)).toBe(4);
  });

  it('mod-arith: odd-length expressions and correct answers', () => {
    const task = createTask('mod-arith', { modulus: 7 }, 1);
    const { inputs, targets } = task.batch(32, 64, 'train', 3);
    for (let b = 0; b < 32; b++) {
      const x = row(inputs, b);
      const y = row(targets, b);
      const eq = x.indexOf(7 + 3);
      expect(eq % 2).toBe(1);
      const expr = x.slice(0, eq);
      expr.forEach((t, i) => expect(i % 2 === 0 ? t < 7 : t >= 7 && t <= 9).toBe(true));
      expect(y[eq]).toBe(evaluateModArith(expr, 7));
      // Check against a direct evaluation of the decoded string.
      const js = task.decode(expr).replace(/(\d+)/g, '$1n');
      const direct = Number(((eval(js) as bigint) % 7n + 7n) % 7n);
      expect(y[eq]).toBe(direct);
    }
  });
});

describe('text', () => {
  it('bundled corpus: vocabulary from its characters, targets are the next character', () => {
    const task = createTask('text', {}, 0);
    expect(CORPUS.length).toBeGreaterThan(10_000);
    expect(task.vocabSize).toBe(new Set(Array.from(CORPUS)).size);
    const { inputs, targets } = task.batch(3, 50, 'train', 0);
    for (let b = 0; b < 3; b++) {
      const x = task.decode(row(inputs, b, 50));
      const y = task.decode(row(targets, b, 50));
      expect(x.slice(1)).toBe(y.slice(0, -1));
      expect(CORPUS.includes(x + y.slice(-1))).toBe(true);
    }
  });

  it('user text: held-out tail for eval, encode/decode round trip', () => {
    const text = 'abcdefghij'.repeat(20) + 'ZYXWVUTSRQ'.repeat(3);
    const task = createTask('text', { text, evalFraction: 0.13 }, 0);
    expect(task.encode!('cab').length).toBe(3);
    expect(task.decode(task.encode!('jihgfa'))).toBe('jihgfa');
    const { inputs } = task.batch(4, 8, 'eval', 0);
    expect(/^[Q-Z]+$/.test(task.decode(inputs))).toBe(true);
    const train = task.batch(4, 8, 'train', 0);
    expect(/^[a-j]+$/.test(task.decode(train.inputs))).toBe(true);
    expect(() => task.encode!('!')).toThrow(/not in the training text/);
  });
});
