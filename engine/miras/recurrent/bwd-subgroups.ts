/**
 * Subgroup row sums of the fast backward kernels (fast.ts, mlstm-fast.ts). Used only inside the branch that
 * codegen.ts `subgroupCheck(G)` proved safe at run time (full subgroups of size ≥ G, and the shuffle partner under
 * mask m < G of invocation t is t ^ m); both kernels number invocations t = p·TV + jl (row-major), so with G a power
 * of two dividing TV the G partners are the same row group p in G different value columns.
 */

const u = (x: number) => `${x}u`;

/**
 * Reduce-scatter of `vals` (WGSL f32 expressions of one invocation) over the G invocations t ^ m, m < G: at mask m
 * an invocation keeps the half of its current values selected by bit m of `lane` and adds its partner's copy of
 * that half, so after log2 G stages `rv[q]` (q < K) holds the sum over the G invocations of value (lane mod G)·K + q,
 * with K = ⌈|vals| / G⌉ (the values are padded with zeros to K·G). G − 1 + … shuffles instead of |vals|·log2 G.
 */
export function reduceScatter(vals: string[], G: number, lane: string): { code: string; K: number } {
  const K = Math.ceil(vals.length / G);
  const all = Array.from({ length: K * G }, (_, x) => vals[x] ?? '0.0');
  const out = [`var rv = array<f32, ${K * G}>(${all.join(', ')});`];
  for (let m = G / 2, half = (K * G) / 2; m >= 1; m /= 2, half /= 2) {
    out.push(`{ let up = (${lane} & ${u(m)}) != 0u;`);
    for (let x = 0; x < half; x++)
      out.push(`  { let a = rv[${x}]; let b = rv[${x + half}]; rv[${x}] = select(a, b, up) + subgroupShuffleXor(select(b, a, up), ${u(m)}); }`);
    out.push('}');
  }
  return { code: out.join('\n      '), K };
}

/** Butterfly sum of the f32 variable `x` over the G invocations t ^ m, m < G (every one of them gets the sum). */
export function allSum(x: string, G: number): string {
  const steps: string[] = [];
  for (let m = 1; m < G; m *= 2) steps.push(`${x} += subgroupShuffleXor(${x}, ${u(m)});`);
  return steps.join(' ');
}
