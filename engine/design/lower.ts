/**
 * designToSpec: lowers a design graph to the engine's ModelSpec, or says what is wrong and
 * where (the node or edge at fault), in words.
 *
 * The graph is the model's dataflow. Each sublayer is the pre-norm residual pattern
 *   x → Norm → [Short conv] → mixer | MLP → Residual.branch,   x → Residual.skip
 * A ModelSpec layer is a mixer sublayer (attention or a Miras block) optionally followed by an
 * MLP sublayer; the model is Embedding → layers → Norm → Output head. Layers inside a
 * "Stack ×N" group are repeated N times.
 */
import { ModelSpecSchema, AXES, AXIS_LABEL, type Axis, type Layer, type Mixer, type ModelSpec } from '../spec';
import type { DesignDoc, DesignEdge, DesignNode } from './document';
import { STRUCTURE_PARAMS, connectionError, isAxisType, nodeTypeDef, portOf, type StructureType } from './grammar';
import { axisEntry, axisParamsSchema, blockParamsSchema, shortConvToBlock, splitMirasParams, validateMixer } from './catalog';

export interface DesignIssue {
  severity: 'error' | 'warning';
  message: string;
  nodeId?: string;
  edgeId?: string;
}

export interface DesignAnalysis {
  /** The lowered model, when there are no errors. */
  spec: ModelSpec | null;
  issues: DesignIssue[];
  /** Inferred tensor shape carried by each edge, e.g. "B×T×128" or "retention gate". */
  edgeShapes: Record<string, string>;
  /** For each ModelSpec layer, the design node ids of its mixer and MLP (stacks repeat them). */
  layerNodes: { mixer: string; mlp: string | null }[];
  /** Design node ids that the lowering used (everything else is "not part of the model"). */
  used: string[];
  /** The embedding and output-head nodes, when the design lowered. */
  ends: { embedding: string; head: string } | null;
}

class Lowering {
  issues: DesignIssue[] = [];
  byId = new Map<string, DesignNode>();
  outEdges = new Map<string, DesignEdge[]>();
  inEdges = new Map<string, DesignEdge[]>();
  used = new Set<string>();

  constructor(readonly doc: DesignDoc) {
    for (const n of doc.nodes) this.byId.set(n.id, n);
    for (const e of doc.edges) {
      this.outEdges.set(e.source, [...(this.outEdges.get(e.source) ?? []), e]);
      this.inEdges.set(e.target, [...(this.inEdges.get(e.target) ?? []), e]);
    }
  }

  error(message: string, at: { nodeId?: string; edgeId?: string } = {}) {
    this.issues.push({ severity: 'error', message, ...at });
  }

  title(n: DesignNode): string {
    if (isAxisType(n.type)) return axisEntry(n.type, n.kind ?? '')?.label ?? AXIS_LABEL[n.type];
    return nodeTypeDef(n.type)?.title ?? n.type;
  }

  /** Edges leaving node `id` from output handle `handle`. */
  consumers(id: string): DesignEdge[] {
    return this.outEdges.get(id) ?? [];
  }

  /** The edge into input `handle` of node `id`. */
  input(id: string, handle: string): DesignEdge | undefined {
    const n = this.byId.get(id)!;
    return (this.inEdges.get(id) ?? []).find((e) => (e.targetHandle ?? portOf(n.type, 'in', null)?.id) === handle);
  }

  params(n: DesignNode): Record<string, unknown> | null {
    if (isAxisType(n.type)) {
      const entry = axisEntry(n.type, n.kind ?? '');
      if (!entry) {
        this.error(`Unknown ${AXIS_LABEL[n.type]} "${n.kind ?? ''}": it is not in the Miras catalog.`, { nodeId: n.id });
        return null;
      }
      return this.check(n, axisParamsSchema(n.type, entry.kind).safeParse(n.params));
    }
    if (n.type === 'miras') {
      const { shape, block } = splitMirasParams(n.params);
      const a = this.check(n, STRUCTURE_PARAMS.miras.safeParse(shape));
      const b = this.check(n, blockParamsSchema().safeParse(block));
      return a && b ? { ...a, ...b } : null;
    }
    const schema = (STRUCTURE_PARAMS as Record<string, (typeof STRUCTURE_PARAMS)[StructureType]>)[n.type];
    return this.check(n, schema.safeParse(n.params));
  }

