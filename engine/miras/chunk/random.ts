/**
 * Seeded inputs for the chunk scans in fla layout, drawn as fla's tests draw them: q, k, v ~ U(−1, 1)
 * (k L2-normalised for the delta rule), β ∈ (0.05, 0.95), log decays log U(lo, 1). Used by the
 * tests (tests/chunk) and the GPU benchmark (bench/scan-chunk.ts) alike.
 */
import type { ChunkScanConfig, ChunkScanShape } from './types';
import { tensorSizes } from './types';

/** mulberry32 */
export function rng(seed: number): () => number {
  let s = seed >>> 0 || 1;
  return () => {
    s = (s + 0x6d2b79f5) >>> 0;
    let t = s;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

/** Inputs plus an upstream gradient for o and the final state. decayFloor: smallest per-step decay drawn. */
export function randomScanInputs(cfg: ChunkScanConfig, s: ChunkScanShape, seed: number, decayFloor = { scalar: 0.7, vector: 0.5 }) {
  const r = rng(seed);
  const sizes = tensorSizes(cfg, s);
  const u = (n: number) => Float64Array.from({ length: n }, () => r() * 2 - 1);
  const x: Record<string, Float64Array> = { q: u(sizes.q), k: u(sizes.k), v: u(sizes.v) };
  if (cfg.rule === 'delta') {
    for (let i = 0; i < sizes.k / s.K; i++) {
      let z = 0;
      for (let j = 0; j < s.K; j++) z += x.k[i * s.K + j] ** 2;
      z = Math.sqrt(z) || 1;
      for (let j = 0; j < s.K; j++) x.k[i * s.K + j] /= z;
    }
  }
  if (sizes.beta) x.beta = Float64Array.from({ length: sizes.beta }, () => 0.05 + 0.9 * r());
  const lo = cfg.gate === 'vector' ? decayFloor.vector : decayFloor.scalar;
  if (sizes.g) x.g = Float64Array.from({ length: sizes.g }, () => Math.log(lo + (1 - lo) * r()));
  if (cfg.initialState) x.h0 = u(sizes.h0);
  return { x, dO: u(sizes.o), dht: u(sizes.ht) };
}
