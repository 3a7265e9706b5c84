/**
 * Which preset mixers have an exact chunk-parallel form here, and with which (rule, gate).
 * HGRN2 is GLA with k = 1 − f (miras.md §4), so it shares GLA's form. Mamba2's Δ_t is the write strength β.
 */
import type { ChunkGate, ChunkRule } from './types';

export interface ChunkPreset {
  preset: string;
  config: { rule: ChunkRule; gate: ChunkGate; beta?: boolean };
}

export const CHUNK_PRESETS: ChunkPreset[] = [
  { preset: 'linear-attention', config: { rule: 'linear', gate: 'none' } },
  { preset: 'retnet', config: { rule: 'linear', gate: 'const' } },
  { preset: 'mamba2', config: { rule: 'linear', gate: 'scalar', beta: true } },
  { preset: 'gla', config: { rule: 'linear', gate: 'vector' } },
  { preset: 'deltanet', config: { rule: 'delta', gate: 'none' } },
  { preset: 'gated-deltanet', config: { rule: 'delta', gate: 'scalar' } },
];
