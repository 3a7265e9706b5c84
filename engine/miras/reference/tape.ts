/**
 * A small float64 reverse-mode autodiff over flat Float64Array tensors, for the reference scan.
 *
 * Every op computes its value eagerly. When its inputs need gradients and a Tape is recording, it
 * pushes a closure that, in the backward pass, reads the op's output gradient and ADDS into its
 * inputs' gradients. `Tape.backward()` runs the closures in reverse creation order, so seeding
 * several outputs (o at every token and the final state) with their upstream gradients is fine.
 * Without a tape (or with constants only) nothing is recorded: the same code is the fast forward.
 *
 * The recurrence is written once with these ops, so the gradient of ANY catalog combination comes
 * for free; tests/miras/reference-grad.test.ts checks it against central finite differences.
 */

export class Var {
  grad: Float64Array | null = null;
  constructor(
    readonly value: Float64Array,
    readonly shape: readonly number[],
    readonly tape: Tape | null,
    readonly requiresGrad: boolean,
  ) {}
  get size(): number {
    return this.value.length;
  }
  /** The value of a one-element tensor. */
  get item(): number {
    return this.value[0];
  }
  ensureGrad(): Float64Array {
    if (!this.grad) this.grad = new Float64Array(this.value.length);
    return this.grad;
  }
}

export class Tape {
  private readonly closures: (() => void)[] = [];
  record(fn: () => void): void {
    this.closures.push(fn);
  }
  get length(): number {
    return this.closures.length;
  }
  /** Run the recorded backward closures in reverse order (seed output grads first). */
  backward(): void {
    for (let i = this.closures.length - 1; i >= 0; i--) this.closures[i]();
  }
  /** A leaf that collects a gradient. */
  param(value: Float64Array, shape: readonly number[] = [value.length]): Var {
    return new Var(value, shape, this, true);
  }
}

/** A constant (never gets a gradient). */
export function constant(value: Float64Array | number[], shape?: readonly number[]): Var {
  const v = value instanceof Float64Array ? value : Float64Array.from(value);
  return new Var(v, shape ?? [v.length], null, false);
}
export const scalarConst = (x: number) => constant([x], [1]);
export const zeros = (shape: readonly number[]) => constant(new Float64Array(shape.reduce((a, b) => a * b, 1)), shape);

function tapeOf(...xs: Var[]): Tape | null {
  for (const x of xs) if (x.requiresGrad && x.tape) return x.tape;
  return null;
}

/** Make an op result; `back(gOut)` is recorded only when some input needs a gradient. */
function result(value: Float64Array, shape: readonly number[], inputs: Var[], back: (g: Float64Array) => void): Var {
  const tape = tapeOf(...inputs);
  const out = new Var(value, shape, tape, tape !== null);
  if (tape) {
    tape.record(() => {
      if (out.grad) back(out.grad);
    });
  }
  return out;
}

const acc = (x: Var): Float64Array | null => (x.requiresGrad ? x.ensureGrad() : null);

function sameSize(a: Var, b: Var, op: string) {
  if (a.size !== b.size) throw new Error(`${op}: size mismatch ${a.size} vs ${b.size}`);
}

// ------------------------------------------------------------------------------------------ views

/** A contiguous slice [offset, offset + length) of x, reshaped. */
export function slice(x: Var, offset: number, length: number, shape: readonly number[] = [length]): Var {
  const v = x.value.slice(offset, offset + length);
  return result(v, shape, [x], (g) => {
    const gx = acc(x)!;
    for (let i = 0; i < length; i++) gx[offset + i] += g[i];
  });
}

export function reshape(x: Var, shape: readonly number[]): Var {
  return result(x.value.slice(), shape, [x], (g) => {
    const gx = acc(x)!;
    for (let i = 0; i < g.length; i++) gx[i] += g[i];
  });
}

/** Row n of a [m, n] matrix. */
export function row(S: Var, r: number): Var {
  const n = S.shape[1];
  return slice(S, r * n, n, [n]);
}

