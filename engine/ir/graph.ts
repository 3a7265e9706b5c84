/**
 * The engine's IR: a static-shape dataflow graph of f32 (and i32 id) tensors.
 * Nodes are appended in execution order, so the node list is already a topological order;
 * the float64 reference interprets it directly and the WebGPU compiler lowers each node to
 * the KernelSpec lists its op definition generates.
 */
import type { OpDef, TensorType, DType } from './op';

export type Init =
  | { kind: 'normal'; std: number }
  | { kind: 'uniform'; lo: number; hi: number }
  | { kind: 'const'; value: number };

export type TensorRole = 'param' | 'input' | 'value';

export class Tensor {
  constructor(
    readonly graph: Graph,
    /** Unique id; also the tensor's buffer name in an execution plan (params use their dotted name). */
    readonly id: string,
    readonly shape: number[],
    readonly dtype: DType,
    readonly role: TensorRole,
    /** Index of the producing node, -1 for params and inputs. */
    readonly producer: number,
  ) {}
  get size(): number {
    return numel(this.shape);
  }
  get type(): TensorType {
    return { shape: this.shape, dtype: this.dtype };
  }
}

export interface Node {
  index: number;
  // Nodes hold ops of every attribute type; each op reads back its own attrs.
  // eslint-disable-next-line @typescript-eslint/no-explicit-any
  op: OpDef<any>;
  // eslint-disable-next-line @typescript-eslint/no-explicit-any
  attrs: any;
  inputs: Tensor[];
  outputs: Tensor[];
  /** Scoped name, e.g. "layers.0.mixer.q"; kernels are named `${op}[${label}]`. */
  label: string;
}

export interface ParamInfo {
  tensor: Tensor;
  init: Init;
  /** AdamW weight decay applies (matrices yes; norm gains, biases, embeddings by choice). */
  decay: boolean;
}

export function numel(shape: readonly number[]): number {
  let n = 1;
  for (const d of shape) n *= d;
  return n;
}

export function shapeStr(shape: readonly number[]): string {
  return `[${shape.join(', ')}]`;
}

export class Graph {
  readonly nodes: Node[] = [];
  readonly params: ParamInfo[] = [];
  readonly inputs: Tensor[] = [];
  private readonly scopes: string[] = [];
  private readonly names = new Set<string>();
  private counter = 0;

  /** Run `fn` with `name` pushed onto the label scope ("layers.0" → "layers.0.mixer"...). */
  scoped<T>(name: string, fn: () => T): T {
    this.scopes.push(name);
    try {
      return fn();
    } finally {
      this.scopes.pop();
    }
  }

  qualify(name: string): string {
    return [...this.scopes, name].filter(Boolean).join('.');
  }

  private unique(name: string): string {
    if (this.names.has(name)) throw new Error(`duplicate tensor name "${name}" in the graph`);
    this.names.add(name);
    return name;
  }

  input(name: string, shape: number[], dtype: DType = 'i32'): Tensor {
    checkShape(shape, `input ${name}`);
    const t = new Tensor(this, this.unique(this.qualify(name)), [...shape], dtype, 'input', -1);
    this.inputs.push(t);
    return t;
  }

  param(name: string, shape: number[], init: Init, opts: { decay?: boolean } = {}): Tensor {
    const id = this.qualify(name);
    checkShape(shape, `parameter ${id}`);
    const t = new Tensor(this, this.unique(id), [...shape], 'f32', 'param', -1);
    this.params.push({ tensor: t, init, decay: opts.decay ?? shape.length >= 2 });
    return t;
  }

  /** Append one op application; shapes are inferred and validated now, with the label in the error. */
  apply<A>(op: OpDef<A>, inputs: Tensor[], attrs: A, name?: string): Tensor[] {
    const label = this.qualify(name ?? op.name);
    for (const t of inputs) {
      if (!(t instanceof Tensor) || t.graph !== this) throw new Error(`${op.name} [${label}]: input is not a tensor of this graph`);
    }
    let outTypes: TensorType[];
    try {
      outTypes = op.infer(
        inputs.map((t) => t.type),
        attrs,
      );
    } catch (e) {
      throw new Error(`${op.name} [${label}]: ${(e as Error).message}`);
    }
    const index = this.nodes.length;
    const outputs = outTypes.map(
      (o) => new Tensor(this, this.unique(`%${this.counter++}`), [...o.shape], o.dtype, 'value', index),
    );
    this.nodes.push({ index, op, attrs, inputs, outputs, label });
    return outputs;
  }
}

function checkShape(shape: number[], what: string) {
  if (shape.length === 0 || shape.some((d) => !Number.isInteger(d) || d < 1)) {
    throw new Error(`${what}: shape ${shapeStr(shape)} must be a non-empty list of positive integers`);
  }
}
