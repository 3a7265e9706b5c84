/**
 * Tiled (FlashAttention-2 style) kernels for causal / sliding-window softmax attention on real GPUs: the
 * same math as attention.ts (its float64 reference is the truth), organised in 32×32 blocks of queries ×
 * keys so K, V, Q and dO rows are staged once per block in workgroup memory instead of re-read by every
 * row's invocation. A workgroup of 256 invocations owns one 32-row block; 8 invocations share a row,
 * each holding that row's q (or k, v) in registers and computing 4 of the block's 32 scores.
 *
 *   forward:  per query block, online softmax over key blocks (Milakov & Gimelshein 2018) → o, lse
 *   delta:    δ_t = o_t · do_t (one invocation per row, into a scratch buffer)
 *   dq:       per query block over key blocks:  dS = P ⊙ (dO Vᵀ − δ),  dQ = scale · dS K
 *   dkdv:     per key block over query blocks:   dV = Pᵀ dO,  dK = scale · dSᵀ Q
 * Workgroup memory: one 32 × max(D, Dv) tile, one 32 × 32 score tile and row statistics (12.6 KiB at
 * D = Dv = 64); head dims must be multiples of 8 (each of a row's 8 invocations owns every 8th column).
 */
import type { DeviceCaps, KernelSpec } from '../plan/kernel';
import { declare, f, grid, threadKernel, u, rd, rw, type Bind } from './wgsl';

export interface FlashShape {
  B: number;
  T: number;
  H: number;
  D: number;
  Dv: number;
  W: number;
}

const BLK = 32;
const WG = 256;
const PER_ROW = WG / BLK; // 8 invocations per row
const SCORES = BLK / PER_ROW; // 4 scores per invocation
const SP = BLK + 1;

const tileFloats = (s: FlashShape) => BLK * (Math.max(s.D, s.Dv) + 1) + BLK * SP + 3 * BLK;

/** Whether the tiled kernels apply: head dims in multiples of 8 that fit registers and workgroup memory. */
export function flashFits(s: FlashShape, caps: DeviceCaps): boolean {
  return (
    s.D % PER_ROW === 0 &&
    s.Dv % PER_ROW === 0 &&
    Math.max(s.D, s.Dv) <= 128 &&
    caps.maxComputeInvocationsPerWorkgroup >= WG &&
    caps.maxComputeWorkgroupSizeX >= WG &&
    tileFloats(s) * 4 <= caps.maxComputeWorkgroupStorageSize
  );
}

const range = (n: number) => Array.from({ length: n }, (_, i) => i);

