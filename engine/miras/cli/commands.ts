/**
 * Miras CLI subcommands (wired into `npm run miras -- <command>` by scripts/miras.ts; also runnable as
 * `npx tsx engine/miras/cli/main.ts <command>`):
 *
 *   scan  --combo FILE.json --in FILE.safetensors --out FILE.safetensors [--backend reference|webgpu] [--grad] [--precision f32|f16]
 *         Runs only the mixer recurrence of one combination on explicit inputs (fla layout [B, T, H, D]):
 *         q [B,T,H,dk], k [B,T',H,dk], v [B,T',H,dv], and the gates the combination reads
 *         (beta, g, eta, delta, i, initialState; see docs/miras.md and engine/miras/reference/scan.ts).
 *         Writes o [B,T,H,dv] and finalState [B,H,stateSize]; with --grad it reads the upstream gradient
 *         `do` [B,T,H,dv] (and optionally `dfinalState`) and also writes d<name> for every input (dq, dk, ...).
 *         --precision f16 (webgpu only) runs the chunk kernels with f16 operand tiles (f32 accumulation); it needs
 *         the adapter feature shader-f16 and a combination with a chunk form, and fails saying which is missing.
 *   check --random N --seed S [--dim D]   |   check --preset P
 *         WebGPU fused kernel against the float64 reference, outputs and gradients.
 *
 * The combo file is a ModelSpec miras mixer or just { memory, bias, retention, learner, block }.
 */
import type { ScanShape } from '../../ir/scan';
import { createNodeGpu, type NodeGpu } from '../../gpu/node';
import { adapterSummary } from '../../gpu/describe';
import { F16_DAWN_FLAGS } from '../chunk/chunk';
import { relError } from '../../reference/compare';
import type { Preset } from '../../spec';
import { MIRAS_PRESETS } from '../../presets/miras';
import { resolveCombo, type Combo } from '../catalog';
import { stateLayout } from '../cost';
import { providerInputs, scanInputDecls, type ScanArrays } from '../reference';
import { Rng, normal, randomCombo, randomScanInputs } from '../reference/random';
import { MirasValidationError, validateCombo } from '../validate';
import { fusedKernelGap, runReference, runWebgpu, type ScanResult } from './backends';
import { readTensors, writeTensors, type NamedTensor } from './files';
import { readFile } from 'node:fs/promises';

export interface CliCommand {
  name: string;
  summary: string;
  usage: string;
  /** Exit code; user errors (bad flags, files, combinations) are printed to `err` as one message and return 2. */
  run(argv: string[], log?: (line: string) => void, err?: (line: string) => void): Promise<number>;
}

export class CliError extends Error {}

/** Run a command body; a user error becomes one line on stderr and exit code 2 instead of a stack trace. */
async function guarded(name: string, err: (line: string) => void, body: () => Promise<number>): Promise<number> {
  try {
    return await body();
  } catch (e) {
    if (e instanceof CliError || e instanceof MirasValidationError || (e instanceof Error && /safetensors|ENOENT/.test(e.message))) {
      err(`miras ${name}: ${e.message}`);
      return 2;
    }
    throw e;
  }
}

function parseFlags(argv: string[], spec: Record<string, 'string' | 'boolean'>): Record<string, string | boolean> {
  const out: Record<string, string | boolean> = {};
  for (let i = 0; i < argv.length; i++) {
    const a = argv[i];
    if (!a.startsWith('--')) throw new CliError(`unexpected argument "${a}"`);
    const [name, inline] = a.slice(2).split('=', 2);
    if (!(name in spec)) throw new CliError(`unknown option --${name} (known: ${Object.keys(spec).map((k) => `--${k}`).join(', ')})`);
    if (spec[name] === 'boolean') out[name] = true;
    else {
      const v = inline ?? argv[++i];
      if (v === undefined || v.startsWith('--')) throw new CliError(`--${name} needs a value`);
      out[name] = v;
    }
  }
  return out;
}