/** Stack equal-length vectors as the rows of a matrix. */
export function stackRows(rows: Var[]): Var {
  const n = rows[0].size;
  const v = new Float64Array(rows.length * n);
  rows.forEach((r, i) => v.set(r.value, i * n));
  return result(v, [rows.length, n], rows, (g) => {
    rows.forEach((r, i) => {
      const gr = acc(r);
      if (gr) for (let j = 0; j < n; j++) gr[j] += g[i * n + j];
    });
  });
}

/** Concatenate tensors (flattened) into one vector. */
export function concat(parts: Var[]): Var {
  const total = parts.reduce((a, p) => a + p.size, 0);
  const v = new Float64Array(total);
  let off = 0;
  const offs = parts.map((p) => {
    v.set(p.value, off);
    off += p.size;
    return off - p.size;
  });
  return result(v, [total], parts, (g) => {
    parts.forEach((p, i) => {
      const gp = acc(p);
      if (gp) for (let j = 0; j < p.size; j++) gp[j] += g[offs[i] + j];
    });
  });
}

// --------------------------------------------------------------------------------- elementwise

export function add(a: Var, b: Var): Var {
  sameSize(a, b, 'add');
  const v = new Float64Array(a.size);
  for (let i = 0; i < v.length; i++) v[i] = a.value[i] + b.value[i];
  return result(v, a.shape, [a, b], (g) => {
    const ga = acc(a);
    const gb = acc(b);
    for (let i = 0; i < g.length; i++) {
      if (ga) ga[i] += g[i];
      if (gb) gb[i] += g[i];
    }
  });
}

export function sub(a: Var, b: Var): Var {
  sameSize(a, b, 'sub');
  const v = new Float64Array(a.size);
  for (let i = 0; i < v.length; i++) v[i] = a.value[i] - b.value[i];
  return result(v, a.shape, [a, b], (g) => {
    const ga = acc(a);
    const gb = acc(b);
    for (let i = 0; i < g.length; i++) {
      if (ga) ga[i] += g[i];
      if (gb) gb[i] -= g[i];
    }
  });
}

export function mul(a: Var, b: Var): Var {
  sameSize(a, b, 'mul');
  const v = new Float64Array(a.size);
  for (let i = 0; i < v.length; i++) v[i] = a.value[i] * b.value[i];
  return result(v, a.shape, [a, b], (g) => {
    const ga = acc(a);
    const gb = acc(b);
    for (let i = 0; i < g.length; i++) {
      if (ga) ga[i] += g[i] * b.value[i];
      if (gb) gb[i] += g[i] * a.value[i];
    }
  });
}

export function div(a: Var, b: Var): Var {
  sameSize(a, b, 'div');
  const v = new Float64Array(a.size);
  for (let i = 0; i < v.length; i++) v[i] = a.value[i] / b.value[i];
  return result(v, a.shape, [a, b], (g) => {
    const ga = acc(a);
    const gb = acc(b);
    for (let i = 0; i < g.length; i++) {
      if (ga) ga[i] += g[i] / b.value[i];
      if (gb) gb[i] -= (g[i] * v[i]) / b.value[i];
    }
  });
}

/** a · s for a one-element s (broadcast). */
export function scale(a: Var, s: Var): Var {
  if (s.size !== 1) throw new Error('scale: s must have one element');
  const k = s.value[0];
  const v = new Float64Array(a.size);
  for (let i = 0; i < v.length; i++) v[i] = a.value[i] * k;
  return result(v, a.shape, [a, s], (g) => {
    const ga = acc(a);
    const gs = acc(s);
    let d = 0;
    for (let i = 0; i < g.length; i++) {
      if (ga) ga[i] += g[i] * k;
      d += g[i] * a.value[i];
    }
    if (gs) gs[0] += d;
  });
}

/** a + s for a one-element s (broadcast). */
export function addScalar(a: Var, s: Var): Var {
  if (s.size !== 1) throw new Error('addScalar: s must have one element');
  const k = s.value[0];
  const v = new Float64Array(a.size);
  for (let i = 0; i < v.length; i++) v[i] = a.value[i] + k;
  return result(v, a.shape, [a, s], (g) => {
    const ga = acc(a);
    const gs = acc(s);
    let d = 0;
    for (let i = 0; i < g.length; i++) {
      if (ga) ga[i] += g[i];
      d += g[i];
    }
    if (gs) gs[0] += d;
  });
}

