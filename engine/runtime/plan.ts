/**
 * IR → execution plan: the forward, backward and optimizer kernel lists (all KernelSpecs) and a
 * buffer assignment. Tensors and gradients that live only inside a step share pooled buffers by
 * lifetime (first to last kernel that binds them); parameters, their gradients, optimizer state,
 * inputs and requested outputs are persistent. The plan is pure data: the executor turns it into
 * GPU objects, and tests can inspect it without a device.
 */
import type { Graph, Tensor } from '../ir/graph';
import type { GpuCtx } from '../ir/op';
import type { DeviceCaps, KernelSpec } from '../plan/kernel';
import { backwardNodes } from '../reference/interpreter';
import { declare, grid, threadKernel, u, type Bind } from '../ops/wgsl';

export interface PlanOptions {
  caps: DeviceCaps;
  /** Scalar loss tensor; omit for a forward-only plan. */
  loss?: Tensor;
  /** Tensors to keep readable after a run (e.g. logits for `check`, metrics for logging). */
  keep?: Tensor[];
  /** Build optimizer kernels (AdamW + global-norm clipping). */
  optimizer?: boolean;
  /** Shared-memory tiled GEMMs (real GPUs). */
  tiled?: boolean;
}

export type BufferRole = 'param' | 'grad' | 'state' | 'input' | 'kept' | 'pooled' | 'uniform';

export interface PlanBuffer {
  name: string;
  bytes: number;
  role: BufferRole;
  /** Physical buffer index (pooled buffers share). */
  slot: number;
}

export interface ExecutionPlan {
  forward: KernelSpec[];
  backward: KernelSpec[];
  optimizer: KernelSpec[];
  buffers: Map<string, PlanBuffer>;
  /** Physical buffers (bytes each). */
  slots: { bytes: number; usage: 'storage' | 'uniform' }[];
  /** Sum of all physical buffers: the plan's device-memory peak. */
  peakBytes: number;
  /** What the pooled part would take without reuse (for reporting). */
  unpooledBytes: number;
  params: { id: string; size: number; decay: boolean }[];
}

export const gradName = (id: string) => `grad:${id}`;
export const HPARAMS = 'optim.hparams';
export const GRAD_NORM = 'optim.gradNorm';
const SUMSQ = 'optim.sumsq';
export const adamM = (id: string) => `adam.m:${id}`;
export const adamV = (id: string) => `adam.v:${id}`;

/** AdamW hyper-parameters as laid out in the uniform buffer (8 × f32). */
export const HPARAM_FIELDS = ['lr', 'beta1', 'beta2', 'eps', 'weightDecay', 'bc1', 'bc2', 'clip'] as const;