function common(s: FlashShape) {
  const S = Math.max(s.D, s.Dv) + 1;
  const NB = Math.ceil(s.T / BLK);
  const row = (t: string, width: number) => `((b * ${u(s.T)} + ${t}) * ${u(s.H)} + h) * ${u(width)}`;
  /** Stage rows t0 … t0+31 of `src` (width columns) into buf; rows past T read as 0. */
  const loadTile = (src: string, t0: string, width: number) =>
    range(Math.ceil((BLK * width) / WG))
      .map((l) => {
        const body = `let e = lid + ${u(l * WG)}; let rr = e / ${u(width)}; let cc = e % ${u(width)};
    let tt = ${t0} + rr;
    var val = 0.0;
    if (tt < ${u(s.T)}) { val = ${src}[${row('tt', width)} + cc]; }
    buf[rr * ${u(S)} + cc] = val;`;
        return (l + 1) * WG > BLK * width ? `  if (lid + ${u(l * WG)} < ${u(BLK * width)}) {\n    ${body}\n  }` : `  {\n    ${body}\n  }`;
      })
      .join('\n');
  /** Registers `${name}0…` ← a row of `src` (width columns). */
  const regs = (name: string, src: string, base: string, width: number) => range(width).map((d) => `  let ${name}${d} = ${src}[${base} + ${u(d)}];`).join('\n');
  /** `let out = ` the dot product of register row `name` with tile row `tileRow` of buf (4 partial sums). */
  const dot = (out: string, name: string, tileRow: string, width: number) => {
    const lanes = range(4);
    return `{
${lanes.map((a) => `      var x${a} = 0.0;`).join('\n')}
      let tb = ${tileRow} * ${u(S)};
${range(width)
  .map((d) => `      x${d % 4} = fma(${name}${d}, buf[tb + ${u(d)}], x${d % 4});`)
  .join('\n')}
      ${out} = (x0 + x1) + (x2 + x3);
    }`;
  };
  const shared = `var<workgroup> buf: array<f32, ${BLK * S}>;
var<workgroup> sP: array<f32, ${BLK * SP}>;
var<workgroup> sA: array<f32, ${BLK}>;
var<workgroup> sB: array<f32, ${BLK}>;
var<workgroup> sC: array<f32, ${BLK}>;`;
  const head = (blockOf: string) => `  let w = wid.x + wid.y * nwg.x;
  if (w >= ${u(NB * s.B * s.H)}) { return; }
  let ${blockOf} = (w % ${u(NB)}) * ${u(BLK)};
  let h = (w / ${u(NB)}) % ${u(s.H)};
  let b = w / ${u(NB * s.H)};
  let r = lid / ${u(PER_ROW)};
  let cs = lid % ${u(PER_ROW)};`;
  /** acc{m} += Σ_j sP[r][j] · buf[j][cs + 8m] over the block's 32 tile rows, for `cols` columns per invocation. */
  const weighted = (acc: string, cols: number) => `    for (var j = 0u; j < ${u(BLK)}; j++) {
      let wj = sP[r * ${u(SP)} + j];
${range(cols).map((m) => `      ${acc}${m} = fma(wj, buf[j * ${u(S)} + cs + ${u(m * PER_ROW)}], ${acc}${m});`).join('\n')}
    }`;
  /** Opens the loop over the key blocks a query block (starting at q0) can see; defines k0. */
  const keyBlocks = `  let kFirst = select(0u, q0 + 1u - ${u(s.W)}, q0 + 1u >= ${u(s.W)}) / ${u(BLK)};
  let kLast = min(q0 + ${u(BLK - 1)}, ${u(s.T - 1)}) / ${u(BLK)};
  for (var kb = kFirst; kb <= kLast; kb++) {
    let k0 = kb * ${u(BLK)};`;
  /** Score n of this invocation: key j of the staged K tile against the row's q registers, into sc. */
  const score = (n: number) => `      let j = cs + ${u(n * PER_ROW)};
      var sc = 0.0;
      ${dot('sc', 'qd', 'j', s.D)}`;
  const entry = `@compute @workgroup_size(${WG})
fn main(@builtin(workgroup_id) wid: vec3u, @builtin(local_invocation_index) lid: u32, @builtin(num_workgroups) nwg: vec3u) {`;
  /** Key tk is visible from query tq. */
  const visible = (tk: string, tq: string) => `(${tk} <= ${tq} && ${tk} + ${u(s.W)} > ${tq} && ${tq} < ${u(s.T)})`;
  return { S, NB, row, loadTile, regs, dot, shared, head, entry, visible, weighted, keyBlocks, score, groups: NB * s.B * s.H };
}

const spec = (name: string, binds: Bind[], wgsl: string, groups: number, caps: DeviceCaps): KernelSpec => ({
  name,
  wgsl,
  entryPoint: 'main',
  bindings: binds.map((b) => ({ buffer: b.buffer, access: b.access })),
  workgroups: grid(groups, caps),
});

