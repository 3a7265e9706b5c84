/**
 * ModelSpec → IR graph for one static (batch, seqLen):
 *   token embedding → N × [pre-norm → mixer → residual → pre-norm → SwiGLU MLP → residual]
 *   → final norm → LM head (tied: logits = h Eᵀ) → masked cross-entropy.
 * Parameter names are stable and human-readable ("embed", "layers.0.mixer.q", "layers.0.mlp.up", "head"):
 * checkpoints, the check command and the editor refer to them.
 */
import { Graph, type Tensor } from '../ir/graph';
import { add, crossEntropy, embedding, layernorm, matmul, mul, rmsnorm, silu } from '../ops';
import { ModelSpecSchema, type ModelSpec } from '../spec';
import { linearInit, mixerBuilder } from './mixers';

export interface ModelShape {
  batch: number;
  seqLen: number;
}

export interface BuiltModel {
  spec: ModelSpec;
  shape: ModelShape;
  graph: Graph;
  /** i32 [batch, seqLen] token ids and targets (−1 = ignored). */
  ids: Tensor;
  targets: Tensor;
  /** f32 [batch, seqLen, vocab]. */
  logits: Tensor;
  /** f32 [1] mean cross-entropy over labelled positions. */
  loss: Tensor;
  /** f32 [3]: accuracy, labelled count, summed loss. */
  metrics: Tensor;
  parameterCount: number;
}

export function buildModel(specIn: ModelSpec, shape: ModelShape): BuiltModel {
  const parsed = ModelSpecSchema.safeParse(specIn);
  if (!parsed.success) throw new Error(`invalid model spec: ${parsed.error.issues.map((i) => `${i.path.join('.') || '(root)'}: ${i.message}`).join('; ')}`);
  const spec = parsed.data;
  const { batch, seqLen } = shape;
  if (!Number.isInteger(batch) || batch < 1) throw new Error(`batch must be a positive integer, got ${batch}`);
  if (!Number.isInteger(seqLen) || seqLen < 1) throw new Error(`sequence length must be a positive integer, got ${seqLen}`);
  const g = new Graph();
  const d = spec.dModel;
  const V = spec.vocabSize;
  const nLayers = spec.layers.length;
  const ids = g.input('ids', [batch, seqLen], 'i32');
  const targets = g.input('targets', [batch, seqLen], 'i32');
  const norm = (x: Tensor, name: string) =>
    g.scoped(name, () => {
      const w = g.param('weight', [d], { kind: 'const', value: 1 }, { decay: false });
      return spec.norm === 'rmsnorm'
        ? rmsnorm(x, w, spec.normEps, 'rmsnorm')
        : layernorm(x, w, g.param('bias', [d], { kind: 'const', value: 0 }, { decay: false }), spec.normEps, 'layernorm');
    });

  const embed = g.param('embed', [V, d], { kind: 'normal', std: 1 / Math.sqrt(d) }, { decay: false });
  let h = embedding(embed, ids, 'embed');
  spec.layers.forEach((layer, i) =>
    g.scoped(`layers.${i}`, () => {
      const ctx = { spec, layer: i, nLayers, normEps: spec.normEps };
      const mixed = g.scoped('mixer', () => {
        try {
          return mixerBuilder(layer.mixer.type)(norm(h, 'norm'), layer.mixer, ctx);
        } catch (e) {
          throw new Error(`layer ${i} ${layer.mixer.type} mixer: ${(e as Error).message}`);
        }
      });
      if (mixed.shape.join() !== h.shape.join()) throw new Error(`layer ${i}: the ${layer.mixer.type} mixer returned [${mixed.shape}], expected [${h.shape}]`);
      h = add(h, mixed, 'residual_mixer');
      if (layer.mlp) {
        const hidden = layer.mlp.hidden;
        const out = g.scoped('mlp', () => {
          const x = norm(h, 'norm');
          // SwiGLU (Shazeer 2020): (silu(x W_gate) ⊙ x W_up) W_down.
          const gate = silu(matmul(x, g.param('gate', [d, hidden], linearInit(d)), { name: 'gate' }), 'silu');
          const up = matmul(x, g.param('up', [d, hidden], linearInit(d)), { name: 'up' });
          return matmul(mul(gate, up, 'glu'), g.param('down', [hidden, d], { kind: 'normal', std: 1 / Math.sqrt(hidden * 2 * nLayers) }), { name: 'down' });
        });
        h = add(h, out, 'residual_mlp');
      }
    }),
  );
  h = norm(h, 'final_norm');
  const logits = spec.tieEmbeddings
    ? matmul(h, embed, { transB: true, name: 'head' })
    : matmul(h, g.param('head', [d, V], linearInit(d)), { name: 'head' });
  const { loss, metrics } = crossEntropy(logits, targets, 'loss');
  const parameterCount = g.params.reduce((a, p) => a + p.tensor.size, 0);
  return { spec, shape, graph: g, ids, targets, logits, loss, metrics, parameterCount };
}
