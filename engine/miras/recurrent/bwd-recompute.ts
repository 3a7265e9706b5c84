/**
 * The two-level recomputation walk shared by the fast backward kernels (fast.ts, mlstm-fast.ts).
 *
 * The forward stores the state every CK sub-steps (a segment). The backward walks the segments last to first:
 *   1. restore the segment's checkpoint and recompute the segment, keeping a sub-checkpoint of the carried state
 *      every LP sub-steps in private memory;
 *   2. sub-segment by sub-segment in reverse: restore its sub-checkpoint, recompute its LP states (keeping each
 *      state before its step in `hist<name>`), then run the reverse recurrence over them.
 * Every operand of a sub-segment is staged in workgroup memory before each of its two walks (`stage`), from
 * registers loaded during the previous sub-segment (`prefetch`).
 * The kernels differ only in the carried state (`vars`) and in the step snippets; the save / restore of the
 * sub-checkpoints and of the per-step history are generated here from `vars`.
 *
 * Names the snippets can use: seg, t0, t1, nsub (segment), ss, u0, u1 (sub-segment), tau and l = tau − u0 (step);
 * per carried variable x: the register x (array<f32, R> when `rows`, else a scalar) and, in `kept` and `reverse`,
 * histX[l·R + r] (histX[l] for a scalar) = x before step l (X: the name with its first letter in upper case).
 */

const cap = (name: string) => name[0].toUpperCase() + name.slice(1);

/** A carried state variable: `rows` → one register per key row of the invocation (array<f32, R>), else a scalar. */
export interface CarriedVar {
  name: string;
  rows: boolean;
}

/** Private-memory declarations of the sub-checkpoints and the per-step history (NSUB sub-segments of LP steps). */
export function recomputeDecls(vars: CarriedVar[], NSUB: number, LP: number, R: number): string {
  return vars
    .map((v) =>
      v.rows
        ? `var sub${cap(v.name)}: array<f32, ${NSUB * R}>;\n  var hist${cap(v.name)}: array<f32, ${LP * R}>;`
        : `var sub${cap(v.name)}: array<f32, ${NSUB}>;\n  var hist${cap(v.name)}: array<f32, ${LP}>;`,
    )
    .join('\n  ');
}

export interface RecomputeWalk {
  vars: CarriedVar[];
  /** restore the carried state from the checkpoint of segment `seg` */
  load: string;
  /**
   * Staging of a sub-segment's operands (codegen.ts `staging`): `load(base)` fills the registers for the sub-segment
   * starting at sub-step `base`, `store` writes them to workgroup memory; `after` runs once they are stored (after
   * a barrier; it must end with its own barrier if it writes workgroup memory the steps read).
   */
  stage: { load: (base: string) => string; store: string; after?: string };
  /**
   * Load the next sub-segment's operands while this one runs (default): the registers are filled right after the
   * store, so a sub-segment's global-memory latency overlaps the previous one's steps instead of stalling the
   * workgroup twice per LP sub-steps. false: load right before the store.
   */
  prefetch?: boolean;
  /** one forward step at tau (first walk: nothing kept) */
  step: string;
  /** one forward step at tau in the second walk (after histX[l] = X); may keep more per step */
  kept: string;
  /** after the second walk's recomputation, before the reverse steps */
  beforeReverse: string;
  /** one reverse step at tau (l = tau − u0), last to first */
  reverse: string;
  /** after the sub-segment's reverse steps */
  afterReverse?: string;
}

const copy = (vars: CarriedVar[], dst: (v: CarriedVar) => string, src: (v: CarriedVar) => string) => {
  const rows = vars.filter((v) => v.rows);
  const sc = vars.filter((v) => !v.rows);
  return [
    ...(rows.length ? [`for (var r = 0u; r < R; r++) { ${rows.map((v) => `${dst(v)} = ${src(v)};`).join(' ')} }`] : []),
    ...sc.map((v) => `${dst(v)} = ${src(v)};`),
  ].join('\n      ');
};

/** The segment loop (WGSL, inside the kernel's main): NCK segments in reverse, each walked as described above. */
export function recomputeWalk(w: RecomputeWalk): string {
  const reg = (v: CarriedVar) => (v.rows ? `${v.name}[r]` : v.name);
  const sub = (v: CarriedVar) => (v.rows ? `sub${cap(v.name)}[ss * R + r]` : `sub${cap(v.name)}[ss]`);
  const hist = (v: CarriedVar) => (v.rows ? `hist${cap(v.name)}[l * R + r]` : `hist${cap(v.name)}[l]`);
  const pre = w.prefetch ?? true;
  // a sub-segment [u0, u1): the carried state copied in `enter`, the operands staged (and the next sub-segment's
  // loaded when prefetching: `next` is its first sub-step; the loads clamp, so past the ends is harmless), then the forward steps
  const walk = (enter: string, next: string, keep: string, step: string, end = 'u1') => `let u0 = t0 + ss * LP;
      let u1 = min(t1, u0 + LP);
      ${enter}
      workgroupBarrier();
      ${pre ? '' : w.stage.load('u0')}
      ${w.stage.store}
      workgroupBarrier();
      ${w.stage.after ?? ''}
      ${pre ? w.stage.load(next) : ''}
      for (var tau = u0; tau < ${end}; tau++) {
        let l = tau - u0;${keep}
${step}
      }`;
  return `${pre ? w.stage.load('(NCK - 1u) * CK') : ''}
  for (var sg = 0u; sg < NCK; sg++) {
    let seg = NCK - 1u - sg;
    let t0 = seg * CK;
    let t1 = min(TS, t0 + CK);
    let nsub = (t1 - t0 + LP - 1u) / LP;
    // 1. recompute the segment from its checkpoint, keeping a sub-checkpoint every LP sub-steps (no steps when the
    //    segment is one sub-segment, CK ≤ LP: its sub-checkpoint is the checkpoint)
    ${w.load}
    for (var ss = 0u; ss < nsub; ss++) {
      ${walk(copy(w.vars, sub, reg), 'select(t0 + (nsub - 1u) * LP, u0 + LP, ss + 1u < nsub)', '', w.step, 'select(u1, u0, nsub == 1u)')}
    }
    // 2. sub-segments in reverse: recompute their LP states, then the reverse recurrence over them
    for (var sr = 0u; sr < nsub; sr++) {
      let ss = nsub - 1u - sr;
      ${walk(copy(w.vars, reg, sub), 'select(t0 - CK, u0 - LP, ss > 0u)', `\n        ${copy(w.vars, hist, reg)}`, w.kept)}
${w.beforeReverse}
      for (var tt = u0; tt < u1; tt++) {
        let tau = u1 - 1u - (tt - u0);
        let l = tau - u0;
${w.reverse}
      }
${w.afterReverse ?? ''}
    }
  }`;
}