/** Parse and validate a combo JSON (a miras mixer or a bare combo); errors name the axis and the fix. */
export function parseComboJson(text: string, source: string): Combo {
  let json: unknown;
  try {
    json = JSON.parse(text);
  } catch (e) {
    throw new CliError(`${source}: not JSON (${(e as Error).message})`);
  }
  const obj = json as Record<string, unknown>;
  for (const axis of ['memory', 'bias', 'retention', 'learner']) {
    const v = obj?.[axis] as { kind?: unknown } | undefined;
    if (!v || typeof v.kind !== 'string') throw new CliError(`${source}: "${axis}" must be { "kind": "...", "params": { ... } }`);
  }
  const dims = typeof obj.headDimK === 'number' && typeof obj.headDimV === 'number' ? { headDimK: obj.headDimK, headDimV: obj.headDimV } : {};
  const issues = validateCombo(obj as never, dims);
  if (issues.length) throw new MirasValidationError(issues);
  return resolveCombo(obj as never);
}

/** Infer [B, T, H, dk, dv] from q and v and check every tensor against the combination's declarations. */
export function shapeFromInputs(c: Combo, t: Record<string, NamedTensor>): ScanShape {
  const q = t.q;
  const v = t.v;
  if (!q || !v) throw new CliError('the input file needs at least "q" [B,T,H,dk] and "v" [B,T\',H,dv]');
  if (q.shape.length !== 4 || v.shape.length !== 4) throw new CliError(`q and v must be 4-D [batch, time, heads, dim] (fla layout); got q [${q.shape}] and v [${v.shape}]`);
  const [batch, time, heads, dk] = q.shape;
  const s = { batch, time, heads, dk, dv: v.shape[3] };
  const decls = scanInputDecls(c, s);
  for (const [name, x] of Object.entries(t)) {
    if (name === 'do' || name === 'dfinalState') continue;
    const d = decls.find((dd) => dd.name === name);
    if (!d) throw new CliError(`unexpected tensor "${name}"; this combination reads ${decls.map((dd) => `${dd.name} [${dd.shape.join(', ')}]`).join(', ')}`);
    const want = name === 'initialState' ? d.shape : d.shape;
    if (x.data.length !== want.reduce((a, b) => a * b, 1)) throw new CliError(`"${name}" has shape [${x.shape}], expected [${want.join(', ')}]`);
  }
  for (const d of decls) if (d.required && !t[d.name]) throw new CliError(`missing tensor "${d.name}" [${d.shape.join(', ')}]: ${d.doc}`);
  return s;
}

async function gpu(): Promise<NodeGpu> {
  return createNodeGpu();
}

const SCAN_USAGE = 'scan --combo FILE.json --in FILE.safetensors --out FILE.safetensors [--backend reference|webgpu] [--grad] [--precision f32|f16]';
const CHECK_USAGE = 'check --random N --seed S [--dim D] [--tol X]  |  check --preset NAME [--dim D]';

export const scanCommand: CliCommand = {
  name: 'scan',
  summary: 'run one combination\'s recurrence on explicit inputs (fla layout) and write outputs, final state and gradients',
  usage: SCAN_USAGE,
  run(argv, log = console.log, err = console.error) {
    return guarded('scan', err, () => scanBody(argv, log));
  },
};