export function compilePlan(graph: Graph, opts: PlanOptions): ExecutionPlan {
  const { caps } = opts;
  const sizes = new Map<string, { bytes: number; role: BufferRole }>();
  const all = new Map<string, Tensor>();
  for (const t of graph.inputs) all.set(t.id, t);
  for (const p of graph.params) all.set(p.tensor.id, p.tensor);
  for (const n of graph.nodes) n.outputs.forEach((t) => all.set(t.id, t));
  const bytesOf = (t: Tensor) => t.size * 4;
  const kept = new Set((opts.keep ?? []).map((t) => t.id));
  if (opts.loss) kept.add(opts.loss.id);
  for (const t of all.values()) {
    const role: BufferRole = t.role === 'param' ? 'param' : t.role === 'input' ? 'input' : kept.has(t.id) ? 'kept' : 'pooled';
    sizes.set(t.id, { bytes: bytesOf(t), role });
  }

  const run = opts.loss ? backwardNodes(graph, opts.loss) : new Set<number>();
  const paramIds = new Set(graph.params.map((p) => p.tensor.id));
  const ctxFor = (i: number): GpuCtx<unknown> => {
    const n = graph.nodes[i];
    const diff = n.op.differentiable?.(n.attrs) ?? n.outputs.map((t) => t.dtype === 'f32');
    const back = run.has(i);
    const gin = n.inputs.map((t) => (back && t.dtype === 'f32' ? gradName(t.id) : null));
    const gout = n.outputs.map((t, j) => (back && diff[j] ? gradName(t.id) : null));
    for (const [list, ts] of [
      [gin, n.inputs],
      [gout, n.outputs],
    ] as const) {
      list.forEach((g, j) => {
        if (g && !sizes.has(g)) sizes.set(g, { bytes: bytesOf(ts[j]), role: paramIds.has(ts[j].id) ? 'grad' : 'pooled' });
      });
    }
    const scratch = n.op.scratch?.({ attrs: n.attrs, ins: n.inputs.map((t) => t.type), outs: n.outputs.map((t) => t.type) }, caps) ?? [];
    for (const s of scratch) sizes.set(`scratch:${i}:${s.name}`, { bytes: s.bytes, role: 'pooled' });
    return {
      attrs: n.attrs,
      ins: n.inputs.map((t) => t.type),
      outs: n.outputs.map((t) => t.type),
      caps,
      label: `${n.op.name}[${n.label}]`,
      in: n.inputs.map((t) => t.id),
      out: n.outputs.map((t) => t.id),
      gin,
      gout,
      scratch: (name) => {
        if (!scratch.some((s) => s.name === name)) throw new Error(`${n.op.name} [${n.label}] uses undeclared scratch "${name}"`);
        return `scratch:${i}:${name}`;
      },
      tiled: opts.tiled ?? false,
    };
  };

  const wrap = (label: string, f: () => KernelSpec[]) => {
    try {
      return f();
    } catch (e) {
      throw new Error(`${label}: ${(e as Error).message}`);
    }
  };
  const ctxs = graph.nodes.map((_, i) => ctxFor(i));
  const forward = graph.nodes.flatMap((n, i) => wrap(ctxs[i].label, () => n.op.kernels.forward(ctxs[i])));

  const backward: KernelSpec[] = [];
  if (opts.loss) {
    const seed = gradName(opts.loss.id);
    if (!sizes.has(seed)) throw new Error(`the loss "${opts.loss.id}" does not depend on any parameter`);
    backward.push(fill(seed, opts.loss.size, 1, caps));
    const ready = new Set([seed]);
    // Gradient buffers are zeroed where they first appear in the backward sweep; later ops add into them.
    const steps: { i: number; zero: { name: string; n: number }[] }[] = [];
    for (let i = graph.nodes.length - 1; i >= 0; i--) {
      if (!run.has(i)) continue;
      const c = ctxs[i];
      const zero: { name: string; n: number }[] = [];
      [...c.gout, ...c.gin].forEach((g, j) => {
        if (!g || ready.has(g)) return;
        ready.add(g);
        const t = j < c.gout.length ? graph.nodes[i].outputs[j] : graph.nodes[i].inputs[j - c.gout.length];
        zero.push({ name: g, n: t.size });
      });
      steps.push({ i, zero });
    }
    // Consecutive nodes share one zeroing dispatch (up to the storage-buffer limit), placed before the first of
    // them: no node in between touches the others' new buffers (else they would be in its own list), and the
    // pooled lifetimes below start at that dispatch. Only small buffers are zeroed ahead of their node, so
    // large ones keep their short lifetimes (and pooled memory stays put).
    const per = zeroGroup(caps);
    const small = (st: (typeof steps)[number]) => st.zero.every((z) => z.n * 4 <= ZERO_AHEAD_BYTES);
    for (let k = 0; k < steps.length; ) {
      let j = k;
      let count = 0;
      while (j < steps.length && (j === k || (small(steps[j]) && count + steps[j].zero.length <= per))) count += steps[j++].zero.length;
      backward.push(...zeroFill(steps.slice(k, j).flatMap((st) => st.zero), caps));
      for (const st of steps.slice(k, j)) backward.push(...wrap(ctxs[st.i].label, () => graph.nodes[st.i].op.kernels.backward(ctxs[st.i])));
      k = j;
    }
    const unused = graph.params.filter((p) => !ready.has(gradName(p.tensor.id)));
    for (const p of unused) sizes.set(gradName(p.tensor.id), { bytes: bytesOf(p.tensor), role: 'grad' });
    backward.push(...zeroFill(unused.map((p) => ({ name: gradName(p.tensor.id), n: p.tensor.size })), caps));
  }

  const optimizer: KernelSpec[] = [];
  if (opts.optimizer) {
    if (!opts.loss) throw new Error('an optimizer plan needs a loss');
    const ps = graph.params.map((p) => ({ id: p.tensor.id, n: p.tensor.size, decay: p.decay }));
    const norm = gradNormKernels(ps, caps);
    sizes.set(SUMSQ, { bytes: norm.partials * 4, role: 'state' });
    sizes.set(GRAD_NORM, { bytes: 4, role: 'kept' });
    sizes.set(HPARAMS, { bytes: HPARAM_FIELDS.length * 4, role: 'uniform' });
    optimizer.push(...norm.kernels);
    for (const p of ps) {
      sizes.set(adamM(p.id), { bytes: p.n * 4, role: 'state' });
      sizes.set(adamV(p.id), { bytes: p.n * 4, role: 'state' });
    }
    optimizer.push(...adamwKernels(ps, caps));
  }

  // Lifetimes over the whole step, then greedy best-fit reuse of pooled buffers.
  const order = [...forward, ...backward, ...optimizer];
  const first = new Map<string, number>();
  const last = new Map<string, number>();
  order.forEach((k, idx) => {
    const seen = new Set<string>();
    for (const b of k.bindings) {
      if (!sizes.has(b.buffer)) throw new Error(`kernel ${k.name} binds "${b.buffer}", which the plan does not know`);
      if (seen.has(b.buffer) && k.bindings.some((x) => x.buffer === b.buffer && x.access === 'read_write')) {
        throw new Error(`kernel ${k.name} binds "${b.buffer}" twice with write access`);
      }
      seen.add(b.buffer);
      if (!first.has(b.buffer)) first.set(b.buffer, idx);
      last.set(b.buffer, idx);
    }
  });
  const buffers = new Map<string, PlanBuffer>();
  const slots: ExecutionPlan['slots'] = [];
  const alloc = (bytes: number, usage: 'storage' | 'uniform') => slots.push({ bytes: Math.max(16, align(bytes, 16)), usage }) - 1;
  const pooled: { name: string; bytes: number; start: number; end: number }[] = [];
  let unpooledBytes = 0;
  for (const [name, s] of sizes) {
    if (s.role === 'pooled') {
      if (!first.has(name)) continue; // never bound: no buffer
      pooled.push({ name, bytes: s.bytes, start: first.get(name)!, end: last.get(name)! });
      unpooledBytes += align(s.bytes, 16);
    } else {
      buffers.set(name, { name, bytes: s.bytes, role: s.role, slot: alloc(s.bytes, s.role === 'uniform' ? 'uniform' : 'storage') });
    }
  }
  pooled.sort((a, b) => a.start - b.start || b.bytes - a.bytes);
  const busyUntil: number[] = []; // slot → last kernel index using it
  const poolSlots: number[] = [];
  for (const p of pooled) {
    // Smallest free slot that fits; else the largest free slot, which grows.
    let best = -1;
    for (const s of poolSlots) {
      if (busyUntil[s] >= p.start) continue;
      const have = slots[s].bytes;
      if (best < 0) best = s;
      else {
        const cur = slots[best].bytes;
        const fitsHave = have >= p.bytes;
        const fitsCur = cur >= p.bytes;
        if ((fitsHave && (!fitsCur || have < cur)) || (!fitsHave && !fitsCur && have > cur)) best = s;
      }
    }
    if (best < 0) {
      best = alloc(p.bytes, 'storage');
      poolSlots.push(best);
    } else if (slots[best].bytes < p.bytes) slots[best].bytes = Math.max(16, align(p.bytes, 16));
    busyUntil[best] = p.end;
    buffers.set(p.name, { name: p.name, bytes: p.bytes, role: 'pooled', slot: best });
  }
  const peakBytes = slots.reduce((a, s) => a + s.bytes, 0);
  return {
    forward,
    backward,
    optimizer,
    buffers,
    slots,
    peakBytes,
    unpooledBytes,
    params: graph.params.map((p) => ({ id: p.tensor.id, size: p.tensor.size, decay: p.decay })),
  };
}