export function flashForward(name: string, s: FlashShape, io: { q: string; k: string; v: string; o: string; lse: string }, caps: DeviceCaps): KernelSpec {
  const c = common(s);
  const scale = f(1 / Math.sqrt(s.D));
  const OV = s.Dv / PER_ROW;
  const binds = [rd('q', io.q), rd('k', io.k), rd('v', io.v), rw('o', io.o), rw('lse', io.lse)];
  const wgsl = `${declare(binds)}
${c.shared}
${c.entry}
${c.head('q0')}
  let tq = q0 + r;
  let qrow = ${c.row(`min(tq, ${u(s.T - 1)})`, s.D)};
${c.regs('qd', 'q', 'qrow', s.D)}
${range(OV).map((m) => `  var acc${m} = 0.0;`).join('\n')}
  if (lid < ${u(BLK)}) { sA[lid] = -3.0e38; sB[lid] = 0.0; }
${c.keyBlocks}
${c.loadTile('k', 'k0', s.D)}
    workgroupBarrier();
${range(SCORES)
  .map(
    (n) => `    {
${c.score(n)}
      sP[r * ${u(SP)} + j] = select(-3.0e38, sc * ${scale}, ${c.visible('k0 + j', 'tq')});
    }`,
  )
  .join('\n')}
    workgroupBarrier();
    if (lid < ${u(BLK)}) {
      let mOld = sA[lid];
      var mx = mOld;
      for (var j = 0u; j < ${u(BLK)}; j++) { mx = max(mx, sP[lid * ${u(SP)} + j]); }
      var sum = 0.0;
      for (var j = 0u; j < ${u(BLK)}; j++) {
        let sv = sP[lid * ${u(SP)} + j];
        let p = select(0.0, exp(sv - mx), sv > -1.0e38);
        sP[lid * ${u(SP)} + j] = p;
        sum += p;
      }
      let corr = exp(mOld - mx);
      sA[lid] = mx; sB[lid] = sB[lid] * corr + sum; sC[lid] = corr;
    }
${c.loadTile('v', 'k0', s.Dv)}
    workgroupBarrier();
    let corr = sC[r];
${range(OV).map((m) => `    acc${m} *= corr;`).join('\n')}
${c.weighted('acc', OV)}
    workgroupBarrier();
  }
  if (tq < ${u(s.T)}) {
    let l = sB[r];
    let orow = ${c.row('tq', s.Dv)};
${range(OV).map((m) => `    o[orow + cs + ${u(m * PER_ROW)}] = acc${m} / l;`).join('\n')}
    if (cs == 0u) { lse[(b * ${u(s.T)} + tq) * ${u(s.H)} + h] = sA[r] + log(l); }
  }
}
`;
  return spec(name, binds, wgsl, c.groups, caps);
}

/** δ_t = o_t · do_t per (b, t, h) row, for both backward kernels. */
export function flashDelta(name: string, s: FlashShape, io: { o: string; g: string; delta: string }, caps: DeviceCaps): KernelSpec {
  return threadKernel({
    name,
    caps,
    binds: [rd('o', io.o), rd('g', io.g), rw('delta', io.delta)],
    total: s.B * s.T * s.H,
    workgroupSize: 256,
    body: `  var a = 0.0;
  for (var d = 0u; d < ${u(s.Dv)}; d++) { a += o[i * ${u(s.Dv)} + d] * g[i * ${u(s.Dv)} + d]; }
  delta[i] = a;`,
  });
}

export function flashDq(name: string, s: FlashShape, io: { q: string; k: string; v: string; lse: string; g: string; delta: string; gq: string }, caps: DeviceCaps): KernelSpec {
  const c = common(s);
  const scale = f(1 / Math.sqrt(s.D));
  const OQ = s.D / PER_ROW;
  const binds = [rd('q', io.q), rd('k', io.k), rd('v', io.v), rd('lse', io.lse), rd('g', io.g), rd('delta', io.delta), rw('gq', io.gq)];
  const wgsl = `${declare(binds)}
${c.shared}
${c.entry}
${c.head('q0')}
  let tq = q0 + r;
  let tc = min(tq, ${u(s.T - 1)});
  let qrow = ${c.row('tc', s.D)};
  let grow = ${c.row('tc', s.Dv)};
  let srow = (b * ${u(s.T)} + tc) * ${u(s.H)} + h;
  let lseR = lse[srow];
  let deltaR = delta[srow];
${c.regs('qd', 'q', 'qrow', s.D)}
${c.regs('gd', 'g', 'grow', s.Dv)}
${range(OQ).map((m) => `  var acc${m} = 0.0;`).join('\n')}
${c.keyBlocks}
${c.loadTile('v', 'k0', s.Dv)}
    workgroupBarrier();
${range(SCORES).map((n) => `    var dp${n} = 0.0;\n    ${c.dot(`dp${n}`, 'gd', `(cs + ${u(n * PER_ROW)})`, s.Dv)}`).join('\n')}
    workgroupBarrier();
${c.loadTile('k', 'k0', s.D)}
    workgroupBarrier();
${range(SCORES)
  .map(
    (n) => `    {
${c.score(n)}
      let p = select(0.0, exp(sc * ${scale} - lseR), ${c.visible('k0 + j', 'tq')});
      sP[r * ${u(SP)} + j] = p * (dp${n} - deltaR);
    }`,
  )
  .join('\n')}
    workgroupBarrier();
${c.weighted('acc', OQ)}
    workgroupBarrier();
  }
  if (tq < ${u(s.T)}) {
${range(OQ).map((m) => `    gq[qrow + cs + ${u(m * PER_ROW)}] += ${scale} * acc${m};`).join('\n')}
  }
}
`;
  return spec(name, binds, wgsl, c.groups, caps);
}

