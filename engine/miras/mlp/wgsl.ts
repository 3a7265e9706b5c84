/**
 * WGSL for the deep MLP memory scan, generated from the token-step programs of program.ts.
 *
 * Design (correctness first):
 *   - One workgroup per (batch, head). The MLP weights do not fit in workgroup memory (64 → 256 → 64 is 32k
 *     floats per head), so each workgroup owns a region of the storage scratch `scratch.mlp`:
 *       [checkpoints NSEG·SF | segment states C·SF | state adjoint SF | step arrays | their adjoints]
 *     (SF = floats of carried state: W_1..W_L, momentum, chunk anchor). Every op of the step is a loop of the
 *     workgroup's invocations over its output elements, followed by storageBarrier + workgroupBarrier.
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

const HELPERS = `
const GELU_C: f32 = ${lit(Math.sqrt(2 / Math.PI))};
const GELU_A: f32 = 0.044715;
fn th(u: f32) -> f32 { return tanh(clamp(u, -15.0, 15.0)); }
fn gelu_f(x: f32) -> f32 { return 0.5 * x * (1.0 + th(GELU_C * (x + GELU_A * x * x * x))); }
fn gelu_d1(x: f32) -> f32 {
  let t = th(GELU_C * (x + GELU_A * x * x * x));
  return 0.5 * (1.0 + t) + 0.5 * x * (1.0 - t * t) * GELU_C * (1.0 + 3.0 * GELU_A * x * x);
}
fn gelu_d2(x: f32) -> f32 {
  let t = th(GELU_C * (x + GELU_A * x * x * x));
  let du = GELU_C * (1.0 + 3.0 * GELU_A * x * x);
  return (1.0 - t * t) * du + 0.5 * x * (1.0 - t * t) * (GELU_C * 6.0 * GELU_A * x - 2.0 * t * du * du);
}
fn sig(x: f32) -> f32 { return 1.0 / (1.0 + exp(-x)); }
fn silu_f(x: f32) -> f32 { return x * sig(x); }
fn silu_d1(x: f32) -> f32 { let s = sig(x); return s * (1.0 + x * (1.0 - s)); }
fn silu_d2(x: f32) -> f32 { let s = sig(x); return s * (1.0 - s) * (2.0 + x * (1.0 - 2.0 * s)); }
fn relu_f(x: f32) -> f32 { return max(x, 0.0); }
fn relu_d1(x: f32) -> f32 { return select(0.0, 1.0, x > 0.0); }
fn sync() { storageBarrier(); workgroupBarrier(); }
`;

interface Layout {
  steps: Record<Variant, Step>;
  /** Offsets (floats, within a workgroup's region) of every array, per variant. */
  off: Record<Variant, number[]>;
  arrSize: number;
  CK: number;
  SEG: number;
  DS: number;
  ARR: number;
  ADJ: number;
  stride: number;
  SF: number;
  slots: number[];
  nseg: number;
  C: number;
}

function layout(m: MlpCombo, T: number, checkpoint?: number): Layout {
  const vs = variants(m);
  const steps = Object.fromEntries(vs.map((v) => [v, buildStep(m, v)])) as Record<Variant, Step>;
  const first = steps[vs[0]];
  const nIn = Math.max(...first.stateIn, first.q, first.k, first.v, ...Object.values(first.scalars)) + 1;
  const slots = first.stateIn.map((id) => first.prog.arrs[id].size);
  const SF = slots.reduce((a, b) => a + b, 0);
  const C = Math.max(1, Math.min(T, checkpoint ?? Math.ceil(Math.sqrt(T))));
  const nseg = Math.ceil(T / C);
  const CK = 0;
  const SEG = CK + nseg * SF;
  const DS = SEG + C * SF;
  const ARR = DS + SF;
  const off = {} as Record<Variant, number[]>;
  let arrSize = 0;
  for (const v of vs) {
    const st = steps[v];
    // The inputs come first and are identical in every variant, so they share offsets.
    for (let i = 0; i < nIn; i++) if (st.prog.arrs[i].size !== first.prog.arrs[i].size) throw new Error('mlp kernel: step variants disagree on their inputs');
    let o = ARR;
    off[v] = st.prog.arrs.map((a) => {
      const at = o;
      o += a.size;
      return at;
    });
    arrSize = Math.max(arrSize, o - ARR);
  }
  const ADJ = ARR + arrSize;
  const stride = Math.ceil((ADJ + arrSize) / 4) * 4;
  return { steps, off, arrSize, CK, SEG, DS, ARR, ADJ, stride, SF, slots, nseg, C };
}

