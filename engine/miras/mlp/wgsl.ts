/**
 * WGSL for the deep MLP memory scan, generated from the token-step programs of program.ts.
 *
 * Design (correctness first):
 *   - One workgroup per (batch, head). The MLP weights do not fit in workgroup memory (64 → 256 → 64 is 32k
 *     floats per head), so each workgroup owns a region of the storage scratch `scratch.mlp`:
 *       [checkpoints NSEG·SF | segment states C·SF | state adjoint SF | step arrays | their adjoints]
 *     (SF = floats of carried state: W_1..W_L, momentum, chunk anchor). Every op of the step is a loop of the
 *     workgroup's invocations over its output elements; a storage + workgroup barrier follows only where the next
 *     op's access pattern needs one (an elementwise loop over the same arrays needs none).
 *   - Speed (H200 timings: bench/results/h200-2026-11-29-s3/mlp.md): up to 1024 invocations per workgroup; the
 *     per-token vectors (and their adjoints) in workgroup memory `wm` as far as it goes, the weights in the scratch;
 *     small matvecs, reverse gathers and slice softmaxes split each row over up to 32 invocations; workgroup sums
 *     by a tree, or by subgroupAdd where the device has `subgroups` and a run-time check passes (never assumed);
 *     elementwise matrices of the step (the inner gradient's outer products, β·U, decays, ℓq-normalised memory)
 *     recomputed on read instead of stored, in the forward and the backward's segment recomputation.
 *   - Forward: per token, load q/k/v and the per-token scalars into the step's input arrays, run the step,
 *     write o_t, copy the step's state outputs onto its state inputs. The state is checkpointed every C tokens.
 *   - Backward: per segment (last first), restore the checkpoint, recompute and store the segment's states,
 *     then per token (last first): recompute the step's intermediates, seed the adjoints of its outputs (the
 *     carried state adjoint and grad.o), run the reverse program (gathers only: no atomics), read the state
 *     adjoint back and write the token's input gradients to `scratch.dx`.
 *   - Small kernels pack the per-token scalars (β, g, η, δ) into `scratch.gates` and add `scratch.dx` into
 *     grad.<input>, so that no kernel binds more than 8 storage buffers (DEFAULT_CAPS).
 * Nothing is quadratic in T: the backward recomputes each token twice (segment states, then intermediates).
 */
import type { ScanShape } from '../../ir/scan';
import type { DeviceCaps, KernelSpec, ScratchBuffer } from '../../plan/kernel';
import { lit } from '../math/expr';
import { SG_VARS, subgroupCheck } from '../recurrent/codegen';
import { mlpStateSize } from './f64';
import { buildStep, variants, type MlpCombo, type Op, type Step, type Variant } from './program';

export interface MlpKernels {
  forward: KernelSpec[];
  backward: KernelSpec[];
  scratch: ScratchBuffer[];
  /** Tokens between state checkpoints. */
  checkpoint: number;
  /** Floats of scratch per (batch, head). */
  stride: number;
}

/**
 * Helpers. exp and tanh are our own: SwiftShader's exp is off by ~15 ULP and its tanh by 1e-5 relative near 0, which the
 * recurrence amplifies; these are a few ULP (Cody–Waite range reduction + Taylor; an odd series for small tanh).
 * GELU and SiLU use the logistic form (0.5(1 + tanh u) = σ(2u), 1 − σ(x) = σ(−x)): no cancellation for large |x|.
 */
const HELPERS = `
fn pexp(x0: f32) -> f32 {
  let x = clamp(x0, -104.0, 88.0);
  let k = round(x * 1.4426950408889634);
  let r = (x - k * 0.693145751953125) - k * 1.4286068203094172e-6;
  let p = 1.0 + r * (1.0 + r * (0.5 + r * (0.16666667 + r * (0.041666668 + r * (0.008333334 + r * (0.0013888889 + r * 0.0001984127))))));
  return ldexp(p, i32(k));
}
fn ptanh(x: f32) -> f32 {
  let a = abs(x);
  if (a < 0.3) {
    let x2 = x * x;
    return x * (1.0 + x2 * (-0.33333334 + x2 * (0.13333334 + x2 * (-0.053968254 + x2 * 0.021869488))));
  }
  let e = pexp(-2.0 * a);
  return sign(x) * (1.0 - e) / (1.0 + e);
}
fn sig(x: f32) -> f32 { return 1.0 / (1.0 + pexp(-x)); }
const GELU_C: f32 = ${lit(Math.sqrt(2 / Math.PI))};
const GELU_A: f32 = 0.044715;
fn gelu_f(x: f32) -> f32 { return x * sig(2.0 * GELU_C * (x + GELU_A * x * x * x)); }
fn gelu_d1(x: f32) -> f32 {
  let u = GELU_C * (x + GELU_A * x * x * x);
  let s = sig(2.0 * u);
  let sm = sig(-2.0 * u);
  return s + 2.0 * x * s * sm * GELU_C * (1.0 + 3.0 * GELU_A * x * x);
}
fn gelu_d2(x: f32) -> f32 {
  let u = GELU_C * (x + GELU_A * x * x * x);
  let s = sig(2.0 * u);
  let sm = sig(-2.0 * u);
  let du = GELU_C * (1.0 + 3.0 * GELU_A * x * x);
  return 4.0 * s * sm * (du + 0.5 * x * (GELU_C * 6.0 * GELU_A * x - 2.0 * (s - sm) * du * du));
}
fn silu_f(x: f32) -> f32 { return x * sig(x); }
fn silu_d1(x: f32) -> f32 { return sig(x) * (1.0 + x * sig(-x)); }
fn silu_d2(x: f32) -> f32 { let s = sig(x); let sm = sig(-x); return s * sm * (2.0 + x * (sm - s)); }
fn relu_f(x: f32) -> f32 { return max(x, 0.0); }
fn relu_d1(x: f32) -> f32 { return select(0.0, 1.0, x > 0.0); }
fn sync() { storageBarrier(); workgroupBarrier(); }
`;