async function scanBody(argv: string[], log: (line: string) => void): Promise<number> {
  const f = parseFlags(argv, { combo: 'string', in: 'string', out: 'string', backend: 'string', grad: 'boolean', precision: 'string' });
  for (const k of ['combo', 'in', 'out']) if (!f[k]) throw new CliError(`missing --${k}; usage: ${SCAN_USAGE}`);
  const backend = (f.backend as string) ?? 'reference';
  if (!['reference', 'webgpu'].includes(backend)) throw new CliError(`--backend must be reference or webgpu, got "${backend}"`);
  const precision = (f.precision as string | undefined) ?? 'f32';
  if (precision !== 'f32' && precision !== 'f16') throw new CliError(`--precision must be f32 or f16, got "${precision}"`);
  if (f.precision && backend !== 'webgpu') throw new CliError('--precision applies to --backend webgpu (the reference backend computes in float64)');
  const c = parseComboJson(await readFile(f.combo as string, 'utf8'), f.combo as string);
  const t = await readTensors(f.in as string);
  const s = shapeFromInputs(c, t);
  const inputs: ScanArrays = {};
  for (const [name, x] of Object.entries(t)) if (name !== 'do' && name !== 'dfinalState') inputs[name] = x.data;
  let dOut: { o: Float64Array; finalState?: Float64Array } | undefined;
  if (f.grad) {
    if (!t.do) throw new CliError(`--grad needs the upstream gradient "do" [${s.batch}, ${s.time}, ${s.heads}, ${s.dv}] in the input file`);
    dOut = { o: t.do.data, finalState: t.dfinalState?.data };
  }
  let r: ScanResult;
  if (backend === 'reference') r = runReference(c, s, inputs, dOut);
  else {
    // f16: the instance toggles that let NVIDIA's driver report shader-f16 under Dawn (ignored elsewhere)
    const g = precision === 'f16' ? await createNodeGpu({ dawnFlags: F16_DAWN_FLAGS }) : await gpu();
    try {
      if (precision === 'f16' && !g.description.features.includes('shader-f16')) {
        throw new CliError(`--precision f16 needs the WebGPU feature 'shader-f16', which this adapter does not offer (${adapterSummary(g.description)}); run without --precision or with --precision f32`);
      }
      r = await runWebgpu(g.device, g.description, c, s, inputs, dOut, { precision });
    } catch (e) {
      // the chunk kernels refuse combinations without a chunk form: a user error, said in one line
      if (precision === 'f16' && e instanceof Error && !(e instanceof CliError) && /chunk/.test(e.message)) throw new CliError(`--precision f16: ${e.message}`);
      throw e;
    } finally {
      g.destroy();
    }
  }
  const stateSize = r.finalState.length / (s.batch * s.heads);
  const out: Record<string, NamedTensor> = {
    o: { shape: [s.batch, s.time, s.heads, s.dv], data: r.o },
    finalState: { shape: c.memory.kind === 'matrix' || c.memory.kind === 'vector' ? (stateSize === s.dk * s.dv ? [s.batch, s.heads, s.dk, s.dv] : [s.batch, s.heads, stateSize]) : [s.batch, s.heads, stateSize], data: r.finalState },
  };
  for (const [name, g] of Object.entries(r.grads ?? {})) out[`d${name}`] = { shape: t[name].shape, data: g };
  await writeTensors(f.out as string, out, { backend, combo: JSON.stringify(c), ...(backend === 'webgpu' ? { precision } : {}) });
  log(`wrote ${Object.keys(out).join(', ')} to ${f.out} (${backend}${backend === 'webgpu' && precision === 'f16' ? ', f16 chunk kernels' : ''}, B=${s.batch} T=${s.time} H=${s.heads} dk=${s.dk} dv=${s.dv})`);
  return 0;
}

export interface CheckCase {
  label: string;
  combo: Combo;
  shape: ScanShape;
}

/**
 * The reference's gradient of an input the kernel shares across the batch (a learned initial state: one per head):
 * the sum over batch rows, the gradient of the shared parameter. Other gradients pass through.
 */
export function sharedGrad(g: Float64Array, n: number): Float64Array {
  if (g.length === n || g.length % n) return g;
  const sum = new Float64Array(n);
  for (let b = 0; b < g.length / n; b++) for (let i = 0; i < n; i++) sum[i] += g[b * n + i];
  return sum;
}