const align = (n: number, a: number) => Math.ceil(n / a) * a;

function fill(buffer: string, n: number, value: number, caps: DeviceCaps): KernelSpec {
  return threadKernel({
    name: `fill[${buffer}]`,
    caps,
    binds: [{ name: 'y', buffer, access: 'read_write' }],
    total: n,
    body: `  y[i] = ${value === 0 ? '0.0' : `${value}.0`};`,
  });
}

/** Gradient buffers up to this size may be zeroed a few nodes ahead, sharing a dispatch. */
const ZERO_AHEAD_BYTES = 4 << 20;

/** Buffers one zeroing dispatch covers: the storage-buffer limit. */
const zeroGroup = (caps: DeviceCaps) => Math.max(1, caps.maxStorageBuffersPerShaderStage);

/** Zero several buffers per dispatch (up to the storage-buffer limit): fewer dispatches, same result. */
function zeroFill(list: { name: string; n: number }[], caps: DeviceCaps): KernelSpec[] {
  const per = zeroGroup(caps);
  const out: KernelSpec[] = [];
  for (let k = 0; k < list.length; k += per) {
    const group = list.slice(k, k + per);
    out.push(
      threadKernel({
        name: `zero[${group.map((g) => g.name).join(', ')}]`,
        caps,
        binds: group.map((g, j) => ({ name: `y${j}`, buffer: g.name, access: 'read_write' as const })),
        total: Math.max(...group.map((g) => g.n)),
        body: group.map((g, j) => `  if (i < ${u(g.n)}) { y${j}[i] = 0.0; }`).join('\n'),
      }),
    );
  }
  return out;
}

