/**
 * Float64 mirror of the MLP memory kernel: the same token-step programs (program.ts) driven the way the kernel
 * drives them (state in the step's input arrays, output arrays copied back, reverse mode token by token with the
 * state adjoint carried backwards). The tests check it against the tape oracle (engine/miras/reference/scan.ts)
 * and finite differences; the WGSL kernel is then checked against the oracle on a real adapter.
 *
 * `f32` rounds every stored value and every accumulation to float32 (the forward only): what ideal f32 arithmetic
 * would give, to tell inherent f32 error (an ill-conditioned recurrence) from avoidable error in the kernel.
 *
 * Inputs are the provider's (engine/miras/reference/provider.ts providerInputs): q, k, v, then the per-token
 * scalars the combination reads (beta, g, eta, delta: [B, T, H]) and initialState [H, size] shared by the batch.
 */
import type { ScanShape } from '../../ir/scan';
import { allocate, buildStep, forward, reverse, variantAt, variants, type MlpCombo, type Step, type Variant } from './program';

export interface MlpF64Result {
  o: Float64Array;
  finalState: Float64Array;
  grads?: Record<string, Float64Array>;
}

/** Floats of carried state per head as finalState holds it (W_1..W_L, then the momentum). */
export function mlpStateSize(m: MlpCombo): number {
  const mem = m.shapes.reduce((a, [o, i]) => a + o * i, 0);
  return m.learner === 'momentum' ? 2 * mem : mem;
}

export function mlpScanF64(
  m: MlpCombo,
  s: ScanShape,
  x: Record<string, Float64Array>,
  dOut?: { o: Float64Array; finalState?: Float64Array },
  opts: { f32?: boolean } = {},
): MlpF64Result {
  const { batch: B, time: T, heads: H } = s;
  const { dk, dv } = m;
  const size = mlpStateSize(m);
  const steps = Object.fromEntries(variants(m).map((v) => [v, buildStep(m, v)])) as Record<Variant, Step>;
  const vals = Object.fromEntries(variants(m).map((v) => [v, allocate(steps[v].prog)])) as Record<Variant, Float64Array[]>;
  const o = new Float64Array(B * T * H * dv);
  const finalState = new Float64Array(B * H * size);
  const grads: Record<string, Float64Array> | undefined = dOut
    ? Object.fromEntries(['q', 'k', 'v', ...m.gates, 'initialState'].map((n) => [n, new Float64Array(x[n].length)]))
    : undefined;

  const load = (st: Step, val: Float64Array[], b: number, t: number, h: number) => {
    const row = (b * T + t) * H + h;
    val[st.q].set(x.q.subarray(row * dk, (row + 1) * dk));
    val[st.k].set(x.k.subarray(row * dk, (row + 1) * dk));
    val[st.v].set(x.v.subarray(row * dv, (row + 1) * dv));
    for (const g of m.gates) val[st.scalars[g]][0] = x[g][(b * T + t) * H + h];
    if (m.decay === 'constant') val[st.scalars.gamma][0] = m.gammas[h];
  };

  for (let b = 0; b < B; b++) {
    for (let h = 0; h < H; h++) {
      // state[slot] arrays, in stateIn order; the anchor starts at zero (the first chunk sets it).
      const any = steps[variants(m)[0]];
      let state = any.stateIn.map((id) => new Float64Array(any.prog.arrs[id].size));
      const w0 = (k: number) => {
        const r = any.init[k] as { offset: number };
        return x.initialState.subarray(h * size + r.offset, h * size + r.offset + state[k].length);
      };
      any.init.forEach((r, k) => {
        if (r.from === 'input') state[k].set(w0(k));
        if (r.from === 'log') state[k].set(w0(r.slot).map(Math.log));
      });
      const saved: Float64Array[][] = [];
      for (let t = 0; t < T; t++) {
        const v = variantAt(m, t);
        const st = steps[v];
        const val = vals[v];
        saved.push(state);
        st.stateIn.forEach((id, i) => val[id].set(state[i]));
        load(st, val, b, t, h);
        if (opts.f32) for (const id of [st.q, st.k, st.v, ...Object.values(st.scalars), ...st.stateIn]) val[id] = Float64Array.from(val[id], Math.fround);
        forward(st.prog, val, opts.f32);
        o.set(val[st.o], ((b * T + t) * H + h) * dv);
        state = st.stateOut.map((id) => Float64Array.from(val[id]));
      }
      any.init.forEach((r, k) => {
        if (r.from === 'input') finalState.set(state[k], (b * H + h) * size + r.offset);
      });
      if (!dOut || !grads) continue;
      let dS = state.map((a, k) => {
        const g = new Float64Array(a.length);
        const r = any.init[k];
        if (r.from === 'input' && dOut.finalState) g.set(dOut.finalState.subarray((b * H + h) * size + r.offset, (b * H + h) * size + r.offset + a.length));
        return g;
      });
      for (let t = T - 1; t >= 0; t--) {
        const st = steps[variantAt(m, t)];
        const val = vals[variantAt(m, t)];
        st.stateIn.forEach((id, i) => val[id].set(saved[t][i]));
        load(st, val, b, t, h);
        forward(st.prog, val);
        const adj = allocate(st.prog);
        st.stateOut.forEach((id, i) => adj[id].set(dS[i]));
        const row = (b * T + t) * H + h;
        adj[st.o].set(dOut.o.subarray(row * dv, (row + 1) * dv));
        reverse(st.prog, val, adj);
        dS = st.stateIn.map((id) => Float64Array.from(adj[id]));
        for (const n of ['q', 'k', 'v'] as const) {
          const a = adj[st[n]];
          for (let i = 0; i < a.length; i++) grads[n][row * a.length + i] += a[i];
        }
        for (const g of m.gates) grads[g][(b * T + t) * H + h] += adj[st.scalars[g]][0];
      }
      any.init.forEach((r, k) => {
        if (r.from === 'input') for (let i = 0; i < dS[k].length; i++) grads.initialState[h * size + r.offset + i] += dS[k][i];
        if (r.from === 'log') {
          const o = (any.init[r.slot] as { offset: number }).offset;
          for (let i = 0; i < dS[k].length; i++) grads.initialState[h * size + o + i] += dS[k][i] / x.initialState[h * size + o + i];
        }
      });
    }
  }
  return { o, finalState, grads };
}
