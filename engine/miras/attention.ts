/**
 * The non-parametric (softmax attention) memory as a scan-slot provider: the engine's fused causal
 * attention op (engine/ops/attention.ts: online-softmax forward, FlashAttention-2 backward, optional
 * sliding window) seen through the ScanProvider interface of engine/ir/scan.ts, so the `scan` and `check`
 * commands run it like any other combination:
 *   inputs q [B,T,H,dk], k [B,T,H,dk], v [B,T,H,dv]; outputs o [B,T,H,dv] and an empty finalState [B,H,0]
 *   (the memory keeps every pair; there is no fixed-size state). The log-sum-exp the backward needs lives in
 *   the scratch buffer "lse" [B,T,H].
 * The Miras block (block.ts) applies the op itself; this provider is the same op's reference and kernels.
 * Its semantics are the float64 reference scan's (reference/scan.ts attentionHead): scale d_k^{-1/2}, window 0 = full causal.
 */
import type { ScanProvider, ScanShape } from '../ir/scan';
import { attentionOp, type AttentionAttrs } from '../ops/attention';
import type { GpuCtx, RefCtx } from '../ir/op';
import type { Combo } from './catalog';
import { comboId, providerInputs } from './reference/provider';
import { scanOutputDecls } from './reference/scan';

/** The attention op's attributes for a combination's memory (catalog window 0 = full causal). */
export function attentionAttrs(c: Combo, heads: number): AttentionAttrs {
  if (c.memory.kind !== 'attention') throw new Error(`${comboId(c)}: not a softmax-attention memory`);
  const window = c.memory.params.window as number;
  return { heads, window: window > 0 ? window : null };
}

export function attentionMemoryProvider(c: Combo): ScanProvider {
  const id = comboId(c);
  const ctx = (s: ScanShape): RefCtx<AttentionAttrs> => ({
    attrs: attentionAttrs(c, s.heads),
    ins: [s.dk, s.dk, s.dv].map((d) => ({ shape: [s.batch, s.time, s.heads, d], dtype: 'f32' as const })),
    outs: [
      { shape: [s.batch, s.time, s.heads, s.dv], dtype: 'f32' },
      { shape: [s.batch, s.time, s.heads], dtype: 'f32' },
    ],
  });
  return {
    id,
    // the reference's declarations: q, k, v in; o and the empty finalState out
    inputs: (s) => providerInputs(c, s),
    outputs: (s) => scanOutputDecls(c, s).map(({ name, shape }) => ({ name, shape })),
    referenceForward(x, s) {
      const [o] = attentionOp.forward([x.q, x.k, x.v], ctx(s));
      return { o, finalState: new Float64Array(0) };
    },
    referenceBackward(x, g, s) {
      const y = attentionOp.forward([x.q, x.k, x.v], ctx(s));
      const [q, k, v] = attentionOp.backward([x.q, x.k, x.v], y, [g.o, null], ctx(s));
      return { q: q!, k: k!, v: v! };
    },
    kernels(caps, s) {
      // Scan-slot buffer names (engine/ir/scan.ts): inputs and outputs by name, gradients "grad.<name>", scratch "scratch.<name>".
      const gpu: GpuCtx<AttentionAttrs> = {
        ...ctx(s),
        caps,
        label: id,
        in: ['q', 'k', 'v'],
        out: ['o', 'scratch.lse'],
        gin: ['grad.q', 'grad.k', 'grad.v'],
        gout: ['grad.o', null],
        scratch: (name) => `scratch.${name}`,
        tiled: false,
      };
      return {
        forward: attentionOp.kernels.forward(gpu),
        backward: attentionOp.kernels.backward(gpu),
        scratch: [{ name: 'lse', bytes: 4 * s.batch * s.time * s.heads }],
      };
    },
  };
}