/** Elements of one gradient summed by one workgroup (256 invocations × 16 each) in the norm's first pass. */
const SUMSQ_SPAN = 4096;
const SUMSQ_WG = 256;

/** Parameters in groups of at most `per`: one dispatch per group (the storage-buffer limit bounds a group). */
function groups<T>(list: T[], per: number): T[][] {
  const out: T[][] = [];
  for (let k = 0; k < list.length; k += per) out.push(list.slice(k, k + per));
  return out;
}

/**
 * Global gradient norm in two passes: every workgroup squares and sums SUMSQ_SPAN elements of one gradient
 * into a partial sum (one dispatch covers up to maxStorageBuffers − 1 gradients, its workgroups split among
 * them), then one workgroup adds all partials and takes the root.
 */
function gradNormKernels(ps: { id: string; n: number }[], caps: DeviceCaps): { kernels: KernelSpec[]; partials: number } {
  const W = Math.min(SUMSQ_WG, caps.maxComputeInvocationsPerWorkgroup, caps.maxComputeWorkgroupSizeX);
  const per = Math.max(1, caps.maxStorageBuffersPerShaderStage - 1);
  const kernels: KernelSpec[] = [];
  let offset = 0;
  for (const group of groups(ps, per)) {
    const blocks = group.map((p) => Math.ceil(p.n / SUMSQ_SPAN));
    const total = blocks.reduce((a, b) => a + b, 0);
    const binds: Bind[] = [...group.map((p, j) => ({ name: `g${j}`, buffer: gradName(p.id), access: 'read' as const })), { name: 'out', buffer: SUMSQ, access: 'read_write' }];
    let first = 0;
    const branches = group.map((p, j) => {
      const lo = first;
      first += blocks[j];
      return `if (w < ${u(first)}) {
    let base = (w - ${u(lo)}) * ${u(SUMSQ_SPAN)};
    let end = min(base + ${u(SUMSQ_SPAN)}, ${u(p.n)});
    for (var e = base + lid.x; e < end; e += ${u(W)}) { let x = g${j}[e]; a += x * x; }
  }`;
    });
    kernels.push({
      name: `sumsq[${group.map((p) => gradName(p.id)).join(', ')}]`,
      wgsl: `${declare(binds)}
var<workgroup> part: array<f32, ${W}>;
@compute @workgroup_size(${W})
fn main(@builtin(workgroup_id) wid: vec3u, @builtin(local_invocation_id) lid: vec3u, @builtin(num_workgroups) nwg: vec3u) {
  let w = wid.x + wid.y * nwg.x;
  if (w >= ${u(total)}) { return; }
  var a = 0.0;
  ${branches.join(' else ')}
  part[lid.x] = a;
  workgroupBarrier();
  for (var st = ${u(W / 2)}; st > 0u; st = st >> 1u) {
    if (lid.x < st) { part[lid.x] += part[lid.x + st]; }
    workgroupBarrier();
  }
  if (lid.x == 0u) { out[${u(offset)} + w] = part[0]; }
}
`,
      entryPoint: 'main',
      bindings: binds.map((b) => ({ buffer: b.buffer, access: b.access })),
      workgroups: grid(total, caps),
    });
    offset += total;
  }
  const binds: Bind[] = [
    { name: 'sq', buffer: SUMSQ, access: 'read' },
    { name: 'norm', buffer: GRAD_NORM, access: 'read_write' },
  ];
  kernels.push({
    name: 'grad_norm',
    wgsl: `${declare(binds)}
var<workgroup> part: array<f32, ${W}>;
@compute @workgroup_size(${W})
fn main(@builtin(local_invocation_id) lid: vec3u) {
  var a = 0.0;
  for (var k = lid.x; k < ${u(offset)}; k += ${u(W)}) { a += sq[k]; }
  part[lid.x] = a;
  workgroupBarrier();
  for (var st = ${u(W / 2)}; st > 0u; st = st >> 1u) {
    if (lid.x < st) { part[lid.x] += part[lid.x + st]; }
    workgroupBarrier();
  }
  if (lid.x == 0u) { norm[0] = sqrt(part[0]); }
}
`,
    entryPoint: 'main',
    bindings: binds.map((b) => ({ buffer: b.buffer, access: b.access })),
    workgroups: [1, 1, 1],
  });
  return { kernels, partials: Math.max(1, offset) };
}

