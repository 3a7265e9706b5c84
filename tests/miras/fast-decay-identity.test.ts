/**
 * The cumulative identity a chain-free backward of the Hebbian forms would use for data-dependent decay gradients,
 * checked on B1's float64 oracle (no GPU). For S_t = Diag(α_t) S_{t−1} + β_t k_t v_tᵀ and o_t = c·S_tᵀ q_t, write
 * b_t = Σ_{s≤t} log α_s; then o_t = Σ_{s≤t} (c q_t ⊙ e^{b_t})ᵀ(β_s k_s ⊙ e^{−b_s}) v_s (+ the initial state's
 * term, which enters through q_t only), so ∂L/∂b_t = q_t ⊙ ∂q_t − k_t ⊙ ∂k_t (with the actual inputs and their
 * gradients: the scale, β and e^{±b} cancel), plus rowsum(S_T ⊙ ∂S_T) at t = T from the final state. Hence
 *   ∂ log α_s = Σ_{t ≥ s} (q_t ⊙ ∂q_t − k_t ⊙ ∂k_t) + rowsum(S_T ⊙ ∂S_T)   (per key channel),
 * summed over the channels for a scalar gate. The sign and the shift (α_s counts from its own step on, because
 * k_s enters S_s undecayed) are what this test pins down.
 */
import { describe, expect, it } from 'vitest';
import { resolveCombo } from '@/engine/miras/math/combo';
import { mixer, oracleCase, relErr } from './kernel-helpers';

const s = { batch: 2, time: 13, heads: 2, dk: 4, dv: 3 };

function identity(channel: boolean, init: object) {
  const c = resolveCombo(mixer('matrix', ['dot'], channel ? ['channel'] : ['scalar'], ['gd'], s.heads, s.dk, s.dv, init));
  const { x, want, up, wantG } = oracleCase(c, s, 23, 29);
  const { batch: B, time: T, heads: H, dk: DK, dv: DV } = s;
  const got = new Float64Array(wantG.g.length);
  for (let b = 0; b < B; b++)
    for (let h = 0; h < H; h++)
      for (let i = 0; i < DK; i++) {
        // the final state's term: rowsum(S_T ⊙ ∂S_T) for key row i
        let acc = 0;
        for (let j = 0; j < DV; j++) acc += want.finalState[(b * H + h) * DK * DV + i * DV + j] * up.finalState[(b * H + h) * DK * DV + i * DV + j];
        for (let t = T - 1; t >= 0; t--) {
          const r = ((b * T + t) * H + h) * DK + i;
          acc += x.q[r] * wantG.q[r] - x.k[r] * wantG.k[r];
          if (channel) got[r] = acc;
          else got[(b * T + t) * H + h] += acc;
        }
      }
  return relErr(got, wantG.g);
}

describe('decay gradients of the Hebbian forms by the cumulative identity (float64 oracle)', () => {
  it('channel gate (GLA form), zero initial state', () => expect(identity(true, {})).toBeLessThan(1e-12));
  it('channel gate, learned initial state', () => expect(identity(true, { memoryInit: 'learned' })).toBeLessThan(1e-12));
  it('scalar gate (Mamba2 / RetNet-with-data-gate form), summed over the key channels', () => expect(identity(false, { memoryInit: 'learned' })).toBeLessThan(1e-12));
});