/** WebGPU vs float64 for one case: relative errors of o, the memory part of the final state, and every input gradient. */
async function checkOne(g: NodeGpu, cs: CheckCase, seed: number, tol: number): Promise<{ ok: boolean; line: string }> {
  const gap = fusedKernelGap(cs.combo);
  if (gap) return { ok: false, line: `FAIL ${cs.label}: no WebGPU kernel with these semantics (${gap})` };
  const rng = new Rng(seed);
  const x = randomScanInputs(cs.combo, cs.shape, rng);
  // Only what the kernels read (a constant β is not an input): as the engine's provider declares them.
  const read = new Set(providerInputs(cs.combo, cs.shape).map((d) => d.name));
  for (const n of Object.keys(x)) if (n !== 'initialState' && !read.has(n)) delete x[n];
  if (cs.combo.block.memoryInit === 'learned' && x.initialState) {
    // A learned initial state is one parameter per head shared by the batch (as the block feeds it): tile row 0.
    const n = x.initialState.length / cs.shape.batch;
    for (let b = 1; b < cs.shape.batch; b++) x.initialState.copyWithin(b * n, 0, n);
  } else delete x.initialState;
  const dO = { o: new Float64Array(cs.shape.batch * cs.shape.time * cs.shape.heads * cs.shape.dv).map(() => normal(rng)) };
  const ref = runReference(cs.combo, cs.shape, x, dO);
  const gpuR = await runWebgpu(g.device, g.description, cs.combo, cs.shape, x, dO);
  const per = stateLayout(cs.combo, cs.shape.dk, cs.shape.dv).size;
  // the memory part of the state (none for the softmax-attention memory)
  // The memory part of the state: S for matrix/vector memories; every layer and the momentum for the MLP memory.
  const mem = cs.combo.memory.kind === 'mlp' ? per : Math.min(per, cs.shape.dk * cs.shape.dv);
  // Both states hold `per` values per (batch, head); compare the first `mem` of each head on both sides.
  const memoryPart = (state: ArrayLike<number>) => {
    const out = new Float64Array(cs.shape.batch * cs.shape.heads * mem);
    for (let bh = 0; bh < cs.shape.batch * cs.shape.heads; bh++) for (let i = 0; i < mem; i++) out[bh * mem + i] = state[bh * per + i];
    return out;
  };
  const errs: [string, number][] = [
    ['o', relError(gpuR.o, ref.o)],
    ['finalState', relError(memoryPart(gpuR.finalState), memoryPart(ref.finalState))],
    ...Object.keys(x).map((n) => [`d${n}`, relError(gpuR.grads![n], sharedGrad(ref.grads![n], gpuR.grads![n].length))] as [string, number]),
  ];
  const worst = Math.max(...errs.map((e) => e[1]));
  const ok = worst <= tol;
  return { ok, line: `${ok ? 'ok  ' : 'FAIL'} ${cs.label}  ${errs.map(([n, e]) => `${n} ${e.toExponential(1)}`).join('  ')}` };
}

function presetCases(p: Preset, dim: number): CheckCase[] {
  const spec = p.build({ vocabSize: 64, dModel: 64, nLayers: 2 });
  const out: CheckCase[] = [];
  spec.layers.forEach((l, i) => {
    if (l.mixer.type !== 'miras') return;
    const m = l.mixer;
    out.push({
      label: `${p.name} layer ${i}`,
      combo: resolveCombo(m),
      shape: { batch: 1, time: 11, heads: Math.min(m.heads, 2), dk: Math.min(m.headDimK, dim), dv: Math.min(m.headDimV, dim) },
    });
  });
  return out;
}

/**
 * Memory of random case i, by a fixed cycle (stratified draws): drawing the memory together with the other axes
 * over-drew the softmax-attention memory, whose combinations are always valid, while many matrix and vector draws
 * were refused and redrawn. Matrix and vector memories have the most kernel variants, so they get two of every six;
 * the MLP memory comes last, since its kernels take by far the longest to compile on a CPU adapter (small N stays quick).
 */
