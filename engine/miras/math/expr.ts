/**
 * One source for every per-option formula: expressions are written once in the common subset
 * of WGSL and JavaScript (arithmetic, comparisons, and the builtins below), then
 *   - pasted into generated WGSL kernels as-is (f32), and
 *   - compiled to a float64 JS function for the references (`jsExpr`).
 * So a new bias or retention option is one math entry, and the kernel and the reference can not
 * drift apart. Parameters are baked in as literals with `lit()` (valid in both languages).
 */

/** WGSL builtins used by math entries, with float64 JS equivalents (same argument order). */
export const JS_BUILTINS: Record<string, (...a: number[]) => number> = {
  abs: Math.abs,
  sqrt: Math.sqrt,
  exp: Math.exp,
  log: Math.log,
  tanh: Math.tanh,
  atan: Math.atan,
  pow: Math.pow,
  max: Math.max,
  min: Math.min,
  sign: (x) => (x > 0 ? 1 : x < 0 ? -1 : 0),
  clamp: (x, lo, hi) => Math.min(Math.max(x, lo), hi),
  select: (f, t, c) => (c ? t : f),
  step: (edge, x) => (x >= edge ? 1 : 0),
  f32: (x) => x,
};

const cache = new Map<string, (...a: number[]) => number>();

/** Compile a WGSL-syntax scalar expression over the named arguments into a float64 JS function. */
export function jsExpr(args: readonly string[], expr: string): (...a: number[]) => number {
  const key = `${args.join(',')}|${expr}`;
  let fn = cache.get(key);
  if (!fn) {
    if (/[;{}]|=>|\bfunction\b|\bnew\b|\bthis\b|\bglobalThis\b|\bimport\b/.test(expr)) {
      throw new Error(`math expression is not a plain scalar expression: ${expr}`);
    }
    const names = Object.keys(JS_BUILTINS);
    // Comparisons yield booleans in JS; select() and arithmetic treat them as 0/1 like WGSL select.
    const body = `return (${expr});`;
    const raw = new Function(...names, ...args, body) as (...a: unknown[]) => number;
    const builtins = names.map((n) => JS_BUILTINS[n]);
    fn = (...a: number[]) => Number(raw(...builtins, ...a));
    cache.set(key, fn);
  }
  return fn;
}

/** A number as a literal valid in both WGSL (abstract float) and JS. */
export function lit(x: number): string {
  if (!Number.isFinite(x)) throw new Error(`cannot bake non-finite constant ${x} into a kernel`);
  const s = String(x);
  return /[.eE]/.test(s) ? s : `${s}.0`;
}
