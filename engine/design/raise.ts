/**
 * specToDesign: turns any ModelSpec (every engine preset) into an editable graph, laid out
 * top to bottom like Netron. Runs of identical layers fold into "Stack ×N" groups (also
 * periodic runs, e.g. a hybrid alternating two layer kinds), so deep models stay readable.
 * designToSpec(specToDesign(spec)) gives back the spec (with catalog defaults made explicit).
 */
import { AXES, type Layer, type ModelSpec } from '../spec';
import { DESIGN_FORMAT, DESIGN_VERSION, type DesignDoc, type DesignEdge, type DesignNode } from './document';
import { shortConvFromBlock } from './catalog';

/** Node box sizes used for layout (the editor's CSS draws nodes at these widths). */
export const LAYOUT = {
  width: 210,
  axisWidth: 200,
  gap: 26,
  stackPad: 18,
  stackHeader: 34,
  heights: { embedding: 70, norm: 46, shortConv: 46, attention: 76, miras: 170, residual: 46, mlp: 62, head: 62, axis: 72 } as Record<string, number>,
};
const MAIN_X = LAYOUT.axisWidth + 60;

interface Chunk {
  layers: Layer[];
  repeat: number;
}

/** Splits layers into runs: a period-p pattern repeated k ≥ 2 times becomes a stack. */
export function foldLayers(layers: Layer[]): Chunk[] {
  const key = layers.map((l) => JSON.stringify(l));
  const chunks: Chunk[] = [];
  for (let i = 0; i < layers.length; ) {
    let best = { p: 1, k: 1 };
    for (let p = 1; p <= 4 && i + 2 * p <= layers.length; p++) {
      let k = 1;
      while (i + (k + 1) * p <= layers.length && key.slice(i + k * p, i + (k + 1) * p).every((s, j) => s === key[i + j])) k++;
      if (k >= 2 && k * p > best.k * best.p) best = { p, k };
    }
    chunks.push({ layers: layers.slice(i, i + best.p), repeat: best.k });
    i += best.p * best.k;
  }
  return chunks;
}

export function specToDesign(spec: ModelSpec, opts: { name?: string; preset?: string | null } = {}): DesignDoc {
  const nodes: DesignNode[] = [];
  const edges: DesignEdge[] = [];
  let edgeSeq = 0;
  const connect = (source: string, target: string, targetHandle: string | null = 'in', sourceHandle: string | null = 'out') => {
    edges.push({ id: `e${++edgeSeq}`, source, sourceHandle, target, targetHandle });
  };
  const add = (n: Omit<DesignNode, 'parent' | 'params'> & { parent?: string | null; params?: DesignNode['params'] }) => {
    const node: DesignNode = { parent: null, params: {}, ...n };
    nodes.push(node);
    return node.id;
  };
  const h = (t: string) => LAYOUT.heights[t];

  let y = 0;
  const emb = add({ id: 'embedding', type: 'embedding', position: { x: MAIN_X, y }, params: { vocabSize: spec.vocabSize, dModel: spec.dModel } });
  y += h('embedding') + LAYOUT.gap;
  let stream = emb;
  const norm = { kind: spec.norm, eps: spec.normEps };

  /** Emits one layer at (x0, y0) relative to `parent`; returns its height. */
  const emitLayer = (layer: Layer, tag: string, x0: number, y0: number, parent: string | null) => {
    let yy = y0;
    const sublayer = (kind: 'mixer' | 'mlp') => {
      const n1 = add({ id: `${tag}.${kind}.norm`, type: 'norm', position: { x: x0 + MAIN_X, y: yy }, parent, params: { ...norm } });
      connect(stream, n1);
      yy += h('norm') + LAYOUT.gap;
      let prev = n1;
      let mainId: string;
      if (kind === 'mlp') {
        mainId = add({ id: `${tag}.mlp`, type: 'mlp', position: { x: x0 + MAIN_X, y: yy }, parent, params: { hidden: layer.mlp!.hidden } });
        yy += h('mlp') + LAYOUT.gap;
      } else if (layer.mixer.type === 'attention') {
        const m = layer.mixer;
        mainId = add({
          id: `${tag}.attention`,
          type: 'attention',
          position: { x: x0 + MAIN_X, y: yy },
          parent,
          params: { heads: m.heads, headDim: m.headDim, window: m.window ?? 0 },
        });
        yy += h('attention') + LAYOUT.gap;
      } else {
        const m = layer.mixer;
        const { kernelSize, rest } = shortConvFromBlock(m.block);
        if (kernelSize > 0) {
          prev = add({ id: `${tag}.conv`, type: 'shortConv', position: { x: x0 + MAIN_X, y: yy }, parent, params: { kernelSize } });
          connect(n1, prev);
          yy += h('shortConv') + LAYOUT.gap;
        }
        mainId = add({
          id: `${tag}.miras`,
          type: 'miras',
          position: { x: x0 + MAIN_X, y: yy },
          parent,
          params: { heads: m.heads, headDimK: m.headDimK, headDimV: m.headDimV, ...rest },
        });
        AXES.forEach((axis, i) => {
          const c = m[axis];
          const id = add({
            id: `${tag}.${axis}`,
            type: axis,
            kind: c.kind,
            position: { x: x0 + 20, y: yy - 30 + i * (h('axis') + 8) },
            parent,
            params: { ...c.params },
          });
          connect(id, mainId, axis);
        });
        yy += Math.max(h('miras'), 4 * (h('axis') + 8) - 30) + LAYOUT.gap;
      }
      connect(prev, mainId);
      const res = add({ id: `${tag}.${kind}.residual`, type: 'residual', position: { x: x0 + MAIN_X, y: yy }, parent });
      connect(mainId, res, 'branch');
      connect(stream, res, 'skip');
      yy += h('residual') + LAYOUT.gap;
      stream = res;
    };
    sublayer('mixer');
    if (layer.mlp) sublayer('mlp');
    return yy - y0;
  };

  let layerNo = 0;
  foldLayers(spec.layers).forEach((chunk, ci) => {
    if (chunk.repeat === 1) {
      y += emitLayer(chunk.layers[0], `L${layerNo}`, 0, y, null);
      layerNo += 1;
      return;
    }
    const stackId = `stack${ci}`;
    const stackIndex = nodes.length;
    add({ id: stackId, type: 'stack', position: { x: 0, y }, params: { repeat: chunk.repeat } });
    let inner = LAYOUT.stackHeader;
    chunk.layers.forEach((layer, j) => {
      inner += emitLayer(layer, `L${layerNo + j}`, -0, inner, stackId);
    });
    layerNo += chunk.layers.length * chunk.repeat;
    const height = inner + LAYOUT.stackPad - LAYOUT.gap;
    nodes[stackIndex].size = { width: MAIN_X + LAYOUT.width + LAYOUT.stackPad + 10, height };
    y += height + LAYOUT.gap;
  });

  const fn = add({ id: 'final.norm', type: 'norm', position: { x: MAIN_X, y }, params: { ...norm } });
  connect(stream, fn);
  y += h('norm') + LAYOUT.gap;
  const head = add({ id: 'head', type: 'head', position: { x: MAIN_X, y }, params: { tieEmbeddings: spec.tieEmbeddings } });
  connect(fn, head);

  return {
    format: DESIGN_FORMAT,
    version: DESIGN_VERSION,
    name: opts.name ?? 'Untitled design',
    preset: opts.preset ?? null,
    nodes,
    edges,
  };
}
