/**
 * Softmax cross-entropy with masks: mean over labelled positions of lse(logits) − logit[target];
 * target −1 = ignored. Also reports accuracy (argmax = target, first max wins) and the count of
 * labelled positions. Outputs: loss [1] (differentiable), metrics [3] = (accuracy, count, Σloss),
 * rows [N, 4] = (lse, loss, correct, labelled) saved for backward.
 * Backward: dlogits[n, v] = g · (softmax[n, v] − [v = target_n]) / count at labelled rows.
 */
import { numel, shapeStr, type Tensor } from '../ir/graph';
import type { OpDef, TensorType } from '../ir/op';
import { declare, grid, threadKernel, u, type Bind, rd, rw } from './wgsl';

function dims(ins: TensorType[]) {
  const [lg, tg] = ins;
  const V = lg.shape[lg.shape.length - 1];
  const N = numel(lg.shape) / V;
  return { N, V, tN: numel(tg.shape) };
}

export const crossEntropyOp: OpDef<Record<string, never>> = {
  name: 'cross_entropy',
  infer(ins) {
    const { N, tN } = dims(ins);
    if (ins[0].dtype !== 'f32') throw new Error('logits must be f32');
    if (ins[1].dtype !== 'i32') throw new Error('targets must be i32');
    if (N !== tN) throw new Error(`logits ${shapeStr(ins[0].shape)} have ${N} rows but targets ${shapeStr(ins[1].shape)} have ${tN}`);
    return [
      { shape: [1], dtype: 'f32' },
      { shape: [3], dtype: 'f32' },
      { shape: [N, 4], dtype: 'f32' },
    ];
  },
  differentiable: () => [true, false, false],
  forward([x, tg], c) {
    const { N, V } = dims(c.ins);
    const rows = new Float64Array(N * 4);
    let sum = 0;
    let correct = 0;
    let count = 0;
    for (let n = 0; n < N; n++) {
      const t = tg[n];
      if (t !== -1 && !(t >= 0 && t < V)) throw new Error(`cross_entropy: target ${t} at row ${n} is outside [0, ${V}) and is not −1`);
      let m = -Infinity;
      let arg = 0;
      for (let v = 0; v < V; v++) {
        if (x[n * V + v] > m) {
          m = x[n * V + v];
          arg = v;
        }
      }
      let s = 0;
      for (let v = 0; v < V; v++) s += Math.exp(x[n * V + v] - m);
      const lse = m + Math.log(s);
      rows[n * 4] = lse;
      if (t >= 0) {
        rows[n * 4 + 1] = lse - x[n * V + t];
        rows[n * 4 + 2] = arg === t ? 1 : 0;
        rows[n * 4 + 3] = 1;
        sum += rows[n * 4 + 1];
        correct += rows[n * 4 + 2];
        count++;
      }
    }
    const cnt = Math.max(count, 1);
    return [Float64Array.of(sum / cnt), Float64Array.of(correct / cnt, count, sum), rows];
  },
  backward([x, tg], [, metrics, rows], [g], c) {
    const { N, V } = dims(c.ins);
    const gx = new Float64Array(x.length);
    if (g) {
      const scale = g[0] / Math.max(metrics[1], 1);
      for (let n = 0; n < N; n++) {
        if (rows[n * 4 + 3] === 0) continue;
        for (let v = 0; v < V; v++) gx[n * V + v] = scale * (Math.exp(x[n * V + v] - rows[n * 4]) - (v === tg[n] ? 1 : 0));
      }
    }
    return [gx, null];
  },
  kernels: {
    forward(c) {
      const { N, V } = dims(c.ins);
      const rowKernel = threadKernel({
        name: `${c.label}:rows`,
        caps: c.caps,
        binds: [
          rd('x', c.in[0]),
          { name: 'tg', buffer: c.in[1], access: 'read', type: 'i32' },
          rw('rows', c.out[2]),
        ],
        total: N,
        body: `  let o = i * ${u(V)};
  var m = x[o]; var arg = 0u;
  for (var v = 1u; v < ${u(V)}; v++) { if (x[o + v] > m) { m = x[o + v]; arg = v; } }
  var s = 0.0;
  for (var v = 0u; v < ${u(V)}; v++) { s += exp(x[o + v] - m); }
  let lse = m + log(s);
  let t = tg[i];
  rows[i * 4u] = lse;
  if (t >= 0) {
    rows[i * 4u + 1u] = lse - x[o + u32(t)];
    rows[i * 4u + 2u] = select(0.0, 1.0, arg == u32(t));
    rows[i * 4u + 3u] = 1.0;
  } else {
    rows[i * 4u + 1u] = 0.0; rows[i * 4u + 2u] = 0.0; rows[i * 4u + 3u] = 0.0;
  }`,
      });
      // One workgroup, fixed-order tree reduction: deterministic.
      const W = Math.min(256, c.caps.maxComputeInvocationsPerWorkgroup);
      const binds: Bind[] = [
        rd('rows', c.out[2]),
        rw('loss', c.out[0]),
        rw('metrics', c.out[1]),
      ];
      const wgsl = `${declare(binds)}
var<workgroup> s0: array<f32, ${W}>;
var<workgroup> s1: array<f32, ${W}>;
var<workgroup> s2: array<f32, ${W}>;
@compute @workgroup_size(${W})
fn main(@builtin(local_invocation_id) lid: vec3u) {
  var a = 0.0; var b = 0.0; var d = 0.0;
  for (var n = lid.x; n < ${u(N)}; n += ${u(W)}) { a += rows[n * 4u + 1u]; b += rows[n * 4u + 2u]; d += rows[n * 4u + 3u]; }
  s0[lid.x] = a; s1[lid.x] = b; s2[lid.x] = d;
  workgroupBarrier();
  for (var st = ${u(W / 2)}; st > 0u; st = st >> 1u) {
    if (lid.x < st) { s0[lid.x] += s0[lid.x + st]; s1[lid.x] += s1[lid.x + st]; s2[lid.x] += s2[lid.x + st]; }
    workgroupBarrier();
  }
  if (lid.x == 0u) {
    let cnt = max(s2[0], 1.0);
    loss[0] = s0[0] / cnt;
    metrics[0] = s1[0] / cnt; metrics[1] = s2[0]; metrics[2] = s0[0];
  }
}
`;
      return [
        rowKernel,
        { name: `${c.label}:reduce`, wgsl, entryPoint: 'main', bindings: binds.map((b) => ({ buffer: b.buffer, access: b.access })), workgroups: grid(1, c.caps) },
      ];
    },
    backward(c) {
      if (!c.gin[0]) return [];
      const { N, V } = dims(c.ins);
      return [
        threadKernel({
          name: `${c.label}:bwd`,
          caps: c.caps,
          binds: [
            rd('x', c.in[0]),
            { name: 'tg', buffer: c.in[1], access: 'read', type: 'i32' },
            rd('rows', c.out[2]),
            rd('metrics', c.out[1]),
            rd('g', c.gout[0]!),
            rw('gx', c.gin[0]),
          ],
          total: N * V,
          body: `  let n = i / ${u(V)}; let v = i % ${u(V)};
  if (rows[n * 4u + 3u] == 0.0) { return; }
  let onehot = select(0.0, 1.0, i32(v) == tg[n]);
  gx[i] += g[0] / max(metrics[1], 1.0) * (exp(x[i] - rows[n * 4u]) - onehot);`,
        }),
      ];
    },
  },
};

/** Returns { loss, metrics } where metrics = [accuracy, count, Σloss]. */
export function crossEntropy(logits: Tensor, targets: Tensor, name = 'cross_entropy') {
  const [loss, metrics] = logits.graph.apply(crossEntropyOp, [logits, targets], {}, name);
  return { loss, metrics };
}