export const scaleC = (a: Var, c: number) => unary(a, (x) => c * x, () => c);
export const addC = (a: Var, c: number) => unary(a, (x) => x + c, () => 1);
export const neg = (a: Var) => scaleC(a, -1);

/** Elementwise f with derivative df (both of the input value x and output y). */
export function unary(a: Var, f: (x: number) => number, df: (x: number, y: number) => number): Var {
  const v = new Float64Array(a.size);
  for (let i = 0; i < v.length; i++) v[i] = f(a.value[i]);
  return result(v, a.shape, [a], (g) => {
    const ga = acc(a)!;
    for (let i = 0; i < g.length; i++) if (g[i] !== 0) ga[i] += g[i] * df(a.value[i], v[i]);
  });
}

const sigm = (x: number) => (x >= 0 ? 1 / (1 + Math.exp(-x)) : Math.exp(x) / (1 + Math.exp(x)));
const GELU_C = Math.sqrt(2 / Math.PI);
const GELU_A = 0.044715;
/** GELU, tanh approximation (gelu_tanh, as TTT-MLP), and its first two derivatives. */
export const geluF = (x: number) => 0.5 * x * (1 + Math.tanh(GELU_C * (x + GELU_A * x * x * x)));
export function geluD1(x: number): number {
  const t = Math.tanh(GELU_C * (x + GELU_A * x * x * x));
  const du = GELU_C * (1 + 3 * GELU_A * x * x);
  return 0.5 * (1 + t) + 0.5 * x * (1 - t * t) * du;
}
export function geluD2(x: number): number {
  const t = Math.tanh(GELU_C * (x + GELU_A * x * x * x));
  const du = GELU_C * (1 + 3 * GELU_A * x * x);
  const ddu = GELU_C * 6 * GELU_A * x;
  return (1 - t * t) * du + 0.5 * x * (1 - t * t) * (ddu - 2 * t * du * du);
}
export const siluF = (x: number) => x * sigm(x);
export const siluD1 = (x: number) => {
  const s = sigm(x);
  return s * (1 + x * (1 - s));
};
export const siluD2 = (x: number) => {
  const s = sigm(x);
  const ds = s * (1 - s);
  return ds * (1 + x * (1 - s)) + s * (1 - s - x * ds);
};

export const exp = (a: Var) => unary(a, Math.exp, (_x, y) => y);
export const log = (a: Var) => unary(a, Math.log, (x) => 1 / x);
export const tanh = (a: Var) => unary(a, Math.tanh, (_x, y) => 1 - y * y);
export const sigmoid = (a: Var) => unary(a, sigm, (_x, y) => y * (1 - y));
export const sqrt = (a: Var) => unary(a, Math.sqrt, (_x, y) => 0.5 / y);
export const square = (a: Var) => unary(a, (x) => x * x, (x) => 2 * x);
export const recip = (a: Var) => unary(a, (x) => 1 / x, (x) => -1 / (x * x));
export const absV = (a: Var) => unary(a, Math.abs, (x) => Math.sign(x));
/** sign(x): zero derivative (a subgradient choice). */
export const signV = (a: Var) => unary(a, Math.sign, () => 0);
/** x^p for x > 0 (or integer p). */
export const powC = (a: Var, p: number) => unary(a, (x) => Math.pow(x, p), (x) => p * Math.pow(x, p - 1));
export const gelu = (a: Var) => unary(a, geluF, geluD1);
export const geluPrime = (a: Var) => unary(a, geluD1, geluD2);
export const silu = (a: Var) => unary(a, siluF, siluD1);
export const siluPrime = (a: Var) => unary(a, siluD1, siluD2);
export const relu = (a: Var) => unary(a, (x) => Math.max(0, x), (x) => (x > 0 ? 1 : 0));
export const reluPrime = (a: Var) => unary(a, (x) => (x > 0 ? 1 : 0), () => 0);

/** Soft thresholding S_γ(z) = sign(z)·max(0, |z| − γ). */
export const softThreshold = (a: Var, gamma: number) =>
  unary(a, (x) => Math.sign(x) * Math.max(0, Math.abs(x) - gamma), (x) => (Math.abs(x) > gamma ? 1 : 0));
