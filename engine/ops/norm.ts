/**
 * Normalisations over the last dim, optionally in groups (one op, three kinds):
 *   layer: x̂ = (x − μ)/√(var + ε)        — LayerNorm (Ba et al. 2016); with groups = heads, GroupNorm per head
 *   rms:   x̂ = x/√(mean(x²) + ε)         — RMSNorm (Zhang & Sennrich 2019)
 *   l2:    x̂ = x/√(Σx² + ε)              — L2-normalise (fla l2norm), e.g. for q/k
 * then y = x̂ ⊙ w + b (w, b optional, per channel). Forward also writes (μ, rstd) per row-group
 * as a non-differentiable `stats` output that backward reads.
 * Backward: with ĝ = gy ⊙ w,  dx = rstd · (ĝ − [layer] mean(ĝ) − x̂ · Σ(ĝ ⊙ x̂)/n),  n = D (layer, rms) or 1 (l2).
 */
import { numel, shapeStr, type Tensor } from '../ir/graph';
import type { OpDef, TensorType } from '../ir/op';
import type { KernelSpec } from '../plan/kernel';
import type { DeviceCaps } from '../plan/kernel';
import { bindings, declare, f, grid, threadKernel, u, rd, rw, type Bind } from './wgsl';
import { columnSumKernels, columnSumScratchBytes } from './reduce';

export type NormKind = 'layer' | 'rms' | 'l2';
export interface NormAttrs {
  kind: NormKind;
  groups: number;
  eps: number;
  /** Number of affine params passed after x: 0, 1 (weight) or 2 (weight, bias). */
  affine: 0 | 1 | 2;
}

function dims(ins: TensorType[], a: NormAttrs) {
  const x = ins[0];
  const C = x.shape[x.shape.length - 1];
  if (!Number.isInteger(a.groups) || a.groups < 1 || C % a.groups !== 0) throw new Error(`${C} channels do not split into ${a.groups} groups`);
  return { rows: numel(x.shape) / C, C, G: a.groups, D: C / a.groups };
}

/** Groups per workgroup and invocations per group of the lane kernels (real GPUs). */
const LANES = 32;
const GROUPS_PER_WG = 8;

/**
 * One normalisation group (D channels of one row) per 32 invocations, 8 groups per workgroup: the sums
 * over D are lane-strided loops plus a tree in workgroup memory (\`reduce(a, b)\` sums a pair over the group's
 * lanes, results in A, B). One invocation per group looping over D left a large GPU mostly idle.
 */
function laneKernel(name: string, binds: Bind[], groups: number, caps: DeviceCaps, o: { C: number; G: number; D: number }, body: string): KernelSpec {
  const wgsl = `${declare(binds)}
var<workgroup> ra: array<f32, ${LANES * GROUPS_PER_WG}>;
var<workgroup> rb: array<f32, ${LANES * GROUPS_PER_WG}>;
@compute @workgroup_size(${LANES * GROUPS_PER_WG})
fn main(@builtin(workgroup_id) wid: vec3u, @builtin(local_invocation_index) lid: u32, @builtin(num_workgroups) nwg: vec3u) {
  let grp = (wid.x + wid.y * nwg.x) * ${u(GROUPS_PER_WG)} + lid / ${u(LANES)};
  let lane = lid % ${u(LANES)};
  let live = grp < ${u(groups)};
  let i = min(grp, ${u(groups - 1)});
  let o = (i / ${u(o.G)}) * ${u(o.C)} + (i % ${u(o.G)}) * ${u(o.D)};
  let cg = (i % ${u(o.G)}) * ${u(o.D)};
${body.replace(/reduce\((\w+), (\w+)\);/g, (_m, a: string, b: string) => `ra[lid] = ${a}; rb[lid] = ${b};
  workgroupBarrier();
  for (var st = ${u(LANES / 2)}; st > 0u; st = st >> 1u) {
    if (lane < st) { ra[lid] += ra[lid + st]; rb[lid] += rb[lid + st]; }
    workgroupBarrier();
  }
  let A_${a} = ra[lid - lane]; let B_${b} = rb[lid - lane];
  workgroupBarrier();`)}
}
`;
  return { name, wgsl, entryPoint: 'main', bindings: bindings(binds), workgroups: grid(Math.ceil(groups / GROUPS_PER_WG), caps) };
}