  check(n: DesignNode, r: { success: boolean; data?: unknown; error?: { issues: { path: PropertyKey[]; message: string }[] } }) {
    if (r.success) return r.data as Record<string, unknown>;
    for (const i of r.error!.issues) this.error(`${this.title(n)}: ${i.path.map(String).join('.') || 'parameters'}: ${i.message}`, { nodeId: n.id });
    return null;
  }

  validateStructure(): boolean {
    const before = this.issues.length;
    for (const n of this.doc.nodes) {
      if (!nodeTypeDef(n.type)) {
        this.error(`Unknown node type "${n.type}".`, { nodeId: n.id });
        continue;
      }
      if (n.parent != null) {
        const p = this.byId.get(n.parent);
        if (!p || p.type !== 'stack') this.error(`${this.title(n)} sits in "${n.parent}", which is not a Stack ×N group.`, { nodeId: n.id });
      }
    }
    // Replay edges one by one through the grammar so every edge gets the same check the canvas applies.
    const view = { nodes: this.doc.nodes.map((n) => ({ id: n.id, type: n.type })), edges: [] as DesignEdge[] };
    for (const e of this.doc.edges) {
      const why = connectionError(view, e);
      if (why) this.error(why, { edgeId: e.id });
      else view.edges.push(e);
    }
    return this.issues.length === before;
  }