export const RANDOM_MEMORY_CYCLE = ['matrix', 'vector', 'attention', 'matrix', 'vector', 'mlp'] as const;

/** `check --random N --seed S`'s cases: memory by RANDOM_MEMORY_CYCLE, the other axes at random among what the kernels cover. */
export function randomCheckCases(n: number, seed: number, dim: number): CheckCase[] {
  const rng = new Rng(seed);
  const cases: CheckCase[] = [];
  while (cases.length < n) {
    const memory = RANDOM_MEMORY_CYCLE[cases.length % RANDOM_MEMORY_CYCLE.length];
    // randomCombo redraws only the other axes when a draw is invalid: the memory stays this case's
    const c = randomCombo(rng, { memories: [memory], mlstm: false });
    if (fusedKernelGap(c)) continue; // random checks draw from what the kernel covers
    const T = 3 + Math.floor(rng.next() * 14); // includes T not a multiple of the chunk size
    const w = c.memory.params.window as number;
    const label = `#${cases.length} ${memory === 'attention' ? `attention(${w > 0 ? `window ${w}` : 'full'})` : memory}/${c.bias.kind}/${c.retention.kind}/${c.learner.kind}`;
    cases.push({ label, combo: c, shape: { batch: 1 + Math.floor(rng.next() * 2), time: T, heads: 2, dk: dim, dv: dim } });
  }
  return cases;
}

export const checkCommand: CliCommand = {
  name: 'check',
  summary: 'compare the WebGPU scan kernels with the float64 reference (outputs and gradients)',
  usage: CHECK_USAGE,
  run(argv, log = console.log, err = console.error) {
    return guarded('check', err, () => checkBody(argv, log));
  },
};

async function checkBody(argv: string[], log: (line: string) => void): Promise<number> {
  const f = parseFlags(argv, { random: 'string', seed: 'string', preset: 'string', dim: 'string', tol: 'string' });
  const dim = f.dim ? Number(f.dim) : 16;
  const tol = f.tol ? Number(f.tol) : 2e-3;
  if (!Number.isInteger(dim) || dim < 1 || dim > 256) throw new CliError(`--dim must be an integer in 1..256, got "${f.dim}"`);
  const cases: CheckCase[] = [];
  if (f.preset) {
    const p = MIRAS_PRESETS.find((x) => x.name === f.preset);
    if (!p) throw new CliError(`unknown Miras preset "${f.preset}"; known: ${MIRAS_PRESETS.map((x) => x.name).join(', ')}`);
    cases.push(...presetCases(p, dim));
  } else if (f.random) {
    const n = Number(f.random);
    const seed = f.seed ? Number(f.seed) : 0;
    if (!Number.isInteger(n) || n < 1) throw new CliError(`--random must be a positive integer, got "${f.random}"`);
    cases.push(...randomCheckCases(n, seed, dim));
    const mix = new Map<string, number>();
    for (const c of cases) mix.set(c.combo.memory.kind, (mix.get(c.combo.memory.kind) ?? 0) + 1);
    log(`memories: ${[...mix].map(([k, v]) => `${k} ${v}`).join(', ')}`);
  } else throw new CliError(`give --random N or --preset NAME; usage: ${CHECK_USAGE}`);
  const g = await gpu();
  let failed = 0;
  try {
    log(`device: ${g.description.vendor ?? ''} ${g.description.architecture ?? ''}`.trim());
    for (let i = 0; i < cases.length; i++) {
      const r = await checkOne(g, cases[i], 1000 + i, tol);
      if (!r.ok) failed++;
      log(r.line);
    }
  } finally {
    g.destroy();
  }
  log(`${cases.length - failed} passed, ${failed} failed (tolerance ${tol} relative to each tensor's scale)`);
  return failed ? 1 : 0;
}

export const MIRAS_CLI_COMMANDS: CliCommand[] = [scanCommand, checkCommand];