export const normOp: OpDef<NormAttrs> = {
  name: 'norm',
  infer(ins, a) {
    if (!['layer', 'rms', 'l2'].includes(a.kind)) throw new Error(`unknown norm kind "${a.kind}"`);
    if (!(a.eps >= 0)) throw new Error(`eps must be ≥ 0, got ${a.eps}`);
    if (ins.length !== 1 + a.affine) throw new Error(`expected ${1 + a.affine} inputs (x${a.affine ? ', weight' : ''}${a.affine === 2 ? ', bias' : ''}), got ${ins.length}`);
    if (ins.some((t) => t.dtype !== 'f32')) throw new Error('norm takes f32 tensors');
    const { rows, C, G } = dims(ins, a);
    for (const p of ins.slice(1)) if (p.shape.length !== 1 || p.shape[0] !== C) throw new Error(`affine params must be [${C}], got ${shapeStr(p.shape)}`);
    return [
      { shape: ins[0].shape, dtype: 'f32' },
      { shape: [rows * G, 2], dtype: 'f32' },
    ];
  },
  differentiable: () => [true, false],
  // Partial sums of the affine parameters' gradients over rows (column sums).
  scratch(c) {
    const { rows, C } = dims(c.ins, c.attrs);
    const bytes = columnSumScratchBytes(rows, C, 1);
    return ['partials_dweight', 'partials_dbias'].slice(0, c.attrs.affine).map((name) => ({ name, bytes }));
  },
  forward(x, c) {
    const { rows, C, G, D } = dims(c.ins, c.attrs);
    const { kind, eps, affine } = c.attrs;
    const y = new Float64Array(x[0].length);
    const stats = new Float64Array(rows * G * 2);
    for (let r = 0; r < rows; r++)
      for (let g = 0; g < G; g++) {
        const o = r * C + g * D;
        let mu = 0;
        if (kind === 'layer') {
          for (let j = 0; j < D; j++) mu += x[0][o + j];
          mu /= D;
        }
        let v = 0;
        for (let j = 0; j < D; j++) v += (x[0][o + j] - mu) ** 2;
        if (kind !== 'l2') v /= D;
        const rstd = 1 / Math.sqrt(v + eps);
        stats[(r * G + g) * 2] = mu;
        stats[(r * G + g) * 2 + 1] = rstd;
        for (let j = 0; j < D; j++) {
          const cc = g * D + j;
          const xh = (x[0][o + j] - mu) * rstd;
          y[o + j] = xh * (affine ? x[1][cc] : 1) + (affine === 2 ? x[2][cc] : 0);
        }
      }
    return [y, stats];
  },
  backward(x, [, stats], [gy], c) {
    const { rows, C, G, D } = dims(c.ins, c.attrs);
    const { kind, affine } = c.attrs;
    const gx = new Float64Array(x[0].length);
    const gw = new Float64Array(C);
    const gb = new Float64Array(C);
    if (gy) {
      const n = kind === 'l2' ? 1 : D;
      for (let r = 0; r < rows; r++)
        for (let g = 0; g < G; g++) {
          const o = r * C + g * D;
          const mu = stats[(r * G + g) * 2];
          const rstd = stats[(r * G + g) * 2 + 1];
          let sg = 0;
          let sgx = 0;
          for (let j = 0; j < D; j++) {
            const xh = (x[0][o + j] - mu) * rstd;
            const gh = gy[o + j] * (affine ? x[1][g * D + j] : 1);
            sg += gh;
            sgx += gh * xh;
            gw[g * D + j] += gy[o + j] * xh;
            gb[g * D + j] += gy[o + j];
          }
          for (let j = 0; j < D; j++) {
            const xh = (x[0][o + j] - mu) * rstd;
            const gh = gy[o + j] * (affine ? x[1][g * D + j] : 1);
            gx[o + j] = rstd * (gh - (kind === 'layer' ? sg / D : 0) - (xh * sgx) / n);
          }
        }
    }
    return [gx, gw, gb].slice(0, 1 + affine);
  },
  kernels: {
    forward(c) {
      const { rows, C, G, D } = dims(c.ins, c.attrs);
      const { kind, eps, affine } = c.attrs;
      const binds = [
        rd('x', c.in[0]),
        ...(affine ? [rd('w', c.in[1])] : []),
        ...(affine === 2 ? [rd('bb', c.in[2])] : []),
        rw('y', c.out[0]),
        rw('stats', c.out[1]),
      ];
      if (c.tiled)
        return [
          laneKernel(`${c.label}:fwd`, binds, rows * G, c.caps, { C, G, D }, `  var s1 = 0.0;
${kind === 'layer' ? `  for (var j = lane; j < ${u(D)}; j += ${u(LANES)}) { s1 += x[o + j]; }` : ''}
  reduce(s1, s1);
  let mu = ${kind === 'layer' ? `A_s1 / ${f(D)}` : '0.0'};
  var s2 = 0.0;
  for (var j = lane; j < ${u(D)}; j += ${u(LANES)}) { let d = x[o + j] - mu; s2 += d * d; }
  reduce(s2, s2);
  let rstd = 1.0 / sqrt(A_s2${kind === 'l2' ? '' : ` / ${f(D)}`} + ${f(eps)});
  if (live) {
    if (lane == 0u) { stats[i * 2u] = mu; stats[i * 2u + 1u] = rstd; }
    for (var j = lane; j < ${u(D)}; j += ${u(LANES)}) {
      y[o + j] = (x[o + j] - mu) * rstd${affine ? ' * w[cg + j]' : ''}${affine === 2 ? ' + bb[cg + j]' : ''};
    }
  }`),
        ];
      return [
        threadKernel({
          name: `${c.label}:fwd`,
          caps: c.caps,
          binds,
          total: rows * G,
          body: `  let o = (i / ${u(G)}) * ${u(C)} + (i % ${u(G)}) * ${u(D)};
  let cg = (i % ${u(G)}) * ${u(D)};
  var mu = 0.0;
  ${kind === 'layer' ? `for (var j = 0u; j < ${u(D)}; j++) { mu += x[o + j]; } mu = mu / ${f(D)};` : ''}
  var v = 0.0;
  for (var j = 0u; j < ${u(D)}; j++) { let d = x[o + j] - mu; v += d * d; }
  ${kind === 'l2' ? '' : `v = v / ${f(D)};`}
  let rstd = 1.0 / sqrt(v + ${f(eps)});
  stats[i * 2u] = mu; stats[i * 2u + 1u] = rstd;
  for (var j = 0u; j < ${u(D)}; j++) {
    y[o + j] = (x[o + j] - mu) * rstd${affine ? ' * w[cg + j]' : ''}${affine === 2 ? ' + bb[cg + j]' : ''};
  }`,
        }),
      ];
    },
    backward(c) {
      const { rows, C, G, D } = dims(c.ins, c.attrs);
      const { kind, affine } = c.attrs;
      const n = kind === 'l2' ? 1 : D;
      const ks: KernelSpec[] = [];
      const wRead = affine ? [rd('w', c.in[1])] : [];
      const gh = (idx: string, ch: string) => `gy[${idx}]${affine ? ` * w[${ch}]` : ''}`;
      if (c.gin[0]) {
        const binds = [rd('x', c.in[0]), ...wRead, rd('stats', c.out[1]), rd('gy', c.gout[0]!), rw('gx', c.gin[0])];
        ks.push(
          c.tiled
            ? laneKernel(`${c.label}:dx`, binds, rows * G, c.caps, { C, G, D }, `  let mu = stats[i * 2u]; let rstd = stats[i * 2u + 1u];
  var sg = 0.0; var sgx = 0.0;
  for (var j = lane; j < ${u(D)}; j += ${u(LANES)}) {
    let g = ${gh('o + j', 'cg + j')};
    sg += g; sgx += g * (x[o + j] - mu) * rstd;
  }
  reduce(sg, sgx);
  if (live) {
    for (var j = lane; j < ${u(D)}; j += ${u(LANES)}) {
      let g = ${gh('o + j', 'cg + j')};
      let xh = (x[o + j] - mu) * rstd;
      gx[o + j] += rstd * (g ${kind === 'layer' ? `- A_sg / ${f(D)}` : ''} - xh * B_sgx / ${f(n)});
    }
  }`)
            : threadKernel({
                name: `${c.label}:dx`,
                caps: c.caps,
                binds,
                total: rows * G,
                body: `  let o = (i / ${u(G)}) * ${u(C)} + (i % ${u(G)}) * ${u(D)};
  let cg = (i % ${u(G)}) * ${u(D)};
  let mu = stats[i * 2u]; let rstd = stats[i * 2u + 1u];
  var sg = 0.0; var sgx = 0.0;
  for (var j = 0u; j < ${u(D)}; j++) {
    let g = ${gh('o + j', 'cg + j')};
    sg += g; sgx += g * (x[o + j] - mu) * rstd;
  }
  for (var j = 0u; j < ${u(D)}; j++) {
    let g = ${gh('o + j', 'cg + j')};
    let xh = (x[o + j] - mu) * rstd;
    gx[o + j] += rstd * (g ${kind === 'layer' ? `- sg / ${f(D)}` : ''} - xh * sgx / ${f(n)});
  }`,
              }),
        );
      }
      for (let p = 1; p <= affine; p++) {
        if (!c.gin[p]) continue;
        const which = p === 1 ? 'weight' : 'bias';
        ks.push(
          ...columnSumKernels({
            name: `${c.label}:d${which}`,
            caps: c.caps,
            // Bind only what the term reads: 'auto' layouts drop unused bindings.
            reads: [...(p === 1 ? [rd('x', c.in[0]), rd('stats', c.out[1])] : []), rd('gy', c.gout[0]!)],
            rows,
            cols: C,
            per: 1,
            term:
              p === 1
                ? `      let s = (r * ${u(G)} + c / ${u(D)}) * 2u;
      acc0 += gy[r * ${u(C)} + c] * (x[r * ${u(C)} + c] - stats[s]) * stats[s + 1u];`
                : `      acc0 += gy[r * ${u(C)} + c];`,
            partials: c.scratch(`partials_d${which}`),
            out: c.gin[p]!,
          }),
        );
      }
      return ks;
    },
  },
};