  /** Follows the residual stream from the embedding to the head; returns the layers in order. */
  walk(): { layers: Layer[]; layerNodes: { mixer: string; mlp: string | null }[]; ends: { embedding: string; head: string }; model: Partial<ModelSpec> } | null {
    const embeddings = this.doc.nodes.filter((n) => n.type === 'embedding');
    const heads = this.doc.nodes.filter((n) => n.type === 'head');
    if (embeddings.length !== 1) {
      if (embeddings.length === 0) this.error('The model needs an Embedding: drag one from Structure to start the residual stream.');
      for (const e of embeddings.slice(1)) this.error('A model has exactly one Embedding; remove this one.', { nodeId: e.id });
      return null;
    }
    if (heads.length !== 1) {
      if (heads.length === 0) this.error('The model needs an Output head at the end of the residual stream.');
      for (const h of heads.slice(1)) this.error('A model has exactly one Output head; remove this one.', { nodeId: h.id });
      return null;
    }
    const emb = embeddings[0];
    const embP = this.params(emb);
    const headP = this.params(heads[0]);
    if (!embP || !headP) return null;
    this.used.add(emb.id);

    type Sub = { kind: 'mixer' | 'mlp'; node: string; mixer?: Mixer; mlp?: { type: 'swiglu'; hidden: number }; parent: string | null; conv: DesignNode | null };
    const subs: Sub[] = [];
    const norms: DesignNode[] = [];
    let stream = emb;
    for (let guard = 0; guard < 10000; guard++) {
      const outs = this.consumers(stream.id);
      if (outs.length === 0) {
        this.error(`${this.title(stream)} output goes nowhere: continue the stream with a Norm (and a Residual skip), or end it with Norm → Output head.`, { nodeId: stream.id });
        return null;
      }
      const targets = outs.map((e) => this.byId.get(e.target)!);
      if (outs.length === 1 && targets[0].type === 'head') {
        this.error('The Output head must be preceded by a final Norm (the model is … → Norm → Output head).', { edgeId: outs[0].id });
        return null;
      }
      if (outs.length === 1 && targets[0].type === 'norm') {
        const next = this.consumers(targets[0].id);
        if (next.length === 1 && this.byId.get(next[0].target)!.type === 'head') {
          norms.push(targets[0]);
          this.used.add(targets[0].id);
          this.used.add(heads[0].id);
          break;
        }
      }
      const norm = targets.find((t) => t.type === 'norm');
      const resEdge = outs.find((e) => this.byId.get(e.target)!.type === 'residual' && e.targetHandle === 'skip');
      if (outs.length !== 2 || !norm || !resEdge) {
        this.error(
          `${this.title(stream)} output must split into a Norm and the skip input of a Residual (a pre-norm sublayer), or go Norm → Output head at the end. It feeds ${targets.map((t) => this.title(t)).join(', ')}.`,
          { nodeId: stream.id },
        );
        return null;
      }
      const residual = this.byId.get(resEdge.target)!;
      // Inside the sublayer: Norm → [Short conv] → (Attention | Miras | MLP) → Residual.branch
      const chain: DesignNode[] = [norm];
      let cur = norm;
      for (;;) {
        const next = this.consumers(cur.id);
        if (next.length !== 1) {
          this.error(`${this.title(cur)} inside a sublayer must feed exactly one node (it feeds ${next.length}).`, { nodeId: cur.id });
          return null;
        }
        const t = this.byId.get(next[0].target)!;
        if (t.id === residual.id) {
          if (next[0].targetHandle !== 'branch') {
            this.error('This edge must go into the Residual\'s branch input.', { edgeId: next[0].id });
            return null;
          }
          break;
        }
        if (!['shortConv', 'attention', 'miras', 'mlp'].includes(t.type)) {
          this.error(`A sublayer is Norm → [Short conv] → Attention | Miras block | MLP → Residual; ${this.title(t)} does not belong here.`, { nodeId: t.id });
          return null;
        }
        chain.push(t);
        cur = t;
      }
      const body = chain.slice(1);
      const main = body.filter((n) => n.type !== 'shortConv');
      const convs = body.filter((n) => n.type === 'shortConv');
      if (main.length !== 1) {
        this.error(
          main.length === 0
            ? 'This sublayer has no mixer or MLP between its Norm and Residual: add an Attention, a Miras block or an MLP.'
            : `A sublayer holds one mixer or MLP; this one chains ${main.map((n) => this.title(n)).join(' → ')}. Give each its own Norm and Residual.`,
          { nodeId: (main[1] ?? norm).id },
        );
        return null;
      }
      const m = main[0];
      if (convs.length > 1 || (convs.length === 1 && (m.type !== 'miras' || body.indexOf(convs[0]) > body.indexOf(m)))) {
        this.error('A Short conv goes right before a Miras block (it convolves the block\'s q, k and v).', { nodeId: convs[0].id });
        return null;
      }
      const group = [norm, ...body, residual];
      const parent = norm.parent;
      const stray = group.find((n) => n.parent !== parent);
      if (stray) {
        this.error(`The nodes of one sublayer must all be inside the same Stack ×N (or all outside); ${this.title(stray)} is not.`, { nodeId: stray.id });
        return null;
      }
      const sub = this.sublayer(m, convs[0] ?? null, parent);
      if (!sub) return null;
      for (const n of group) this.used.add(n.id);
      subs.push(sub);
      norms.push(norm);
      stream = residual;
    }

    // One norm kind and eps for the whole model (ModelSpec has a single norm setting).
    const normParams = norms.map((n) => ({ n, p: this.params(n) }));
    if (normParams.some((x) => !x.p)) return null;
    const first = normParams[0].p!;
    for (const { n, p } of normParams) {
      if (p!.kind !== first.kind || p!.eps !== first.eps) {
        this.error(`All Norms in a model share one kind and ε (the first is ${first.kind}, ε=${first.eps}); this one is ${p!.kind}, ε=${p!.eps}.`, { nodeId: n.id });
        return null;
      }
    }

    // Pair mixer and MLP sublayers into layers, then expand stacks.
    type Unit = { layer: Layer; nodes: { mixer: string; mlp: string | null }; parent: string | null };
    const units: Unit[] = [];
    for (let i = 0; i < subs.length; i++) {
      const s = subs[i];
      if (s.kind === 'mlp') {
        this.error('An MLP sublayer must follow a mixer sublayer (each layer is a mixer, then an optional MLP).', { nodeId: s.node });
        return null;
      }
      const next = subs[i + 1];
      if (next?.kind === 'mlp' && next.parent === s.parent) {
        units.push({ layer: { mixer: s.mixer!, mlp: next.mlp! }, nodes: { mixer: s.node, mlp: next.node }, parent: s.parent });
        i++;
      } else {
        units.push({ layer: { mixer: s.mixer!, mlp: null }, nodes: { mixer: s.node, mlp: null }, parent: s.parent });
      }
    }
    const layers: Layer[] = [];
    const layerNodes: { mixer: string; mlp: string | null }[] = [];
    const seenStacks = new Set<string>();
    for (let i = 0; i < units.length; ) {
      const parent = units[i].parent;
      let j = i;
      while (j < units.length && units[j].parent === parent) j++;
      const run = units.slice(i, j);
      let repeat = 1;
      if (parent) {
        const stack = this.byId.get(parent)!;
        if (seenStacks.has(parent)) {
          this.error('The layers of a Stack ×N must be consecutive in the stream; this stack is entered twice.', { nodeId: parent });
          return null;
        }
        seenStacks.add(parent);
        const sp = this.params(stack);
        if (!sp) return null;
        repeat = sp.repeat as number;
        this.used.add(parent);
      }
      for (let r = 0; r < repeat; r++) {
        for (const u of run) {
          layers.push(structuredClone(u.layer));
          layerNodes.push(u.nodes);
        }
      }
      i = j;
    }
    if (layers.length === 0) {
      this.error('The model has no layers: add a sublayer (Norm → mixer → Residual) between the Embedding and the final Norm.', { nodeId: emb.id });
      return null;
    }
    return {
      layers,
      layerNodes,
      ends: { embedding: emb.id, head: heads[0].id },
      model: {
        vocabSize: embP.vocabSize as number,
        dModel: embP.dModel as number,
        norm: first.kind as ModelSpec['norm'],
        normEps: first.eps as number,
        tieEmbeddings: headP.tieEmbeddings as boolean,
      },
    };
  }

