/**
 * The float64 reference backend: interprets the IR on the CPU with each op's reference
 * forward and VJP. It is the meaning of every kernel: WebGPU results are checked against it.
 */
import type { Graph, Tensor } from '../ir/graph';
import type { RefCtx } from '../ir/op';

export type Values = Map<string, Float64Array>;

function ctxOf(node: Graph['nodes'][number]): RefCtx<unknown> {
  return { attrs: node.attrs, ins: node.inputs.map((t) => t.type), outs: node.outputs.map((t) => t.type) };
}

/** Run every node. `feeds` holds inputs and params by tensor id. */
export function referenceForward(graph: Graph, feeds: Values): Values {
  const values: Values = new Map(feeds);
  for (const t of [...graph.inputs, ...graph.params.map((p) => p.tensor)]) {
    const v = values.get(t.id);
    if (!v) throw new Error(`reference: no value fed for ${t.role} "${t.id}"`);
    if (v.length !== t.size) throw new Error(`reference: "${t.id}" has ${v.length} values, expected ${t.size} for shape [${t.shape}]`);
  }
  for (const node of graph.nodes) {
    let outs: Float64Array[];
    try {
      outs = node.op.forward(
        node.inputs.map((t) => values.get(t.id)!),
        ctxOf(node),
      );
    } catch (e) {
      throw new Error(`${node.op.name} [${node.label}] reference forward: ${(e as Error).message}`);
    }
    node.outputs.forEach((t, i) => values.set(t.id, outs[i]));
  }
  return values;
}

/** Which nodes run backward for `loss`: those on a path from a parameter to the loss. */
export function backwardNodes(graph: Graph, loss: Tensor): Set<number> {
  const requires = new Set<string>(graph.params.map((p) => p.tensor.id));
  for (const n of graph.nodes) if (n.inputs.some((t) => requires.has(t.id))) n.outputs.forEach((t) => requires.add(t.id));
  const reaches = new Set<string>([loss.id]);
  const run = new Set<number>();
  for (let i = graph.nodes.length - 1; i >= 0; i--) {
    const n = graph.nodes[i];
    const diff = n.op.differentiable?.(n.attrs) ?? n.outputs.map((t) => t.dtype === 'f32');
    if (!n.outputs.some((t, j) => diff[j] && reaches.has(t.id))) continue;
    if (!n.inputs.some((t) => requires.has(t.id))) continue;
    run.add(i);
    n.inputs.forEach((t) => t.dtype === 'f32' && reaches.add(t.id));
  }
  return run;
}

/** Reverse-mode sweep from d(loss) = 1. Returns gradients by tensor id (params included). */
export function referenceBackward(graph: Graph, values: Values, loss: Tensor): Values {
  const grads: Values = new Map([[loss.id, new Float64Array(loss.size).fill(1)]]);
  const run = backwardNodes(graph, loss);
  for (let i = graph.nodes.length - 1; i >= 0; i--) {
    if (!run.has(i)) continue;
    const node = graph.nodes[i];
    const diff = node.op.differentiable?.(node.attrs) ?? node.outputs.map((t) => t.dtype === 'f32');
    const gy = node.outputs.map((t, j) => (diff[j] ? grads.get(t.id) ?? null : null));
    let gx: (Float64Array | null)[];
    try {
      gx = node.op.backward(
        node.inputs.map((t) => values.get(t.id)!),
        node.outputs.map((t) => values.get(t.id)!),
        gy,
        ctxOf(node),
      );
    } catch (e) {
      throw new Error(`${node.op.name} [${node.label}] reference backward: ${(e as Error).message}`);
    }
    node.inputs.forEach((t, j) => {
      const g = gx[j];
      if (!g || t.dtype !== 'f32') return;
      const acc = grads.get(t.id);
      if (!acc) grads.set(t.id, Float64Array.from(g));
      else for (let k = 0; k < g.length; k++) acc[k] += g[k];
    });
  }
  for (const p of graph.params) if (!grads.has(p.tensor.id)) grads.set(p.tensor.id, new Float64Array(p.tensor.size));
  return grads;
}