export function flashDkDv(
  name: string,
  s: FlashShape,
  io: { q: string; k: string; v: string; lse: string; g: string; delta: string; gk: string; gv: string },
  caps: DeviceCaps,
): KernelSpec {
  const c = common(s);
  const scale = f(1 / Math.sqrt(s.D));
  const OK = s.D / PER_ROW;
  const OV = s.Dv / PER_ROW;
  const binds = [rd('q', io.q), rd('k', io.k), rd('v', io.v), rd('lse', io.lse), rd('g', io.g), rd('delta', io.delta), rw('gk', io.gk), rw('gv', io.gv)];
  const wgsl = `${declare(binds)}
${c.shared}
${c.entry}
${c.head('k0')}
  let tk = k0 + r;
  let tc = min(tk, ${u(s.T - 1)});
  let krow = ${c.row('tc', s.D)};
  let vrow = ${c.row('tc', s.Dv)};
${c.regs('kd', 'k', 'krow', s.D)}
${c.regs('vd', 'v', 'vrow', s.Dv)}
${range(OK).map((m) => `  var dk${m} = 0.0;`).join('\n')}
${range(OV).map((m) => `  var dv${m} = 0.0;`).join('\n')}
  let qLast = min(k0 + ${u(BLK - 1 + s.W - 1)}, ${u(s.T - 1)}) / ${u(BLK)};
  for (var qb = k0 / ${u(BLK)}; qb <= qLast; qb++) {
    let q0 = qb * ${u(BLK)};
${c.loadTile('q', 'q0', s.D)}
    if (lid < ${u(BLK)}) {
      let tq = min(q0 + lid, ${u(s.T - 1)});
      sA[lid] = lse[(b * ${u(s.T)} + tq) * ${u(s.H)} + h];
      sB[lid] = delta[(b * ${u(s.T)} + tq) * ${u(s.H)} + h];
    }
    workgroupBarrier();
${range(SCORES)
  .map(
    (n) => `    let i${n} = cs + ${u(n * PER_ROW)};
    var sc${n} = 0.0;
    ${c.dot(`sc${n}`, 'kd', `i${n}`, s.D)}
    let p${n} = select(0.0, exp(sc${n} * ${scale} - sA[i${n}]), ${c.visible('tk', `q0 + i${n}`)} && tk < ${u(s.T)});`,
  )
  .join('\n')}
    workgroupBarrier();
${range(SCORES).map((n) => `    sP[r * ${u(SP)} + i${n}] = p${n};`).join('\n')}
${c.loadTile('g', 'q0', s.Dv)}
    workgroupBarrier();
${range(SCORES).map((n) => `    var dp${n} = 0.0;\n    ${c.dot(`dp${n}`, 'vd', `i${n}`, s.Dv)}\n    let ds${n} = p${n} * (dp${n} - sB[i${n}]);`).join('\n')}
${c.weighted('dv', OV)}
    workgroupBarrier();
${range(SCORES).map((n) => `    sP[r * ${u(SP)} + i${n}] = ds${n};`).join('\n')}
${c.loadTile('q', 'q0', s.D)}
    workgroupBarrier();
${c.weighted('dk', OK)}
    workgroupBarrier();
  }
  if (tk < ${u(s.T)}) {
${range(OK).map((m) => `    gk[krow + cs + ${u(m * PER_ROW)}] += ${scale} * dk${m};`).join('\n')}
${range(OV).map((m) => `    gv[vrow + cs + ${u(m * PER_ROW)}] += dv${m};`).join('\n')}
  }
}
`;
  return spec(name, binds, wgsl, c.groups, caps);
}