/** Smooth surrogate |z|·arctan(z/γ)/(π/2) (Miras remark on Eq. 22-23). */
export const smoothThreshold = (a: Var, gamma: number) =>
  unary(
    a,
    (x) => (Math.abs(x) * Math.atan(x / gamma)) / (Math.PI / 2),
    (x) => (2 / Math.PI) * (Math.sign(x) * Math.atan(x / gamma) + (Math.abs(x) * gamma) / (gamma * gamma + x * x)),
  );

/** clamp(e, −δ, δ) with a one-element δ (coordinate-wise Huber gradient). */
export function clampSym(e: Var, delta: Var): Var {
  const d = delta.value[0];
  const v = new Float64Array(e.size);
  for (let i = 0; i < v.length; i++) v[i] = Math.max(-d, Math.min(d, e.value[i]));
  return result(v, e.shape, [e, delta], (g) => {
    const ge = acc(e);
    const gd = acc(delta);
    for (let i = 0; i < g.length; i++) {
      const x = e.value[i];
      if (Math.abs(x) <= d) {
        if (ge) ge[i] += g[i];
      } else if (gd) gd[0] += g[i] * Math.sign(x);
    }
  });
}

// ------------------------------------------------------------------------------------ reductions

export function sum(a: Var): Var {
  let s = 0;
  for (let i = 0; i < a.size; i++) s += a.value[i];
  return result(Float64Array.of(s), [1], [a], (g) => {
    const ga = acc(a)!;
    for (let i = 0; i < ga.length; i++) ga[i] += g[0];
  });
}

export const dot = (a: Var, b: Var) => sum(mul(a, b));

// ------------------------------------------------------------------------------- linear algebra

/** xᵀ S for x [m], S [m, n] → [n] (the read-out o = Sᵀq). */
export function vecMat(x: Var, S: Var): Var {
  const [m, n] = S.shape;
  if (x.size !== m) throw new Error(`vecMat: x has ${x.size} elements, S is [${m}, ${n}]`);
  const v = new Float64Array(n);
  for (let i = 0; i < m; i++) {
    const xi = x.value[i];
    if (xi === 0) continue;
    for (let j = 0; j < n; j++) v[j] += xi * S.value[i * n + j];
  }
  return result(v, [n], [x, S], (g) => {
    const gx = acc(x);
    const gS = acc(S);
    for (let i = 0; i < m; i++) {
      let d = 0;
      for (let j = 0; j < n; j++) {
        d += g[j] * S.value[i * n + j];
        if (gS) gS[i * n + j] += x.value[i] * g[j];
      }
      if (gx) gx[i] += d;
    }
  });
}

/** S y for S [m, n], y [n] → [m]. */
export function matVec(S: Var, y: Var): Var {
  const [m, n] = S.shape;
  if (y.size !== n) throw new Error(`matVec: y has ${y.size} elements, S is [${m}, ${n}]`);
  const v = new Float64Array(m);
  for (let i = 0; i < m; i++) {
    let d = 0;
    for (let j = 0; j < n; j++) d += S.value[i * n + j] * y.value[j];
    v[i] = d;
  }
  return result(v, [m], [S, y], (g) => {
    const gS = acc(S);
    const gy = acc(y);
    for (let i = 0; i < m; i++) {
      for (let j = 0; j < n; j++) {
        if (gS) gS[i * n + j] += g[i] * y.value[j];
        if (gy) gy[j] += g[i] * S.value[i * n + j];
      }
    }
  });
}

/** a bᵀ for a [m], b [n] → [m, n]. */
export function outer(a: Var, b: Var): Var {
  const m = a.size;
  const n = b.size;
  const v = new Float64Array(m * n);
  for (let i = 0; i < m; i++) for (let j = 0; j < n; j++) v[i * n + j] = a.value[i] * b.value[j];
  return result(v, [m, n], [a, b], (g) => {
    const ga = acc(a);
    const gb = acc(b);
    for (let i = 0; i < m; i++) {
      let d = 0;
      for (let j = 0; j < n; j++) {
        d += g[i * n + j] * b.value[j];
        if (gb) gb[j] += g[i * n + j] * a.value[i];
      }
      if (ga) ga[i] += d;
    }
  });
}

