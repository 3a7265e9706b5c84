/**
 * Forward of the Hebbian combinations with register tiling over value columns: S_t = λ_t ⊙ S_{t−1} + η_t k_t v_tᵀ
 * (dot bias, gd learner, one sub-step per token; decay none / constant / scalar / channel; no post map),
 * o_t = SCALE · S_tᵀ q_t. This is codegen.ts forwardKernel's layout (P invocations split the d_k rows of a
 * column, operands staged per block of LP steps one block ahead, full blocks as straight-line code, read-out
 * partials reduced once per block) with each invocation owning CW value columns instead of one: the rows of
 * k, q and the channel gates it reads from workgroup memory serve CW columns, and each step has CW independent
 * update and read-out chains. Chosen by `hebbianTiled` when tune.forward.CW > 1 covers the combination.
 */
import type { DeviceCaps, KernelSpec } from '../../plan/kernel';
import type { Combo, ScanDims } from '../math/combo';
import { blockSteps, consts, header, splitConsts, staging, treeSum, type ForwardTune, type Layout } from './codegen';

const u = (x: number) => `${x}u`;

/** Whether the column-tiled Hebbian forward covers the combination (see the file comment). */
export function hebbianTiledCovers(c: Combo): boolean {
  const r = c.retention;
  return (
    c.memory === 'matrix' &&
    c.bias.hebbian &&
    c.learner === 'gd' &&
    c.steps === 1 &&
    c.chunk === 1 &&
    !c.mlstm &&
    !c.betaPerChannel &&
    !r.post &&
    !r.norm &&
    !r.simplex &&
    !r.coupled &&
    ['none', 'constant', 'scalar', 'channel'].includes(r.decay)
  );
}