const HP_STRUCT = `struct Hp { ${HPARAM_FIELDS.map((f) => `${f}: f32`).join(', ')} }`;

/**
 * AdamW (Loshchilov & Hutter 2019, Alg. 2) with global-norm clipping, as torch.optim.AdamW:
 * g ← g·min(1, clip/‖g‖); m ← β1 m + (1−β1) g; v ← β2 v + (1−β2) g²;
 * p ← p − lr·(wd·p + (m/bc1)/(√(v/bc2) + ε)).
 * Several parameters per dispatch when the storage-buffer limit allows (4 buffers each, plus the norm).
 */
function adamwKernels(ps: { id: string; n: number; decay: boolean }[], caps: DeviceCaps): KernelSpec[] {
  const per = Math.max(1, Math.floor((caps.maxStorageBuffersPerShaderStage - 1) / 4));
  return groups(ps, per).map((group) => {
    const binds: Bind[] = [
      ...group.flatMap((p, j): Bind[] => [
        { name: `p${j}`, buffer: p.id, access: 'read_write' },
        { name: `g${j}`, buffer: gradName(p.id), access: 'read' },
        { name: `m${j}`, buffer: adamM(p.id), access: 'read_write' },
        { name: `v${j}`, buffer: adamV(p.id), access: 'read_write' },
      ]),
      { name: 'norm', buffer: GRAD_NORM, access: 'read' },
      { name: 'hp', buffer: HPARAMS, access: 'uniform', type: 'Hp' },
    ];
    let first = 0;
    const branches = group.map((p, j) => {
      const lo = first;
      first += p.n;
      return `if (i < ${u(first)}) {
    let k = i - ${u(lo)};
    let gi = g${j}[k] * s;
    let mi = hp.beta1 * m${j}[k] + (1.0 - hp.beta1) * gi;
    let vi = hp.beta2 * v${j}[k] + (1.0 - hp.beta2) * gi * gi;
    m${j}[k] = mi; v${j}[k] = vi;
    let pi = p${j}[k];
    p${j}[k] = pi - hp.lr * (${p.decay ? 'hp.weightDecay * pi + ' : ''}(mi / hp.bc1) / (sqrt(vi / hp.bc2) + hp.eps));
  }`;
    });
    return threadKernel({
      name: `adamw[${group.map((p) => p.id).join(', ')}]`,
      caps,
      binds,
      total: first,
      prelude: HP_STRUCT,
      workgroupSize: 256,
      body: `  var s = 1.0;
  if (hp.clip > 0.0 && norm[0] > hp.clip) { s = hp.clip / norm[0]; }
  ${branches.join(' else ')}`,
    });
  });
}