/** Diag(r) S: scale row i of S [m, n] by r[i]. */
export function mulRows(S: Var, r: Var): Var {
  const [m, n] = S.shape;
  if (r.size !== m) throw new Error(`mulRows: r has ${r.size} elements, S has ${m} rows`);
  const v = new Float64Array(m * n);
  for (let i = 0; i < m; i++) for (let j = 0; j < n; j++) v[i * n + j] = S.value[i * n + j] * r.value[i];
  return result(v, S.shape, [S, r], (g) => {
    const gS = acc(S);
    const gr = acc(r);
    for (let i = 0; i < m; i++) {
      let d = 0;
      for (let j = 0; j < n; j++) {
        if (gS) gS[i * n + j] += g[i * n + j] * r.value[i];
        d += g[i * n + j] * S.value[i * n + j];
      }
      if (gr) gr[i] += d;
    }
  });
}

/** S Diag(c): scale column j of S [m, n] by c[j]. */
export function mulCols(S: Var, c: Var): Var {
  const [m, n] = S.shape;
  if (c.size !== n) throw new Error(`mulCols: c has ${c.size} elements, S has ${n} columns`);
  const v = new Float64Array(m * n);
  for (let i = 0; i < m; i++) for (let j = 0; j < n; j++) v[i * n + j] = S.value[i * n + j] * c.value[j];
  return result(v, S.shape, [S, c], (g) => {
    const gS = acc(S);
    const gc = acc(c);
    for (let i = 0; i < m; i++) {
      for (let j = 0; j < n; j++) {
        if (gS) gS[i * n + j] += g[i * n + j] * c.value[j];
        if (gc) gc[j] += g[i * n + j] * S.value[i * n + j];
      }
    }
  });
}

/** M − 1 vᵀ: subtract the vector v [n] from every row of M [m, n]. */
export function subRowVector(M: Var, v: Var): Var {
  const [m, n] = M.shape;
  const out = new Float64Array(m * n);
  for (let i = 0; i < m; i++) for (let j = 0; j < n; j++) out[i * n + j] = M.value[i * n + j] - v.value[j];
  return result(out, M.shape, [M, v], (g) => {
    const gM = acc(M);
    const gv = acc(v);
    for (let i = 0; i < m; i++) {
      for (let j = 0; j < n; j++) {
        if (gM) gM[i * n + j] += g[i * n + j];
        if (gv) gv[j] -= g[i * n + j];
      }
    }
  });
}

/**
 * c · softmax over slices of a [m, n] matrix: axis 0 normalises each column (over rows), axis 1
 * each row (over columns), 'all' the whole matrix.
 */
export function softmaxSlices(Z: Var, axis: 0 | 1 | 'all', c = 1): Var {
  const [m, n] = Z.shape.length === 2 ? Z.shape : [1, Z.size];
  const groups: number[][] = [];
  if (axis === 'all') groups.push(Array.from({ length: m * n }, (_, i) => i));
  else if (axis === 0) for (let j = 0; j < n; j++) groups.push(Array.from({ length: m }, (_, i) => i * n + j));
  else for (let i = 0; i < m; i++) groups.push(Array.from({ length: n }, (_, j) => i * n + j));
  const v = new Float64Array(Z.size);
  for (const idx of groups) {
    let mx = -Infinity;
    for (const i of idx) mx = Math.max(mx, Z.value[i]);
    let s = 0;
    for (const i of idx) s += (v[i] = Math.exp(Z.value[i] - mx));
    for (const i of idx) v[i] = (c * v[i]) / s;
  }
  return result(v, Z.shape, [Z], (g) => {
    const gZ = acc(Z)!;
    for (const idx of groups) {
      // y = c p: dZ = y ⊙ (g − Σ g⊙p) with p = y/c.
      let d = 0;
      for (const i of idx) d += (g[i] * v[i]) / c;
      for (const i of idx) gZ[i] += v[i] * (g[i] - d);
    }
  });
}