/** The generated code calls exp/tanh through the precise helpers above. */
const precise = (code: string) => code.replace(/\bexp\(/g, 'pexp(').replace(/\btanh\(/g, 'ptanh(');

interface Layout {
  steps: Record<Variant, Step>;
  /** Offsets (floats) of every array in a workgroup's region of scratch.mlp (values) and scratch.adj (adjoints). */
  off: Record<Variant, number[]>;
  arrSize: number;
  /** Per-(b, h) strides: values, adjoints (+ the carried state adjoint at DS), checkpoints, segment states. */
  VS: number;
  AS: number;
  DS: number;
  CKS: number;
  SGS: number;
  SF: number;
  slots: number[];
  nseg: number;
  C: number;
}

const round4 = (n: number) => Math.ceil(n / 4) * 4;

function layout(m: MlpCombo, T: number, checkpoint?: number): Layout {
  const vs = variants(m);
  const steps = Object.fromEntries(vs.map((v) => [v, buildStep(m, v)])) as Record<Variant, Step>;
  const first = steps[vs[0]];
  const nIn = Math.max(...first.stateIn, first.q, first.k, first.v, ...Object.values(first.scalars)) + 1;
  const slots = first.stateIn.map((id) => first.prog.arrs[id].size);
  const SF = slots.reduce((a, b) => a + b, 0);
  const C = Math.max(1, Math.min(T, checkpoint ?? Math.ceil(Math.sqrt(T))));
  const nseg = Math.ceil(T / C);
  const off = {} as Record<Variant, number[]>;
  let arrSize = 0;
  for (const v of vs) {
    const st = steps[v];
    // The inputs come first and are identical in every variant, so they share offsets.
    for (let i = 0; i < nIn; i++) if (st.prog.arrs[i].size !== first.prog.arrs[i].size) throw new Error('mlp kernel: step variants disagree on their inputs');
    let o = 0;
    off[v] = st.prog.arrs.map((a) => {
      const at = o;
      o += a.size;
      return at;
    });
    arrSize = Math.max(arrSize, o);
  }
  return { steps, off, arrSize, VS: round4(arrSize), AS: round4(arrSize + SF), DS: arrSize, CKS: round4(nseg * SF), SGS: round4(C * SF), SF, slots, nseg, C };
}

const W = (o: number | string, i = '') => `work[base + ${o}u${i ? ` + ${i}` : ''}]`;
const AD = (o: number | string, i = '') => `adj[abase + ${o}u${i ? ` + ${i}` : ''}]`;

/** Where each array of a step lives: workgroup memory (`wm`, the per-token vectors) or the global scratch. */
export interface Place {
  val: (id: number, i?: string) => string;
  adj: (id: number, i?: string) => string;
}

/**
 * A full-workgroup sum: `wg_sum(acc, sgok)` returns Σ acc over the workgroup to every invocation. With subgroups
 * (and the run-time check of subgroupCheck(1): every subgroup full, so lanes 0..sgsz−1 are all present) each
 * subgroup reads the partials at its lanes' residues mod sgsz and adds them with subgroupAdd, no tree; otherwise a
 * tree over workgroup memory (log₂ WG barriers). Either way the partials go through `red` once.
 */
function wgSum(WG: number, sg: boolean): string {
  // The tree's barriers sit in a loop with a workgroup-uniform trip count (0 on the subgroup path), never inside a
  // branch: SwiftShader's compiler took minutes on barriers inside the if/else of the two paths.
  const LOG = Math.log2(WG);
  const tree = (steps: string) =>
    `  var st = ${WG / 2}u;\n  for (var k = 0u; k < ${steps}; k = k + 1u) {\n    if (lid < st) { red[lid] = red[lid] + red[lid + st]; }\n    workgroupBarrier();\n    st = st >> 1u;\n  }\n`;
  return (
    `fn wg_sum(acc: f32, sgok: bool) -> f32 {\n  red[lid] = acc;\n  workgroupBarrier();\n  var s = 0.0;\n` +
    (sg
      ? `  if (sgok) {\n    for (var j = sg_lane; j < ${WG}u; j = j + sg_size) { s = s + red[j]; }\n    s = subgroupAdd(s);\n  }\n` +
        tree(`select(${LOG}u, 0u, sgok)`) +
        `  if (!sgok) { s = red[0]; }\n`
      : `${tree(`${LOG}u`)}  s = red[0];\n`) +
    `  workgroupBarrier();\n  return s;\n}\n`
  );
}

/** WGSL for one step program: forward function and reverse function. */
function stepCode(m: MlpCombo, st: Step, pl: Place, WG: number, v: Variant, inline: boolean): { helpers: string; fwd: string; rev: string } {
  const p = st.prog;
  const Dd = pl.adj;
  const size = (id: number) => p.arrs[id].size;
  // Matrix-shaped elementwise results (maps and outer products of the inner gradient, the update, the normalised
  // memory, …) are not stored: every read recomputes them from their arguments through a small function, so an
  // elementwise chain over the weights costs one pass instead of one global store + reload per op. Not for the
  // carried state, the output, vectors (they live in workgroup memory) or deep chains (cost ≤ 6 nested reads).
  const keep = new Set([...st.stateIn, ...st.stateOut, st.o]);
  const inl = new Map<number, number>();
  for (const op of p.ops) {
    if ((op.kind !== 'map' && op.kind !== 'outer') || keep.has(op.out) || p.arrs[op.out].cols === 1) continue;
    const args = op.kind === 'map' ? op.args : [op.a, op.b];
    const cost = 1 + args.reduce((a, x) => a + (inl.get(x) ?? 0), 0);
    if (inline && cost <= 6) inl.set(op.out, cost);
  }
  const V = (id: number, i?: string) => (inl.has(id) ? `ival_${v}_${id}(${i ?? '0u'})` : pl.val(id, i));
  const val = (id: number, i: string) => (size(id) === 1 ? V(id) : V(id, i));
  // Barriers only where a hazard needs one. An elementwise loop (for i = lid; i < n; i += WG) touches element e of a
  // same-size array from invocation e mod WG only ("own"); a broadcast read of a size-1 array, or any other op
  // (matvec, sums, softmax, …: "complex"), may touch any element. Two accesses to one array since the last barrier
  // conflict when one writes and not both are own. Complex ops get a barrier before (if anything is pending) and after.
  type Acc = [number, 'own' | 'all', boolean];
  const producer = new Map(p.ops.map((op) => [op.out, op] as const));
  const reads = (id: number, mode: 'own' | 'all', out: Acc[]) => {
    const op = producer.get(id);
    if (!inl.has(id) || !op) out.push([id, mode, false]);
    else if (op.kind === 'map') for (const x of op.args) reads(x, size(x) === size(id) ? mode : 'all', out);
    else if (op.kind === 'outer') {
      reads(op.a, 'all', out);
      reads(op.b, 'all', out);
    }
    return out;
  };
  const hz = { w: new Map<number, 'own' | 'all'>(), r: new Map<number, 'own' | 'all'>() };
  const clash = (a: 'own' | 'all', b: 'own' | 'all' | undefined) => b !== undefined && (a === 'all' || b === 'all');
  /** The barrier (or nothing) to put before an op with these accesses (null: a complex op), and record them. */
  const before = (accs: Acc[] | null): string => {
    const pending = hz.w.size + hz.r.size > 0;
    const need = accs === null ? pending : accs.some(([x, m, wr]) => clash(m, hz.w.get(x)) || (wr && clash(m, hz.r.get(x))));
    if (need) {
      hz.w.clear();
      hz.r.clear();
    }
    for (const [x, m, wr] of accs ?? []) {
      const t = wr ? hz.w : hz.r;
      t.set(x, t.get(x) === 'all' ? 'all' : m);
    }
    return need ? '  sync();\n' : '';
  };
  const after = () => {
    hz.w.clear();
    hz.r.clear();
  };
  /** Accesses of an elementwise map loop over `out` (values: id ≥ 0; adjoints: −1 − id). */
  const mapAccs = (out: number, args: number[], extra: Acc[] = []): Acc[] => {
    const a: Acc[] = [...extra];
    for (const x of args) reads(x, size(x) === size(out) ? 'own' : 'all', a);
    return a;
  };
  const ADJ = (id: number) => -1 - id;
  let helpers = '';
  for (const op of p.ops) {
    if (!inl.has(op.out)) continue;
    if (op.kind === 'map') helpers += `fn ival_${v}_${op.out}(i: u32) -> f32 {\n${op.args.map((a, k) => `  let ${op.names[k]} = ${val(a, 'i')};`).join('\n')}\n  return ${op.expr};\n}\n`;
    else if (op.kind === 'outer') helpers += `fn ival_${v}_${op.out}(i: u32) -> f32 {\n  return ${V(op.a, `i / ${size(op.b)}u`)} * ${V(op.b, `i % ${size(op.b)}u`)};\n}\n`;
  }
  const loop = (n: number, body: string) => `  for (var i = lid; i < ${n}u; i = i + ${WG}u) {\n${body}\n  }\n`;
  /** target += Σ_i term(i) over n elements (pre: lets of the loop body); assign: target = the sum. */
  const reduceInto = (target: string, n: number, term: string, pre: string, assign = false) =>
    `  {\n    var acc = 0.0;\n    for (var i = lid; i < ${n}u; i = i + ${WG}u) {\n${pre}      acc = acc + ${term};\n    }\n    let tot = wg_sum(acc, sgok);\n` +
    `    if (lid == 0u) { ${target} = ${assign ? '' : `${target} + `}tot; }\n  }\n  sync();\n`;
  /**
   * out(i) (+)= Σ_{j < nIn} term(i, j) for i < nOut. When nOut is small against the workgroup, P invocations share a
   * row (lanes p, p + P, … of j: adjacent invocations read adjacent j) and their partials meet in `red`.
   */
  const gemv = (nOut: number, nIn: number, term: (i: string, j: string) => string, out: (i: string) => string, accumulate: boolean, extra = '') => {
    let P = 1;
    while (P < 32 && 2 * P * nOut <= WG && 2 * P <= nIn) P *= 2;
    const put = (sum: string) => `${out('i')} = ${accumulate ? `${out('i')} + ` : ''}${sum};${extra}`;
    if (P === 1) return loop(nOut, `    var s = 0.0;\n    for (var j = 0u; j < ${nIn}u; j = j + 1u) { s = s + ${term('i', 'j')}; }\n    ${put('s')}`);
    const R = WG / P;
    return (
      `  {\n    let pp = lid % ${P}u;\n    for (var i0 = 0u; i0 < ${nOut}u; i0 = i0 + ${R}u) {\n      let i = i0 + lid / ${P}u;\n      var acc = 0.0;\n` +
      `      if (i < ${nOut}u) { for (var j = pp; j < ${nIn}u; j = j + ${P}u) { acc = acc + ${term('i', 'j')}; } }\n      red[lid] = acc;\n      workgroupBarrier();\n` +
      `      if (pp == 0u && i < ${nOut}u) {\n        var s = 0.0;\n        for (var q = 0u; q < ${P}u; q = q + 1u) { s = s + red[lid + q]; }\n        ${put('s')}\n      }\n      workgroupBarrier();\n    }\n  }\n`
    );
  };
  const b = m.bias;
  const biasPrelude = (op: Extract<Op, { kind: 'bias' }>, withBwd: boolean) => {
    const n = size(op.e);
    let s = op.delta === null ? '' : `  let dl = ${V(op.delta)};\n`;
    b.fwdSums.forEach((src, k) => {
      s += `  var r${k} = 0.0;\n  for (var j = 0u; j < ${n}u; j = j + 1u) { let e = ${V(op.e, 'j')}; r${k} = r${k} + (${src}); }\n`;
    });
    if (withBwd) {
      b.bwdSums.forEach((src, k) => {
        s += `  var s${k} = 0.0;\n  for (var j = 0u; j < ${n}u; j = j + 1u) { let e = ${V(op.e, 'j')}; let dg = ${Dd(op.out, 'j')}; s${k} = s${k} + (${src}); }\n`;
      });
    }
    return s;
  };
  const slice = (op: Extract<Op, { kind: 'softmax' }>) => {
    const { rows, cols, size: n } = p.arrs[op.z];
    if (op.axis === 'rows') return { ns: rows, len: cols, idx: `sl * ${cols}u + j` };
    if (op.axis === 'cols') return { ns: cols, len: rows, idx: `j * ${cols}u + sl` };
    return { ns: 1, len: n, idx: 'j' };
  };
  /**
   * Per-slice reductions then an elementwise pass (softmax, centring and their reverse): P invocations share a slice
   * (lanes p, p + P, … of it) and combine their partials in `red`; every lane of the slice reads the P partials.
   */
  type Phase = { name: string; init: string; op: 'max' | '+'; term: string } | { body: string };
  const sliced = (ns: number, len: number, phases: Phase[]) => {
    let P = 1;
    while (P < 32 && 2 * P * ns <= WG && 2 * P <= len) P *= 2;
    const R = WG / P;
    const over = (body: string) => `      if (sl < ${ns}u) { for (var j = pp; j < ${len}u; j = j + ${P}u) { ${body} } }\n`;
    let code = `  {\n    let pp = lid % ${P}u;\n    let g0 = lid - pp;\n    for (var s0 = 0u; s0 < ${ns}u; s0 = s0 + ${R}u) {\n      let sl = s0 + lid / ${P}u;\n`;
    for (const ph of phases) {
      if ('body' in ph) {
        code += over(ph.body);
        continue;
      }
      const comb = (a: string, b: string) => (ph.op === 'max' ? `max(${a}, ${b})` : `${a} + ${b}`);
      code +=
        `      var ${ph.name} = ${ph.init};\n` +
        over(`${ph.name} = ${comb(ph.name, ph.term)};`) +
        `      red[lid] = ${ph.name};\n      workgroupBarrier();\n      ${ph.name} = ${ph.init};\n` +
        `      for (var q = 0u; q < ${P}u; q = q + 1u) { ${ph.name} = ${comb(ph.name, 'red[g0 + q]')}; }\n      workgroupBarrier();\n`;
    }
    return `${code}    }\n  }\n`;
  };

  /** W[idx] − c[col] (or W[idx]) */
  const wc = (Wid: number, c: number | null, idx: string, col: string) => (c === null ? V(Wid, idx) : `(${V(Wid, idx)} - ${V(c, col)})`);
  let fwd = '';
  for (const op of p.ops) {
    if (inl.has(op.out)) continue;
    if (op.kind !== 'map') fwd += before(null);
    switch (op.kind) {
      case 'map': {
        const n = size(op.out);
        const lets = op.args.map((a, k) => `    let ${op.names[k]} = ${val(a, 'i')};`).join('\n');
        fwd += before(mapAccs(op.out, op.args, [[op.out, 'own', true]])) + loop(n, `${lets}\n    ${V(op.out, 'i')} = ${op.expr};`);
        continue;
      }
      case 'matvec': {
        const { rows, cols } = p.arrs[op.W];
        fwd += gemv(rows, cols, (i, j) => `${wc(op.W, op.c, `${i} * ${cols}u + ${j}`, j)} * ${V(op.x, j)}`, (i) => V(op.out, i), false);
        break;
      }
      case 'vecmat': {
        const { rows, cols } = p.arrs[op.W];
        fwd += gemv(cols, rows, (i, j) => `${V(op.y, j)} * ${wc(op.W, op.c, `${j} * ${cols}u + ${i}`, i)}`, (i) => V(op.out, i), false);
        break;
      }
      case 'colmean': {
        const { rows, cols } = p.arrs[op.W];
        fwd += loop(cols, `    var s = 0.0;\n    for (var j = 0u; j < ${rows}u; j = j + 1u) { s = s + ${V(op.W, `j * ${cols}u + i`)}; }\n    ${V(op.out, 'i')} = s * ${lit(1 / rows)};`);
        break;
      }
      case 'outer': {
        const n = size(op.b);
        fwd += loop(size(op.out), `    ${V(op.out, 'i')} = ${V(op.a, `i / ${n}u`)} * ${V(op.b, `i % ${n}u`)};`);
        break;
      }
      case 'sum':
        fwd += reduceInto(V(op.out), size(op.x), V(op.x, 'i'), '', true);
        continue;
      case 'bias': {
        fwd += `  {\n${biasPrelude(op, false)}` + loop(size(op.out), `    let e = ${V(op.e, 'i')};\n    ${V(op.out, 'i')} = ${b.g};`) + '  }\n';
        break;
      }
      case 'softmax': {
        const { ns, len, idx } = slice(op);
        const z = (j: string) => V(op.z, j);
        fwd += op.center
          ? sliced(ns, len, [{ name: 's', init: '0.0', op: '+', term: z(idx) }, { body: `${V(op.out, idx)} = ${z(idx)} - s * ${lit(1 / len)};` }])
          : sliced(ns, len, [
              { name: 'mx', init: '-3.0e38', op: 'max', term: z(idx) },
              { name: 's', init: '0.0', op: '+', term: `exp(${z(idx)} - mx)` },
              { body: `${V(op.out, idx)} = ${lit(op.scale)} * exp(${z(idx)} - mx) / s;` },
            ]);
        break;
      }
    }
    fwd += '  sync();\n';
    after();
  }
  fwd += before(null);

  let rev = '';
  const dA = (id: number, i?: string) => (size(id) === 1 || i === undefined ? Dd(id) : Dd(id, i));
  for (let n = p.ops.length - 1; n >= 0; n--) {
    const op = p.ops[n];
    if (op.kind !== 'map') rev += before(null);
    switch (op.kind) {
      case 'map': {
        const N = size(op.out);
        const lets = op.args.map((a, k) => `      let ${op.names[k]} = ${val(a, 'i')};`).join('\n') + `\n      let dy_ = ${dA(op.out, 'i')};`;
        op.args.forEach((arg, k) => {
          if (op.d[k] === '0.0') return;
          if (size(arg) === 1 && N > 1) {
            rev += before(null) + reduceInto(dA(arg), N, `dy_ * (${op.d[k]})`, lets + '\n');
            after();
          } else {
            const accs = mapAccs(op.out, op.args, [[ADJ(op.out), 'own', false], [ADJ(arg), 'own', false], [ADJ(arg), 'own', true]]);
            rev += before(accs) + loop(N, `${lets}\n      ${dA(arg, 'i')} = ${dA(arg, 'i')} + dy_ * (${op.d[k]});`);
          }
        });
        continue;
      }
      case 'matvec': {
        const { rows, cols } = p.arrs[op.W];
        rev += loop(rows * cols, `    ${dA(op.W, 'i')} = ${dA(op.W, 'i')} + ${dA(op.out, `i / ${cols}u`)} * ${V(op.x, `i % ${cols}u`)};`);
        // dx_j = Σ_i (W_ij − c_j) dy_i;  dc_j = −x_j Σ_i dy_i
        const dc = op.c === null ? '' : `\n    ${dA(op.c, 'i')} = ${dA(op.c, 'i')} - ${V(op.x, 'i')} * t;`;
        const t = op.c === null ? '' : `\n    var t = 0.0;\n    for (var j = 0u; j < ${rows}u; j = j + 1u) { t = t + ${dA(op.out, 'j')}; }`;
        if (op.c === null) rev += gemv(cols, rows, (i, j) => `${V(op.W, `${j} * ${cols}u + ${i}`)} * ${dA(op.out, j)}`, (i) => dA(op.x, i), true);
        else rev += loop(cols, `    var s = 0.0;\n    for (var j = 0u; j < ${rows}u; j = j + 1u) { s = s + ${wc(op.W, op.c, `j * ${cols}u + i`, 'i')} * ${dA(op.out, 'j')}; }\n    ${dA(op.x, 'i')} = ${dA(op.x, 'i')} + s;${t}${dc}`);
        rev += '  sync();\n';
        break;
      }
      case 'vecmat': {
        const { rows, cols } = p.arrs[op.W];
        rev += gemv(rows, cols, (i, j) => `${wc(op.W, op.c, `${i} * ${cols}u + ${j}`, j)} * ${dA(op.out, j)}`, (i) => dA(op.y, i), true);
        rev += loop(rows * cols, `    ${dA(op.W, 'i')} = ${dA(op.W, 'i')} + ${V(op.y, `i / ${cols}u`)} * ${dA(op.out, `i % ${cols}u`)};`);
        if (op.c !== null) {
          // dc_j = −dout_j Σ_i y_i
          rev += loop(cols, `    var t = 0.0;\n    for (var j = 0u; j < ${rows}u; j = j + 1u) { t = t + ${V(op.y, 'j')}; }\n    ${dA(op.c, 'i')} = ${dA(op.c, 'i')} - ${dA(op.out, 'i')} * t;`);
        }
        rev += '  sync();\n';
        break;
      }
      case 'colmean': {
        const { rows, cols } = p.arrs[op.W];
        rev += loop(rows * cols, `    ${dA(op.W, 'i')} = ${dA(op.W, 'i')} + ${dA(op.out, `i % ${cols}u`)} * ${lit(1 / rows)};`) + '  sync();\n';
        break;
      }
      case 'outer': {
        const ma = size(op.a);
        const nb = size(op.b);
        rev += gemv(ma, nb, (i, j) => `${dA(op.out, `${i} * ${nb}u + ${j}`)} * ${V(op.b, j)}`, (i) => dA(op.a, i), true);
        rev += '  sync();\n';
        rev += gemv(nb, ma, (i, j) => `${dA(op.out, `${j} * ${nb}u + ${i}`)} * ${V(op.a, j)}`, (i) => dA(op.b, i), true);
        rev += '  sync();\n';
        break;
      }
      case 'sum':
        rev += loop(size(op.x), `    ${dA(op.x, 'i')} = ${dA(op.x, 'i')} + ${dA(op.out)};`) + '  sync();\n';
        break;
      case 'bias': {
        const N = size(op.e);
        const pre = `      let e = ${V(op.e, 'i')};\n      let dg = ${dA(op.out, 'i')};\n`;
        rev += `  {\n${biasPrelude(op, true)}` + loop(N, `${pre}      ${dA(op.e, 'i')} = ${dA(op.e, 'i')} + ${b.de};`) + '  sync();\n';
        if (op.delta !== null && b.ddelta !== '0.0') rev += reduceInto(dA(op.delta), N, `(${b.ddelta})`, pre);
        rev += '  }\n';
        break;
      }
      case 'softmax': {
        const { ns, len, idx } = slice(op);
        const y = (j: string) => V(op.out, j);
        // softmax: dz = y ⊙ (dy − Σ dy ⊙ y / c); centring: dz = dy − mean dy
        const term = op.center ? `${dA(op.out, idx)} * ${lit(1 / len)}` : `${dA(op.out, idx)} * ${y(idx)} / ${lit(op.scale)}`;
        const upd = op.center ? `${dA(op.out, idx)} - acc` : `${y(idx)} * (${dA(op.out, idx)} - acc)`;
        rev += sliced(ns, len, [{ name: 'acc', init: '0.0', op: '+', term }, { body: `${dA(op.z, idx)} = ${dA(op.z, idx)} + ${upd};` }]) + '  sync();\n';
        break;
      }
    }
    after();
  }
  rev += before(null);
  return { helpers, fwd: `fn fwd${inline ? 'i' : ''}_${v}(sgok: bool) {\n${fwd}}\n`, rev: `fn rev_${v}(sgok: bool) {\n${rev}}\n` };
}

function grid(n: number, per: number): [number, number, number] {
  const groups = Math.ceil(n / per);
  return groups <= 65535 ? [Math.max(1, groups), 1, 1] : [65535, Math.ceil(groups / 65535), 1];
}

const elementwise = (bindings: string, n: number, body: string) =>
  `${bindings}\n@compute @workgroup_size(64)\nfn main(@builtin(global_invocation_id) gid: vec3<u32>, @builtin(num_workgroups) nw: vec3<u32>) {\n  let idx = gid.x + gid.y * nw.x * 64u;\n  if (idx >= ${n}u) { return; }\n${body}\n}\n`;

export function mlpKernels(m: MlpCombo, s: ScanShape, caps: DeviceCaps, opts: { checkpoint?: number } = {}): MlpKernels {
  const { batch: B, time: T, heads: H } = s;
  const { dk, dv } = m;
  if (s.dk !== dk || s.dv !== dv) throw new Error(`${m.id}: scan shape dk=${s.dk} dv=${s.dv} does not match the MLP memory (d_k = ${dk}, d_v = ${dv})`);
  // the largest power of two the adapter allows, up to 1024 (tree reductions and the row split of gemv want a power of two)
  const WG = 2 ** Math.floor(Math.log2(Math.min(1024, caps.maxComputeInvocationsPerWorkgroup, caps.maxComputeWorkgroupSizeX)));
  const sg = caps.subgroups;
  if (caps.maxStorageBuffersPerShaderStage < 8) throw new Error(`${m.id}: the MLP memory kernel binds 8 storage buffers; this adapter allows ${caps.maxStorageBuffersPerShaderStage}`);
  if (caps.maxComputeWorkgroupStorageSize < WG * 4) throw new Error(`${m.id}: needs ${WG * 4} bytes of workgroup memory`);
  if (B * H > caps.maxComputeWorkgroupsPerDimension) throw new Error(`${m.id}: batch·heads = ${B * H} exceeds the adapter's ${caps.maxComputeWorkgroupsPerDimension} workgroups per dimension`);
  const L = layout(m, T, opts.checkpoint);
  const size = mlpStateSize(m);
  const NG = m.gates.length;
  const TW = 2 * dk + dv + NG; // packed token row: q [d_k], k [d_k], v [d_v], then the per-token scalars
  const G0 = 2 * dk + dv; // column of the first per-token scalar
  const BTH = B * T * H;
  const limit = Math.min(caps.maxStorageBufferBindingSize, caps.maxBufferSize);
  const buffers: [string, number, string][] = [
    ['mlp', L.VS, `${L.arrSize} floats of step arrays`],
    ['adj', L.AS, `their adjoints and the state adjoint`],
    ['ck', L.CKS, `${L.nseg} state checkpoints of ${L.SF} floats`],
    ['seg', L.SGS, `${L.C} segment states of ${L.SF} floats`],
  ];
  for (const [name, stride, what] of buffers) {
    const bytes = stride * B * H * 4;
    if (bytes > limit) {
      throw new Error(
        `${m.id}: scratch.${name} (${what} per batch·head) needs ${(bytes / 2 ** 20).toFixed(1)} MiB for B·H = ${B * H}; the adapter binds at most ` +
          `${(limit / 2 ** 20).toFixed(0)} MiB. Reduce batch, heads, the MLP expansion or the sequence length.`,
      );
    }
  }
  if (BTH * TW * 4 > limit) throw new Error(`${m.id}: scratch.tok needs ${((BTH * TW * 4) / 2 ** 20).toFixed(1)} MiB; the adapter binds at most ${(limit / 2 ** 20).toFixed(0)} MiB`);
  const vs = variants(m);
  const first = L.steps[vs[0]];

  // ---- where each array lives. The per-token vectors (every array with one column that is not carried state: q, k,
  // v, pre-activations, errors, LN statistics, per-token scalars) go to workgroup memory `wm`, values first, then
  // their adjoints, as far as the adapter's workgroup memory allows (DEFAULT_CAPS: 16 KiB); the matrices and
  // whatever does not fit stay in the storage scratch. Variants lay out their arrays independently (one runs per
  // token) except the inputs, which come first in every variant and so get the same places.
  const smBudget = Math.floor((caps.maxComputeWorkgroupStorageSize - WG * 4 - 64) / 4);
  const place = {} as Record<Variant, Place>;
  const adjZero = {} as Record<Variant, { wm: [number, number]; global: [number, number][] }>;
  let SM = 0;
  for (const v of vs) {
    const st = L.steps[v];
    const state = new Set([...st.stateIn, ...st.stateOut]);
    const vec = st.prog.arrs.filter((a) => !state.has(a.id) && a.cols === 1);
    const inVal = new Map<number, number>();
    const inAdj = new Map<number, number>();
    let cur = 0;
    for (const a of vec) if (cur + a.size <= smBudget) inVal.set(a.id, (cur += a.size) - a.size);
    const a0 = cur;
    for (const a of vec) if (cur + a.size <= smBudget) inAdj.set(a.id, (cur += a.size) - a.size);
    SM = Math.max(SM, cur);
    const at = (m: Map<number, number>, id: number, i?: string) => `wm[${m.get(id)}u${i ? ` + ${i}` : ''}]`;
    place[v] = {
      val: (id, i) => (inVal.has(id) ? at(inVal, id, i) : W(L.off[v][id], i)),
      adj: (id, i) => (inAdj.has(id) ? at(inAdj, id, i) : AD(L.off[v][id], i)),
    };
    // the adjoints to zero before each reverse step: wm's adjoint range, and the scratch ranges of the others
    const global: [number, number][] = [];
    for (const arr of st.prog.arrs) {
      if (inAdj.has(arr.id)) continue;
      const o = L.off[v][arr.id];
      const last = global[global.length - 1];
      if (last && last[1] === o) last[1] = o + arr.size;
      else global.push([o, o + arr.size]);
    }
    adjZero[v] = { wm: [a0, cur], global };
  }
  for (const v of vs) {
    for (const id of [first.q, first.k, first.v, ...Object.values(first.scalars)]) {
      if (place[v].val(id, 'i') !== place[vs[0]].val(id, 'i')) throw new Error(`${m.id}: step variants place their inputs differently`);
    }
  }
  const PV0 = place[vs[0]].val;
  const loop = (n: number | string, body: string) => `  for (var i = lid; i < ${n}u; i = i + ${WG}u) { ${body} }\n`;

  // save/restore: the step's state inputs ↔ a state copy in `buf` (checkpoints or segment states) at `at`.
  const slotCopy = (fnName: string, buf: string, baseVar: string, toBuf: boolean) => {
    let body = '';
    let cum = 0;
    first.stateIn.forEach((id, k) => {
      const there = `${buf}[${baseVar} + at + ${cum}u + i]`;
      const here = PV0(id, 'i');
      body += loop(L.slots[k], `${toBuf ? there : here} = ${toBuf ? here : there};`);
      cum += L.slots[k];
    });
    return `fn ${fnName}(at: u32) {\n${body}  sync();\n}\n`;
  };
  const gammaDecl = m.decay === 'constant' ? `var<private> GAMMA: array<f32, ${H}> = array<f32, ${H}>(${m.gammas.map(lit).join(', ')});\n` : '';
  const loadTok =
    `fn load_tok(row: u32, h: u32) {\n` +
    loop(dk, `${PV0(first.q, 'i')} = tok[row * ${TW}u + i]; ${PV0(first.k, 'i')} = tok[row * ${TW}u + ${dk}u + i];`) +
    loop(dv, `${PV0(first.v, 'i')} = tok[row * ${TW}u + ${2 * dk}u + i];`) +
    `  if (lid == 0u) {\n${m.gates.map((g, j) => `    ${PV0(first.scalars[g])} = tok[row * ${TW}u + ${G0 + j}u];\n`).join('')}${m.decay === 'constant' ? `    ${PV0(first.scalars.gamma)} = GAMMA[h];\n` : ''}  }\n  sync();\n}\n`;
  // The forward kernel, and the backward's recomputation of a segment's states, run the step with the elementwise
  // matrices inlined (fwdi_*: only the state and o are stored); the backward's per-token recomputation stores every
  // array for the reverse step (fwd_*, rev_*), which reads most of them several times; whether recomputing them there
  // too would pay has not been measured.
  const fast = vs.map((v) => stepCode(m, L.steps[v], place[v], WG, v, true));
  const full = vs.map((v) => stepCode(m, L.steps[v], place[v], WG, v, false));
  const fastFns = fast.map((c) => `${c.helpers}\n${c.fwd}`).join('\n');
  const fullFns = full.map((c) => `${c.fwd}\n${c.rev}`).join('\n');
  const advance = (v: Variant) => {
    const st = L.steps[v];
    return `fn advance_${v}() {\n${st.stateOut.map((id, k) => loop(L.slots[k], `${PV0(st.stateIn[k], 'i')} = ${place[v].val(id, 'i')};`)).join('')}  sync();\n}\n`;
  };
  const dispatch = (t: string, call: (v: Variant) => string) =>
    vs.length === 1 ? call(vs[0]) : `      if (${t} % ${m.chunk}u == 0u) {\n${call('start')}\n      } else {\n${call('inner')}\n      }`;
  const decl = (names: [string, 'read' | 'read_write'][]) => names.map(([n, a], i) => `@group(0) @binding(${i}) var<storage, ${a}> ${n}: array<f32>;`).join('\n');
  const prelude = (bufs: string[]) =>
    `${HELPERS}\nvar<workgroup> red: array<f32, ${WG}>;\n${SM ? `var<workgroup> wm: array<f32, ${SM}>;\n` : ''}` +
    `${sg ? `${SG_VARS}\nvar<private> sg_size: u32;\nvar<private> sg_lane: u32;\n` : ''}${bufs.map((b) => `var<private> ${b}: u32;`).join('\n')}\nvar<private> lid: u32;\n${gammaDecl}\n${wgSum(WG, sg)}${sg ? `\nfn sg_ok() -> bool {\n  let t = lid;\n  ${subgroupCheck(1).replace(/\bsgsz\b/g, 'sg_size')}\n  return sgok;\n}\n` : ''}`;
  const inputOffset = (k: number) => (first.init[k] as { offset: number }).offset;
  const entry = (bases: [string, number][]) =>
    `@compute @workgroup_size(${WG})\nfn main(@builtin(workgroup_id) wid: vec3<u32>, @builtin(local_invocation_index) li: u32${sg ? ', @builtin(subgroup_size) sgsz: u32, @builtin(subgroup_invocation_id) sglane: u32' : ''}) {\n` +
    `  lid = li;\n${sg ? `  sg_size = sgsz;\n  sg_lane = sglane;\n  let sgok = sg_ok();\n` : '  let sgok = false;\n'}  let bh = wid.x;\n${bases.map(([v, stride]) => `  ${v} = bh * ${stride}u;\n`).join('')}  let b = bh / ${H}u;\n  let h = bh % ${H}u;\n`;

  // ---- forward main: tok, init_state, o, final_state, work, ck
  let init = '';
  let writeFinal = '';
  first.stateIn.forEach((id, k) => {
    const r = first.init[k];
    const src = r.from === 'input' ? `init_state[h * ${size}u + ${r.offset}u + i]` : r.from === 'log' ? `log(init_state[h * ${size}u + ${inputOffset(r.slot)}u + i])` : '0.0';
    init += loop(L.slots[k], `${PV0(id, 'i')} = ${src};`);
    if (r.from === 'input') writeFinal += loop(L.slots[k], `final_state[bh * ${size}u + ${r.offset}u + i] = ${PV0(id, 'i')};`);
  });
  const emitO = (v: Variant) => `  ` + loop(dv, `o[row * ${dv}u + i] = ${place[v].val(L.steps[v].o, 'i')};`);
  const fwdNames: [string, 'read' | 'read_write'][] = [['tok', 'read'], ['init_state', 'read'], ['o', 'read_write'], ['final_state', 'read_write'], ['work', 'read_write'], ['ck', 'read_write']];
  const fwdMain =
    `${sg ? 'enable subgroups;\n' : ''}${decl(fwdNames)}\n${prelude(['base', 'abase', 'cbase'])}\n${slotCopy('save_ck', 'ck', 'cbase', true)}\n${loadTok}\n` +
    `${fastFns}\n${vs.map(advance).join('\n')}\n` +
    entry([['base', L.VS], ['cbase', L.CKS]]) +
    `${init}  sync();\n  for (var t = 0u; t < ${T}u; t = t + 1u) {\n    let row = (b * ${T}u + t) * ${H}u + h;\n    if (t % ${L.C}u == 0u) { save_ck((t / ${L.C}u) * ${L.SF}u); }\n    load_tok(row, h);\n` +
    dispatch('t', (v) => `      fwdi_${v}(sgok);\n${emitO(v)}      advance_${v}();`) +
    `\n  }\n${writeFinal}}\n`;

  // ---- backward main: tok, grad_o, grad_fs, work, adj, ck, seg, dx
  const DXW = TW;
  const seedGrab = (v: Variant) => {
    const st = L.steps[v];
    const z = adjZero[v];
    let seed = z.global.map(([a, e]) => '      ' + loop(e - a, `${AD(a, 'i')} = 0.0;`)).join('');
    if (z.wm[1] > z.wm[0]) seed += '      ' + loop(z.wm[1] - z.wm[0], `wm[${z.wm[0]}u + i] = 0.0;`);
    seed += '      sync();\n';
    let cum = 0;
    st.stateOut.forEach((id, k) => {
      seed += '      ' + loop(L.slots[k], `${place[v].adj(id, 'i')} = ${AD(L.DS + cum, 'i')};`);
      cum += L.slots[k];
    });
    seed += '      ' + loop(dv, `${place[v].adj(st.o, 'i')} = grad_o[row * ${dv}u + i];`) + '      sync();\n';
    let grab = '';
    cum = 0;
    st.stateIn.forEach((id, k) => {
      grab += '      ' + loop(L.slots[k], `${AD(L.DS + cum, 'i')} = ${place[v].adj(id, 'i')};`);
      cum += L.slots[k];
    });
    grab += '      ' + loop(dk, `dx[row * ${DXW}u + i] = ${place[v].adj(st.q, 'i')}; dx[row * ${DXW}u + ${dk}u + i] = ${place[v].adj(st.k, 'i')};`);
    grab += '      ' + loop(dv, `dx[row * ${DXW}u + ${2 * dk}u + i] = ${place[v].adj(st.v, 'i')};`);
    if (NG) grab += `      if (lid == 0u) {\n${m.gates.map((g, j) => `        dx[row * ${DXW}u + ${G0 + j}u] = ${place[v].adj(st.scalars[g])};\n`).join('')}      }\n`;
    return `      fwd_${v}(sgok);\n${seed}      rev_${v}(sgok);\n${grab}      sync();`;
  };
  let dsInit = '';
  const slotAt: number[] = [];
  {
    let cum = 0;
    first.stateIn.forEach((_id, k) => {
      const r = first.init[k];
      slotAt.push(cum);
      dsInit += loop(L.slots[k], `${AD(L.DS + cum, 'i')} = ${r.from === 'input' ? `grad_fs[bh * ${size}u + ${r.offset}u + i]` : '0.0'};`);
      cum += L.slots[k];
    });
  }
  const bwdNames: [string, 'read' | 'read_write'][] = [['tok', 'read'], ['grad_o', 'read'], ['grad_fs', 'read'], ['work', 'read_write'], ['adj', 'read_write'], ['ck', 'read'], ['seg', 'read_write'], ['dx', 'read_write']];
  const bwdMain =
    `${sg ? 'enable subgroups;\n' : ''}${decl(bwdNames)}\n${prelude(['base', 'abase', 'cbase', 'sbase'])}\n${slotCopy('restore_ck', 'ck', 'cbase', false)}\n${slotCopy('save_seg', 'seg', 'sbase', true)}\n${slotCopy('restore_seg', 'seg', 'sbase', false)}\n${loadTok}\n${fastFns}\n${fullFns}\n${vs.map(advance).join('\n')}\n` +
    entry([['base', L.VS], ['abase', L.AS], ['cbase', L.CKS], ['sbase', L.SGS]]) +
    `${dsInit}  sync();\n` +
    `  for (var sgi = 0u; sgi < ${L.nseg}u; sgi = sgi + 1u) {\n    let sg = ${L.nseg - 1}u - sgi;\n    let t0 = sg * ${L.C}u;\n    let t1 = min(${T}u, t0 + ${L.C}u);\n` +
    `    restore_ck(sg * ${L.SF}u);\n    save_seg(0u);\n` +
    `    for (var t = t0; t + 1u < t1; t = t + 1u) {\n      load_tok((b * ${T}u + t) * ${H}u + h, h);\n${dispatch('t', (v) => `      fwdi_${v}(sgok);\n      advance_${v}();`)}\n      save_seg((t - t0 + 1u) * ${L.SF}u);\n    }\n` +
    `    for (var tt = t1; tt > t0; tt = tt - 1u) {\n      let t = tt - 1u;\n      let row = (b * ${T}u + t) * ${H}u + h;\n      restore_seg((t - t0) * ${L.SF}u);\n      load_tok(row, h);\n` +
    dispatch('t', seedGrab) +
    `\n    }\n  }\n}\n`;

  // ---- small kernels: pack the token rows, unpack the gradients, the initial state's gradient
  const srcNames = ['q', 'k', 'v', ...m.gates];
  const pack = elementwise(
    decl([...srcNames.map((n, j) => [`src${j}`, 'read'] as [string, 'read']), ['tok', 'read_write']]),
    BTH * TW,
    `  let row = idx / ${TW}u;\n  let j = idx % ${TW}u;\n  var x = 0.0;\n` +
      `  if (j < ${dk}u) { x = src0[row * ${dk}u + j]; } else if (j < ${2 * dk}u) { x = src1[row * ${dk}u + j - ${dk}u]; } else if (j < ${G0}u) { x = src2[row * ${dv}u + j - ${2 * dk}u]; }\n` +
      m.gates.map((_g, j) => `  if (j == ${G0 + j}u) { x = src${3 + j}[row]; }\n`).join('') +
      `  tok[idx] = x;`,
  );
  const forward: KernelSpec[] = [
    {
      name: 'mlp_pack_tokens',
      wgsl: pack,
      entryPoint: 'main',
      bindings: [...srcNames.map((n) => ({ buffer: n, access: 'read' as const })), { buffer: 'scratch.tok', access: 'read_write' }],
      workgroups: grid(BTH * TW, 64),
    },
    {
      name: `mlp_fwd[C=${L.C}]`,
      wgsl: precise(fwdMain),
      entryPoint: 'main',
      bindings: ['scratch.tok', 'initialState', 'o', 'finalState', 'scratch.mlp', 'scratch.ck'].map((buffer, i) => ({ buffer, access: fwdNames[i][1] })),
      workgroups: [B * H, 1, 1],
    },
  ];
  const backward: KernelSpec[] = [
    {
      name: `mlp_bwd[C=${L.C}]`,
      wgsl: precise(bwdMain),
      entryPoint: 'main',
      bindings: ['scratch.tok', 'grad.o', 'grad.finalState', 'scratch.mlp', 'scratch.adj', 'scratch.ck', 'scratch.seg', 'scratch.dx'].map((buffer, i) => ({ buffer, access: bwdNames[i][1] })),
      workgroups: [B * H, 1, 1],
    },
    {
      name: 'mlp_bwd_unpack',
      wgsl: elementwise(
        decl([['dx', 'read'], ...srcNames.map((_n, j) => [`g${j}`, 'read_write'] as [string, 'read_write'])]),
        BTH * TW,
        `  let row = idx / ${TW}u;\n  let j = idx % ${TW}u;\n  let x = dx[idx];\n` +
          `  if (j < ${dk}u) { g0[row * ${dk}u + j] = g0[row * ${dk}u + j] + x; } else if (j < ${2 * dk}u) { g1[row * ${dk}u + j - ${dk}u] = g1[row * ${dk}u + j - ${dk}u] + x; } else if (j < ${G0}u) { g2[row * ${dv}u + j - ${2 * dk}u] = g2[row * ${dv}u + j - ${2 * dk}u] + x; }\n` +
          m.gates.map((_g, j) => `  if (j == ${G0 + j}u) { g${3 + j}[row] = g${3 + j}[row] + x; }\n`).join(''),
      ),
      entryPoint: 'main',
      bindings: [{ buffer: 'scratch.dx', access: 'read' }, ...srcNames.map((n) => ({ buffer: `grad.${n}`, access: 'read_write' as const }))],
      workgroups: grid(BTH * TW, 64),
    },
  ];
  // grad.initialState[h] = Σ_b (adjoint of the input slots at t = 0) + Σ_b (adjoint of log W_0) / W_0 (KL).
  const logSlots = first.init.map((r, k) => ({ r, k })).filter((x) => x.r.from === 'log');
  const dsOf = (cum: number, i: string) => `adj[(b * ${H}u + h) * ${L.AS}u + ${L.DS + cum}u + ${i}]`;
  backward.push({
    name: 'mlp_bwd_initial_state',
    wgsl: elementwise(
      decl([['adj', 'read'], ...(logSlots.length ? [['init_state', 'read'] as [string, 'read']] : []), ['gi', 'read_write']]),
      H * size,
      `  let h = idx / ${size}u;\n  let i = idx % ${size}u;\n  var s = 0.0;\n  for (var b = 0u; b < ${B}u; b = b + 1u) {\n    s = s + ${dsOf(0, 'i')};\n` +
        logSlots
          .map(({ r, k }) => {
            const o = inputOffset((r as { slot: number }).slot);
            return `    if (i >= ${o}u && i < ${o + L.slots[k]}u) { s = s + ${dsOf(slotAt[k], `i - ${o}u`)} / init_state[idx]; }\n`;
          })
          .join('') +
        `  }\n  gi[idx] = gi[idx] + s;`,
    ),
    entryPoint: 'main',
    bindings: [{ buffer: 'scratch.adj', access: 'read' }, ...(logSlots.length ? [{ buffer: 'initialState', access: 'read' as const }] : []), { buffer: 'grad.initialState', access: 'read_write' }],
    workgroups: grid(H * size, 64),
  });
  const scratch: ScratchBuffer[] = [
    ...buffers.map(([name, stride]) => ({ name, bytes: stride * B * H * 4 })),
    { name: 'tok', bytes: BTH * TW * 4 },
    { name: 'dx', bytes: BTH * DXW * 4 },
  ];
  return { forward, backward, scratch, checkpoint: L.C, stride: L.VS + L.AS + L.CKS + L.SGS };
}