export function hebbianForwardKernel(c: Combo, s: ScanDims, L: Layout, caps: DeviceCaps, tune: ForwardTune): KernelSpec {
  const chan = c.retention.decay === 'channel';
  const learned = c.init.kind === 'learned';
  const maxInv = Math.min(caps.maxComputeInvocationsPerWorkgroup, caps.maxComputeWorkgroupSizeX);
  const CW = tune.CW ?? 1;
  if (!hebbianTiledCovers(c) || L.DV % CW !== 0) throw new Error(`${c.id}: the column-tiled Hebbian forward does not cover this combination (CW = ${CW})`);
  let TV = tune.TV && L.DV % tune.TV === 0 && tune.TV % CW === 0 ? tune.TV : L.DV;
  if (!tune.TV) while (TV > 8 * CW && TV % 2 === 0 && L.B * L.H * (L.DV / TV) < 256) TV /= 2;
  const NGC = TV / CW; // column groups per tile
  let P = 1;
  const maxP = tune.P ?? 16;
  while (P < maxP && L.DK % (P * 2) === 0 && NGC * P * 2 <= maxInv) P *= 2;
  const R = L.DK / P;
  const W = NGC * P;
  const vec = !!tune.vec4 && R % 4 === 0;
  const f = L.fields;
  const scal = (['beta', 'g'] as const).filter((n) => f[n] !== undefined);
  const OK = 0;
  const OQ = L.DK;
  const OG = 2 * L.DK;
  const OV = OG + (chan ? L.DK : 0);
  const OS = OV + TV;
  const PS0 = OS + scal.length;
  const PS = vec ? Math.ceil(PS0 / 4) * 4 : PS0;
  const sIdx = (n: (typeof scal)[number]) => OS + scal.indexOf(n);
  const poN = P > 1 ? P * TV : 0;
  const perStep = PS + poN;
  const fitLP = Math.floor(caps.maxComputeWorkgroupStorageSize / 4 / perStep);
  const LP = Math.max(1, Math.min(tune.LP ?? 16, fitLP, Math.floor((48 * W) / PS)));
  if (LP * perStep * 4 > caps.maxComputeWorkgroupStorageSize) throw new Error(`${c.id}: d_k = ${L.DK}, d_v = ${L.DV} do not fit ${caps.maxComputeWorkgroupStorageSize} bytes of workgroup memory`);
  const binds = ['q', 'k', 'v', 'scratch.gates', 'o', 'finalState', 'scratch.state', ...(learned ? ['initialState'] : [])];
  const access = ['read', 'read', 'read', 'read', 'read_write', 'read_write', 'read_write', 'read'] as const;
  const names = ['q', 'k', 'v', 'gates', 'o', 'finalState', 'state', 'initialState'].slice(0, binds.length);
  const decl = names.map((n, i) => `@group(0) @binding(${i}) var<storage, ${access[i]}> ${n}: array<f32>;`).join('\n');
  const at = (x: string) => (vec ? `pre[(${x}) / 4u][(${x}) % 4u]` : `pre[${x}]`);
  const PRE = (off: string) => at(`l * PS + ${off}`);
  const rows = Array.from({ length: R }, (_, r) => r);
  const cols = Array.from({ length: CW }, (_, cc) => cc);
  // this invocation's rows of the staged k, q and channel gates (exp(g)), one block of lets per step
  const rowLoads = (name: string, off: string) =>
    vec
      ? Array.from({ length: R / 4 }, (_, q4) => `let ${name}v${q4} = pre[l * (PS / 4u) + ${off} / 4u + p * (R / 4u) + ${u(q4)}];`).join(' ') +
        ' ' +
        rows.map((r) => `let ${name}${r} = ${name}v${r >> 2}.${'xyzw'[r & 3]};`).join(' ')
      : rows.map((r) => `let ${name}${r} = ${PRE(`${off} + p * R + ${u(r)}`)};`).join(' ');
  const lamS = c.retention.decay === 'constant' ? 'GAMMA[h]' : c.retention.decay === 'scalar' ? PRE(u(sIdx('g'))) : '1.0';
  const eta = f.beta !== undefined ? PRE(u(sIdx('beta'))) : '1.0';
  const S = (cc: number, r: number) => `S[${cc * R + r}]`;
  const ckStore = (at0: string) =>
    cols.map((cc) => rows.map((r) => `state[ckpt(bh, ${at0} / CK, 0u, p * R + ${u(r)}, j0 + jg * CW + ${u(cc)})] = ${S(cc, r)};`).join(' ')).join('\n      ');
  const ckHoist = L.CK % LP === 0;
  const step = (lc: number | null) => `      ${lc === null ? '' : `const l = ${u(lc)};`}
      let tau = base + l;
      ${ckHoist ? '' : `if (tau % CK == 0u) {\n        ${ckStore('tau')}\n      }`}
      ${rowLoads('k', 'OK')}
      ${rowLoads('q', 'OQ')}
      ${chan ? rowLoads('g', 'OG') : ''}
      let lamS = ${lamS};
      let eta = ${eta};
      ${cols.map((cc) => `let G${cc} = -${PRE(`OV + jg * CW + ${u(cc)}`)};`).join(' ')}
      ${rows.map((r) => `let ek${r} = eta * k${r};`).join(' ')}
      ${cols.map((cc) => rows.map((r) => `${S(cc, r)} = ${chan ? `g${r}` : 'lamS'} * ${S(cc, r)} - 1.0 * (ek${r} * G${cc});`).join(' ')).join('\n      ')}
      ${cols
        .map((cc) => {
          const op = treeSum(rows.map((r) => `${S(cc, r)} * q${r}`));
          return P > 1 ? (lc === null ? `po[l * (P * TV) + p * TV + jg * CW + ${u(cc)}] = ${op};` : `opl[${lc * CW + cc}] = ${op};`) : `o[rowo(b, tau, h) + j0 + jg * CW + ${u(cc)}] = SCALE * ${op};`;
        })
        .join('\n      ')}`;
  const st = staging(
    [
      { name: 'k', len: L.DK, off: OK, src: 'k[rowk(b, tau, h) + o]' },
      { name: 'q', len: L.DK, off: OQ, src: 'q[rowq(b, tau, h) + o]' },
      ...(chan ? [{ name: 'gc', len: L.DK, off: OG, src: `gates[rowg(b, tau, h) + ${u(f.gc!)} + o]`, map: 'exp' }] : []),
      { name: 'v', len: TV, off: OV, src: 'v[rowv(b, tau, h) + j0 + o]' },
      ...scal.map((n, m) => ({ name: `s${m}`, len: 1, off: OS + m, src: `gates[rowg(b, tau, h) + ${u(f[n]!)}]`, map: n === 'g' ? 'exp' : undefined })),
    ],
    LP,
    W,
    vec,
  );
  const wgsl = `${header(c, s, L, 'forward (Hebbian, column-tiled)')}
//   ${L.DV / TV} workgroup(s) of ${TV} value columns per head; ${P} invocations per column (R = ${R} key rows each), ${CW} columns per invocation; blocks of ${LP} sub-steps staged one block ahead
${decl}
${consts(c, L)}
${splitConsts({ LP, P, R, TV, W, PS })}
const CW = ${u(CW)};
const NGC = ${u(NGC)};
const OK = ${u(OK)};
const OQ = ${u(OQ)};
const OG = ${u(OG)};
const OV = ${u(OV)};
var<workgroup> pre: ${vec ? `array<vec4<f32>, ${(LP * PS) / 4}>` : `array<f32, ${LP * PS}>`};
${poN ? `var<workgroup> po: array<f32, ${LP * poN}>;` : ''}

@compute @workgroup_size(${W})
fn main(@builtin(workgroup_id) wid: vec3u, @builtin(local_invocation_id) lid: vec3u) {
  ${names.map((n) => `_ = &${n};`).join(' ')}
  let bh = wid.x;
  let b = bh / H;
  let h = bh % H;
  let t = lid.x;
  let jg = t % NGC;
  let p = t / NGC;
  let j0 = wid.y * TV;
  var S: array<f32, ${R * CW}>;
  ${cols.map((cc) => rows.map((r) => `${S(cc, r)} = ${learned ? `initialState[h * SZ + (p * R + ${u(r)}) * DV + j0 + jg * CW + ${u(cc)}]` : 'INIT'};`).join(' ')).join('\n  ')}
  ${st.loopHead}
    // the next block's operands are in flight while this block runs
    ${st.load('base + LP')}
    ${ckHoist ? `if (base % CK == 0u) {\n      ${ckStore('base')}\n    }` : ''}
    ${blockSteps(
      LP,
      step,
      P > 1 ? `var opl: array<f32, ${LP * CW}>;` : '',
      P > 1 ? Array.from({ length: LP }, (_, l) => cols.map((cc) => `po[${u(l)} * (P * TV) + p * TV + jg * CW + ${u(cc)}] = opl[${l * CW + cc}];`).join(' ')).join('\n      ') : '',
    )}
    ${
      P > 1
        ? `// read-out of the block: o = SCALE · Σ over the P partials of each column
    workgroupBarrier();
    for (var x = t; x < LP * TV; x += W) {
      let l = x / TV;
      let tau = base + l;
      if (tau < TS) {
        o[rowo(b, tau, h) + j0 + x % TV] = SCALE * ${treeSum(Array.from({ length: P }, (_, pp) => `po[l * (P * TV) + ${u(pp)} * TV + x % TV]`))};
      }
    }`
        : ''
    }
  }
  ${cols.map((cc) => rows.map((r) => `finalState[bh * SZ + (p * R + ${u(r)}) * DV + j0 + jg * CW + ${u(cc)}] = ${S(cc, r)};`).join(' ')).join('\n  ')}
}
`;
  return {
    name: 'miras_recurrent_fwd',
    wgsl,
    entryPoint: 'main',
    bindings: binds.map((buffer, i) => ({ buffer, access: access[i] })),
    workgroups: [L.B * L.H, L.DV / TV, 1],
  };
}