const W = (o: number | string, i = '') => `work[base + ${o}u${i ? ` + ${i}` : ''}]`;

/** WGSL for one step program: forward function and reverse function. */
function stepCode(m: MlpCombo, st: Step, off: number[], adjBase: number, WG: number, v: Variant): string {
  const p = st.prog;
  const A = (id: number) => off[id];
  const adjOf = (id: number) => adjBase + (off[id] - off[0]);
  const size = (id: number) => p.arrs[id].size;
  const val = (id: number, i: string) => (size(id) === 1 ? W(A(id)) : W(A(id), i));
  const loop = (n: number, body: string) => `  for (var i = lid; i < ${n}u; i = i + ${WG}u) {\n${body}\n  }\n`;
  const reduceInto = (target: string, n: number, term: string, pre: string) =>
    `  {\n    var acc = 0.0;\n    for (var i = lid; i < ${n}u; i = i + ${WG}u) {\n${pre}      acc = acc + ${term};\n    }\n    red[lid] = acc;\n    workgroupBarrier();\n` +
    `    if (lid == 0u) { var s = 0.0; for (var j = 0u; j < ${WG}u; j = j + 1u) { s = s + red[j]; } ${target} = ${target} + s; }\n  }\n  sync();\n`;
  const b = m.bias;
  const biasPrelude = (op: Extract<Op, { kind: 'bias' }>, withBwd: boolean) => {
    const n = size(op.e);
    let s = op.delta === null ? '' : `  let dl = ${W(A(op.delta))};\n`;
    b.fwdSums.forEach((src, k) => {
      s += `  var r${k} = 0.0;\n  for (var j = 0u; j < ${n}u; j = j + 1u) { let e = ${W(A(op.e), 'j')}; r${k} = r${k} + (${src}); }\n`;
    });
    if (withBwd) {
      b.bwdSums.forEach((src, k) => {
        s += `  var s${k} = 0.0;\n  for (var j = 0u; j < ${n}u; j = j + 1u) { let e = ${W(A(op.e), 'j')}; let dg = ${W(adjOf(op.out), 'j')}; s${k} = s${k} + (${src}); }\n`;
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

  /** W[idx] − c[col] (or W[idx]) */
  const wc = (Wid: number, c: number | null, idx: string, col: string) => (c === null ? W(A(Wid), idx) : `(${W(A(Wid), idx)} - ${W(A(c), col)})`);
  let fwd = '';
  for (const op of p.ops) {
    switch (op.kind) {
      case 'map': {
        const n = size(op.out);
        const lets = op.args.map((a, k) => `    let ${op.names[k]} = ${val(a, 'i')};`).join('\n');
        fwd += loop(n, `${lets}\n    ${W(A(op.out), 'i')} = ${op.expr};`);
        break;
      }
      case 'matvec': {
        const { rows, cols } = p.arrs[op.W];
        fwd += loop(rows, `    var s = 0.0;\n    for (var j = 0u; j < ${cols}u; j = j + 1u) { s = s + ${wc(op.W, op.c, `i * ${cols}u + j`, 'j')} * ${W(A(op.x), 'j')}; }\n    ${W(A(op.out), 'i')} = s;`);
        break;
      }
      case 'vecmat': {
        const { rows, cols } = p.arrs[op.W];
        fwd += loop(cols, `    var s = 0.0;\n    for (var j = 0u; j < ${rows}u; j = j + 1u) { s = s + ${W(A(op.y), 'j')} * ${wc(op.W, op.c, `j * ${cols}u + i`, 'i')}; }\n    ${W(A(op.out), 'i')} = s;`);
        break;
      }
      case 'colmean': {
        const { rows, cols } = p.arrs[op.W];
        fwd += loop(cols, `    var s = 0.0;\n    for (var j = 0u; j < ${rows}u; j = j + 1u) { s = s + ${W(A(op.W), `j * ${cols}u + i`)}; }\n    ${W(A(op.out), 'i')} = s * ${lit(1 / rows)};`);
        break;
      }
      case 'outer': {
        const n = size(op.b);
        fwd += loop(size(op.out), `    ${W(A(op.out), 'i')} = ${W(A(op.a), `i / ${n}u`)} * ${W(A(op.b), `i % ${n}u`)};`);
        break;
      }
      case 'sum':
        fwd += `  ${W(A(op.out))} = 0.0;\n  sync();\n` + reduceInto(W(A(op.out)), size(op.x), W(A(op.x), 'i'), '');
        continue;
      case 'bias': {
        fwd += `  {\n${biasPrelude(op, false)}` + loop(size(op.out), `    let e = ${W(A(op.e), 'i')};\n    ${W(A(op.out), 'i')} = ${b.g};`) + '  }\n';
        break;
      }
      case 'softmax': {
        const { ns, len, idx } = slice(op);
        const z = (j: string) => W(A(op.z), j);
        const fin = op.log ? `${z(idx)} - mx - log(s) + ${lit(Math.log(op.scale))}` : `${lit(op.scale)} * exp(${z(idx)} - mx) / s`;
        fwd +=
          `  for (var sl = lid; sl < ${ns}u; sl = sl + ${WG}u) {\n` +
          `    var mx = -3.0e38;\n    for (var j = 0u; j < ${len}u; j = j + 1u) { mx = max(mx, ${z(idx)}); }\n` +
          `    var s = 0.0;\n    for (var j = 0u; j < ${len}u; j = j + 1u) { s = s + exp(${z(idx)} - mx); }\n` +
          `    for (var j = 0u; j < ${len}u; j = j + 1u) { ${W(A(op.out), idx)} = ${fin}; }\n  }\n`;
        break;
      }
    }
    fwd += '  sync();\n';
  }

  let rev = '';
  const dA = (id: number, i?: string) => (size(id) === 1 || i === undefined ? W(adjOf(id)) : W(adjOf(id), i));
  for (let n = p.ops.length - 1; n >= 0; n--) {
    const op = p.ops[n];
    switch (op.kind) {
      case 'map': {
        const N = size(op.out);
        const lets = op.args.map((a, k) => `      let ${op.names[k]} = ${val(a, 'i')};`).join('\n') + `\n      let dy_ = ${dA(op.out, 'i')};`;
        op.args.forEach((arg, k) => {
          if (op.d[k] === '0.0') return;
          if (size(arg) === 1 && N > 1) rev += reduceInto(dA(arg), N, `dy_ * (${op.d[k]})`, lets + '\n');
          else rev += loop(N, `${lets}\n      ${dA(arg, 'i')} = ${dA(arg, 'i')} + dy_ * (${op.d[k]});`) + '  sync();\n';
        });
        break;
      }
      case 'matvec': {
        const { rows, cols } = p.arrs[op.W];
        rev += loop(rows * cols, `    ${dA(op.W, 'i')} = ${dA(op.W, 'i')} + ${dA(op.out, `i / ${cols}u`)} * ${W(A(op.x), `i % ${cols}u`)};`);
        // dx_j = Σ_i (W_ij − c_j) dy_i;  dc_j = −x_j Σ_i dy_i
        const dc = op.c === null ? '' : `\n    ${dA(op.c, 'i')} = ${dA(op.c, 'i')} - ${W(A(op.x), 'i')} * t;`;
        const t = op.c === null ? '' : `\n    var t = 0.0;\n    for (var j = 0u; j < ${rows}u; j = j + 1u) { t = t + ${dA(op.out, 'j')}; }`;
        rev += loop(cols, `    var s = 0.0;\n    for (var j = 0u; j < ${rows}u; j = j + 1u) { s = s + ${wc(op.W, op.c, `j * ${cols}u + i`, 'i')} * ${dA(op.out, 'j')}; }\n    ${dA(op.x, 'i')} = ${dA(op.x, 'i')} + s;${t}${dc}`);
        rev += '  sync();\n';
        break;
      }
      case 'vecmat': {
        const { rows, cols } = p.arrs[op.W];
        rev += loop(rows, `    var s = 0.0;\n    for (var j = 0u; j < ${cols}u; j = j + 1u) { s = s + ${wc(op.W, op.c, `i * ${cols}u + j`, 'j')} * ${dA(op.out, 'j')}; }\n    ${dA(op.y, 'i')} = ${dA(op.y, 'i')} + s;`);
        rev += loop(rows * cols, `    ${dA(op.W, 'i')} = ${dA(op.W, 'i')} + ${W(A(op.y), `i / ${cols}u`)} * ${dA(op.out, `i % ${cols}u`)};`);
        if (op.c !== null) {
          // dc_j = −dout_j Σ_i y_i
          rev += loop(cols, `    var t = 0.0;\n    for (var j = 0u; j < ${rows}u; j = j + 1u) { t = t + ${W(A(op.y), 'j')}; }\n    ${dA(op.c, 'i')} = ${dA(op.c, 'i')} - ${dA(op.out, 'i')} * t;`);
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
        rev += loop(ma, `    var s = 0.0;\n    for (var j = 0u; j < ${nb}u; j = j + 1u) { s = s + ${dA(op.out, `i * ${nb}u + j`)} * ${W(A(op.b), 'j')}; }\n    ${dA(op.a, 'i')} = ${dA(op.a, 'i')} + s;`);
        rev += '  sync();\n';
        rev += loop(nb, `    var s = 0.0;\n    for (var j = 0u; j < ${ma}u; j = j + 1u) { s = s + ${dA(op.out, `j * ${nb}u + i`)} * ${W(A(op.a), 'j')}; }\n    ${dA(op.b, 'i')} = ${dA(op.b, 'i')} + s;`);
        rev += '  sync();\n';
        break;
      }
      case 'sum':
        rev += loop(size(op.x), `    ${dA(op.x, 'i')} = ${dA(op.x, 'i')} + ${dA(op.out)};`) + '  sync();\n';
        break;
      case 'bias': {
        const N = size(op.e);
        const pre = `      let e = ${W(A(op.e), 'i')};\n      let dg = ${dA(op.out, 'i')};\n`;
        rev += `  {\n${biasPrelude(op, true)}` + loop(N, `${pre}      ${dA(op.e, 'i')} = ${dA(op.e, 'i')} + ${b.de};`) + '  sync();\n';
        if (op.delta !== null && b.ddelta !== '0.0') rev += reduceInto(dA(op.delta), N, `(${b.ddelta})`, pre);
        rev += '  }\n';
        break;
      }
      case 'softmax': {
        const { ns, len, idx } = slice(op);
        const y = (j: string) => W(A(op.out), j);
        // softmax: dz = y ⊙ (dy − Σ dy ⊙ y / c); log-softmax: dz = dy − (e^y / c) Σ dy
        const term = op.log ? dA(op.out, idx) : `${dA(op.out, idx)} * ${y(idx)} / ${lit(op.scale)}`;
        const upd = op.log ? `${dA(op.out, idx)} - exp(${y(idx)}) / ${lit(op.scale)} * acc` : `${y(idx)} * (${dA(op.out, idx)} - acc)`;
        rev +=
          `  for (var sl = lid; sl < ${ns}u; sl = sl + ${WG}u) {\n` +
          `    var acc = 0.0;\n    for (var j = 0u; j < ${len}u; j = j + 1u) { acc = acc + ${term}; }\n` +
          `    for (var j = 0u; j < ${len}u; j = j + 1u) { ${dA(op.z, idx)} = ${dA(op.z, idx)} + ${upd}; }\n  }\n  sync();\n`;
        break;
      }
    }
  }
  return `fn fwd_${v}() {\n${fwd}}\n\nfn rev_${v}() {\n${rev}}\n`;
}

function grid(n: number, per: number): [number, number, number] {
  const groups = Math.ceil(n / per);
  return groups <= 65535 ? [Math.max(1, groups), 1, 1] : [65535, Math.ceil(groups / 65535), 1];
}

const elementwise = (bindings: string, n: number, body: string) =>
  `${bindings}\n@compute @workgroup_size(64)\nfn main(@builtin(global_invocation_id) gid: vec3<u32>, @builtin(num_workgroups) nw: vec3<u32>) {\n  let idx = gid.x + gid.y * nw.x * 64u;\n  if (idx >= ${n}u) { return; }\n${body}\n}\n`;

export function mlpKernels(m: MlpCombo, s: ScanShape, caps: DeviceCaps, opts: { checkpoint?: number } = {}): MlpKernels {
  const { batch: B, time: T, heads: H } = s;
  const d = m.d;
  if (s.dk !== m.d || s.dv !== m.d) throw new Error(`${m.id}: scan shape dk=${s.dk} dv=${s.dv} does not match the MLP memory (d = ${m.d})`);
  const WG = Math.min(256, caps.maxComputeInvocationsPerWorkgroup, caps.maxComputeWorkgroupSizeX);
  if (caps.maxStorageBuffersPerShaderStage < 8) throw new Error(`${m.id}: the MLP memory kernel binds 8 storage buffers; this adapter allows ${caps.maxStorageBuffersPerShaderStage}`);
  if (caps.maxComputeWorkgroupStorageSize < WG * 4) throw new Error(`${m.id}: needs ${WG * 4} bytes of workgroup memory`);
  if (B * H > caps.maxComputeWorkgroupsPerDimension) throw new Error(`${m.id}: batch·heads = ${B * H} exceeds the adapter's ${caps.maxComputeWorkgroupsPerDimension} workgroups per dimension`);
  const L = layout(m, T, opts.checkpoint);
  const bytes = L.stride * B * H * 4;
  if (bytes > caps.maxStorageBufferBindingSize || bytes > caps.maxBufferSize) {
    throw new Error(
      `${m.id}: the MLP memory scan needs ${(bytes / 2 ** 20).toFixed(1)} MiB of scratch (scratch.mlp: ${L.stride} floats per batch·head = ` +
        `${L.nseg} checkpoints + ${L.C} segment states of ${L.SF} floats, and ${L.arrSize} floats of step arrays twice) for B·H = ${B * H}; ` +
        `the adapter binds at most ${(Math.min(caps.maxStorageBufferBindingSize, caps.maxBufferSize) / 2 ** 20).toFixed(0)} MiB. Reduce batch, heads, the MLP expansion or the sequence length.`,
    );
  }
  const size = mlpStateSize(m);
  const NG = m.gates.length;
  const DXW = 3 * d + NG;
  const vs = variants(m);
  const first = L.steps[vs[0]];
  const offIn = L.off[vs[0]];
  const gatesDecl = NG > 0;

  // ---- shared pieces of both main kernels
  // save(dst) / restore(src): the step's state inputs ↔ a state copy (checkpoint or segment state) at `dst`/`src`.
  const slotCopy = (fnName: string, arg: string, toWork: boolean) => {
    let body = '';
    let cum = 0;
    first.stateIn.forEach((id, k) => {
      const there = `work[base + ${arg} + ${cum}u + i]`;
      const here = W(offIn[id], 'i');
      body += `  for (var i = lid; i < ${L.slots[k]}u; i = i + ${WG}u) { ${toWork ? there : here} = ${toWork ? here : there}; }\n`;
      cum += L.slots[k];
    });
    return `fn ${fnName}(${arg}: u32) {\n${body}  sync();\n}\n`;
  };
  const stateFns = slotCopy('save', 'dst', true) + slotCopy('restore', 'src', false);
  const gammaDecl = m.decay === 'constant' ? `var<private> GAMMA: array<f32, ${H}> = array<f32, ${H}>(${m.gammas.map(lit).join(', ')});\n` : '';
  const loadTok =
    `fn load_tok(b: u32, t: u32, h: u32) {\n  let row = (b * ${T}u + t) * ${H}u + h;\n` +
    `  for (var i = lid; i < ${d}u; i = i + ${WG}u) {\n    ${W(offIn[first.q], 'i')} = q[row * ${d}u + i];\n    ${W(offIn[first.k], 'i')} = k[row * ${d}u + i];\n    ${W(offIn[first.v], 'i')} = v[row * ${d}u + i];\n  }\n` +
    `  if (lid == 0u) {\n${m.gates.map((g, j) => `    ${W(offIn[first.scalars[g]])} = gates[row * ${NG}u + ${j}u];\n`).join('')}${m.decay === 'constant' ? `    ${W(offIn[first.scalars.gamma])} = GAMMA[h];\n` : ''}  }\n  sync();\n}\n`;
  const stepFns = vs.map((v) => stepCode(m, L.steps[v], L.off[v], L.ADJ, WG, v)).join('\n');
  const advance = (v: Variant) => {
    const st = L.steps[v];
    let s2 = `fn advance_${v}() {\n`;
    st.stateOut.forEach((id, k) => {
      s2 += `  for (var i = lid; i < ${L.slots[k]}u; i = i + ${WG}u) { ${W(offIn[st.stateIn[k]], 'i')} = ${W(L.off[v][id], 'i')}; }\n`;
    });
    return s2 + '  sync();\n}\n';
  };
  const dispatch = (t: string, call: (v: Variant) => string) =>
    vs.length === 1 ? call(vs[0]) : `if (${t} % ${m.chunk}u == 0u) {\n${call('start')}\n} else {\n${call('inner')}\n}`;
  const common = `${HELPERS}\nvar<workgroup> red: array<f32, ${WG}>;\nvar<private> base: u32;\nvar<private> lid: u32;\n${gammaDecl}\n${stateFns}\n${loadTok}\n${stepFns}\n${vs.map(advance).join('\n')}`;
  const decl = (names: [string, 'read' | 'read_write'][]) => names.map(([n, a], i) => `@group(0) @binding(${i}) var<storage, ${a}> ${n}: array<f32>;`).join('\n');

  // ---- forward main
  const fwdNames: [string, 'read' | 'read_write'][] = [['q', 'read'], ['k', 'read'], ['v', 'read'], ...(gatesDecl ? [['gates', 'read'] as [string, 'read']] : []), ['init_state', 'read'], ['o', 'read_write'], ['final_state', 'read_write'], ['work', 'read_write']];
  const fwdBuf = ['q', 'k', 'v', ...(gatesDecl ? ['scratch.gates'] : []), 'initialState', 'o', 'finalState', 'scratch.mlp'];
  const inputOffset = (k: number) => (first.init[k] as { offset: number }).offset;
  let init = '';
  let writeFinal = '';
  first.stateIn.forEach((id, k) => {
    const r = first.init[k];
    const src = r.from === 'input' ? `init_state[h * ${size}u + ${r.offset}u + i]` : r.from === 'log' ? `log(init_state[h * ${size}u + ${inputOffset(r.slot)}u + i])` : '0.0';
    init += `  for (var i = lid; i < ${L.slots[k]}u; i = i + ${WG}u) { ${W(offIn[id], 'i')} = ${src}; }\n`;
    if (r.from === 'input') writeFinal += `  for (var i = lid; i < ${L.slots[k]}u; i = i + ${WG}u) { final_state[bh * ${size}u + ${r.offset}u + i] = ${W(offIn[id], 'i')}; }\n`;
  });
  const emitO = (v: Variant) => `      for (var i = lid; i < ${d}u; i = i + ${WG}u) { o[row * ${d}u + i] = ${W(L.off[v][L.steps[v].o], 'i')}; }`;
  const fwdMain =
    `${decl(fwdNames)}\n${common}\n@compute @workgroup_size(${WG})\nfn main(@builtin(workgroup_id) wid: vec3<u32>, @builtin(local_invocation_index) li: u32) {\n` +
    `  lid = li;\n  let bh = wid.x;\n  base = bh * ${L.stride}u;\n  let b = bh / ${H}u;\n  let h = bh % ${H}u;\n${init}  sync();\n` +
    `  for (var t = 0u; t < ${T}u; t = t + 1u) {\n    if (t % ${L.C}u == 0u) { save(${L.CK}u + (t / ${L.C}u) * ${L.SF}u); }\n    load_tok(b, t, h);\n    let row = (b * ${T}u + t) * ${H}u + h;\n` +
    dispatch('t', (v) => `      fwd_${v}();\n${emitO(v)}\n      advance_${v}();`) +
    `\n  }\n${writeFinal}}\n`;

  // ---- backward main
  const bwdNames: [string, 'read' | 'read_write'][] = [['q', 'read'], ['k', 'read'], ['v', 'read'], ...(gatesDecl ? [['gates', 'read'] as [string, 'read']] : []), ['grad_o', 'read'], ['grad_fs', 'read'], ['work', 'read_write'], ['dx', 'read_write']];
  const bwdBuf = ['q', 'k', 'v', ...(gatesDecl ? ['scratch.gates'] : []), 'grad.o', 'grad.finalState', 'scratch.mlp', 'scratch.dx'];
  const seedGrab = (v: Variant) => {
    const st = L.steps[v];
    const off = L.off[v];
    const adj = (id: number) => L.ADJ + (off[id] - L.ARR);
    let seed = `      for (var i = lid; i < ${L.arrSize}u; i = i + ${WG}u) { ${W(L.ADJ, 'i')} = 0.0; }\n      sync();\n`;
    let cum = 0;
    st.stateOut.forEach((id, k) => {
      seed += `      for (var i = lid; i < ${L.slots[k]}u; i = i + ${WG}u) { ${W(adj(id), 'i')} = ${W(L.DS + cum, 'i')}; }\n`;
      cum += L.slots[k];
    });
    seed += `      for (var i = lid; i < ${d}u; i = i + ${WG}u) { ${W(adj(st.o), 'i')} = grad_o[row * ${d}u + i]; }\n      sync();\n`;
    let grab = '';
    cum = 0;
    st.stateIn.forEach((id, k) => {
      grab += `      for (var i = lid; i < ${L.slots[k]}u; i = i + ${WG}u) { ${W(L.DS + cum, 'i')} = ${W(adj(id), 'i')}; }\n`;
      cum += L.slots[k];
    });
    grab += `      for (var i = lid; i < ${d}u; i = i + ${WG}u) {\n        dx[row * ${DXW}u + i] = ${W(adj(st.q), 'i')};\n        dx[row * ${DXW}u + ${d}u + i] = ${W(adj(st.k), 'i')};\n        dx[row * ${DXW}u + ${2 * d}u + i] = ${W(adj(st.v), 'i')};\n      }\n`;
    if (NG) grab += `      if (lid == 0u) {\n${m.gates.map((g, j) => `        dx[row * ${DXW}u + ${3 * d + j}u] = ${W(adj(st.scalars[g]))};\n`).join('')}      }\n`;
    return `      fwd_${v}();\n${seed}      rev_${v}();\n${grab}      sync();`;
  };
  let dsInit = '';
  const slotAt: number[] = [];
  {
    let cum = 0;
    first.stateIn.forEach((_id, k) => {
      const r = first.init[k];
      slotAt.push(cum);
      dsInit += `  for (var i = lid; i < ${L.slots[k]}u; i = i + ${WG}u) { ${W(L.DS + cum, 'i')} = ${r.from === 'input' ? `grad_fs[bh * ${size}u + ${r.offset}u + i]` : '0.0'}; }\n`;
      cum += L.slots[k];
    });
  }
  const bwdMain =
    `${decl(bwdNames)}\n${common}\n@compute @workgroup_size(${WG})\nfn main(@builtin(workgroup_id) wid: vec3<u32>, @builtin(local_invocation_index) li: u32) {\n` +
    `  lid = li;\n  let bh = wid.x;\n  base = bh * ${L.stride}u;\n  let b = bh / ${H}u;\n  let h = bh % ${H}u;\n${dsInit}  sync();\n` +
    `  for (var sgi = 0u; sgi < ${L.nseg}u; sgi = sgi + 1u) {\n    let sg = ${L.nseg - 1}u - sgi;\n    let t0 = sg * ${L.C}u;\n    let t1 = min(${T}u, t0 + ${L.C}u);\n` +
    `    restore(${L.CK}u + sg * ${L.SF}u);\n    save(${L.SEG}u);\n` +
    `    for (var t = t0; t + 1u < t1; t = t + 1u) {\n      load_tok(b, t, h);\n${dispatch('t', (v) => `      fwd_${v}();\n      advance_${v}();`)}\n      save(${L.SEG}u + (t - t0 + 1u) * ${L.SF}u);\n    }\n` +
    `    for (var tt = t1; tt > t0; tt = tt - 1u) {\n      let t = tt - 1u;\n      let row = (b * ${T}u + t) * ${H}u + h;\n      restore(${L.SEG}u + (t - t0) * ${L.SF}u);\n      load_tok(b, t, h);\n` +
    dispatch('t', seedGrab) +
    `\n    }\n  }\n}\n`;

  const BTH = B * T * H;
  const forward: KernelSpec[] = [];
  if (gatesDecl) {
    const srcs = m.gates.map((g, j) => `@group(0) @binding(${j}) var<storage, read> src${j}: array<f32>;`).join('\n') + `\n@group(0) @binding(${NG}) var<storage, read_write> gates: array<f32>;`;
    forward.push({
      name: 'mlp_pack_gates',
      wgsl: elementwise(srcs, BTH, m.gates.map((_g, j) => `  gates[idx * ${NG}u + ${j}u] = src${j}[idx];`).join('\n')),
      entryPoint: 'main',
      bindings: [...m.gates.map((g) => ({ buffer: g, access: 'read' as const })), { buffer: 'scratch.gates', access: 'read_write' }],
      workgroups: grid(BTH, 64),
    });
  }
  forward.push({ name: `mlp_fwd[C=${L.C}]`, wgsl: fwdMain, entryPoint: 'main', bindings: fwdBuf.map((buffer, i) => ({ buffer, access: fwdNames[i][1] })), workgroups: [B * H, 1, 1] });

  const backward: KernelSpec[] = [
    { name: `mlp_bwd[C=${L.C}]`, wgsl: bwdMain, entryPoint: 'main', bindings: bwdBuf.map((buffer, i) => ({ buffer, access: bwdNames[i][1] })), workgroups: [B * H, 1, 1] },
    {
      name: 'mlp_bwd_qkv',
      wgsl: elementwise(
        decl([['dx', 'read'], ['gq', 'read_write'], ['gk', 'read_write'], ['gv', 'read_write']]),
        BTH * d,
        `  let row = idx / ${d}u;\n  let i = idx % ${d}u;\n  gq[idx] = gq[idx] + dx[row * ${DXW}u + i];\n  gk[idx] = gk[idx] + dx[row * ${DXW}u + ${d}u + i];\n  gv[idx] = gv[idx] + dx[row * ${DXW}u + ${2 * d}u + i];`,
      ),
      entryPoint: 'main',
      bindings: [{ buffer: 'scratch.dx', access: 'read' }, ...['q', 'k', 'v'].map((n) => ({ buffer: `grad.${n}`, access: 'read_write' as const }))],
      workgroups: grid(BTH * d, 64),
    },
  ];
  if (NG) {
    backward.push({
      name: 'mlp_bwd_gates',
      wgsl: elementwise(
        decl([['dx', 'read'], ...m.gates.map((_g, j) => [`g${j}`, 'read_write'] as [string, 'read_write'])]),
        BTH,
        m.gates.map((_g, j) => `  g${j}[idx] = g${j}[idx] + dx[idx * ${DXW}u + ${3 * d + j}u];`).join('\n'),
      ),
      entryPoint: 'main',
      bindings: [{ buffer: 'scratch.dx', access: 'read' }, ...m.gates.map((g) => ({ buffer: `grad.${g}`, access: 'read_write' as const }))],
      workgroups: grid(BTH, 64),
    });
  }
  // grad.initialState[h] = Σ_b (adjoint of the input slots at t = 0) + Σ_b (adjoint of log W_0) / W_0 (KL).
  const logSlots = first.init.map((r, k) => ({ r, k })).filter((x) => x.r.from === 'log');
  const dsOf = (cum: number, i: string) => `work[(b * ${H}u + h) * ${L.stride}u + ${L.DS + cum}u + ${i}]`;
  backward.push({
    name: 'mlp_bwd_initial_state',
    wgsl: elementwise(
      decl([['work', 'read'], ...(logSlots.length ? [['init_state', 'read'] as [string, 'read']] : []), ['gi', 'read_write']]),
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
    bindings: [{ buffer: 'scratch.mlp', access: 'read' }, ...(logSlots.length ? [{ buffer: 'initialState', access: 'read' as const }] : []), { buffer: 'grad.initialState', access: 'read_write' }],
    workgroups: grid(H * size, 64),
  });
  const scratch: ScratchBuffer[] = [
    { name: 'mlp', bytes: bytes },
    { name: 'dx', bytes: BTH * DXW * 4 },
  ];
  if (NG) scratch.push({ name: 'gates', bytes: BTH * NG * 4 });
  return { forward, backward, scratch, checkpoint: L.C, stride: L.stride };
}
