/**
 * Counter-based seeding for task data: every row of every batch gets its own
 * generator keyed by (seed, split, step, row), so a batch is reproducible from
 * those numbers alone — no hidden state, any step can be regenerated after a resume.
 */

/** 32-bit avalanche mix (murmur3 finaliser). */
function fmix32(h: number): number {
  h ^= h >>> 16;
  h = Math.imul(h, 0x85ebca6b);
  h ^= h >>> 13;
  h = Math.imul(h, 0xc2b2ae35);
  h ^= h >>> 16;
  return h >>> 0;
}

/** Hash a list of integers (each reduced to 32 bits, with the high bits of large values folded in). */
export function hashInts(...xs: number[]): number {
  let h = 0x9e3779b9;
  for (const x of xs) {
    const lo = x >>> 0;
    const hi = Math.floor(x / 4294967296) >>> 0;
    h = fmix32(h ^ lo) + 0x6d2b79f5;
    h = fmix32(h ^ hi);
  }
  return h >>> 0;
}

export const SPLIT_ID = { train: 1, eval: 2 } as const;
export type Split = keyof typeof SPLIT_ID;

/** A small, fast PRNG (sfc32) seeded from a 32-bit hash. */
export class Rng {
  private a: number;
  private b: number;
  private c: number;
  private d: number;

  constructor(seed: number) {
    this.a = 0x9e3779b9;
    this.b = 0x243f6a88;
    this.c = 0xb7e15162;
    this.d = seed >>> 0;
    for (let i = 0; i < 12; i++) this.nextU32();
  }

  static forRow(seed: number, split: Split, step: number, row: number, salt = 0): Rng {
    return new Rng(hashInts(seed, SPLIT_ID[split], step, row, salt));
  }

  nextU32(): number {
    const t = (((this.a + this.b) | 0) + this.d) | 0;
    this.d = (this.d + 1) | 0;
    this.a = this.b ^ (this.b >>> 9);
    this.b = (this.c + (this.c << 3)) | 0;
    this.c = (this.c << 21) | (this.c >>> 11);
    this.c = (this.c + t) | 0;
    return t >>> 0;
  }

  /** Uniform in [0, 1). */
  next(): number {
    return this.nextU32() / 4294967296;
  }

  /** Uniform integer in [lo, hi) (hi > lo). */
  int(lo: number, hi: number): number {
    return lo + Math.floor(this.next() * (hi - lo));
  }

  /** k distinct integers from [lo, hi), in draw order (partial Fisher–Yates). */
  distinct(lo: number, hi: number, k: number): number[] {
    const n = hi - lo;
    if (k > n) throw new Error(`cannot draw ${k} distinct values from a range of ${n}`);
    const pool = new Int32Array(n);
    for (let i = 0; i < n; i++) pool[i] = lo + i;
    const out: number[] = [];
    for (let i = 0; i < k; i++) {
      const j = i + Math.floor(this.next() * (n - i));
      const t = pool[i];
      pool[i] = pool[j];
      pool[j] = t;
      out.push(pool[i]);
    }
    return out;
  }

  /** k distinct indices from [0, weights.length) drawn with probability ∝ weight, without replacement. */
  weightedDistinct(weights: ArrayLike<number>, k: number): number[] {
    const w = Float64Array.from(weights);
    if (k > w.length) throw new Error(`cannot draw ${k} distinct slots from ${w.length}`);
    let total = 0;
    for (const x of w) total += x;
    const out: number[] = [];
    for (let i = 0; i < k; i++) {
      let r = this.next() * total;
      let j = 0;
      for (; j < w.length - 1; j++) {
        if (w[j] === 0) continue;
        r -= w[j];
        if (r < 0) break;
      }
      while (w[j] === 0) j--; // float round-off at the end of the range
      out.push(j);
      total -= w[j];
      w[j] = 0;
    }
    return out;
  }
}