  sublayer(m: DesignNode, conv: DesignNode | null, parent: string | null) {
    const p = this.params(m);
    if (!p) return null;
    if (m.type === 'mlp') return { kind: 'mlp' as const, node: m.id, mlp: { type: 'swiglu' as const, hidden: p.hidden as number }, parent, conv };
    if (m.type === 'attention') {
      const window = p.window as number;
      return {
        kind: 'mixer' as const,
        node: m.id,
        mixer: { type: 'attention' as const, heads: p.heads as number, headDim: p.headDim as number, window: window > 0 ? window : null },
        parent,
        conv,
      };
    }
    // Miras block: the four axis inputs each carry one catalog choice.
    const choices: Partial<Record<Axis, { kind: string; params: Record<string, number | string | boolean> }>> = {};
    let ok = true;
    for (const axis of AXES) {
      const e = this.input(m.id, axis);
      if (!e) {
        this.error(`This Miras block has no ${AXIS_LABEL[axis]}: connect one from the ${AXIS_LABEL[axis]} group of the palette.`, { nodeId: m.id });
        ok = false;
        continue;
      }
      const a = this.byId.get(e.source)!;
      const ap = this.params(a);
      if (!ap) {
        ok = false;
        continue;
      }
      this.used.add(a.id);
      choices[axis] = { kind: a.kind!, params: ap as Record<string, number | string | boolean> };
    }
    if (!ok) return null;
    const { shape, block } = splitMirasParams(p as Record<string, number | string | boolean>);
    const blockOut: Record<string, number | string | boolean> = { ...block };
    if (conv) {
      const cp = this.params(conv);
      if (!cp) return null;
      Object.assign(blockOut, shortConvToBlock(cp.kernelSize as number));
      this.used.add(conv.id);
    } else Object.assign(blockOut, shortConvToBlock(0));
    const mixer: Mixer = {
      type: 'miras',
      heads: shape.heads as number,
      headDimK: shape.headDimK as number,
      headDimV: shape.headDimV as number,
      memory: choices.memory!,
      bias: choices.bias!,
      retention: choices.retention!,
      learner: choices.learner!,
      block: blockOut,
    };
    const problems = validateMixer(mixer);
    for (const pr of problems) {
      const at = pr.axis ? this.input(m.id, pr.axis)?.source : m.id;
      this.error(pr.message, { nodeId: at ?? m.id });
    }
    if (problems.length) return null;
    return { kind: 'mixer' as const, node: m.id, mixer, parent, conv };
  }
}