function norm(kind: NormKind, x: Tensor, params: Tensor[], eps: number, groups: number, name: string): Tensor {
  return x.graph.apply(normOp, [x, ...params], { kind, groups, eps, affine: params.length as 0 | 1 | 2 }, name)[0];
}
export const rmsnorm = (x: Tensor, weight: Tensor | null, eps: number, name = 'rmsnorm') => norm('rms', x, weight ? [weight] : [], eps, 1, name);
export const layernorm = (x: Tensor, weight: Tensor | null, bias: Tensor | null, eps: number, name = 'layernorm') =>
  norm('layer', x, [weight, bias].filter((t): t is Tensor => t !== null), eps, 1, name);
/** GroupNorm per head: LayerNorm within each of `groups` contiguous channel groups (RetNet's per-head norm). */
export const groupnorm = (x: Tensor, groups: number, weight: Tensor | null, bias: Tensor | null, eps: number, name = 'groupnorm') =>
  norm('layer', x, [weight, bias].filter((t): t is Tensor => t !== null), eps, groups, name);
/** L2-normalise each group (e.g. per head of q/k), with ε inside the root as in fla. */
export const l2normalize = (x: Tensor, groups = 1, eps = 1e-6, name = 'l2norm') => norm('l2', x, [], eps, groups, name);
/** RMSNorm per group (e.g. per head of an output), with an optional weight. */
export const rmsnormGroups = (x: Tensor, groups: number, weight: Tensor | null, eps: number, name = 'rmsnorm') =>
  norm('rms', x, weight ? [weight] : [], eps, groups, name);