function seqShape(d: number | undefined) {
  return d ? `B×T×${d}` : 'B×T×d';
}

/** Lowers a design to a ModelSpec, collecting located issues. Never throws on bad designs. */
export function analyzeDesign(doc: DesignDoc): DesignAnalysis {
  const L = new Lowering(doc);
  const edgeShapes: Record<string, string> = {};
  const emb = doc.nodes.find((n) => n.type === 'embedding');
  const d = typeof emb?.params.dModel === 'number' ? emb.params.dModel : (STRUCTURE_PARAMS.embedding.shape.dModel.parse(undefined) as number);
  for (const e of doc.edges) {
    const src = L.byId.get(e.source);
    const port = src && portOf(src.type, 'out', e.sourceHandle);
    if (!port) continue;
    if (port.type === 'seq') edgeShapes[e.id] = seqShape(d);
    else edgeShapes[e.id] = src.kind ? (axisEntry(port.type, src.kind)?.label ?? AXIS_LABEL[port.type]) : AXIS_LABEL[port.type];
  }
  let spec: ModelSpec | null = null;
  let layerNodes: DesignAnalysis['layerNodes'] = [];
  let ends: DesignAnalysis['ends'] = null;
  if (doc.nodes.length === 0) {
    L.issues.push({ severity: 'error', message: 'The canvas is empty: pick a preset, or drag an Embedding from Structure.' });
  } else if (L.validateStructure()) {
    const w = L.walk();
    if (w && !L.issues.some((i) => i.severity === 'error')) {
      const parsed = ModelSpecSchema.safeParse({ ...w.model, layers: w.layers });
      if (parsed.success) {
        spec = parsed.data;
        layerNodes = w.layerNodes;
        ends = w.ends;
      } else {
        for (const i of parsed.error.issues) L.error(`Model: ${i.path.join('.')}: ${i.message}`);
      }
    }
  }
  if (spec) {
    for (const n of doc.nodes) {
      if (!L.used.has(n.id)) L.issues.push({ severity: 'warning', message: `${L.title(n)} is not connected to the model and is ignored.`, nodeId: n.id });
    }
  }
  return { spec, issues: L.issues, edgeShapes, layerNodes, used: [...L.used], ends };
}

export class DesignError extends Error {
  constructor(readonly issues: DesignIssue[]) {
    super(issues.filter((i) => i.severity === 'error').map((i) => i.message).join('\n'));
    this.name = 'DesignError';
  }
}

/** Lowers a design to a ModelSpec or throws DesignError listing the located issues. */
export function designToSpec(doc: DesignDoc): ModelSpec {
  const a = analyzeDesign(doc);
  if (!a.spec) throw new DesignError(a.issues);
  return a.spec;
}
